"""`policybot serve`: run the Slack and Teams server until a signal stops it."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal

from aiohttp import web

from adapters.server import FRONT_ENDS, build_app
from adapters.teams import check_host
from bot.config import Settings
from bot.core import Core
from bot.errors import PolicybotError

log = logging.getLogger("policybot")
GC_YOUNG = 10_000  # new objects between the cyclic collector's young-generation passes in `serve`
# On a stop, requests being received are given this long to finish (Slack waits 3 s at most), so a client that
# never finishes sending cannot hold the stop past a service manager's patience (docs/deploy.md: exit within 10 s).
STOP_WAIT = 5.0


def settle_memory() -> None:
    """Set the cyclic garbage collector up for a long-running server, once it has started.

    What was loaded at start (the store's records, the libraries) lives as long as the
    process: out of the collector's reach, its full passes no longer pause every request
    while they walk it (77 ms measured with a small store, more with years of records).
    A young-generation pass every 700 new objects (the default) came about 50 times a
    second in a burst and took 5-8% of the time answering it; every 10,000 it is 1-2
    passes (6-10 ms a second). Nothing here relies on cycles being freed sooner.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


async def until_stopped() -> None:
    """Wait for SIGINT (Ctrl-C) or SIGTERM (a service manager's stop): a clean stop, after which `serve` exits 0.

    A second signal while stopping is not caught again: it stops policybot at once (exit 130
    for Ctrl-C), as a person pressing Ctrl-C twice expects.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def stopping(sig: signal.Signals) -> None:
        log.info("policybot received %s", sig.name)
        for each in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(each)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping, sig)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def serve(settings: Settings, host: str | None, port: int | None, access_log: bool = False) -> int:

    host = host or settings.server.host
    port = port if port is not None else settings.server.port

    check_host(settings, host)
    core = Core.open(settings)
    runner = None
    try:
        app = await build_app(core)
        if not app[FRONT_ENDS]:
            raise PolicybotError(
                f"{settings.source}: nothing to serve; "
                "add a [slack] or [teams] section (see config.example.toml), or use 'policybot chat'."
            )
        core.start_background()
        # A line per request costs more than acknowledging it; refusals are logged by the handlers.
        quiet = {} if access_log else {"access_log": None}
        runner = web.AppRunner(app, shutdown_timeout=STOP_WAIT, **quiet)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("policybot serving %s on http://%s:%s", ", ".join(app[FRONT_ENDS]), host, port)
        settle_memory()
        await until_stopped()
        log.info("policybot stopping: finishing what it has started and saving everything")
    finally:
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        await core.close()
    return 0
