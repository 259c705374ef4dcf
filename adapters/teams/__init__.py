"""Microsoft Teams front end: POST /api/messages through the Bot Framework's CloudAdapter.

`mount` adds the endpoint to the shared aiohttp server and the Teams delivery channel
to the core. With no app id the SDK accepts unauthenticated requests (its anonymous
path, for Microsoft 365 Agents Playground), so the server then only listens on loopback.
"""

from __future__ import annotations

import functools
import ipaddress
import logging
from typing import Any

import jwt
from aiohttp import web
from botbuilder.core import serializer_helper
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import Activity, ActivityTypes
from botframework.connector.auth import AuthenticateRequestResult

from adapters.teams.activity import parse_body, read_activity
from adapters.teams.bot import TeamsBot, parse_activity
from adapters.teams.cards import render_card
from adapters.teams.channel import TeamsChannel
from adapters.teams.clients import SEND_TIMEOUT, build_authentication
from adapters.teams.references import TABLES, publish_reachability
from adapters.teams.settings import PLATFORM, teams_settings
from bot.config import Settings
from bot.core import Core
from bot.errors import NotSaved, PolicybotError, reference

log = logging.getLogger("policybot.teams")
ROUTE = "/api/messages"
TEAMS = web.AppKey("teams", dict)  # the adapter, bot and delivery channel, for tests and tools

__all__ = ["ROUTE", "TEAMS", "TeamsBot", "TeamsChannel", "check_host", "mount", "parse_activity", "render_card"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(settings: Settings, host: str) -> None:
    """Refuse to serve Teams without authentication anywhere but this computer."""
    teams = teams_settings(settings)
    if teams is None or teams.app_id:
        return
    if not is_loopback(host):
        raise PolicybotError(
            f"{settings.source}: [teams] has no app_id, so anyone could send messages to the bot. "
            f"policybot will only listen on 127.0.0.1 like this, not on {host}. Set [teams] app_id and app_password "
            "(or MicrosoftAppId and MicrosoftAppPassword) from your Azure bot registration, "
            "or use --host 127.0.0.1 for local testing."
        )


def well_formed(body: object) -> bool:
    """Whether a body has what every Bot Framework activity has: a type, a sender, a conversation and where to reply."""
    if not isinstance(body, dict):
        return False
    sender, conversation, service = body.get("from"), body.get("conversation"), body.get("serviceUrl")
    return (
        isinstance(body.get("type"), str)
        and isinstance(sender, dict)
        and isinstance(sender.get("id"), str)
        and isinstance(conversation, dict)
        and isinstance(conversation.get("id"), str)
        and bool(conversation["id"])
        and conversation["id"].isprintable()  # it travels in an HTTP header of the reply
        and isinstance(service, str)
        and service.startswith(("https://", "http://"))
    )


async def mount(app: web.Application, core: Core, timeout: float = SEND_TIMEOUT) -> None:
    """Add POST /api/messages and the Teams delivery channel."""
    teams = teams_settings(core.settings)
    assert teams is not None
    if not teams.app_id:
        log.warning(
            "!!! TEAMS AUTHENTICATION IS OFF: [teams] app_id is empty, so requests to %s are not checked. "
            "This is only for local testing (Microsoft 365 Agents Playground) "
            "and policybot listens on loopback only. !!!",
            ROUTE,
        )
    adapter = CloudAdapter(build_authentication(teams, timeout))
    bot = TeamsBot(core, teams.slt_team)
    channel = TeamsChannel(adapter, teams.app_id, core.records(PLATFORM, TABLES), core.people, core.now, timeout)
    core.add_channel(channel)
    await publish_reachability(channel.store, core.people)  # for /unreachable, on every front end
    app[TEAMS] = {"adapter": adapter, "bot": bot, "channel": channel}

    async def messages(request: web.Request) -> web.StreamResponse:
        """The one error boundary of /api/messages: whatever a request holds, it is answered with a
        status that says what was wrong with it (400, 401, 415), never a traceback."""
        try:
            return await answer(request)
        except web.HTTPException:
            raise
        except Exception:
            ref = reference()
            log.exception("a Teams request failed (reference %s)", ref)
            raise web.HTTPInternalServerError(text=f"Something went wrong in policybot (reference {ref}).") from None

    async def answer(request: web.Request) -> web.StreamResponse:
        if teams.app_id and not request.headers.get("Authorization"):
            raise web.HTTPUnauthorized()
        try:
            body = parse_body(await request.read())
        except ValueError:
            raise web.HTTPBadRequest(text="The request body is not JSON.") from None
        if not well_formed(body):
            log.warning("refused a Teams request that is not a Bot Framework activity")
            raise web.HTTPBadRequest(text="The request is not a Bot Framework activity.")
        if "application/json" not in request.headers.get("Content-Type", ""):
            raise web.HTTPUnsupportedMediaType()
        # What CloudAdapter.process does, with the body parsed once and read without msrest.
        try:
            activity = read_activity(body)
        except Exception as exc:  # msrest refused a value: the activity is malformed
            log.warning("refused a malformed Teams request: %s", exc.__class__.__name__)
            raise web.HTTPBadRequest(text="The request is not a Bot Framework activity.") from None
        if not activity.type:
            raise web.HTTPBadRequest(text="The request is not a Bot Framework activity.")
        try:
            auth = await adapter.bot_framework_authentication.authenticate_request(
                activity, request.headers.get("Authorization", "")
            )
        except Exception as exc:  # a forged or unreadable token, or signing keys that cannot be fetched now
            log.warning("refused a Teams request whose token was not accepted (%s)", exc.__class__.__name__)
            raise web.HTTPUnauthorized() from None
        try:
            if await take(activity, body, auth):
                return web.Response(status=201)
            invoke = await adapter.process_activity(auth, activity, bot.on_turn)
        except (PermissionError, jwt.PyJWTError):
            raise web.HTTPUnauthorized() from None
        if invoke is None:
            return web.Response(status=201)
        return web.json_response(data=serializer_helper(invoke.body), status=invoke.status)

    async def take(activity: Activity, body: dict[str, Any], auth: AuthenticateRequestResult) -> bool:
        """A message (typed, or a card's Action.Submit) is saved, then acknowledged, and handled
        just after, as Slack's requests are: Teams is answered without waiting for the turn.
        False for anything else, or if it cannot be saved: then it is handled in the request
        (card clicks need their answer in it; a message that cannot be saved is told so)."""
        event = parse_activity(activity) if activity.type == ActivityTypes.message else None
        if event is None:
            return False
        key = core.inbox_key(event)
        try:
            await core.accept(event, {"activity": body}, key=key)
        except NotSaved:
            return False
        core.later(
            functools.partial(adapter.process_activity, auth, activity, functools.partial(bot.on_turn, inbox_key=key)),
            key=f"teams:{event.user}",
        )
        return True

    async def replay(_app: web.Application) -> None:
        """Handle the messages acknowledged but not handled when policybot last stopped, oldest first."""
        for key, event, extra in core.unhandled():
            if event.platform == PLATFORM and isinstance(extra.get("activity"), dict):
                activity = read_activity(extra["activity"])
                # As a proactive turn: the sender's token was checked when the message arrived.
                claims = adapter.create_claims_identity(teams.app_id)
                core.later(
                    functools.partial(
                        adapter.process_proactive, claims, activity, None, functools.partial(bot.on_turn, inbox_key=key)
                    ),
                    key=f"teams:{event.user}",
                )

    app.router.add_post(ROUTE, messages)
    app.on_startup.append(replay)

    async def close_channel(_app: web.Application) -> None:
        await channel.close()

    app.on_cleanup.append(close_channel)
