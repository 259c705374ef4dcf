"""Training that lapses (issue 19, section 3): lapsed training counts as untrained wherever training
counts; the person and the administrators are reminded a month before and on the day, once each;
SLT see lapsed runners in the digest and the register; /training-status; /training renews it."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

from adapters.platforms import load_config
from bot.calendar import months_after
from bot.config import Settings
from tests.harness import (
    APPLICATION,
    TestBot,
    button,
    person_record,
    put_person,
    ready_record,
    school,
    text,
)

SOON = "Your social media training lapses soon"
LAPSED = "Your social media training has lapsed"
TO_RENEW = "Social media training to renew"


def settings(untrained_runner: str = "block", valid_months: int = 24) -> Settings:
    sample = load_config(None)
    records = replace(sample.records, untrained_runner=untrained_runner, training_valid_months=valid_months)
    return replace(sample, records=records)


def move_to(bot: TestBot, moment: datetime) -> None:
    """Move the test clock on to `moment` (UTC; London is on GMT in winter)."""
    bot.clock.advance(moment - bot.clock.now())


def titled(bot: TestBot, who: str, title: str) -> list[str]:
    """Everything on each card `who` received with this title."""
    return [text(c) for c in bot.outbox.cards(who) if c.title == title]


async def apply_and_approve(bot: TestBot) -> None:
    """Emma Clarke applies for Year 6 Trips run by her and Tom Reid; Sarah Whitfield approves it."""
    await bot.answer_all("eclarke", *APPLICATION, "submit")
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Approve"))


async def test_training_25_months_old_is_lapsed_on_the_approval_card_and_refused_until_renewed() -> None:
    bot = TestBot(settings("block"))
    async with bot.store.transaction() as tx:
        put_person(tx, "eclarke", ready_record())
        put_person(tx, "treid", person_record(read="2025-1", trained="2024-10-20"))  # 25 months before 25 Nov 2026
    await bot.answer_all("eclarke", *APPLICATION, "submit")
    runners = dict(bot.last("swhitfield").fields)["Run by"]
    assert "Emma Clarke - read the policy on Fri 20 Nov 2026; trained on Fri 20 Nov 2026" in runners
    assert "Tom Reid - read the policy on Fri 20 Nov 2026; training lapsed on Tue 20 Oct 2026" in runners
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Approve"))
    record = button(bot.last("pshah"), "Record the new account")

    await bot.click("pshah", record)
    refused = bot.last("pshah")
    assert refused.title == "Not yet: training or policy reading needed"
    assert "Tom Reid (training lapsed on Tue 20 Oct 2026)" in refused.body
    assert bot.store.all("accounts") == []
    assert (
        "Tom Reid (training lapsed on Tue 20 Oct 2026)"
        in bot.store.audit(action="account_blocked_untrained")[0]["detail"]
    )

    await bot.answer_all("pshah", "/training", "Tom Reid", "today", "Social media refresher", "Record it")
    reply = bot.last("pshah")
    assert "This renews the lapsed training of Tom Reid." in reply.body
    assert "It counts until Sat 25 Nov 2028." in bot.last("treid").body

    await bot.click("pshah", record)
    await bot.answer_all("pshah", "@PenningtonY6", "school password manager, Social Media folder", "submit")
    assert [a["handle"] for a in bot.store.all("accounts")] == ["@PenningtonY6"]
    await bot.say("swhitfield", "/accounts")
    assert "Tom Reid - read the policy on Fri 20 Nov 2026; trained on Wed 25 Nov 2026" in text(bot.last("swhitfield"))
    await bot.close()


async def test_with_warn_a_lapsed_runner_is_recorded_with_a_warning_that_names_the_lapse() -> None:
    bot = TestBot(settings("warn"))
    async with bot.store.transaction() as tx:
        put_person(tx, "eclarke", ready_record())
        put_person(tx, "treid", person_record(read="2025-1", trained="2024-10-20"))
    await apply_and_approve(bot)
    await bot.click("pshah", button(bot.last("pshah"), "Record the new account"))
    await bot.answer_all("pshah", "@PenningtonY6", "school password manager", "submit")
    assert len(bot.store.all("accounts")) == 1
    warned = titled(bot, "pshah", "Recorded, with a warning")
    assert warned and "Tom Reid (training lapsed on Tue 20 Oct 2026)" in warned[-1]
    await bot.close()


async def test_reminders_a_month_before_and_on_the_day_once_each_even_after_a_restart(tmp_path: Path) -> None:
    bot = await school(path=tmp_path)  # Pennington PTA, run by Emma Clarke and Tom Reid
    async with bot.store.transaction() as tx:
        put_person(tx, "eclarke", ready_record())
        put_person(tx, "treid", person_record(read="2025-1", trained="2024-12-30"))  # lapses Wed 30 Dec 2026
        put_person(tx, "glowe", person_record(trained="2024-12-30"))  # not a runner: reminded all the same
        put_person(tx, "dokafor", person_record(trained="2024-12-30", leaving="2026-12-18"))  # leaving: not reminded
    await bot.tick()
    assert not titled(bot, "treid", SOON)  # 25 Nov: more than a month to go

    move_to(bot, datetime(2026, 11, 30, 7, 0, tzinfo=UTC))
    await bot.tick()
    assert not titled(bot, "treid", SOON)  # reminders go from 08:00
    move_to(bot, datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    await bot.tick()
    await bot.tick()
    soon = titled(bot, "treid", SOON)
    assert len(soon) == 1 and "counts until Wed 30 Dec 2026" in soon[0] and "you run Pennington PTA" in soon[0]
    assert len(titled(bot, "glowe", SOON)) == 1
    assert not titled(bot, "dokafor", SOON)
    admin = titled(bot, "pshah", TO_RENEW)
    assert len(admin) == 1  # one card listing both, not one card per person
    assert "Tom Reid training lapses on Wed 30 Dec 2026; runs Pennington PTA" in admin[0]
    assert "Gary Lowe training lapses on Wed 30 Dec 2026" in admin[0] and "David Okafor" not in admin[0]
    await bot.say("swhitfield", "/accounts")
    assert "trained on Mon 30 Dec 2024 (training lapses on Wed 30 Dec 2026)" in text(bot.last("swhitfield"))
    await bot.close()

    again = TestBot(path=tmp_path, start=datetime(2026, 12, 1, 9, 0, tzinfo=UTC))
    await again.tick()
    assert not titled(again, "treid", SOON) and not titled(again, "pshah", TO_RENEW)

    move_to(again, datetime(2026, 12, 30, 8, 5, tzinfo=UTC))
    await again.tick()
    await again.tick()
    lapsed = titled(again, "treid", LAPSED)
    assert len(lapsed) == 1 and "lapsed on Wed 30 Dec 2026" in lapsed[0]
    assert len(titled(again, "glowe", LAPSED)) == 1
    admin = titled(again, "pshah", TO_RENEW)
    assert len(admin) == 1 and "Tom Reid training lapsed on Wed 30 Dec 2026; runs Pennington PTA" in admin[0]
    assert not titled(again, "dokafor", LAPSED)
    await again.close()

    third = TestBot(path=tmp_path, start=datetime(2026, 12, 31, 9, 0, tzinfo=UTC))
    await third.tick()
    assert not titled(third, "treid", LAPSED) and not titled(third, "pshah", TO_RENEW)
    await third.close()


async def test_the_digest_and_the_register_name_runners_whose_training_has_lapsed() -> None:
    bot = await school(start=datetime(2027, 1, 4, 7, 0, tzinfo=UTC))  # Monday 4 January 2027
    async with bot.store.transaction() as tx:
        put_person(tx, "eclarke", person_record(read="2025-1", trained="2026-11-20"))
        put_person(tx, "treid", person_record(read="2025-1", trained="2024-12-30"))
    move_to(bot, datetime(2027, 1, 4, 8, 30, tzinfo=UTC))
    await bot.tick()
    digest = next(c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest")
    fields = dict(digest.fields)
    assert fields["Account runners whose training has lapsed or lapses soon"].startswith(
        "Pennington PTA: Tom Reid (training lapsed on Wed 30 Dec 2026)"
    )
    assert fields["Accounts with fewer than two trained runners"] == "Pennington PTA (1 of 2)"
    await bot.say("swhitfield", "/accounts")
    register = text(bot.last("swhitfield"))
    assert "Tom Reid - read the policy on Fri 20 Nov 2026; training lapsed on Wed 30 Dec 2026" in register
    await bot.close()


async def test_a_renewed_training_stops_the_reminders_for_the_old_one() -> None:
    bot = await school(start=datetime(2026, 11, 30, 8, 30, tzinfo=UTC))
    async with bot.store.transaction() as tx:
        put_person(tx, "treid", person_record(read="2025-1", trained="2024-12-30"))
    await bot.tick()
    assert len(titled(bot, "treid", SOON)) == 1
    await bot.answer_all("pshah", "/training", "Tom Reid", "today", "Social media refresher", "Record it")
    move_to(bot, datetime(2026, 12, 30, 8, 30, tzinfo=UTC))
    await bot.tick()
    assert not titled(bot, "treid", LAPSED) and not titled(bot, "pshah", TO_RENEW)[1:]
    await bot.say("pshah", "/training-status")
    assert "Tom Reid: until Thu 30 Nov 2028 (trained on Mon 30 Nov 2026)" in text(bot.last("pshah"))
    await bot.close()


async def test_training_for_several_people_at_once_renews_lapsed_training_and_says_so() -> None:
    bot = await school()
    async with bot.store.transaction() as tx:
        put_person(tx, "treid", person_record(read="2025-1", trained="2024-10-20"))  # lapsed
    trained = "Tom Reid, Emma Clarke, Gary Lowe"
    await bot.answer_all("pshah", "/training", trained, "yesterday", "Refresher", "Record it")
    reply = bot.last("pshah")
    assert reply.title == "Training recorded"
    assert "Tom Reid, Emma Clarke, Gary Lowe: Refresher on Tue 24 Nov 2026." in reply.body
    assert "This renews the lapsed training of Tom Reid." in reply.body
    assert reply.body.count("Emma Clarke") == 1  # named once: hers had not lapsed
    for pid in ("treid", "eclarke", "glowe"):
        entry = {"date": "2026-11-24", "what": "Refresher", "by": "pshah"}
        assert bot.store.get("people", pid)["training"][-1] == entry
        assert "Refresher on Tue 24 Nov 2026. It counts until Fri 24 Nov 2028." in bot.last(pid).body
    await bot.close()


async def test_a_session_recorded_from_longer_ago_than_training_counts_is_already_lapsed() -> None:
    bot = await school()
    await bot.answer_all("pshah", "/training", "Tom Reid", "1/9/2024", "Induction", "Record it")
    reply = bot.last("pshah")
    assert reply.tone == "warning"
    assert "Training counts for 24 months, so this session has already lapsed: Tom Reid still counts as untrained" in (
        reply.body
    )
    assert "refresher" in bot.last("treid").body
    await bot.say("pshah", "/training-status")
    assert "Tom Reid: lapsed on Tue 1 Sep 2026 (trained on Sun 1 Sep 2024)" in text(bot.last("pshah"))
    await bot.close()


async def test_training_status_shows_who_is_trained_until_when_lapsed_and_never_trained() -> None:
    bot = await school()
    async with bot.store.transaction() as tx:
        put_person(tx, "eclarke", ready_record())
        put_person(tx, "treid", person_record(trained="2024-10-20"))
        put_person(tx, "glowe", person_record(trained="2024-12-20"))
        put_person(tx, "dokafor", person_record(trained="2020-01-01", leaving="2026-10-01", leaving_status="finished"))
    await bot.say("swhitfield", "/training-status")
    card = bot.last("swhitfield")
    fields = dict(card.fields)
    assert card.body.startswith("Training counts for 24 months. 2 trained, 1 lapsed, 3 never trained.")
    assert fields["Lapsed"] == "Tom Reid: lapsed on Tue 20 Oct 2026 (trained on Sun 20 Oct 2024)"
    assert fields["Lapsing within a month"] == "Gary Lowe: until Sun 20 Dec 2026 (trained on Fri 20 Dec 2024)"
    assert fields["Trained"] == "Emma Clarke: until Mon 20 Nov 2028 (trained on Fri 20 Nov 2026)"
    assert fields["Never trained"].splitlines() == ["Sarah Whitfield", "Priya Shah", "Jo Bennett"]
    assert "David Okafor" not in text(card)  # has left
    await bot.say("eclarke", "/training-status")
    assert bot.last("eclarke").title == "Sorry"
    await bot.close()


async def test_the_home_page_tells_someone_whose_own_training_lapses_soon() -> None:
    bot = await school()
    async with bot.store.transaction() as tx:
        put_person(tx, "glowe", person_record(trained="2024-12-20"))
    home = await bot.core.home("test", "glowe")
    assert home is not None
    assert dict(home.fields)["Your training"].startswith("Your social media training lapses on Sun 20 Dec 2026.")
    other = await bot.core.home("test", "eclarke")
    assert other is not None and "Your training" not in dict(other.fields)
    await bot.close()


async def test_with_valid_months_0_training_never_lapses() -> None:
    bot = TestBot(settings("block", valid_months=0))
    async with bot.store.transaction() as tx:
        put_person(tx, "eclarke", person_record(read="2025-1", trained="2015-03-01"))
        put_person(tx, "treid", person_record(read="2025-1", trained="2016-09-01"))
    await apply_and_approve(bot)
    runners = text(bot.last("swhitfield"))
    assert "trained on Sun 1 Mar 2015" in runners and "lapse" not in runners
    await bot.click("pshah", button(bot.last("pshah"), "Record the new account"))
    await bot.answer_all("pshah", "@PenningtonY6", "school password manager", "submit")
    assert len(bot.store.all("accounts")) == 1
    for moment in (datetime(2026, 12, 1, 9, 0, tzinfo=UTC), datetime(2027, 1, 4, 9, 0, tzinfo=UTC)):
        move_to(bot, moment)
        await bot.tick()
    assert not [c for who in ("eclarke", "treid", "pshah") for c in bot.outbox.cards(who) if "lapse" in text(c)]
    digest = next(c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest")
    assert "Account runners whose training has lapsed or lapses soon" not in dict(digest.fields)
    await bot.say("pshah", "/training-status")
    assert bot.last("pshah").body.startswith("Training does not lapse at this school. 2 trained, 0 lapsed")
    await bot.close()


def test_months_after_keeps_the_day_or_takes_the_last_of_a_shorter_month() -> None:
    assert months_after(date(2024, 10, 20), 24) == date(2026, 10, 20)
    assert months_after(date(2024, 2, 29), 24) == date(2026, 2, 28)
    assert months_after(date(2026, 3, 31), -1) == date(2026, 2, 28)
    assert months_after(date(2026, 12, 15), 1) == date(2027, 1, 15)


async def test_training_counts_until_the_day_before_it_lapses_and_not_on_that_day() -> None:
    bot = await school(start=datetime(2026, 2, 27, 12, 0, tzinfo=UTC))
    async with bot.store.transaction() as tx:
        put_person(tx, "treid", person_record(read="2025-1", trained="2024-02-29"))
    await bot.say("swhitfield", "/accounts")
    assert "trained on Thu 29 Feb 2024 (training lapses on Sat 28 Feb 2026)" in text(bot.last("swhitfield"))
    move_to(bot, datetime(2026, 2, 28, 0, 1, tzinfo=UTC))
    await bot.say("swhitfield", "/accounts")
    assert "Tom Reid - read the policy on Fri 20 Nov 2026; training lapsed on Sat 28 Feb 2026" in text(
        bot.last("swhitfield")
    )
    await bot.close()
