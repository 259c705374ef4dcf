"""The baselines bench/run.py compares policybot with: apps that only acknowledge.

    python bench/bare.py slack PORT API_URL          a bare slack-bolt AsyncApp that acks every command and action
    python bench/bare.py slack-socket 0 API_URL      the same app over Socket Mode (bolt's AsyncSocketModeHandler)
    python bench/bare.py teams PORT                  a bare CloudAdapter echo bot, as the Bot Framework samples write it

Secrets come from the environment (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN, SLACK_APP_TOKEN), as bench/run.py sets them.
"""

from __future__ import annotations

import asyncio
import os
import re
import sys
from types import SimpleNamespace

from aiohttp import web


def slack_bolt(api_url: str, signing_secret: str | None) -> object:
    """A bolt AsyncApp whose listeners only acknowledge."""
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(
        signing_secret=signing_secret,
        client=AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=api_url),
    )

    @bolt.command("/new-account")
    async def command(ack):  # type: ignore[no-untyped-def]
        await ack()

    @bolt.action(re.compile(".*"))
    async def click(ack):  # type: ignore[no-untyped-def]
        await ack()

    return bolt


def slack_app(api_url: str) -> web.Application:
    return slack_bolt(api_url, os.environ["SLACK_SIGNING_SECRET"]).web_app(path="/slack/events")  # type: ignore[attr-defined]


async def slack_socket(api_url: str) -> None:
    """The bare app over Socket Mode, as bolt's documentation starts one, until stopped."""
    from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler

    handler = AsyncSocketModeHandler(slack_bolt(api_url, None), os.environ["SLACK_APP_TOKEN"])  # type: ignore[arg-type]
    await handler.start_async()


def teams_app() -> web.Application:
    from botbuilder.core import ActivityHandler, MessageFactory, TurnContext
    from botbuilder.integration.aiohttp import CloudAdapter, ConfigurationBotFrameworkAuthentication

    class Echo(ActivityHandler):
        async def on_message_activity(self, turn_context: TurnContext) -> None:
            await turn_context.send_activity(MessageFactory.text(f"Echo: {turn_context.activity.text}"))

    adapter = CloudAdapter(
        ConfigurationBotFrameworkAuthentication(
            SimpleNamespace(APP_ID="", APP_PASSWORD="", APP_TYPE="MultiTenant", APP_TENANTID="")
        )
    )
    bot = Echo()

    async def messages(request: web.Request) -> web.StreamResponse:
        return await adapter.process(request, bot) or web.Response(status=201)

    app = web.Application()
    app.router.add_post("/api/messages", messages)
    return app


def main() -> None:
    kind, port = sys.argv[1], int(sys.argv[2])
    if kind == "slack-socket":
        asyncio.run(slack_socket(sys.argv[3]))
        return
    app = slack_app(sys.argv[3]) if kind == "slack" else teams_app()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
