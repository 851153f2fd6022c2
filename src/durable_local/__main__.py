"""Allows `python -m durable_local ...` as an alias of the `durable` console command."""

from durable_local.cli import main

raise SystemExit(main())
