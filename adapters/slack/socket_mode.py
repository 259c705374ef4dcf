"""Socket Mode: Slack's requests come over a WebSocket that policybot opens, so no public URL is needed."""

from __future__ import annotations

import asyncio
import contextlib

from aiohttp import web
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


class SocketMode:
    """The WebSocket link from Slack to the bolt app, with the app-level token."""

    def __init__(self, bolt: AsyncApp, app_token: str, client: AsyncWebClient) -> None:
        self.bolt = bolt
        self.app_token = app_token
        self.client = client
        self.handler: AsyncSocketModeHandler | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self, _app: web.Application | None = None) -> None:
        """Connect to Slack over a WebSocket, in the background so /healthz answers meanwhile."""
        self.handler = AsyncSocketModeHandler(self.bolt, self.app_token, web_client=self.client)
        self._task = asyncio.create_task(self.handler.connect_async())

    async def stop(self, _app: web.Application | None = None) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self.handler is not None:
            with contextlib.suppress(Exception):
                await self.handler.close_async()
