"""The policy's own review ("Agreed ____"): /policy shows when it was agreed and is due for review, and SLT
are reminded a month before, on the day and each week after, until a new version or agreed date is set."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from adapters.platforms import load_config
from bot.calendar import months_after
from bot.config import Settings
from tests.harness import SLT, TestBot, put_disclaimer

SOON = "The social media policy is due for review next month"
TODAY = "The social media policy is due for review today"
OVERDUE = "The social media policy is overdue for review"
MISSING = "When was the social media policy agreed?"
STALE = "A new policy version: when was it agreed?"
REVIEW = (SOON, TODAY, OVERDUE, MISSING, STALE)


def school_with(agreed: date | None, version: str = "2025-1", months: int = 12) -> Settings:
    sample = load_config(None)
    school = replace(sample.school, policy_agreed=agreed, policy_version=version, policy_review_months=months)
    return replace(sample, school=school)


def review_cards(bot: TestBot, who: str = "swhitfield") -> list[str]:
    return [c.title for c in bot.outbox.cards(who) if c.title in REVIEW]


async def quiet(bot: TestBot) -> None:
    """Everyone has answered /disclaimer, so only the review speaks."""
    async with bot.store.transaction() as tx:
        for p in bot.settings.people:
            put_disclaimer(tx, p.id, version=bot.settings.school.policy_version)


def test_months_are_calendar_months_kept_within_the_month() -> None:
    assert months_after(date(2026, 9, 1), 12) == date(2027, 9, 1)
    assert months_after(date(2027, 1, 31), 1) == date(2027, 2, 28)
    assert months_after(date(2026, 12, 20), -1) == date(2026, 11, 20)
    assert months_after(date(2026, 3, 31), -1) == date(2026, 2, 28)


async def test_policy_shows_when_it_was_agreed_and_is_next_due_for_review() -> None:
    bot = TestBot()  # the sample school: agreed 1 September 2026, reviewed every 12 months
    await bot.say("eclarke", "/policy")
    assert "This version was agreed on Tue 1 Sep 2026 and is next due for review on Wed 1 Sep 2027." in (
        bot.last("eclarke").body
    )
    await bot.close()
    unknown = TestBot(school_with(None))
    await unknown.say("eclarke", "/policy")
    assert "agreed" not in unknown.last("eclarke").body  # nothing made up
    await unknown.close()


async def test_slt_are_reminded_a_month_before_on_the_day_and_weekly_after_each_once(tmp_path: Path) -> None:
    settings = school_with(date(2025, 12, 21))  # due for review on Monday 21 December 2026
    data = tmp_path / "data"
    start = datetime(2026, 11, 20, 7, 30, tzinfo=UTC)  # Friday 20 November, before 08:00
    bot = TestBot(settings, data, start=start)
    await quiet(bot)
    await bot.tick()
    assert review_cards(bot) == []
    bot.clock.advance(timedelta(hours=1))  # 08:30, still more than a month before
    await bot.tick()
    assert review_cards(bot) == []
    bot.clock.advance(timedelta(days=1))  # Saturday 21 November: a month before
    await bot.tick()
    await bot.tick()
    assert review_cards(bot) == [SOON] and review_cards(bot, "dokafor") == [SOON]
    soon = next(c for c in bot.outbox.cards("swhitfield") if c.title == SOON)
    assert "agreed on Sun 21 Dec 2025" in soon.body and "on Mon 21 Dec 2026" in soon.body
    assert "set policy_version to its new version and policy_agreed to the date it was agreed" in soon.body
    assert review_cards(bot, "eclarke") == [] and review_cards(bot, "pshah") == []  # SLT only
    await bot.close()

    # A restart sends nothing again.
    again = TestBot(settings, data, start=bot.clock.now() + timedelta(hours=3))
    await again.tick()
    assert review_cards(again) == []
    again.clock.advance(datetime(2026, 12, 21, 8, 5, tzinfo=UTC) - again.clock.now())  # the day
    await again.tick()
    await again.tick()
    assert review_cards(again) == [TODAY]
    await again.say("eclarke", "/policy")
    assert "is due for review today, Mon 21 Dec 2026" in again.last("eclarke").body
    for week in (1, 2):
        again.clock.advance(timedelta(days=3))
        await again.tick()
        assert review_cards(again).count(OVERDUE) == week - 1  # not before the week is out
        again.clock.advance(timedelta(days=4))
        await again.tick()
        await again.tick()
        assert review_cards(again).count(OVERDUE) == week
    await again.say("eclarke", "/policy")
    assert "was due for review on Mon 21 Dec 2026" in again.last("eclarke").body
    overdue = [c for c in again.outbox.cards("swhitfield") if c.title == OVERDUE]
    assert "That was 1 week ago" in overdue[0].body and "That was 2 weeks ago" in overdue[1].body
    await again.close()

    # The reviewed policy is agreed: a new version and date stop the reminders and start the next cycle.
    reviewed = school_with(date(2027, 1, 4), version="2027-1")
    after = TestBot(reviewed, data, start=datetime(2027, 1, 11, 9, 0, tzinfo=UTC))
    await quiet(after)
    for _ in range(4):
        await after.tick()
        after.clock.advance(timedelta(days=7))
    assert review_cards(after) == []
    await after.say("eclarke", "/policy")
    assert "This version was agreed on Mon 4 Jan 2027 and is next due for review on Tue 4 Jan 2028." in (
        after.last("eclarke").body
    )
    await after.close()


async def test_a_new_version_with_the_old_agreed_date_stops_the_reminders_and_slt_are_told(tmp_path: Path) -> None:
    data = tmp_path / "data"
    overdue = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
    bot = TestBot(school_with(date(2025, 11, 1)), data, start=overdue)  # due on 1 November 2026: overdue
    await quiet(bot)
    await bot.tick()
    assert review_cards(bot) == [OVERDUE]
    await bot.close()
    newer = school_with(date(2025, 11, 1), version="2026-1")  # policy_agreed left as it was
    again = TestBot(newer, data, start=overdue + timedelta(days=1))
    await quiet(again)
    await again.tick()
    await again.tick()
    assert review_cards(again) == [STALE]
    told = again.last("swhitfield").body
    assert "policy_agreed still says Sat 1 Nov 2025" in told and "counted as agreed today, Wed 2 Dec 2026" in told
    assert "due for review on Thu 2 Dec 2027" in told
    for _ in range(3):
        again.clock.advance(timedelta(days=7))
        await again.tick()
    assert review_cards(again) == [STALE]  # no more overdue reminders, and told once
    await again.say("treid", "/policy")
    assert "This version has been in use since Wed 2 Dec 2026 and is next due for review on Thu 2 Dec 2027." in (
        again.last("treid").body
    )
    await again.close()
    # Restarted later, it still counts from the day it first saw the version.
    later = TestBot(newer, data, start=overdue + timedelta(days=40))
    await later.say("treid", "/policy")
    assert "in use since Wed 2 Dec 2026" in later.last("treid").body
    await later.close()


async def test_with_no_agreed_date_slt_are_asked_once_to_set_it_and_the_digest_says_so(tmp_path: Path) -> None:
    data = tmp_path / "data"
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    bot = TestBot(school_with(None), data, start=monday)
    await quiet(bot)
    await bot.tick()
    await bot.tick()
    for who in SLT:
        assert review_cards(bot, who) == [MISSING]
    asked = next(c for c in bot.outbox.cards("swhitfield") if c.title == MISSING)
    assert "policy_agreed" in asked.body and "[school] section of policybot's configuration file" in asked.body
    digest = next(c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest")
    line = dict(digest.fields)["Policy review"]
    assert line.startswith("Not known") and "Set policy_agreed in the [school] section" in line
    await bot.close()
    again = TestBot(school_with(None), data, start=monday + timedelta(days=7))
    await again.tick()
    assert review_cards(again) == []  # asked once, not each restart or week
    digest = next(c for c in again.outbox.cards("swhitfield") if c.title == "Weekly social media digest")
    assert dict(digest.fields)["Policy review"].startswith("Not known")
    await again.close()


async def test_the_digest_says_when_the_review_is_due() -> None:
    bot = TestBot(school_with(date(2025, 12, 21)), start=datetime(2026, 11, 30, 9, 0, tzinfo=UTC))
    await quiet(bot)
    await bot.tick()
    digest = next(c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest")
    assert dict(digest.fields)["Policy review"] == (
        "Version 2025-1 was agreed on Sun 21 Dec 2025; it is due for review within a month, on Mon 21 Dec 2026."
    )
    await bot.close()
