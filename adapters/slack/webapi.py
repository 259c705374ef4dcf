"""The Slack Web API client, and the calls made for every message (post, update, ephemeral)
sent straight with aiohttp on the client's session, token and timeout.

slack_sdk's client wraps each call in several layers (argument checks, retry handlers,
response objects) that cost more CPU than the HTTP request itself, and delivery makes one
or two calls for every request a person sends. The rarer calls (opening a DM, views) still
go through slack_sdk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

T = TypeVar("T")
DEFAULT_HOLD = 1.0  # seconds to leave a method alone after a 429 that gave no Retry-After
TIMEOUT = 10.0  # seconds for one Slack Web API call; a slow Slack is retried from the outbox


def web_client(token: str, api_url: str, timeout: float = TIMEOUT) -> AsyncWebClient:
    """slack_sdk's client for one workspace (its HTTP session is made when the front end is mounted)."""
    base = api_url if api_url.endswith("/") else api_url + "/"
    client = AsyncWebClient(
        token=token, base_url=base, timeout=int(max(1, timeout)), logger=quiet_logger("policybot.slack.api")
    )
    client.timeout = timeout  # type: ignore[assignment]  # allow sub-second timeouts in tests
    return client


def quiet_logger(name: str) -> logging.Logger:
    """A logger for slack_sdk or bolt that does not build debug messages nobody reads.

    Both test `logger.level <= DEBUG` (the logger's own level, not the effective one)
    before formatting every request and response into a debug line, and a new logger's
    level is 0: with it, each Web API call spent longer formatting its blocks into an
    unused string than sending them. Set POLICYBOT_SLACK_DEBUG=1 to see those lines.
    """
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.DEBUG if os.environ.get("POLICYBOT_SLACK_DEBUG") else logging.INFO)
    return logger


class Refused(Exception):
    """Slack did not do it: `status` is the HTTP status, `error` Slack's error code."""

    def __init__(self, status: int, error: str, retry_after: float | None = None) -> None:
        super().__init__(f"HTTP {status} {error}".strip())
        self.status = status
        self.error = error
        self.retry_after = retry_after


MAX_RETRY_AFTER = 3600.0  # a Retry-After longer than an hour is not believed: wait an hour


def seconds(retry_after: str | None) -> float | None:
    """Slack's Retry-After header as seconds, or None when absent or unreadable."""
    try:
        value = float(retry_after) if retry_after is not None else None
    except ValueError:
        return None
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return min(value, MAX_RETRY_AFTER)


class WebAPI:
    """Calls to one workspace's Web API that keep to Slack's rate limits.

    Slack limits each method per workspace, and answers 429 with Retry-After when a
    method is called too often (https://docs.slack.dev/apis/web-api/rate-limits). After
    a 429, nothing more goes to that method until Retry-After has passed: a call in the
    meantime is refused here, as Slack would refuse it, without reaching Slack (the
    delivery loop sends it again when the time has passed), or waits for the time to pass
    when the caller says it may (`wait_up_to`). Other methods go on as usual.
    """

    def __init__(self, client: AsyncWebClient, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.clock = clock
        self._until: dict[str, float] = {}  # method -> when (clock) it may be called again

    def held(self, method: str) -> float:
        """Seconds until `method` may be called again (0 when it may be called now)."""
        return max(0.0, self._until.get(method, 0.0) - self.clock())

    def _hold(self, method: str, retry_after: float | None) -> None:
        until = self.clock() + (retry_after if retry_after is not None and retry_after > 0 else DEFAULT_HOLD)
        self._until[method] = max(until, self._until.get(method, 0.0))

    async def _wait(self, method: str, wait_up_to: float) -> None:
        """Wait out a hold on `method` if it ends within `wait_up_to` seconds; else refuse the call."""
        wait = self.held(method)
        if wait <= 0:
            return
        if wait > wait_up_to:
            raise Refused(429, "ratelimited", wait)  # as Slack would answer, without asking it
        await asyncio.sleep(wait)

    async def call(self, method: str, *, wait_up_to: float = 0.0, **payload: Any) -> dict[str, Any]:
        """`call` for this workspace, keeping to the holds after a 429."""
        await self._wait(method, wait_up_to)
        try:
            return await call(self.client, method, **payload)
        except Refused as exc:
            if exc.status == 429:
                self._hold(method, exc.retry_after)
            raise

    async def sdk(self, method: str, send: Callable[[], Awaitable[T]], *, wait_up_to: float = 0.0) -> T:
        """A call made through slack_sdk (opening a DM, views), keeping to the same holds."""
        await self._wait(method, wait_up_to)
        try:
            return await send()
        except SlackApiError as exc:
            if exc.response.status_code == 429:
                self._hold(
                    method, seconds(exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after"))
                )
            raise


async def call(client: AsyncWebClient, method: str, **payload: Any) -> dict[str, Any]:
    """POST `method` with a JSON body on the client's shared session (set up by `mount`);
    Slack's answer, or Refused. Network errors and timeouts propagate."""
    session = client.session
    assert session is not None, "the Slack front end's HTTP session is made when it is mounted"
    headers = {"Authorization": f"Bearer {client.token}", "Content-Type": "application/json; charset=utf-8"}
    body = json.dumps(
        {k: v for k, v in payload.items() if v is not None}, separators=(",", ":"), ensure_ascii=False
    ).encode()
    async with session.post(
        client.base_url + method, data=body, headers=headers, timeout=aiohttp.ClientTimeout(total=client.timeout)
    ) as resp:
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
