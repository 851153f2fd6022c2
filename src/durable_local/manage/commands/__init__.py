"""The instance-management commands of `durable`: Core Tools' nine `func durable` commands with their flag
names and defaults, plus `wait`, `suspend`, `resume` and `restart`. Each module here declares its commands'
flags next to their handlers and exposes `register(subparsers, common)`; `COMMAND_MODULES` lists them in the
order `durable --help` shows them. Handlers return the exit code: 0 success, 1 failure (unknown instance,
wrong state, unreachable app), 2 usage error (bad flag values, a confirmation that cannot be asked)."""

from __future__ import annotations

from durable_local.manage.commands import bulk, control, env, purge, query, replay, taskhub, terminate
from durable_local.manage.commands.options import Subparsers, common_options

COMMAND_MODULES = (control, query, terminate, purge, bulk, taskhub, replay, env)


def add_commands(subparsers: Subparsers) -> None:
    """Add every instance-management command to the `durable` parser."""
    common = common_options()
    for module in COMMAND_MODULES:
        module.register(subparsers, common)
