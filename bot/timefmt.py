"""Times as people read them: in the school's time zone, day and date spelled out."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo


def local(dt: datetime, tz: ZoneInfo) -> datetime:
    return dt.astimezone(tz)


def when(dt: datetime | str, tz: ZoneInfo) -> str:
    """'Wed 25 Nov 2026, 14:05' in the school's time zone."""
    if isinstance(dt, str):
        dt = datetime.fromisoformat(dt)
    d = dt.astimezone(tz)
    return f"{d:%a} {d.day} {d:%b %Y}, {d:%H:%M}"


def day(d: date | str) -> str:
    """'Wed 25 Nov 2026'."""
    if isinstance(d, str):
        d = date.fromisoformat(d)
    return f"{d:%a} {d.day} {d:%b %Y}"
