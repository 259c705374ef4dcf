"""What bench/run.py and bench/socket_mode.py drive the servers with: closed and paced loads, rounds in turns, a
server subprocess, and the table's rows. Nothing here contacts a host other than 127.0.0.1."""

from __future__ import annotations

import asyncio
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Result:
    name: str
    count: int
    errors: int
    seconds: float
    latencies: list[float]
    drained: float | None = None  # seconds after the last acknowledgement until all was handled and replied to

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def pct(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000 if len(self.latencies) > 1 else float("nan")


Request = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


async def closed_loop(
    name: str, session: aiohttp.ClientSession, request: Request, total: int, concurrency: int
) -> Result:
    """`total` requests, `concurrency` at a time, as fast as the server answers."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            t = time.perf_counter()
            status = await request(session, i)
            latencies.append(time.perf_counter() - t)
            errors += status >= 300

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, total, errors, time.perf_counter() - start, latencies)


ROUNDS = 3


async def in_turns(
    session: aiohttp.ClientSession,
    contestants: list[tuple[str, Request, str | None]],
    total: int,
    concurrency: int,
    *,
    rotate: bool = False,
) -> list[Result]:
    """`total` requests to each contestant (name, request, the base URL of a policybot to drain, or None for a
    bare app), in ROUNDS rounds, each contestant taking its turn in every round (with `rotate`, starting with
    the next contestant each round).

    Each round of a policybot's is followed by waiting until it has handled every request
    and delivered every reply (so none of its work is left to slow the next one's round).
    The results add the rounds up: requests over the seconds spent sending them.
    """
    rounds: list[list[Result]] = [[] for _ in contestants]
    for n in range(ROUNDS):
        share = total // ROUNDS + (1 if n < total % ROUNDS else 0)
        order = list(zip(rounds, contestants, strict=True))
        if rotate:  # who goes first changes from round to round
            order = order[n % len(order) :] + order[: n % len(order)]
        for mine, (name, request, base) in order:
            r = await closed_loop(name, session, request, share, concurrency)
            if base is not None:
                r.drained = await drain(session, base)
            mine.append(r)
    return [combined(r) for r in rounds]


def combined(results: list[Result]) -> Result:
    drained = [r.drained for r in results if r.drained is not None]
    return Result(
        results[0].name,
        sum(r.count for r in results),
        sum(r.errors for r in results),
        sum(r.seconds for r in results),
        [x for r in results for x in r.latencies],
        sum(drained) if drained else None,
    )


async def paced(name: str, session: aiohttp.ClientSession, request: Request, rate: float, total: int) -> Result:
    """`total` requests started at a steady `rate` per second, however long each takes."""
    latencies: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        t = time.perf_counter()
        status = await request(session, i)
        latencies.append(time.perf_counter() - t)
        errors += status >= 300

    start = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return Result(name, total, errors, time.perf_counter() - start, latencies)


class Server:
    """A subprocess serving HTTP on 127.0.0.1, stopped on exit."""

    def __init__(self, args: list[str], port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    async def ready(self, session: aiohttp.ClientSession, path: str) -> None:
        for _ in range(200):
            if self.proc.poll() is not None:
                raise SystemExit(f"the server stopped at start-up; see {self.log.name}")
            try:
                async with session.request(
                    "GET" if path == "/healthz" else "POST", f"http://127.0.0.1:{self.port}{path}"
                ) as resp:
                    await resp.read()
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        raise SystemExit(f"the server did not start; see {self.log.name}")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


async def start_fake(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def row(r: Result, base: Result | None = None, rss: float | None = None) -> str:
    ratio = f"{r.rate / base.rate:.0%}" if base else ""
    mem = f"{rss:.0f}" if rss is not None else ""
    done = f"{r.seconds + r.drained:.1f} ({r.count / (r.seconds + r.drained):,.0f}/s)" if r.drained is not None else ""
    return (
        f"| {r.name} | {r.count} | {r.errors} | {r.rate:,.0f} | {r.pct(50):.1f} | {r.pct(99):.1f} "
        f"| {ratio} | {done} | {mem} |"
    )


async def drain(session: aiohttp.ClientSession, base: str, limit: float = 120.0) -> float:
    """Seconds until every request is handled and every reply it owes delivered (bounded)."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        async with session.get(f"{base}/healthz") as resp:
            health = await resp.json()
            if health["outbox"] == 0 and health["unhandled"] == 0:
                break
        await asyncio.sleep(0.05)
    return time.perf_counter() - start
