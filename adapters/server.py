"""`policybot serve`: one aiohttp server for the Slack and Teams front ends, plus /healthz."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.platforms import MOUNTS, Mount
from bot.core import Core

log = logging.getLogger("policybot.server")
MAX_BODY = 1024 * 1024  # Slack and Teams requests are small; anything over 1 MB is refused.

CORE = web.AppKey("core", Core)
FRONT_ENDS = web.AppKey("front_ends", list)  # names of the front ends mounted, for /healthz and the log

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def mounts(core: Core) -> list[tuple[str, Mount]]:
    """The front ends the configuration switches on (those with a section in it)."""
    return [(name, mount) for name, mount in MOUNTS.items() if core.settings.platform(name) is not None]


async def healthz(request: web.Request) -> web.Response:
    """200 when every part a school relies on works, 503 naming the broken part(s) otherwise (docs/reliability.md).

    Each part's state in words, and the counts of messages owed and not yet delivered (outbox) and requests
    acknowledged and not yet handled (unhandled); from what the core keeps in memory, so it stays cheap.
    """
    core = request.app[CORE]
    health = core.health()
    body = {**health.to_dict(), "school": core.settings.school.name, "front_ends": request.app[FRONT_ENDS]}
    return web.json_response(body, status=200 if health.ok else 503)


@web.middleware
async def answering_first(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Slack and Teams wait on each POST: while one is in flight, deferrable work gives way."""
    if request.method != "POST":
        return await handler(request)
    with request.app[CORE].answering():
        return await handler(request)


async def build_app(core: Core) -> web.Application:
    """The aiohttp application with every configured front end mounted."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[answering_first])
    app[CORE] = core
    app[FRONT_ENDS] = []
    app.router.add_get("/healthz", healthz)
    for name, mount in mounts(core):
        await mount(app, core)
        app[FRONT_ENDS].append(name)
    return app
