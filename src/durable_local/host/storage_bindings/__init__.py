"""Storage bindings (queues; blobs and tables build on the same interface): the host does the storage I/O, the
worker only converts, as the Functions host and the Python worker split the work.

The interface, end to end:

1. **Values cross the host/worker boundary as datums** (`invocation`): `{"type": "string"|"bytes"|"json"|
   "int"|"double", "value": ...}` (bytes base64), turned into Python objects in the worker by azure.functions'
   own converters (`meta.get_binding_registry().get(binding_type).decode(datum, trigger_metadata=...)`) and back
   (`.encode(value, expected_type=None)`), as azure-functions-python-worker `bindings/meta.py`
   (`from_incoming_proto`, `get_datum` / `to_outgoing_proto`) does; see `durable_local.host.invoke`.
2. **One generic invocation for non-Durable, non-HTTP triggers** (`FunctionRunner.invoke(name, BindingCall)` ->
   `BindingResult`): the trigger's datum and metadata (e.g. a queue message and its `Id`, `DequeueCount`), the
   input bindings' datums by binding name; back come `ok`, the output datums by binding name (`$return` for
   the return value) or the error text. Timer triggers use it too. Activities and HTTP functions keep their
   own calls but carry input datums in (`inputs`) and output datums out (`ActivityOutcome.outputs`,
   `HttpReply.outputs`).
3. **The binding registry** (`registry.REGISTRY`: binding type -> `BindingType`): the storage service its
   `connection` must reach; `read` (input: fetch a datum before the call), `write` (output: store a datum after
   a successful call), `listen` (trigger: a host-side listener that calls `BindingRunner.invoke` per event);
   an optional `check` of the binding's properties at start. Each binding module registers its types with
   `registry.register(...)` and is imported by `runner` (one line each); `indexing.SUPPORTED_BINDINGS` stays
   the one list of accepted binding types.
4. **`BindingRunner`** (`runner`) wraps the function runner: reads inputs, calls, writes outputs (a failed
   write fails the invocation), lists functions whose connection is missing or malformed in error
   (`check`), and runs the listeners (`start_listeners`, stopped by `stop`). Handlers get a `BindingContext`
   (function, binding data for expressions, `Connections`, host.json `extensions`).
5. **Connections** (`connections`): a binding's `connection` resolved to the SDK's asyncio clients
   (connection string in `AzureWebJobsX` or `X`, `UseDevelopmentStorage=true`, or identity-based `X__*`).
"""
