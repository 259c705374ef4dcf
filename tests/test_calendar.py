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
        (
            london(2026, 12, 25, 9, 0),
            london(2026, 12, 29, 17, 0),
        ),  # Christmas Day: Boxing Day (Sat) and its substitute (Mon 28th) are off
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
    before, after = (
        at_local(datetime(2026, 3, 28).date(), time(8), LONDON),
        at_local(datetime(2026, 3, 29).date(), time(8), LONDON),
    )
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


@pytest.mark.parametrize(
    ("received", "nation", "due"),
    [
        # Easter 2026: Good Friday 3 April and Easter Monday 6 April in England and Wales.
        (london(2026, 4, 2, 10, 0), "ENG", london(2026, 4, 3, 10, 0)),  # Thursday: 24 hours, even into Good Friday
        (london(2026, 4, 3, 9, 0), "ENG", london(2026, 4, 7, 17, 0)),  # Good Friday: Tuesday, after Easter Monday
        (london(2026, 4, 3, 9, 0), "SCT", london(2026, 4, 6, 17, 0)),  # Easter Monday is a working day in Scotland
        # St Andrew's Day 2025 fell on a Sunday: Scotland's substitute is Monday 1 December.
        (london(2025, 11, 29, 12, 0), "SCT", london(2025, 12, 2, 17, 0)),
        (london(2025, 11, 29, 12, 0), "ENG", london(2025, 12, 1, 17, 0)),
        (london(2025, 12, 1, 10, 0), "SCT", london(2025, 12, 2, 17, 0)),
        (london(2025, 12, 1, 10, 0), "ENG", london(2025, 12, 2, 10, 0)),
        # Christmas and New Year 2027-28: both Christmas days and New Year's Day fall at weekends.
        (london(2027, 12, 24, 20, 0), "ENG", london(2027, 12, 25, 20, 0)),  # Christmas Eve is a working day
        (london(2027, 12, 25, 11, 0), "ENG", london(2027, 12, 29, 17, 0)),  # Mon 27 and Tue 28 are substitutes
        (london(2027, 12, 31, 16, 0), "SCT", london(2028, 1, 1, 16, 0)),  # New Year's Eve: 24 hours
        (london(2028, 1, 1, 11, 0), "ENG", london(2028, 1, 4, 17, 0)),  # Monday 3 January is the substitute
        (london(2028, 1, 1, 11, 0), "SCT", london(2028, 1, 5, 17, 0)),  # Scotland also has Tuesday 4 January
        (
            london(2027, 1, 2, 11, 0),
            "SCT",
            london(2027, 1, 5, 17, 0),
        ),  # 2 January (Sat) moves to Monday 4th in Scotland
        (london(2027, 1, 2, 11, 0), "ENG", london(2027, 1, 4, 17, 0)),
    ],
)
def test_easter_st_andrews_and_new_year_runs(received: datetime, nation: str, due: datetime) -> None:
    assert response_due(received, nation=nation) == due


def test_friday_evening_and_the_weekend_that_follows() -> None:
    friday_evening = london(2026, 11, 27, 18, 45)
    assert response_due(friday_evening) == london(2026, 11, 28, 18, 45)  # a weekday, so 24 hours: Saturday evening
    assert response_due(london(2026, 11, 28, 18, 45)) == london(2026, 11, 30, 17, 0)  # a day later it is Monday


def test_the_day_is_judged_in_the_school_time_zone() -> None:
    # 03:00 UTC on Saturday is still Friday evening in New York: a working day there, so 24 hours.
    moment = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
    new_york = ZoneInfo("America/New_York")
    due = response_due(moment, tz="America/New_York")
    assert due == datetime(2026, 11, 28, 22, 0, tzinfo=new_york) and due.tzinfo == new_york
    assert response_due(moment) == london(2026, 11, 30, 17, 0)  # in London it is already Saturday


def test_an_unknown_nation_is_refused_clearly() -> None:
    with pytest.raises(ValueError, match="ENG, NIR, SCT, WLS"):
        response_due(london(2026, 11, 25, 10, 0), nation="XYZ")


def test_the_autumn_change_keeps_17_00_local_on_the_monday() -> None:
    sunday = london(2026, 10, 25, 12, 0)  # the clocks went back at 02:00 BST that morning
    due = response_due(sunday)
    assert due == london(2026, 10, 26, 17, 0) and due.astimezone(UTC).hour == 17
    saturday_bst = london(2026, 3, 28, 23, 30)  # Saturday night GMT; the clocks go forward overnight
    assert response_due(saturday_bst).astimezone(UTC) == datetime(2026, 3, 30, 16, 0, tzinfo=UTC)


ZONES = ("Europe/London", "Europe/Dublin", "America/New_York", "Australia/Sydney")


@settings(max_examples=300, deadline=None)
@given(
    moment=st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2030, 12, 31), timezones=st.just(UTC)),
    nation=st.sampled_from(["ENG", "NIR", "SCT", "WLS"]),
    zone=st.sampled_from(ZONES),
    end=st.times(min_value=time(12, 0), max_value=time(20, 0)).map(lambda t: t.replace(second=0, microsecond=0)),
)
def test_in_any_zone_due_is_later_aware_and_on_a_working_day_for_days_off(
    moment: datetime, nation: str, zone: str, end: time
) -> None:
    due = response_due(moment, tz=zone, nation=nation, end_of_day=end)
    assert due > moment and due.tzinfo == ZoneInfo(zone)
    if is_working_day(moment.astimezone(ZoneInfo(zone)).date(), nation):
        assert due - moment == timedelta(hours=24)
    else:
        assert is_working_day(due.date(), nation) and due.time() == end
        assert not any(
            is_working_day(moment.astimezone(ZoneInfo(zone)).date() + timedelta(days=n), nation)
            for n in range(1, (due.date() - moment.astimezone(ZoneInfo(zone)).date()).days)
        )
