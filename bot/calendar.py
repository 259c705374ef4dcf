"""The school's calendar: working days, bank holidays and when a reply is due under the policy.

The policy's Monitoring section: "Any comments, queries or complaints made through those
accounts must be responded to within 24 hours (or on the next working day if received at
a weekend)". A working day is Monday to Friday and not a bank holiday of the school's
nation (the `holidays` package's UK subdivisions ENG, NIR, SCT, WLS). Monitoring itself
runs every day; only the reply deadline looks at working days.
"""

from __future__ import annotations

import calendar
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

NATIONS = ("ENG", "NIR", "SCT", "WLS")


def months_after(d: date, months: int) -> date:
    """The same day `months` later (or earlier, if negative); the month's last day when it is shorter
    (31 Jan + 1 month is 28 Feb). Training that lapses, the disclaimer's interval and the policy's review use it."""
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(d.day, calendar.monthrange(year, month + 1)[1]))


REPLY_WITHIN = timedelta(hours=24)


@lru_cache(maxsize=8)
def bank_holidays(nation: str = "ENG") -> holidays.HolidayBase:
    """The bank holidays of one UK nation (years are filled in as they are asked about)."""
    if nation not in NATIONS:
        raise ValueError(f"unknown nation {nation!r}; expected one of {', '.join(NATIONS)}")
    return holidays.country_holidays("GB", subdiv=nation)


def is_working_day(day: date, nation: str = "ENG") -> bool:
    """True from Monday to Friday, except the nation's bank holidays."""
    return day.weekday() < 5 and day not in bank_holidays(nation)


def holiday_name(day: date, nation: str = "ENG") -> str:
    """The bank holiday's name ('Christmas Day'), or '' on an ordinary day."""
    return str(bank_holidays(nation).get(day) or "")


def next_working_day(day: date, nation: str = "ENG") -> date:
    """The first working day strictly after `day`."""
    d = day + timedelta(days=1)
    while not is_working_day(d, nation):
        d += timedelta(days=1)
    return d


def at_local(day: date, clock: time, tz: ZoneInfo | str) -> datetime:
    """The moment a local wall-clock time happens on `day`, correct on clock-change days.

    The UTC offset is that of `day` itself, so 08:00 stays 08:00 local in GMT and in BST.
    A time inside the hour skipped in spring is moved an hour on, as the clocks are; a
    time repeated in autumn means its first occurrence.
    """
    zone = ZoneInfo(tz) if isinstance(tz, str) else tz
    return datetime.combine(day, clock, zone).astimezone(UTC).astimezone(zone)


def response_due(
    received_at: datetime,
    *,
    tz: str = "Europe/London",
    nation: str = "ENG",
    end_of_day: time = time(17, 0),
) -> datetime:
    """When a reply to a comment, query or complaint is due under the policy.

    Received on a working day: 24 hours after receipt. Received on a non-working day
    (a weekend, or a bank holiday of `nation`): by `end_of_day` on the next working day.
    Which day it was received on is judged in the school's time zone `tz`.

    Args:
        received_at: when it arrived; must carry a time zone.
        tz: an IANA time zone name such as "Europe/London".
        nation: "ENG", "NIR", "SCT" or "WLS".
        end_of_day: the local time a working day's replies are due by.

    Returns:
        The due moment, time-zone aware, in `tz`.
    """
    if received_at.tzinfo is None or received_at.utcoffset() is None:
        raise ValueError("received_at must be time-zone aware (for example datetime.now(UTC))")
    zone = ZoneInfo(tz)
    local = received_at.astimezone(zone)
    if is_working_day(local.date(), nation):
        # Elapsed hours, computed in UTC so a clock change cannot add or remove one.
        return (received_at.astimezone(UTC) + REPLY_WITHIN).astimezone(zone)
    return at_local(next_working_day(local.date(), nation), end_of_day, zone)


__all__ = ["NATIONS", "at_local", "bank_holidays", "holiday_name", "is_working_day", "next_working_day", "response_due"]
