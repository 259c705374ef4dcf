"""Requests first: work that can wait gives way to requests a platform is waiting on.

A chat platform must be answered within seconds (3 for some), or it tells the person it
failed; a reply that arrives a moment later is fine. So in a burst (a whole staff room at
once) the work that follows an answer -- a turn, sending a message -- waits for a
gap between requests before each step, for at most `patience` seconds, and the answers go
out first. With no request in flight nothing waits, so at an ordinary pace replies are as
quick as before, and under a long burst the waiting work still advances at least one step
per `patience`, so nothing starves.

A gap is only taken if it is still a gap once the requests already read from the network
have had their turn to start: in a burst the next request is usually already waiting
in the socket, and a turn started in that instant would hold it up.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator

from bot.errors import reference

log = logging.getLogger("policybot")

PATIENCE = 1.0  # seconds a step of deferrable work waits, at most, for a gap between requests


class Priority:
    """Counts the requests being answered; `give_way()` waits for a gap (bounded)."""

    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self.in_flight = 0
        self._gap = asyncio.Event()  # set while no request is in flight
        self._gap.set()

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around a request that a platform is waiting on."""
        self.in_flight += 1
        self._gap.clear()
        try:
            yield
        finally:
            self.in_flight -= 1
            if self.in_flight == 0:
                self._gap.set()

    async def give_way(self) -> None:
        """Before a step of work that can wait: let the requests in flight be answered first."""
        if self.in_flight == 0 or self.patience <= 0:
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.patience):
                while self.in_flight:
                    await self._gap.wait()
                    await asyncio.sleep(0)  # requests already read start now, and count


class Backlog:
    """Work owed for requests already answered: done in arrival order by a few workers, each
    step after giving way to the requests in flight. Work for the same person (`key`) is done
    one piece at a time, in the order it came, so two quick answers are never taken in the
    wrong order; different people's work goes side by side. `idle()` waits until none is left."""

    def __init__(self, priority: Priority, workers: int = 4) -> None:
        self.priority = priority
        self.size = (
            workers  # steps in progress at once (the store runs turns one at a time; the others wait for the disk)
        )
        self._queue: asyncio.Queue[tuple[str, Callable[[], Awaitable[None]]]] = asyncio.Queue()
        self._after: dict[
            str, collections.deque[Callable[[], Awaitable[None]]]
        ] = {}  # per key: work waiting behind the piece in hand
        self._workers: list[asyncio.Task[None]] = []
        self._waiting = 0
        self._idle = asyncio.Event()  # set while nothing is owed
        self._idle.set()

    def add(self, work: Callable[[], Awaitable[None]], key: str = "") -> None:
        """Do `work` soon, after the work before it (and after all earlier work for `key`)."""
        self._waiting += 1
        self._idle.clear()
        if key and key in self._after:
            self._after[key].append(work)  # whoever holds this key's earlier work does it next
            return
        if key:
            self._after[key] = collections.deque()
        self._queue.put_nowait((key, work))
        if not self._workers:
            self._workers = [asyncio.create_task(self._work()) for _ in range(self.size)]

    async def _work(self) -> None:
        while True:
            key, work = await self._queue.get()
            await self._do(work)
            if key:
                behind = self._after[key]
                while behind:
                    await self._do(behind.popleft())
                del self._after[key]

    async def _do(self, work: Callable[[], Awaitable[None]]) -> None:
        try:
            await self.priority.give_way()
            await work()
        except Exception:
            log.exception("unexpected error handling a request after it was acknowledged, reference %s", reference())
        finally:
            self._waiting -= 1
            if self._waiting == 0:
                self._idle.set()

    async def idle(self) -> None:
        """Wait until every piece of work added so far (and any it added) is done."""
        await self._idle.wait()

    async def close(self, timeout: float = 10.0) -> None:
        """Finish what is owed (for at most `timeout` seconds), then stop the workers."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle(), timeout=timeout)
        for worker in self._workers:
            worker.cancel()
        for worker in self._workers:
            with contextlib.suppress(asyncio.CancelledError):
                await worker
        self._workers = []
