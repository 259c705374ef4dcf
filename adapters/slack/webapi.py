"""The Slack Web API calls made for every message (post, update, ephemeral), sent straight
with aiohttp on the client's session, token and timeout.

slack_sdk's client wraps each call in several layers (argument checks, retry handlers,
response objects) that cost more CPU than the HTTP request itself, and delivery makes one
or two calls for every request a person sends. The rarer calls (opening a DM, views) still
go through slack_sdk.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient


class Refused(Exception):
    """Slack did not do it: `status` is the HTTP status, `error` Slack's error code."""

    def __init__(self, status: int, error: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} {error}".strip())
        self.status = status
        self.error = error
        self.retry_after = retry_after


def seconds(retry_after: str | None) -> float | None:
    """Slack's Retry-After header as seconds, or None when absent or unreadable."""
    try:
        return float(retry_after) if retry_after is not None else None
    except ValueError:
        return None


async def call(client: AsyncWebClient, method: str, **payload: Any) -> dict[str, Any]:
    """POST `method` with a JSON body on the client's shared session (set up by `mount`);
    Slack's answer, or Refused. Network errors and timeouts propagate."""
    session = client.session
    assert session is not None, "the Slack front end's HTTP session is made when it is mounted"
    headers = {"Authorization": f"Bearer {client.token}", "Content-Type": "application/json; charset=utf-8"}
    body = json.dumps({k: v for k, v in payload.items() if v is not None}, separators=(",", ":"), ensure_ascii=False).encode()
    async with session.post(client.base_url + method, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=client.timeout)) as resp:
        raw = await resp.read()
        status, retry = resp.status, resp.headers.get("Retry-After")
    try:
        answer = json.loads(raw) if raw else None
    except ValueError:
        answer = None
    if status == 200 and isinstance(answer, dict) and answer.get("ok"):
        return answer
    error = str(answer.get("error", "")) if isinstance(answer, dict) else ""
    raise Refused(status, error, seconds(retry))
