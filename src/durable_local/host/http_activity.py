"""`BuiltIn::HttpActivity`: the one HTTP request behind `context.call_http` (sdk-protocol.md §3.7).

The Python SDK expects exactly one sequence id per `call_http` and resolves on the first TaskCompleted, so
the host makes one request and returns `{"statusCode", "headers", "content"}` (EXT `DurableHttpResponse`)
rather than following the 202-polling pattern the C# host would.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp


async def run_http_activity(input_text: str | None) -> str:
    request: dict[str, Any] = json.loads(input_text) if input_text else {}
    headers = {key: (", ".join(value) if isinstance(value, list) else str(value))
               for key, value in (request.get("headers") or {}).items()}
    timeout = aiohttp.ClientTimeout(total=100)
    async with aiohttp.ClientSession(timeout=timeout) as session, session.request(
            str(request.get("method") or "GET"), str(request["uri"]), data=request.get("content"),
            headers=headers) as reply:
        content = await reply.text()
        reply_headers: dict[str, Any] = {}
        for key, value in reply.headers.items():
            reply_headers[key] = [*reply_headers[key], value] if isinstance(reply_headers.get(key), list) \
                else ([reply_headers[key], value] if key in reply_headers else value)
        return json.dumps({"statusCode": reply.status, "headers": reply_headers, "content": content})
