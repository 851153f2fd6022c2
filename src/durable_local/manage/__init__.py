"""Instance management from the command line: the `durable` commands that mirror Core Tools `func durable`.

They talk to the Durable HTTP API (`{base_url}/runtime/webhooks/durabletask/...`) of a running app, so
they work with the local host, with `func start`, and with a deployed app, whatever storage backend it uses.
`commands.add_commands` registers them on the `durable` parser.
"""
