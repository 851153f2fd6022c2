"""`durable env list|show|add|remove`: the named environments of the environments file
(`durable_local.manage.environments`), which `--env NAME` or `$DURABLE_ENV` select."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from durable_local.manage.commands.options import Subparsers
from durable_local.manage.context import check_base_url
from durable_local.manage.environments import (
    ENVIRONMENT_ENV,
    Environment,
    EnvironmentsFile,
    config_path,
    selected_name,
)
from durable_local.manage.errors import EXIT_OK, CliError, UsageError
from durable_local.manage.output import format_table

EnvHandler = Callable[[argparse.Namespace], int]


def _guarded(handler: EnvHandler) -> EnvHandler:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except CliError as error:
            sys.stderr.write(f"durable env: error: {error.message}\n")
            return error.exit_code

    return run


def _load(args: argparse.Namespace) -> EnvironmentsFile:
    """The environments file (`$DURABLE_CONFIG` or the default place)."""
    return EnvironmentsFile.load(config_path())


def env_list(args: argparse.Namespace) -> int:
    loaded = _load(args)
    current = selected_name(None, loaded)
    if args.output == "json":
        print(
            json.dumps(
                {
                    "file": str(loaded.path),
                    "selected": current,
                    "environments": [e.describe() for e in loaded.environments.values()],
                }
            )
        )
        return EXIT_OK
    if not loaded.environments:
        print(f"No environments defined in {loaded.path}. Add one with `durable env add NAME --base-url URL`.")
        return EXIT_OK
    rows = [
        ["*" if env.name == current else "", env.name, env.base_url, env.task_hub or "", env.key_source()]
        for env in loaded.environments.values()
    ]
    print(format_table(["", "NAME", "BASE URL", "TASK HUB", "KEY FROM"], rows))
    return EXIT_OK


def env_show(args: argparse.Namespace) -> int:
    loaded = _load(args)
    name = args.name or selected_name(None, loaded)
    if not name:
        raise UsageError(f"no environment chosen: name one, or set ${ENVIRONMENT_ENV} or `default` in {loaded.path}")
    env = loaded.get(name)
    if args.output == "json":
        print(json.dumps(env.describe()))
    else:
        for label, value in (
            ("Name", env.name),
            ("Base URL", env.base_url),
            ("Task hub", env.task_hub or "(host.json)"),
            ("Key from", env.key_source()),
            ("File", str(loaded.path)),
        ):
            print(f"{label + ':':<10} {value}")
    return EXIT_OK


def env_add(args: argparse.Namespace) -> int:
    loaded = _load(args)
    if args.name in loaded.environments and not args.replace:
        raise UsageError(f"environment {args.name!r} already exists in {loaded.path}; pass --replace to change it")
    if args.key and not args.plain_key:
        raise UsageError(
            "--key writes the key in plain text into the file; prefer --key-env or --key-command, "
            "or add --plain-key to do it anyway"
        )
    environment = Environment(
        args.name, check_base_url(args.base_url), args.task_hub, args.key_env, args.key_command, args.key
    )
    updated = loaded.with_environment(environment)
    updated.save(private=bool(args.key))
    EnvironmentsFile.load(loaded.path)  # what was written reads back
    print(f"{'Replaced' if args.name in loaded.environments else 'Added'} environment '{args.name}' in {loaded.path}.")
    return EXIT_OK


def env_remove(args: argparse.Namespace) -> int:
    loaded = _load(args)
    loaded.get(args.name)
    loaded.without(args.name).save()
    print(f"Removed environment '{args.name}' from {loaded.path}.")
    return EXIT_OK


def _subcommand(
    subparsers: Subparsers, name: str, summary: str, handler: EnvHandler, example: str
) -> argparse.ArgumentParser:
    parser = subparsers.add_parser(
        name,
        help=summary,
        description=f"{summary[0].upper()}{summary[1:]}.",
        epilog=f"example:\n  {example}\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=_guarded(handler))
    return parser


def _output(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-o", "--output", choices=("text", "json"), default="text", help="text (default) or json")


def register(subparsers: Subparsers, common: argparse.ArgumentParser) -> None:
    """Add `env` and its subcommands."""
    env = subparsers.add_parser(
        "env",
        help="list, show and add named environments (--env NAME)",
        description="Named environments: an app's base URL, where its system key comes from (an environment "
        "variable or a command) and its task hub, chosen with --env NAME or $DURABLE_ENV. The file is "
        f"$DURABLE_CONFIG, else ~/.config/durable/environments.toml (now: {config_path()}).",
        epilog="example:\n  durable env add staging --base-url https://myapp-staging.azurewebsites.net "
        "--key-env STAGING_DURABLE_KEY\n  durable get-instances --env staging --runtime-status failed\n",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    env.set_defaults(handler=lambda args: (env.print_help(sys.stderr), 2)[1])
    commands = env.add_subparsers(dest="env_command", metavar="COMMAND")

    p = _subcommand(commands, "list", "list the environments (* marks the selected one)", env_list, "durable env list")
    _output(p)
    p = _subcommand(commands, "show", "show one environment (never its key)", env_show, "durable env show staging")
    p.add_argument("name", nargs="?", metavar="NAME", help="environment (default: the selected one)")
    _output(p)
    p = _subcommand(
        commands,
        "add",
        "add or replace an environment",
        env_add,
        "durable env add prod --base-url https://myapp.azurewebsites.net --key-command "
        "'az functionapp keys list -g rg -n myapp --query systemKeys.durabletask_extension -o tsv'",
    )
    p.add_argument("name", metavar="NAME", help="environment name: letters, digits, '-', '_', '.'")
    p.add_argument("--base-url", required=True, metavar="URL", help="the app's base URL")
    p.add_argument("--task-hub", metavar="NAME", help="task hub (default: --task-hub-name, else host.json)")
    key = p.add_mutually_exclusive_group()
    key.add_argument("--key-env", metavar="VARIABLE", help="read the system key from this environment variable")
    key.add_argument("--key-command", metavar="COMMAND", help="run this command (no shell) to print the system key")
    key.add_argument("--key", metavar="KEY", help="store the key itself in the file (needs --plain-key)")
    p.add_argument("--plain-key", action="store_true", help="allow --key: the key is written in plain text (mode 600)")
    p.add_argument("--replace", action="store_true", help="replace an environment of the same name")
    p = _subcommand(commands, "remove", "remove an environment", env_remove, "durable env remove staging")
    p.add_argument("name", metavar="NAME", help="environment to remove")
