"""Durable Functions instance management, locally: a host that runs Python v2 apps and the `durable` CLI."""
