"""The clock: real time in production, a movable one for the terminal chat and tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta


class Clock:
    """Tells the time in UTC; `advance` moves it on (the terminal's /advance and tests)."""

    def __init__(self, start: datetime | None = None) -> None:
        self._fixed = start
        self._offset = timedelta(0)

    def now(self) -> datetime:
        base = self._fixed if self._fixed is not None else datetime.now(UTC)
        return base + self._offset

    def advance(self, delta: timedelta) -> None:
        self._offset += delta
