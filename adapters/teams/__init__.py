"""Microsoft Teams front end: POST /api/messages through the Bot Framework's CloudAdapter.

`mount` adds the endpoint to the shared aiohttp server and the Teams delivery channel
to the core. With no app id the SDK accepts unauthenticated requests (its anonymous
path, for Microsoft 365 Agents Playground), so the server then only listens on loopback.
"""

from __future__ import annotations

import ipaddress
import logging

import jwt
from aiohttp import web
from botbuilder.integration.aiohttp import CloudAdapter

from adapters.teams.auth import SEND_TIMEOUT, build_authentication
from adapters.teams.bot import TeamsBot, parse_activity
from adapters.teams.cards import render_card
from adapters.teams.channel import TeamsChannel
from bot.config import Settings
from bot.core import Core
from bot.errors import PolicybotError

log = logging.getLogger("policybot.teams")
ROUTE = "/api/messages"

__all__ = ["ROUTE", "TeamsBot", "TeamsChannel", "check_host", "mount", "parse_activity", "render_card"]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_host(settings: Settings, host: str) -> None:
    """Refuse to serve Teams without authentication anywhere but this computer."""
    if settings.teams is None or settings.teams.app_id:
        return
    if not is_loopback(host):
        raise PolicybotError(
            f"{settings.source}: [teams] has no app_id, so anyone could send messages to the bot. "
            f"policybot will only listen on 127.0.0.1 like this, not on {host}. Set [teams] app_id and app_password "
            "(or MicrosoftAppId and MicrosoftAppPassword) from your Azure bot registration, or use --host 127.0.0.1 for local testing."
        )


async def mount(app: web.Application, core: Core, timeout: float = SEND_TIMEOUT) -> None:
    """Add POST /api/messages and the Teams delivery channel."""
    teams = core.settings.teams
    assert teams is not None
    if not teams.app_id:
        log.warning(
            "!!! TEAMS AUTHENTICATION IS OFF: [teams] app_id is empty, so requests to %s are not checked. "
            "This is only for local testing (Microsoft 365 Agents Playground) and policybot listens on loopback only. !!!",
            ROUTE,
        )
    adapter = CloudAdapter(build_authentication(teams, timeout))
    bot = TeamsBot(core, teams.slt_team)
    channel = TeamsChannel(adapter, teams.app_id, core.store, core.directory, core.now)
    core.delivery.add(channel)
    app["teams"] = {"adapter": adapter, "bot": bot, "channel": channel}

    async def messages(request: web.Request) -> web.StreamResponse:
        try:
            response = await adapter.process(request, bot)
        except web.HTTPException:
            raise
        except (PermissionError, jwt.PyJWTError):
            raise web.HTTPUnauthorized() from None
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("refused a malformed Teams request: %s", exc.__class__.__name__, exc_info=log.isEnabledFor(logging.DEBUG))
            raise web.HTTPBadRequest() from None
        return response or web.Response(status=201)

    app.router.add_post(ROUTE, messages)
