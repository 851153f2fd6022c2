"""The durable client binding value and the management URLs (sdk-protocol.md §1, http-api.md §3).

The binding is the JSON the extension's `BindingHelper` emits for the HTTP protocol, with every key. Its
`rpcBaseUrl` points at the local host's own listener: the local host serves the same handler on the public
webhook path, so the SDK's calls go to `http://127.0.0.1:{port}/runtime/webhooks/durabletask/...` (allowed by
§1.2: the SDK only concatenates paths onto it), and several hosts can run side by side.
"""

from __future__ import annotations

import json
from urllib.parse import quote_plus

from durable_local.vocabulary import DURABLE_API

DEFAULT_CONNECTION = "Storage"


def management_urls(origin: str, instance_id: str, hub: str, connection: str = DEFAULT_CONNECTION,
                    required_query: str = "", *, encode_id: bool = True) -> dict[str, str]:
    """EXT `GetClientResponseLinks`: all nine URLs, with the literal `{eventName}` and `{text}` placeholders."""
    base = origin.rstrip("/") + DURABLE_API
    prefix = f"{base}/instances/{quote_plus(instance_id) if encode_id else instance_id}"
    suffix = f"taskHub={quote_plus(hub)}&connection={quote_plus(connection)}"
    if required_query:
        suffix += "&" + required_query
    return {
        "id": instance_id,
        "statusQueryGetUri": f"{prefix}?{suffix}",
        "sendEventPostUri": f"{prefix}/raiseEvent/{{eventName}}?{suffix}",
        "terminatePostUri": f"{prefix}/terminate?reason={{text}}&{suffix}",
        "rewindPostUri": f"{prefix}/rewind?reason={{text}}&{suffix}",
        "purgeHistoryDeleteUri": f"{prefix}?{suffix}",
        "restartPostUri": f"{prefix}/restart?{suffix}",
        "suspendPostUri": f"{prefix}/suspend?reason={{text}}&{suffix}",
        "resumePostUri": f"{prefix}/resume?reason={{text}}&{suffix}",
    }


def check_status_payload(origin: str, instance_id: str, hub: str, required_query: str = "") -> dict[str, str]:
    """The host's own 202 body for start and restart: no `rewindPostUri` (EXT `CreateCheckStatusResponseMessage`)."""
    urls = management_urls(origin, instance_id, hub, required_query=required_query)
    order = ("id", "statusQueryGetUri", "sendEventPostUri", "terminatePostUri", "purgeHistoryDeleteUri",
             "restartPostUri", "suspendPostUri", "resumePostUri")
    return {key: urls[key] for key in order}


def system_key_query(system_key: str) -> str:
    """`requiredQueryStringParameters` when keys are enforced: `code=<durabletask_extension system key>`, as the
    extension builds it from the webhook URL the host gives it (EXT `HttpApiHandler`; on Azure every management
    URL carries the system key)."""
    return "code=" + quote_plus(system_key)


def rpc_path_for(token: str) -> str:
    """The private RPC path of a host that enforces keys: `/durabletask/{token}`, the token random per start
    and known only to the worker processes through the binding (instead of the extension's separate
    loopback-only port)."""
    return f"/durabletask/{token}"


def client_binding(public_origin: str, rpc_origin: str, hub: str, required_query: str = "",
                   rpc_path: str = DURABLE_API) -> str:
    """The `durableClient` binding value, as a JSON string, with all keys (nulls included).

    `rpc_path`: the path the SDK's calls go to. With keys enforced it is a private path (`rpc_path_for`): the
    SDKs send no key on `rpcBaseUrl`, as the extension's `LocalHttpListener` (`/durabletask/`, loopback only)
    is outside the Functions host's key checks (http-api.md §2.1)."""
    base = public_origin.rstrip("/") + DURABLE_API
    suffix = f"?{required_query}" if required_query else "?"
    value = {
        "taskHubName": hub,
        "connectionName": None,
        "creationUrls": {
            "createNewInstancePostUri": f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]{suffix}",
            "createAndWaitOnNewInstancePostUri":
                f"{base}/orchestrators/{{functionName}}[/{{instanceId}}]?timeout={{timeoutInSeconds}}"
                f"&pollingInterval={{intervalInSeconds}}&{required_query}",
        },
        "managementUrls": management_urls(public_origin, "INSTANCEID", hub, required_query=required_query),
        "baseUrl": base,
        "requiredQueryStringParameters": required_query,
        "rpcBaseUrl": rpc_origin.rstrip("/") + rpc_path + "/",
        "httpBaseUrl": None,
        "maxGrpcMessageSizeInBytes": None,
    }
    return json.dumps(value)
