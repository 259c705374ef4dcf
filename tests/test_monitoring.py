"""Monitoring through the engine: the rota, logged comments with due times, reminders and escalation."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from tests.harness import SLT, button, school, set_weekly, text


async def test_administrators_set_the_rota_and_everyone_can_see_it(tmp_path: Path) -> None:
    bot = await school()
    await bot.say("eclarke", "/rota-set")
    assert "Sorry" in bot.last("eclarke").title  # staff cannot change the rota
    assert bot.store.audit(action="refused", actor="eclarke")
    await set_weekly(bot)
    saved = bot.last("pshah")
    assert saved.title.startswith("Rota saved") and "Emma Clarke" in saved.body and "Tom Reid" in saved.body
    await bot.say("jbennett", "/rota")
    shown = text(bot.last("jbennett"))
    assert (
        "this week" in shown
        and "next week" in shown
        and "Wed 25 Nov 2026 (today): Emma Clarke" in shown
        and "Sat 28 Nov 2026: Tom Reid" in shown
    )
    await bot.answer_all("pshah", "/rota-set", "1", "weekends: Jo Bennett")
    assert "does not run" in bot.last("pshah").body  # only runners can be on the rota
    await bot.close()


async def test_a_runner_swaps_a_day_with_a_colleague_who_accepts(tmp_path: Path) -> None:
    bot = await school()
    await set_weekly(bot)
    await bot.answer_all("eclarke", "/swap-duty", "27/11/2026", "Tom Reid", "submit")
    ask = bot.last("treid")
    assert ask.title.startswith("Can you monitor") and "Fri 27 Nov 2026" in ask.title
    await bot.click("jbennett", button(ask, "Accept"))
    assert bot.store.get("swaps", "S-1")["status"] == "asked"  # only the person asked can answer
    await bot.click("treid", button(ask, "Accept"))
    assert "Swap accepted" in bot.last("eclarke").title
    assert bot.store.get("rota", "ACC-1")["overrides"]["2026-11-27"] == "treid"
    await bot.click("treid", button(ask, "Decline"))  # a late second answer changes nothing
    assert bot.store.get("swaps", "S-1")["status"] == "accepted"
    await bot.close()


async def test_a_day_with_nobody_on_duty_alerts_admins_and_slt_once() -> None:
    bot = await school()
    await bot.answer_all("pshah", "/rota-set", "1", "Mon-Fri: Emma Clarke", "submit")  # nobody at the weekend
    await bot.tick()
    for who in ("pshah", *SLT):
        gap = [c for c in bot.outbox.cards(who) if c.title.startswith("Nobody is monitoring")]
        assert len(gap) == 1 and "Sat 28 Nov 2026" in gap[0].body and "Sun 29 Nov 2026" in gap[0].body
    await bot.tick()
    bot.clock.advance(timedelta(hours=3))
    await bot.tick()
    assert len([c for c in bot.outbox.cards("pshah") if c.title.startswith("Nobody is monitoring")]) == 1
    bot.clock.advance(timedelta(days=1))  # a new day comes into the seven-day window: Thu 3 Dec is fine, so nothing new
    await bot.tick()
    assert len([c for c in bot.outbox.cards("pshah") if c.title.startswith("Nobody is monitoring")]) == 1
    await bot.close()


async def test_reminders_are_sent_once_a_day_and_forgotten_after_ninety_days() -> None:
    """Years of daily reminders do not pile up in the store: each key is kept 90 days."""
    bot = await school()  # Wednesday 25 Nov, 10:00
    await set_weekly(bot)
    for _day in range(100):
        await bot.tick()
        await bot.tick()  # a second tick the same day sends nothing more
        bot.clock.advance(timedelta(days=1))
    duty = [
        c for c in bot.outbox.cards("eclarke") + bot.outbox.cards("treid") if c.title.startswith("Monitoring today")
    ]
    assert len(duty) == 100  # one a day, never twice
    kept = sorted(r["id"] for r in bot.store.all("reminders") if r["id"].startswith("duty:"))
    # The last day's first tick forgot every key sent before 10:00 on 4 Dec, 90 days earlier.
    assert (len(kept), kept[0], kept[-1]) == (91, "duty:ACC-1:2026-12-04", "duty:ACC-1:2027-03-04")
    await bot.close()


async def test_a_reminder_or_event_record_without_a_readable_time_never_stops_the_scheduler() -> None:
    bot = await school()
    await set_weekly(bot)
    async with bot.store.transaction() as tx:  # as a hand-edited or older data file might hold them
        tx.put("reminders", "odd-1", {"note": "no time"})
        tx.put("reminders", "odd-2", {"at": "last Tuesday"})
        tx.put("events", "odd-3", {"at": None})
    await bot.tick()
    assert [c.title for c in bot.outbox.cards("eclarke")].count(
        "Monitoring today: Pennington PTA (@PenningtonPTA)"
    ) == 1
    assert {"odd-1", "odd-2"} <= {r["id"] for r in bot.store.all("reminders")}  # kept: nothing is deleted on a guess
    await bot.close()


async def test_logging_a_weekend_complaint_gives_the_next_working_day_and_the_procedure() -> None:
    saturday = datetime(2026, 11, 28, 11, 0, tzinfo=UTC)
    bot = await school(start=saturday)
    await set_weekly(bot)
    await bot.answer_all(
        "treid",
        "/log-comment",
        "1",
        "complaint",
        "parent",
        "Unhappy the trip photos show her child",
        "skip",
        "no",
        "submit",
    )
    logged = bot.last("treid")
    assert "IT-1" in logged.title and "Mon 30 Nov 2026, 17:00" in logged.body
    assert "complaints procedure" in logged.body
    item = bot.store.get("items", "IT-1")
    assert item["status"] == "open" and item["due_at"] == "2026-11-30T17:00:00+00:00"
    await bot.close()


async def test_received_yesterday_evening_is_accepted_and_due_24_hours_later() -> None:
    bot = await school()  # Wednesday 25 Nov, 10:00
    await set_weekly(bot)
    await bot.answer_all(
        "eclarke",
        "/log-comment",
        "1",
        "query",
        "parent",
        "When is the trip coming back?",
        "yesterday 18:30",
        "no",
        "submit",
    )
    assert "Wed 25 Nov 2026, 18:30" in bot.last("eclarke").body
    await bot.answer_all("eclarke", "/log-comment", "1", "query", "parent", "Another question", "tomorrow 09:00")
    assert "future" in bot.last("eclarke").body  # re-asked, nothing logged
    assert bot.store.get("items", "IT-2") is None
    await bot.close()


async def test_an_abusive_comment_offers_a_report_with_the_details_filled_in() -> None:
    bot = await school()
    await set_weekly(bot)
    await bot.answer_all(
        "eclarke",
        "/log-comment",
        "1",
        "comment",
        "public",
        "Calls a teacher names under the sports day post",
        "skip",
        "yes",
        "submit",
    )
    logged = bot.last("eclarke")
    await bot.click("eclarke", button(logged, "Report it as abuse"))
    assert "immediate danger" in bot.last("eclarke").body
    convo = bot.store.get("conversations", "eclarke:report_abuse")
    assert convo["answers"]["where"] == "ACC-1" and convo["answers"]["poster"] == "public"
    assert "Calls a teacher names" in convo["answers"]["evidence"]
    await bot.close()


async def test_the_monitor_is_reminded_each_morning_and_nothing_is_sent_twice(tmp_path: Path) -> None:
    start = datetime(2026, 11, 25, 7, 0, tzinfo=UTC)  # Wednesday, 07:00 in London
    bot = await school(tmp_path / "data", start)
    await set_weekly(bot)
    await bot.answer_all(
        "treid", "/log-comment", "1", "query", "parent", "What time is pick-up?", "skip", "no", "submit"
    )
    await bot.tick()
    assert not [c for c in bot.outbox.cards("eclarke") if c.title.startswith("Monitoring today")]
    bot.clock.advance(timedelta(hours=1, minutes=1))  # 08:01
    await bot.tick()
    duty = [c for c in bot.outbox.cards("eclarke") if c.title.startswith("Monitoring today")]
    assert len(duty) == 1 and "IT-1" in duty[0].body and "late" not in duty[0].body
    await bot.close()
    again = await school(tmp_path / "data", start + timedelta(hours=1, minutes=2))  # a restart
    await again.tick()
    assert not [c for c in again.outbox.cards("eclarke") if c.title.startswith("Monitoring today")]
    await again.close()


async def test_a_bot_that_was_down_sends_the_missed_reminder_once_marked_late() -> None:
    bot = await school(start=datetime(2026, 11, 25, 11, 30, tzinfo=UTC))  # first tick long after 08:00
    await set_weekly(bot)
    await bot.tick()
    await bot.tick()
    duty = [c for c in bot.outbox.cards("eclarke") if c.title.startswith("Monitoring today")]
    assert len(duty) == 1 and "late because policybot was not running" in duty[0].body
    await bot.close()


async def test_eight_oclock_local_across_the_march_clock_change() -> None:
    sunday = datetime(2026, 3, 29, 6, 50, tzinfo=UTC)  # 07:50 BST, the morning the clocks go forward
    bot = await school(start=sunday)
    await set_weekly(bot)
    await bot.tick()
    assert not [c for c in bot.outbox.cards("treid") if c.title.startswith("Monitoring today")]
    bot.clock.advance(timedelta(minutes=11))  # 08:01 BST = 07:01 UTC
    await bot.tick()
    assert [c for c in bot.outbox.cards("treid") if c.title.startswith("Monitoring today")]
    await bot.close()


async def test_reply_reminder_then_escalation_then_marked_replied() -> None:
    bot = await school()  # Wed 10:00; a query logged now is due Thu 10:00
    await set_weekly(bot)
    await bot.answer_all(
        "treid", "/log-comment", "1", "query", "parent", "Is the disco still on?", "skip", "no", "submit"
    )
    bot.clock.advance(timedelta(hours=20, minutes=30))  # Thu 06:30: 3 h 30 before due
    await bot.tick()
    assert not [c for c in bot.outbox.cards("eclarke") if c.title.startswith("Reply due soon")]
    bot.clock.advance(timedelta(hours=1))  # 07:30: inside the 3-hour lead
    await bot.tick()
    await bot.tick()
    soon = [c for c in bot.outbox.cards("eclarke") if c.title.startswith("Reply due soon")]
    assert len(soon) == 1 and "Thu 26 Nov 2026, 10:00" in soon[0].body  # to Thursday's monitor
    bot.clock.advance(timedelta(hours=2, minutes=31))  # 10:01: overdue
    await bot.tick()
    await bot.tick()
    for who in (*SLT, "eclarke", "treid"):
        assert len([c for c in bot.outbox.cards(who) if c.title.startswith("Reply overdue")]) == 1, who
    late = next(c for c in bot.outbox.cards("swhitfield") if c.title.startswith("Reply overdue"))
    await bot.click("jbennett", button(late, "Mark replied"))
    assert bot.store.get("items", "IT-1")["status"] == "open"  # not theirs to mark
    await bot.click("eclarke", button(late, "Mark replied"))
    item = bot.store.get("items", "IT-1")
    assert item["status"] == "replied" and item["replied_by"] == "eclarke"
    assert bot.store.audit(action="item_replied", actor="eclarke")
    await bot.say("treid", "/open-items")
    assert "Nothing is waiting" in bot.last("treid").body
    await bot.close()
