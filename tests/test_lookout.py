"""The weekly look-out for posts about the school: once a week, each person asked, done by one of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.platforms import load_config
from bot.config import Settings
from tests.harness import TestBot, add_account, button, person_record, put_person, text

# Monday 30 November 2026, the look-out day (the sample school's default), at 08:00 in London (GMT).
MONDAY_8 = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)
TITLE = "This week's look-out: posts about the school"


def settings(*lookout: str, **monitoring: object) -> Settings:
    base = load_config(None)
    return replace(base, monitoring=replace(base.monitoring, lookout=lookout, **monitoring))


def reminders(bot: TestBot, who: str) -> list:
    return [c for c in bot.outbox.cards(who) if c.title == TITLE]


async def at_monday(bot: TestBot, hours: float = 0) -> None:
    bot.clock.advance(MONDAY_8 + timedelta(hours=hours) - bot.clock.now())
    await bot.tick()


async def test_each_person_on_the_look_out_is_reminded_once_with_the_search_terms(tmp_path: Path) -> None:
    school = settings("slt", "admin", search_terms=("Pennington Primary", "#PenningtonPrimary"))
    bot = TestBot(school, path=tmp_path / "data", start=MONDAY_8 - timedelta(days=1))
    await add_account(bot)
    async with bot.store.transaction() as tx:  # David Okafor (SLT) left last week: he is not asked
        put_person(tx, "dokafor", person_record(leaving="2026-11-27"))
    await bot.tick()
    bot.clock.advance(timedelta(hours=23, minutes=59))  # 07:59: not yet
    await bot.tick()
    assert not reminders(bot, "pshah")
    await at_monday(bot)
    for who in ("swhitfield", "pshah"):
        [card] = reminders(bot, who)
        shown = text(card)
        assert '"Pennington Primary"; "#PenningtonPrimary"' in shown and "Mon 30 Nov 2026" in shown
        assert "Facebook" in shown and "not on the school's own accounts" in card.body
        assert [b.label for b in card.buttons] == ["Done, nothing found", "Log what I found"]
        assert "late" not in card.body
    assert not reminders(bot, "dokafor") and not reminders(bot, "eclarke")
    await bot.tick()  # the scheduler ticks again: nothing new
    bot.clock.advance(timedelta(hours=5))
    await bot.tick()
    await bot.close()
    again = TestBot(school, path=tmp_path / "data", start=bot.clock.now())  # serve restarts on the same folder
    await again.tick()
    assert not reminders(again, "pshah") and not reminders(again, "swhitfield")
    assert len(reminders(bot, "pshah")) == 1
    await again.close()


async def test_a_look_out_missed_while_policybot_was_down_goes_later_that_week_saying_so(tmp_path: Path) -> None:
    bot = TestBot(settings("admin"), path=tmp_path / "data", start=MONDAY_8 - timedelta(days=1))
    await bot.tick()
    await bot.close()
    tuesday = TestBot(settings("admin"), path=tmp_path / "data", start=MONDAY_8 + timedelta(days=1, hours=2))
    await tuesday.tick()
    [card] = reminders(tuesday, "pshah")
    assert "late because policybot was not running at Mon 30 Nov 2026, 08:00" in card.body
    await tuesday.tick()
    assert len(reminders(tuesday, "pshah")) == 1
    await tuesday.close()


async def test_no_look_out_when_the_school_turns_it_off_and_none_the_first_time_policybot_runs_mid_week() -> None:
    off = TestBot(settings(), start=MONDAY_8)
    await off.tick()
    assert not reminders(off, "pshah")
    await off.close()
    fresh = TestBot(settings("admin"), start=MONDAY_8 + timedelta(days=2))  # installed on Wednesday
    await fresh.tick()
    await fresh.tick()
    assert not reminders(fresh, "pshah")
    await fresh.close()


async def test_done_by_one_person_clears_everyone_elses_card_and_waiting() -> None:
    bot = TestBot(settings("slt", "admin"), start=MONDAY_8 - timedelta(minutes=1))
    await at_monday(bot, 1)
    await bot.say("swhitfield", "/waiting")
    assert "look-out for posts about the school, week from Mon 30 Nov 2026" in text(
        next(c for c in bot.outbox.cards("swhitfield") if c.title == "What is waiting for you")
    )
    card = reminders(bot, "pshah")[0]
    await bot.click("eclarke", button(card, "Done"))  # not on the look-out
    assert bot.last("eclarke").title == "Sorry" and not bot.store.all("lookouts")
    assert bot.store.audit(action="refused", actor="eclarke")
    await bot.click("pshah", button(card, "Done, nothing found"))
    week = bot.store.get("lookouts", "2026-11-30")
    assert (week["done_by"], week["mentions"]) == ("pshah", [])
    assert "nothing found" in bot.last("pshah").body + text(bot.last("pshah"))
    for who in ("swhitfield", "dokafor", "pshah"):
        update = [m for m in bot.outbox.messages(who) if m.key == f"lookout:2026-11-30:{who}"][-1]
        assert update.replace and not update.card.buttons
        assert "by Priya Shah, Mon 30 Nov 2026, 09:00: nothing found" in text(update.card)
    await bot.click("swhitfield", button(card, "Done, nothing found"))
    assert "already recorded by Priya Shah" in bot.last("swhitfield").body
    await bot.say("swhitfield", "/waiting")
    assert "look-out" not in text(bot.last("swhitfield"))
    assert len(bot.store.audit(action="lookout_done")) == 1
    # Kept [records.retention] lookouts = 730 days after it was done, then purged like any finished record.
    from bot import records

    def due(days: int) -> list[tuple[str, str]]:
        later = bot.clock.now() + timedelta(days=days)
        return [(e.table, e.key) for e in records.past_retention(bot.store, bot.settings, later, bot.core.registry)]

    assert ("lookouts", "2026-11-30") not in due(729) and ("lookouts", "2026-11-30") in due(731)
    await bot.close()


async def test_log_what_i_found_starts_log_post_and_counts_for_the_week() -> None:
    bot = TestBot(settings("admin", "eclarke"), start=MONDAY_8 - timedelta(minutes=1))
    await at_monday(bot, 1)
    card = reminders(bot, "eclarke")[0]
    await bot.click("eclarke", button(card, "Log what I found"))
    assert bot.last("eclarke").question.key == "where"
    await bot.answer_all("eclarke", "2", "https://x.example/status/1 thanking the choir", "praise", "submit")
    assert bot.store.get("mentions", "M-1")["lookout"] == "2026-11-30"
    assert bot.store.get("lookouts", "2026-11-30")["mentions"] == ["M-1"]
    update = [m for m in bot.outbox.messages("pshah") if m.key == "lookout:2026-11-30:pshah"][-1]
    assert update.replace and "by Emma Clarke" in text(update.card) and "1 post logged" in text(update.card)
    # Priya logs a second one from her own card: the same week, two posts.
    await bot.click("pshah", button(reminders(bot, "pshah")[0], "Log what I found"))
    await bot.answer_all("pshah", "news", "The Gazette's piece on the new building", "praise", "submit")
    assert bot.store.get("lookouts", "2026-11-30")["mentions"] == ["M-1", "M-2"]
    await bot.close()


async def test_the_digest_says_whether_last_weeks_look_out_was_done() -> None:
    bot = TestBot(settings("admin"), start=MONDAY_8 - timedelta(minutes=1))
    await at_monday(bot, 2)
    await bot.click("pshah", button(reminders(bot, "pshah")[0], "Log what I found"))
    await bot.answer_all("pshah", "1", "A parent group thread about parking", "concern", "submit")
    bot.clock.advance(timedelta(days=7))  # the next Monday, 10:00: the digest covers the week just over
    await bot.tick()
    digest = [c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest"][-1]
    fields = dict(digest.fields)
    assert fields["Look-out for posts about the school"] == (
        "Week from Mon 30 Nov 2026: done by Priya Shah, Mon 30 Nov 2026, 10:00: 1 post logged."
    )
    assert "Waiting for an SLT choice: M-1" in fields["Posts about the school found elsewhere"]
    bot.clock.advance(timedelta(days=7))  # nobody did the week of 7 December
    await bot.tick()
    digest = [c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest"][-1]
    assert dict(digest.fields)["Look-out for posts about the school"] == "Week from Mon 7 Dec 2026: not done."
    await bot.close()
