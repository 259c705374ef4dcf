"""Monitoring over days: clock-change weeks, downtime and restarts, swaps declined, new rota gaps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.answers import parse_datetime
from bot.messages import Outbound
from tests.harness import SLT, TestBot, button, school, set_weekly

LONDON = ZoneInfo("Europe/London")
QUARTER = timedelta(minutes=15)


def titled(bot: TestBot, who: str, start: str) -> list:
    return [c for c in bot.outbox.cards(who) if c.title.startswith(start)]


async def run_ticks(bot: TestBot, until: datetime) -> list[tuple[datetime, Outbound]]:
    """Tick every quarter of an hour, as `policybot serve` does; what was sent and when."""
    seen = []
    while bot.clock.now() < until:
        bot.clock.advance(QUARTER)
        seen += [(bot.clock.now(), o) for o in await bot.tick()]
    return seen


@pytest.mark.parametrize(
    ("start", "days"),
    [
        (datetime(2026, 3, 27, 12, 0, tzinfo=UTC), 4),  # Fri 27 March to Tue 31 March: clocks forward on Sunday 29th
        (datetime(2026, 10, 23, 12, 0, tzinfo=UTC), 4),  # Fri 23 October to Tue 27 October: clocks back on Sunday 25th
    ],
)
async def test_the_duty_reminder_comes_at_eight_local_once_a_day_through_a_clock_change(
    start: datetime, days: int
) -> None:
    bot = await school(start=start)
    await set_weekly(bot)
    await bot.tick()
    seen = await run_ticks(bot, start + timedelta(days=days))
    duty = [(at.astimezone(LONDON), o) for at, o in seen if o.card.title.startswith("Monitoring today")]
    assert [at.date() for at, _ in duty] == [(start + timedelta(days=n)).date() for n in range(1, days + 1)]
    assert all((at.hour, at.minute) == (8, 0) for at, _ in duty)  # 08:00 local in GMT and in BST alike
    weekend = [str(o.to) for at, o in duty if at.weekday() >= 5]
    assert weekend == ["person:treid", "person:treid"]  # Saturday and Sunday are Tom Reid's
    assert not any("late" in o.card.body for _, o in duty)
    await bot.close()


async def test_escalation_at_17_00_local_on_the_monday_after_the_clocks_go_forward() -> None:
    saturday = datetime(2026, 3, 28, 10, 0, tzinfo=UTC)  # 10:00 GMT
    bot = await school(start=saturday)
    await set_weekly(bot)
    await bot.answer_all(
        "treid", "/log-comment", "1", "query", "parent", "Is there a club on Monday?", "skip", "no", "submit"
    )
    assert "Mon 30 Mar 2026, 17:00" in bot.last("treid").body
    seen = await run_ticks(bot, datetime(2026, 3, 31, 0, 0, tzinfo=UTC))
    soon = [at.astimezone(LONDON) for at, o in seen if o.card.title.startswith("Reply due soon")]
    late = [(at.astimezone(LONDON), str(o.to)) for at, o in seen if o.card.title.startswith("Reply overdue")]
    assert [(t.hour, t.minute) for t in soon] == [(14, 0)]  # three hours before 17:00 BST
    assert {t.strftime("%a %H:%M") for t, _ in late} == {"Mon 17:00"}
    assert sorted(to for _, to in late) == ["person:eclarke", "person:treid", "role:slt"]
    await bot.close()


async def test_a_restart_sends_nothing_twice_and_downtime_is_caught_up_once_marked_late(tmp_path: Path) -> None:
    data = tmp_path / "data"
    wednesday = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    bot = await school(data, wednesday)
    await set_weekly(bot)
    await bot.answer_all(
        "treid", "/log-comment", "1", "query", "parent", "Is the disco still on?", "skip", "no", "submit"
    )
    await run_ticks(bot, datetime(2026, 11, 26, 6, 0, tzinfo=UTC))  # running until Thursday 06:00
    assert len(titled(bot, "eclarke", "Monitoring today")) == 1  # Wednesday's, at the first tick
    await bot.close()  # policybot stops at 06:00: the 07:00 reminder, 08:00 duty and 10:00 escalation pass

    back = await school(data, datetime(2026, 11, 26, 11, 0, tzinfo=UTC))
    await back.tick()
    await back.tick()
    duty = titled(back, "eclarke", "Monitoring today")
    assert len(duty) == 1 and "IT-1" in duty[0].body
    assert "late because policybot was not running at Thu 26 Nov 2026, 08:00" in duty[0].body
    for who in (*SLT, "eclarke", "treid"):
        overdue = titled(back, who, "Reply overdue")
        assert len(overdue) == 1 and "not running at Thu 26 Nov 2026, 10:00" in overdue[0].body, who
    assert not titled(back, "eclarke", "Reply due soon")  # overtaken by the escalation, not sent as well
    assert not titled(back, "jbennett", "Reply overdue") and not titled(back, "pshah", "Reply overdue")
    await back.close()

    again = await school(data, datetime(2026, 11, 26, 11, 5, tzinfo=UTC))  # a second restart
    await again.tick()
    assert again.outbox.sent == []
    await again.close()


async def test_something_that_only_became_due_later_is_not_called_late() -> None:
    bot = await school(start=datetime(2026, 11, 25, 7, 0, tzinfo=UTC))
    await run_ticks(bot, datetime(2026, 11, 25, 11, 0, tzinfo=UTC))  # running all morning, no rota yet
    await set_weekly(bot)  # set at 11:00
    await bot.tick()
    duty = titled(bot, "eclarke", "Monitoring today")
    assert len(duty) == 1 and "late" not in duty[0].body
    # Received on Monday and only logged now, two days later: overdue at once, but not because policybot was down.
    await bot.answer_all(
        "eclarke",
        "/log-comment",
        "1",
        "complaint",
        "parent",
        "No reply about the trip refund",
        "Monday 09:00",
        "no",
        "submit",
    )
    logged = bot.last("eclarke")
    assert "already late" in logged.body and "Tue 24 Nov 2026, 09:00" in logged.body
    await bot.tick()
    overdue = titled(bot, "swhitfield", "Reply overdue")
    assert len(overdue) == 1 and "not running" not in overdue[0].body
    assert not titled(bot, "eclarke", "Reply due soon")
    await bot.close()


async def test_an_item_logged_inside_its_lead_time_gets_no_extra_due_soon_reminder() -> None:
    bot = await school(start=datetime(2026, 11, 25, 16, 0, tzinfo=UTC))  # Wednesday 16:00
    await set_weekly(bot)
    await bot.answer_all(
        "treid",
        "/log-comment",
        "1",
        "query",
        "pupil",
        "Asks when the play tickets go on sale",
        "yesterday at 18:30",
        "no",
        "submit",
    )
    assert "Wed 25 Nov 2026, 18:30" in bot.last("treid").body
    told = bot.last("eclarke")  # today's monitor is told at once, with the due time
    assert told.title.startswith("New query") and "from a pupil" in " ".join(v for _, v in told.fields)
    await run_ticks(bot, datetime(2026, 11, 25, 18, 0, tzinfo=UTC))
    assert not titled(bot, "eclarke", "Reply due soon")
    await bot.close()


async def test_a_swap_declined_leaves_the_rota_and_tells_the_requester() -> None:
    bot = await school()
    await set_weekly(bot)
    await bot.answer_all("eclarke", "/swap-duty", "tomorrow", "Tom Reid", "submit")
    assert "Swap request sent" in bot.last("eclarke").title
    ask = bot.last("treid")
    await bot.click("treid", button(ask, "Decline"))
    declined = bot.last("eclarke")
    assert declined.title == "Swap declined" and "still on duty" in declined.body and "Thu 26 Nov 2026" in declined.body
    assert bot.store.get("swaps", "S-1")["status"] == "declined"
    assert "2026-11-26" not in bot.store.get("rota", "ACC-1").get("overrides", {})
    assert bot.last("treid").buttons == ()  # the request card now shows the answer, with no live buttons
    await bot.click("treid", button(ask, "Accept"))  # a change of mind on the old card changes nothing
    assert "already declined" in bot.last("treid").body
    await bot.say("jbennett", "/rota")
    assert "Thu 26 Nov 2026: Emma Clarke" in " ".join(v for _, v in bot.last("jbennett").fields)
    assert bot.store.audit(action="swap_declined", actor="treid")
    await bot.close()


async def test_each_rota_gap_is_alerted_once_and_a_new_gap_gets_its_own_alert() -> None:
    bot = await school()
    await bot.answer_all("pshah", "/rota-set", "1", "Mon-Fri: Emma Clarke", "submit")
    await bot.tick()
    first = titled(bot, "swhitfield", "Nobody is monitoring")
    assert len(first) == 1 and "Sat 28 Nov 2026" in first[0].body
    await bot.answer_all("pshah", "/rota-set", "1", "weekly", "Mon-Thu: Emma Clarke; Sat-Sun: Tom Reid", "submit")
    await bot.tick()
    await bot.tick()
    alerts = titled(bot, "swhitfield", "Nobody is monitoring")
    assert len(alerts) == 2 and "Fri 27 Nov 2026" in alerts[1].body and "Sat 28" not in alerts[1].body
    assert len(titled(bot, "pshah", "Nobody is monitoring")) == 2 and not titled(bot, "eclarke", "Nobody is monitoring")
    await bot.close()


@pytest.mark.parametrize(
    ("typed", "moment"),
    [
        ("yesterday at 18:30", datetime(2026, 11, 24, 18, 30)),
        ("18:30 yesterday", datetime(2026, 11, 24, 18, 30)),
        ("Saturday 6.30pm", datetime(2026, 11, 21, 18, 30)),
        ("last sat at 9am", datetime(2026, 11, 21, 9, 0)),
        ("Wednesday 08:15", datetime(2026, 11, 25, 8, 15)),  # today is Wednesday
        ("an hour ago", datetime(2026, 11, 25, 9, 0)),
        ("at 09:40", datetime(2026, 11, 25, 9, 40)),
    ],
)
def test_when_it_arrived_is_read_as_staff_type_it(typed: str, moment: datetime) -> None:
    now = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert parse_datetime(typed, LONDON, now, "past") == moment.replace(tzinfo=LONDON)


async def test_a_summer_item_shows_its_times_in_british_summer_time() -> None:
    bot = await school(start=datetime(2026, 6, 1, 9, 0, tzinfo=UTC))  # Monday 10:00 BST
    await set_weekly(bot)
    await bot.answer_all(
        "eclarke",
        "/log-comment",
        "1",
        "comment",
        "public",
        "Lovely photos from sports day",
        "Saturday 18:30",
        "no",
        "submit",
    )
    body = bot.last("eclarke").body
    assert "Mon 1 Jun 2026, 17:00" in body  # 16:00 UTC, shown as the school reads it
    item = bot.store.get("items", "IT-1")
    assert item["received_at"] == "2026-05-30T18:30:00+01:00"
    await bot.close()


async def test_reminders_are_new_messages_and_mark_replied_updates_every_copy_including_slts() -> None:
    bot = await school()  # Wednesday 10:00
    await set_weekly(bot)
    await bot.answer_all(
        "treid", "/log-comment", "1", "complaint", "parent", "Upset about the cancelled trip", "skip", "no", "submit"
    )
    await run_ticks(bot, datetime(2026, 11, 26, 10, 0, tzinfo=UTC))  # through Thursday's due time
    soon = [m for m in bot.outbox.messages("eclarke") if m.card.title.startswith("Reply due soon")]
    overdue = [m for m in bot.outbox.messages("swhitfield") if m.card.title.startswith("Reply overdue")]
    assert len(soon) == 1 and not soon[0].replace  # a notification, not an edit of Wednesday's card
    assert len(overdue) == 1 and not overdue[0].replace
    bot.clock.advance(timedelta(minutes=5))
    await bot.click("eclarke", button(soon[0].card, "Mark replied"))
    for who in ("swhitfield", "dokafor", "treid"):
        update = bot.outbox.messages(who)[-1]
        assert update.replace and update.card.title == "Replied: IT-1" and update.card.buttons == (), who
        assert "Marked replied by Emma Clarke, Thu 26 Nov 2026, 10:05 (after the due time)" in update.card.body
    assert bot.outbox.messages("swhitfield")[-1].key == overdue[0].key
    await bot.click("dokafor", button(overdue[0].card, "Mark replied"))
    assert "already marked this replied" in bot.last("dokafor").body
    await bot.close()


async def test_the_configured_reminder_time_lead_and_end_of_day_are_used() -> None:
    from dataclasses import replace
    from datetime import time

    from adapters.platforms import load_config
    from bot.config import Monitoring
    from tests.harness import add_account

    sample = load_config(None)
    settings = replace(
        sample, monitoring=Monitoring(duty_reminder_time=time(7, 30), reminder_lead_hours=1.0, end_of_day=time(16, 0))
    )
    bot = TestBot(settings=settings, start=datetime(2026, 11, 28, 12, 0, tzinfo=UTC))  # Saturday noon
    await add_account(bot)
    await set_weekly(bot)
    await bot.answer_all(
        "treid", "/log-comment", "1", "query", "parent", "Is the fair still on?", "skip", "no", "submit"
    )
    assert "Mon 30 Nov 2026, 16:00" in bot.last("treid").body
    seen = await run_ticks(bot, datetime(2026, 11, 30, 17, 0, tzinfo=UTC))
    times = {
        o.card.title.split(":")[0]: at.strftime("%a %H:%M")
        for at, o in seen
        if str(o.to) == "person:eclarke" and "IT-1" in o.card.title + o.card.body
    }
    assert times == {"Monitoring today": "Mon 07:30", "Reply due soon": "Mon 15:00", "Reply overdue": "Mon 16:00"}
    await bot.close()
