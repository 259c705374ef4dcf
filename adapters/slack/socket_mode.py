"""Socket Mode: Slack's requests come over a WebSocket that policybot opens, so no public URL is needed."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.web.async_client import AsyncWebClient

from bot.health import Link
from bot.metrics import FrontEnd

PING_INTERVAL = 10.0  # seconds: slack_sdk's ping, and its wait between tries when Slack cannot be reached


class CountingHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler, each envelope counted (its answer's status, and the time until the ack was
    sent) as a front end's request is."""

    def __init__(self, *args: object, front: FrontEnd, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.front = front

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        start = time.perf_counter()
        response = await run_async_bolt_app(self.app, req)
        try:
            await send_async_response(client, req, response, start)
        finally:  # counted even when the connection was lost before the ack went (Slack sends it again)
            self.front.answered(time.perf_counter() - start, response.status)


class SocketMode:
    """The WebSocket link from Slack to the bolt app, with the app-level token."""

    def __init__(
        self,
        bolt: AsyncApp,
        app_token: str,
        client: AsyncWebClient,
        link: Link | None = None,
        *,
        look_every: float = 5.0,
        front: FrontEnd | None = None,
        ping_interval: float = PING_INTERVAL,
    ) -> None:
        """`link`: where the connection is reported up or down (`Core.link`, for /healthz), looked at every
        `look_every` seconds; `front`: where each envelope is counted (None: metrics are off);
        `ping_interval`: slack_sdk's (see PING_INTERVAL)."""
        self.bolt = bolt
        self.app_token = app_token
        self.client = client
        self.link = link
        self.look_every = look_every
        self.front = front
        self.ping_interval = ping_interval
        self.handler: AsyncSocketModeHandler | None = None
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self, _app: web.Application | None = None) -> None:
        """Connect to Slack over a WebSocket, in the background so /healthz answers meanwhile."""
        if self.front is None:
            self.handler = AsyncSocketModeHandler(
                self.bolt, self.app_token, web_client=self.client, ping_interval=self.ping_interval
            )
        else:
            self.handler = CountingHandler(
                self.bolt, self.app_token, web_client=self.client, ping_interval=self.ping_interval, front=self.front
            )
        self._task = asyncio.create_task(self.handler.connect_async())
        if self.link is not None:
            self._watch = asyncio.create_task(self._report(self.handler, self.link))

    async def _report(self, handler: AsyncSocketModeHandler, link: Link) -> None:
        """Tell the link whether the WebSocket is open, now and every `look_every` seconds (slack_sdk reconnects
        by itself; this only watches)."""
        while True:
            try:
                connected = await handler.client.is_connected()
            except Exception:
                connected = False
            if connected:
                link.up()
            else:
                link.down()
            await asyncio.sleep(self.look_every)

    async def stop(self, _app: web.Application | None = None) -> None:
        for task in (self._watch, self._task):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self.handler is not None:
            with contextlib.suppress(Exception):
                await self.handler.close_async()
