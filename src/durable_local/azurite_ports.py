"""Azurite's ports for `./scripts/run`: its usual ones (10000-10002) when they are free, free ones when not.

Another Azurite (a VS Code extension, another checkout's `./scripts/run`) or any other program may already listen
on 10000, 10001 or 10002. Reusing it silently would put this app's tables in someone else's emulator, so
`./scripts/run` asks this module first:

- `choose` prints the ports to start Azurite on, as shell assignments. When one of the usual ports is taken it
  picks three free ones, says so on stderr, and prints an `export` of every app setting that is
  `UseDevelopmentStorage=true` (in the environment or local.settings.json `Values`) as an explicit Azurite
  connection string with those ports, so the host, the app and the dashboard reach the right emulator (an
  environment variable wins over local.settings.json, as with Core Tools).
- `lock FD` takes an exclusive lock on the open file FD (`.azurite/.lock`), held by `./scripts/run` and the
  Azurite it starts: a second `./scripts/run` in the same checkout refuses to start another Azurite on the same
  data folder (two emulators writing one folder lose data).
- `wait PID` waits until Azurite (process PID) listens on the chosen ports, or says why not.

Example (what `./scripts/run` does)::

    eval "$(.venv/bin/python -m durable_local.azurite_ports choose --settings local.settings.json)"
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import shlex
import socket
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path

from durable_local.manage.settings import DEVELOPMENT_STORAGE

HOST = "127.0.0.1"
USUAL_PORTS = (10000, 10001, 10002)  # blob, queue, table: Azurite's defaults
DEV_ACCOUNT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def port_is_free(port: int, host: str = HOST) -> bool:
    """Whether nothing listens on `host:port`: a connection is refused and the port can be bound."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        if probe.connect_ex((host, port)) == 0:
            return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as binder:
        try:
            binder.bind((host, port))
        except OSError:
            return False
    return True


def free_ports(count: int, host: str = HOST) -> tuple[int, ...]:
    """`count` distinct ports the system has just handed out as free."""
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for each in sockets:
            each.bind((host, 0))
        return tuple(each.getsockname()[1] for each in sockets)
    finally:
        for each in sockets:
            each.close()


Ports = tuple[int, int, int]


def choose_ports(usual: Ports = USUAL_PORTS, is_free: Callable[[int], bool] = port_is_free,
                 pick_free: Callable[[int], tuple[int, ...]] = free_ports) -> tuple[Ports, list[int]]:
    """Blob, queue and table ports: the usual ones if all are free, else free ones; and the usual ones taken."""
    busy = [port for port in usual if not is_free(port)]
    if not busy:
        return usual, []
    blob, queue, table = pick_free(3)
    return (blob, queue, table), busy


def connection_string(blob: int, queue: int, table: int, host: str = HOST) -> str:
    """Azurite's well-known development account, at these ports."""
    return (f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={DEV_ACCOUNT_KEY};"
            f"BlobEndpoint=http://{host}:{blob}/devstoreaccount1;"
            f"QueueEndpoint=http://{host}:{queue}/devstoreaccount1;"
            f"TableEndpoint=http://{host}:{table}/devstoreaccount1;")


def development_storage_settings(environ: Mapping[str, str], values: Mapping[str, object]) -> list[str]:
    """The app settings that mean "Azurite at its usual ports": `UseDevelopmentStorage=true` where the app reads
    them (the environment first, then local.settings.json `Values`)."""
    names = sorted(set(environ) | set(values))
    effective = {name: environ[name] if name in environ else values.get(name) for name in names}
    return [name for name, value in effective.items()
            if isinstance(value, str) and value.replace(" ", "").rstrip(";").lower() == DEVELOPMENT_STORAGE.lower()]


def local_values(settings_file: Path) -> dict[str, object]:
    try:
        data = json.loads(settings_file.read_text(encoding="utf-8-sig"))
    except FileNotFoundError:
        return {}
    values = data.get("Values") if isinstance(data, dict) else None
    return values if isinstance(values, dict) else {}


def choose_lines(ports: Ports, settings: Iterable[str], usual: Ports = USUAL_PORTS) -> list[str]:
    """Shell lines for `eval`: the three port variables, and the settings to export when the ports moved."""
    blob, queue, table = ports
    lines = [f"AZURITE_BLOB_PORT={blob}", f"AZURITE_QUEUE_PORT={queue}", f"AZURITE_TABLE_PORT={table}"]
    if ports != usual:
        value = connection_string(blob, queue, table)
        lines += [f"export {name}={shlex.quote(value)}" for name in settings]
    return lines


def _choose(args: argparse.Namespace) -> int:
    blob, queue, table = args.ports
    usual: Ports = (blob, queue, table)
    ports, busy = choose_ports(usual)
    settings = development_storage_settings(os.environ, local_values(Path(args.settings)))
    if busy:
        print(f"scripts/run: port{'s' if len(busy) > 1 else ''} {', '.join(map(str, busy))} already in use "
              f"(another Azurite?); starting this app's Azurite on blob {ports[0]}, queue {ports[1]}, "
              f"table {ports[2]} instead"
              + (f", and setting {', '.join(settings)} to it" if settings else "") + ".", file=sys.stderr)
    print("\n".join(choose_lines(ports, settings, usual)))
    return 0


def _lock(args: argparse.Namespace) -> int:
    try:
        fcntl.flock(args.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"scripts/run: {args.folder} is in use by another ./scripts/run (or the Azurite it started, still "
              "running); stop it first: two Azurites must not share one data folder.", file=sys.stderr)
        return 1
    return 0


def _accepts(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1)
        return probe.connect_ex((HOST, port)) == 0


def _wait(args: argparse.Namespace) -> int:
    deadline = time.monotonic() + args.timeout
    while not all(_accepts(port) for port in args.ports):
        try:
            os.kill(args.pid, 0)
        except ProcessLookupError:
            print(f"scripts/run: Azurite exited before listening on {args.ports} (is a port taken?).", file=sys.stderr)
            return 1
        if time.monotonic() > deadline:
            print(f"scripts/run: Azurite did not listen on {args.ports} within {args.timeout:g} s.", file=sys.stderr)
            return 1
        time.sleep(0.1)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m durable_local.azurite_ports", description=__doc__.split("\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    choose = commands.add_parser("choose", help="print the ports (and settings) to start Azurite with")
    choose.add_argument("--settings", default="local.settings.json", help="the app's local.settings.json")
    choose.add_argument("--ports", type=int, nargs=3, default=list(USUAL_PORTS), metavar=("BLOB", "QUEUE", "TABLE"),
                        help="the ports to use when all are free (default: Azurite's 10000 10001 10002)")
    choose.set_defaults(handler=_choose)
    lock = commands.add_parser("lock", help="lock an open file descriptor (Azurite's data folder's lock file)")
    lock.add_argument("fd", type=int)
    lock.add_argument("--folder", default=".azurite")
    lock.set_defaults(handler=_lock)
    wait = commands.add_parser("wait", help="wait until Azurite listens on its ports")
    wait.add_argument("pid", type=int)
    wait.add_argument("ports", type=int, nargs=3)
    wait.add_argument("--timeout", type=float, default=60)
    wait.set_defaults(handler=_wait)
    args = parser.parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
