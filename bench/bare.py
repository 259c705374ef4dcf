"""The baselines bench/run.py compares policybot with: apps that only acknowledge.

    python bench/bare.py slack PORT API_URL   a bare slack-bolt AsyncApp that acks every command and action
    python bench/bare.py teams PORT           a bare CloudAdapter echo bot, as the Bot Framework samples write it

Secrets come from the environment (SLACK_SIGNING_SECRET, SLACK_BOT_TOKEN), as bench/run.py sets them.
"""

from __future__ import annotations

import os
import re
import sys
from types import SimpleNamespace

from aiohttp import web


def slack_app(api_url: str) -> web.Application:
    from slack_bolt.async_app import AsyncApp
    from slack_sdk.web.async_client import AsyncWebClient

    bolt = AsyncApp(
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        client=AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=api_url),
    )

    @bolt.command("/new-account")
    async def command(ack):  # type: ignore[no-untyped-def]
        await ack()

    @bolt.action(re.compile(".*"))
    async def click(ack):  # type: ignore[no-untyped-def]
        await ack()

    return bolt.web_app(path="/slack/events")


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
    app = slack_app(sys.argv[3]) if kind == "slack" else teams_app()
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


if __name__ == "__main__":
    main()
