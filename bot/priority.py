"""Requests first: work that can wait gives way to requests a platform is waiting on.

Slack must be answered within 3 seconds and Teams within 15, or they tell the person it
failed; a reply that arrives a moment later is fine. So in a burst (a whole staff room at
once) the work that follows an answer -- a Slack turn, sending a message -- waits for a
gap between requests before each step, for at most `patience` seconds, and the answers go
out first. With no request in flight nothing waits, so at an ordinary pace replies are as
quick as before, and under a long burst the waiting work still advances at least one step
per `patience`, so nothing starves.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

PATIENCE = 0.05  # seconds a step of deferrable work waits for a gap between requests


class Priority:
    """Counts the requests being answered; `give_way()` waits for a gap (bounded)."""

    def __init__(self, patience: float = PATIENCE) -> None:
        self.patience = patience
        self.in_flight = 0
        self._gap: asyncio.Event | None = None  # made on first use, inside the running loop

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Around a request that a platform is waiting on."""
        self.in_flight += 1
        if self._gap is not None:
            self._gap.clear()
        try:
            yield
        finally:
            self.in_flight -= 1
            if self.in_flight == 0 and self._gap is not None:
                self._gap.set()

    async def give_way(self) -> None:
        """Before a step of work that can wait: let the requests in flight be answered first."""
        if self.in_flight == 0 or self.patience <= 0:
            return
        if self._gap is None:
            self._gap = asyncio.Event()
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self.patience):
                await self._gap.wait()
