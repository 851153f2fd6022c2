"""The function app: every Durable Functions instance-management operation, as HTTP endpoints.

Composition only; the functions live in `blueprints/`, one module per concern.
"""

import azure.durable_functions as df
import azure.functions as func

from blueprints import bulk, control, housekeeping, orchestrations, payloads, queries, retention, starters

app = df.DFApp(http_auth_level=func.AuthLevel.FUNCTION)

app.register_functions(starters.bp)
app.register_functions(queries.bp)
app.register_functions(control.bp)
app.register_functions(housekeeping.bp)
app.register_functions(payloads.bp)
app.register_functions(orchestrations.bp)
app.register_functions(bulk.bp)
app.register_functions(retention.bp)
