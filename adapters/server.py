"""`policybot serve`: one aiohttp server for the Slack and Teams front ends, plus /healthz and /metrics."""

from __future__ import annotations

import ipaddress
import logging
import time
from collections.abc import Awaitable, Callable

from aiohttp import web

from adapters.platforms import MOUNTS, Mount
from bot.core import Core
from bot.metrics import CONTENT_TYPE, FrontEnd

log = logging.getLogger("policybot.server")
MAX_BODY = 1024 * 1024  # Slack and Teams requests are small; anything over 1 MB is refused.

CORE = web.AppKey("core", Core)
FRONT_ENDS = web.AppKey("front_ends", list)  # names of the front ends mounted, for /healthz and the log
ROUTES = web.AppKey("routes", dict)  # each front end's routes -> its counts (bot/metrics.py), when metrics are on
# Headers a reverse proxy adds to say whom it forwards: a request through one is not this machine's own.
PROXY_HEADERS = ("Forwarded", "X-Forwarded-For", "X-Real-IP", "X-Forwarded-Host", "X-Client-IP", "True-Client-IP")

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


def from_this_machine(request: web.Request) -> bool:
    """The connection comes from 127.0.0.1 or ::1 and no proxy header says it is forwarded from elsewhere.

    The peer is read from the socket itself; a reverse proxy on this machine connects from loopback
    too, so a request carrying any proxy header is refused (a proxy may be told to drop them).
    """
    peer = request.transport.get_extra_info("peername") if request.transport is not None else None
    try:
        address = ipaddress.ip_address(str(peer[0]).split("%")[0]) if peer else None
    except ValueError:
        address = None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped  # an IPv4 peer of a server listening on "::"
    loopback = address is not None and address.is_loopback
    return loopback and not any(h in request.headers for h in PROXY_HEADERS)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus' text format, for a monitoring system ([server] metrics: "loopback", "public" or "off")."""
    core = request.app[CORE]
    who = core.settings.server.metrics
    if who == "off" or not core.metrics.enabled:
        raise web.HTTPNotFound(text="Metrics are off ([server] metrics in the configuration).")
    if who == "loopback" and not from_this_machine(request):
        log.warning("refused GET /metrics from %s: metrics are for this machine only", request.remote)
        raise web.HTTPForbidden(text='Metrics are for this machine only ([server] metrics = "loopback").')
    return web.Response(body=core.metrics.text(), headers={"Content-Type": CONTENT_TYPE})


@web.middleware
async def answering_first(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Slack and Teams wait on each POST: while one is in flight, deferrable work gives way.

    Each is counted for its front end (its answer's status and how long it took), when metrics are on.
    """
    if request.method != "POST":
        return await handler(request)
    routes = request.app.get(ROUTES)
    front: FrontEnd | None = routes.get(request.match_info.route.resource) if routes else None
    with request.app[CORE].answering():
        if front is None:
            return await handler(request)
        start = time.perf_counter()
        try:
            response = await handler(request)
        except web.HTTPException as exc:
            front.answered(time.perf_counter() - start, exc.status)
            raise
        front.answered(time.perf_counter() - start, response.status)
        return response


async def build_app(core: Core) -> web.Application:
    """The aiohttp application with every configured front end mounted."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[answering_first])
    app[CORE] = core
    app[FRONT_ENDS] = []
    app[ROUTES] = {}
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    for name, mount in mounts(core):
        before = set(app.router.resources())
        await mount(app, core)
        app[FRONT_ENDS].append(name)
        front = core.metrics.front_end(name)
        if front is not None:  # the routes it added are its own
            app[ROUTES].update({r: front for r in app.router.resources() if r not in before})
    return app
