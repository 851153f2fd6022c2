"""One structured audit record per destructive management operation (terminate, purge, rewind, restart, bulk
runs): what was done, to which instance or filter, why, to how many instances, and by whom.

Each record is one log line `audit {json}` on logger `durable.audit` at INFO, so it reaches Application Insights
as a trace whose message is the JSON (query it with `traces | where message startswith "audit "`); the same
dict is attached to the record as `record.audit` for handlers that want it structured.

The caller's principal comes from App Service authentication ("Easy Auth"), which puts the signed-in identity in
`X-MS-CLIENT-PRINCIPAL-NAME` / `X-MS-CLIENT-PRINCIPAL-ID` / `X-MS-CLIENT-PRINCIPAL-IDP` and removes those
headers from incoming requests, so they cannot be forged while it is on
(https://learn.microsoft.com/azure/app-service/configure-authentication-user-identities). App Service sets
`WEBSITE_AUTH_ENABLED=True` when it is on. When it is off, anyone can send the headers: they are then recorded
as `unverifiedPrincipal`, never as `principal`.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

AUDIT_LOGGER = "durable.audit"
PRINCIPAL_HEADERS = {
    "name": "X-MS-CLIENT-PRINCIPAL-NAME",
    "id": "X-MS-CLIENT-PRINCIPAL-ID",
    "identityProvider": "X-MS-CLIENT-PRINCIPAL-IDP",
}
PLATFORM_SETTINGS = ("WEBSITE_AUTH_ENABLED",)  # set by App Service itself, not an app setting

logger = logging.getLogger(AUDIT_LOGGER)


def _header(headers: Mapping[str, str], name: str) -> str | None:
    for key, value in headers.items():
        if key.lower() == name.lower():
            return value
    return None


def caller_principal(headers: Mapping[str, str] | None) -> tuple[dict[str, str] | None, bool]:
    """(principal from the App Service authentication headers, whether App Service authentication vouches for
    it). None when no principal header is present (no headers: a timer or an orchestration)."""
    if not headers:
        return None, False
    found = {field: value for field, header in PRINCIPAL_HEADERS.items() if (value := _header(headers, header))}
    if not found:
        return None, False
    verified = os.environ.get("WEBSITE_AUTH_ENABLED", "").strip().lower() == "true"
    return found, verified


def audit(
    operation: str,
    *,
    headers: Mapping[str, str] | None = None,
    instance_id: str | None = None,
    instance_filter: Mapping[str, Any] | None = None,
    reason: str | None = None,
    count: int | None = None,
    trigger: str = "http",
    **details: Any,
) -> dict[str, Any]:
    """Log the audit record of one destructive operation that was carried out, and return it.

    `headers` are the request's (for the caller's principal); `instance_id` or `instance_filter` says what the
    operation acted on; `count` is how many instances it affected; `trigger` is `http`, `timer` or
    `orchestration`; `details` are extra fields (for example the new instance ID of a restart).
    """
    principal, verified = caller_principal(headers)
    record: dict[str, Any] = {"operation": operation, "trigger": trigger}
    if instance_id is not None:
        record["instanceId"] = instance_id
    if instance_filter is not None:
        record["filter"] = dict(instance_filter)
    record["reason"] = reason
    if count is not None:
        record["count"] = count
    record["principal"] = principal if verified else None
    if principal and not verified:
        record["unverifiedPrincipal"] = principal
    record.update(details)
    logger.info("audit %s", json.dumps(record, sort_keys=True, default=str), extra={"audit": record})
    return record
