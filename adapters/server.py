"""`policybot serve`: one aiohttp server for the Slack and Teams front ends, plus /healthz."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.core import Core

log = logging.getLogger("policybot.server")
MAX_BODY = 1024 * 1024  # Slack and Teams requests are small; anything over 1 MB is refused.

# Each front end adds its routes and delivery channel: (app, core) -> None.
Mount = Callable[[web.Application, Core], Awaitable[None]]


def mounts(core: Core) -> list[tuple[str, Mount]]:
    """The front ends the configuration switches on."""
    found: list[tuple[str, Mount]] = []
    if core.settings.teams is not None:
        from adapters.teams import mount as mount_teams

        found.append(("teams", mount_teams))
    return found


async def healthz(request: web.Request) -> web.Response:
    core: Core = request.app["core"]
    return web.json_response(
        {
            "status": "ok",
            "school": core.settings.school.name,
            "front_ends": request.app["front_ends"],
            "outbox": len(core.delivery.pending()),
        }
    )


async def build_app(core: Core) -> web.Application:
    """The aiohttp application with every configured front end mounted."""
    app = web.Application(client_max_size=MAX_BODY)
    app["core"] = core
    app["front_ends"] = []
    app.router.add_get("/healthz", healthz)
    for name, mount in mounts(core):
        await mount(app, core)
        app["front_ends"].append(name)
    return app
