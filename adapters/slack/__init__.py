"""The Slack front end: slack-bolt's AsyncApp over HTTP (POST /slack/events) or Socket Mode.

Every request is saved, then acknowledged at once (before the engine runs), and the work
carries on in order behind it; the delivery loop sends what a turn queued. Conversations
continue in the person's direct message with the bot. The rooms:

- request.py: reading and checking a request (signature, age, shape), the route's error boundary;
- listeners.py: the bolt app and its listeners, each turning a payload into an `Inbound` (inbound.py);
- work.py: what follows the acknowledgement (the turn, a modal, the App Home, the full text);
- notes.py: private notes to one person;
- blocks.py: every piece of Block Kit; channel.py and webapi.py: delivery and the Web API;
- socket_mode.py: Socket Mode; manifest.py: the app manifest.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable

import aiohttp
from aiohttp import web

from adapters.slack.channel import TABLES, SlackChannel
from adapters.slack.listeners import ACCEPT_WAIT, Listeners
from adapters.slack.notes import PrivateNotes
from adapters.slack.request import EVENTS_PATH, Route
from adapters.slack.settings import PLATFORM, slack_settings
from adapters.slack.socket_mode import SocketMode
from adapters.slack.webapi import TIMEOUT, web_client
from adapters.slack.work import Work
from bot.core import Core


class SlackFrontEnd:
    """One Slack workspace: inbound listeners, the delivery channel, and the Socket Mode link.

    `timeout`: seconds for one Web API call; `accept_wait`: seconds to wait for the store
    before acknowledging a request anyway; `wall_time`: the clock a request's signed
    timestamp is checked against.
    """

    def __init__(
        self,
        core: Core,
        *,
        timeout: float = TIMEOUT,
        accept_wait: float = ACCEPT_WAIT,
        wall_time: Callable[[], float] = time.time,
    ) -> None:
        settings = slack_settings(core.settings)
        assert settings is not None
        self.core = core
        self.settings = settings
        self.client = web_client(settings.bot_token, settings.api_url, timeout)
        self.channel = SlackChannel(self.client, settings, core.records(PLATFORM, TABLES), core.people, now=core.now)
        self.work = Work(core, self.channel, PrivateNotes(self.channel))
        self.bolt = Listeners(core, self.client, settings.signing_secret, self.work, accept_wait=accept_wait).bolt
        self.route = Route(self.bolt, settings.signing_secret, wall_time=wall_time)
        link = core.link("slack_socket_mode") if settings.socket_mode else None  # its state, for /healthz
        front = core.metrics.front_end("slack_socket_mode") if settings.socket_mode else None  # its counts
        self.socket = SocketMode(self.bolt, settings.app_token, self.client, link, front=front)

    async def idle(self) -> None:
        """Wait until every acknowledged request has been handled and what it sent delivered."""
        await self.work.idle()

    async def close(self, _app: web.Application | None = None) -> None:
        """Finish the requests already acknowledged, then let go of Slack."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle(), timeout=10)
        await self.socket.stop()


SLACK = web.AppKey("slack", SlackFrontEnd)


async def mount(app: web.Application, core: Core, front_end: SlackFrontEnd | None = None) -> None:
    """Add the Slack front end to the shared server: its route, delivery channel and socket.

    `front_end`: one built with seams of a test's choosing; by default one with the usual settings.
    """
    front = front_end if front_end is not None else SlackFrontEnd(core)
    # One HTTP session for every Web API call: without it slack_sdk opens (and closes) a
    # new session and connection per call, which costs more than the call itself.
    front.client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=front.client.timeout))

    async def close_session(_app: web.Application) -> None:
        if front.client.session is not None:
            await front.client.session.close()

    core.add_channel(front.channel)
    await front.channel.publish_reachability()  # for /unreachable, on every front end
    app[SLACK] = front
    if front.settings.signing_secret:
        app.router.add_post(EVENTS_PATH, front.route.handle)
    if front.settings.socket_mode:
        app.on_startup.append(front.socket.start)
    app.on_startup.append(front.work.replay)
    app.on_cleanup.append(front.close)
    app.on_cleanup.append(close_session)


__all__ = ["EVENTS_PATH", "SLACK", "SlackFrontEnd", "mount"]
