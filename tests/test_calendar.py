"""The policy's reply deadline: 24 hours, or the next working day when received on a weekend or bank holiday."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.calendar import at_local, is_working_day, response_due

LONDON = ZoneInfo("Europe/London")


def london(*args: int) -> datetime:
    return datetime(*args, tzinfo=LONDON)


@pytest.mark.parametrize(
    ("received", "due"),
    [
        (london(2026, 11, 25, 10, 0), london(2026, 11, 26, 10, 0)),  # Wednesday: 24 hours
        (london(2026, 11, 27, 16, 30), london(2026, 11, 28, 16, 30)),  # Friday afternoon: 24 hours, into Saturday
        (london(2026, 11, 27, 23, 59), london(2026, 11, 28, 23, 59)),  # late Friday is still Friday
        (london(2026, 11, 28, 0, 5), london(2026, 11, 30, 17, 0)),  # Saturday: Monday at 17:00
        (london(2026, 11, 29, 22, 0), london(2026, 11, 30, 17, 0)),  # Sunday night: Monday at 17:00
        (london(2026, 12, 25, 9, 0), london(2026, 12, 29, 17, 0)),  # Christmas Day: Boxing Day (Sat) and its substitute (Mon 28th) are off
        (london(2026, 12, 24, 12, 0), london(2026, 12, 25, 12, 0)),  # Christmas Eve is a working day: 24 hours
        (london(2027, 1, 1, 10, 0), london(2027, 1, 4, 17, 0)),  # New Year's Day (Fri): Monday
        (london(2026, 5, 25, 8, 0), london(2026, 5, 26, 17, 0)),  # Spring bank holiday Monday
    ],
)
def test_the_due_time_follows_the_policy_in_england(received: datetime, due: datetime) -> None:
    assert response_due(received) == due


def test_the_answer_is_aware_and_in_the_school_time_zone() -> None:
    due = response_due(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    assert due.tzinfo is not None and due.utcoffset() == timedelta(0) and str(due.tzinfo) == "Europe/London"


def test_clock_changes_keep_24_real_hours_and_local_end_of_day() -> None:
    # Saturday 28 March 2026 10:00 GMT: due Monday 30 March 17:00 BST (the clocks went forward on the Sunday).
    assert response_due(london(2026, 3, 28, 10, 0)) == london(2026, 3, 30, 17, 0)
    assert response_due(london(2026, 3, 28, 10, 0)).utcoffset() == timedelta(hours=1)
    # Friday 23 October 10:00 BST + 24 hours: Saturday 10:00 BST (no change yet).
    assert response_due(london(2026, 10, 23, 10, 0)) == london(2026, 10, 24, 10, 0)
    # Received on a working day just before the autumn change, due 24 real hours later.
    received = datetime(2026, 10, 23, 23, 30, tzinfo=UTC)  # Saturday 00:30 BST: a weekend, so Monday 17:00 GMT
    assert response_due(received) == london(2026, 10, 26, 17, 0)
    assert response_due(received).utcoffset() == timedelta(0)


def test_scotland_and_northern_ireland_have_their_own_bank_holidays() -> None:
    second_of_january = london(2026, 1, 2, 10, 0)  # a Friday: a bank holiday in Scotland only
    assert response_due(second_of_january, nation="ENG") == london(2026, 1, 3, 10, 0)
    assert response_due(second_of_january, nation="SCT") == london(2026, 1, 5, 17, 0)
    st_andrews = london(2026, 11, 30, 9, 0)  # Monday 30 November
    assert response_due(st_andrews, nation="SCT") == london(2026, 12, 1, 17, 0)
    assert response_due(st_andrews, nation="ENG") == london(2026, 12, 1, 9, 0)
    st_patricks = london(2026, 3, 17, 9, 0)
    assert response_due(st_patricks, nation="NIR") == london(2026, 3, 18, 17, 0)
    assert response_due(st_patricks, nation="WLS") == london(2026, 3, 18, 9, 0)


def test_options_for_another_time_zone_and_end_of_day() -> None:
    saturday = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert response_due(saturday, end_of_day=time(15, 30)) == london(2026, 11, 30, 15, 30)
    dublin = response_due(saturday, tz="Europe/Dublin")
    assert dublin == datetime(2026, 11, 30, 17, 0, tzinfo=ZoneInfo("Europe/Dublin"))


def test_a_time_without_a_zone_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="time-zone aware"):
        response_due(datetime(2026, 11, 25, 10, 0))


def test_eight_oclock_stays_eight_oclock_local_across_the_clock_changes() -> None:
    before, after = at_local(datetime(2026, 3, 28).date(), time(8), LONDON), at_local(datetime(2026, 3, 29).date(), time(8), LONDON)
    assert (before.hour, after.hour) == (8, 8) and before.astimezone(UTC).hour == 8 and after.astimezone(UTC).hour == 7
    october = at_local(datetime(2026, 10, 25).date(), time(8), LONDON)
    assert october.hour == 8 and october.astimezone(UTC).hour == 8


@settings(max_examples=400, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    nation=st.sampled_from(["ENG", "NIR", "SCT", "WLS"]),
)
def test_due_is_after_receipt_and_never_on_a_day_off_for_weekend_items(moment: datetime, nation: str) -> None:
    due = response_due(moment, nation=nation)
    assert due > moment
    received_day = moment.astimezone(LONDON).date()
    if is_working_day(received_day, nation):
        assert due - moment == timedelta(hours=24)
    else:
        assert is_working_day(due.date(), nation) and (due.hour, due.minute) == (17, 0)
        assert due - moment <= timedelta(days=6)  # the longest run of days off (Christmas) is covered within a week
