"""Socket Mode: Slack's requests come over a WebSocket that policybot opens, so no public URL is needed."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.health import Link


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
    ) -> None:
        """`link`: where the connection is reported up or down (`Core.link`, for /healthz), looked at every
        `look_every` seconds."""
        self.bolt = bolt
        self.app_token = app_token
        self.client = client
        self.link = link
        self.look_every = look_every
        self.handler: AsyncSocketModeHandler | None = None
        self._task: asyncio.Task[None] | None = None
        self._watch: asyncio.Task[None] | None = None

    async def start(self, _app: web.Application | None = None) -> None:
        """Connect to Slack over a WebSocket, in the background so /healthz answers meanwhile."""
        self.handler = AsyncSocketModeHandler(self.bolt, self.app_token, web_client=self.client)
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
