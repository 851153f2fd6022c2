"""The local host: runs an unchanged Azure Functions Python v2 app with Durable Functions, in pure Python.

It plays the parts of the Functions host, the Python worker and the Durable extension with DTFx: it indexes
the app, serves HTTP triggers and the Durable HTTP API, and runs orchestrations (the SDK replays user code;
`sequencer` does what the extension's C# shim does), activities and timer triggers, persisted in SQLite.
"""
