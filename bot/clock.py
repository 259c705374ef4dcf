"""The clock: real time in production, a movable one for the terminal chat and tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Tells the time in UTC; `advance` moves it on (the terminal's /advance and tests)."""

    def __init__(self, start: datetime | None = None, offset: timedelta = timedelta(0)) -> None:
        self._fixed = start
        self._offset = offset

    @property
    def offset(self) -> timedelta:
        """How far `advance` has moved the clock on, in all."""
        return self._offset

    def now(self) -> datetime:
        base = self._fixed if self._fixed is not None else datetime.now(UTC)
        return base + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta

    def reset(self) -> None:
        """Back to the time it started from (real time, for the terminal chat)."""
        self._offset = timedelta(0)
