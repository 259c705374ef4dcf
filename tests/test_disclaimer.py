"""/disclaimer: staff say whether a personal account names the school and that it carries a disclaimer
("Personal use"; Roles & Responsibilities: staff "adding an appropriate disclaimer to personal accounts")."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.platforms import load_config
from bot import records
from bot.messages import Card
from tests.harness import (
    TestBot,
    button,
    person_record,
    put_disclaimer,
    put_person,
    read_policy,
    school,
    text,
)

ASK = "Personal social media accounts"
CONFIRM = "Has the disclaimer been added?"
WORDING = "Views are my own and not those of Pennington C of E Primary School."
STAFF = ("swhitfield", "dokafor", "pshah", "eclarke", "treid", "jbennett")
MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


def titled(bot: TestBot, who: str, title: str) -> list[Card]:
    return [c for c in bot.outbox.cards(who) if c.title == title]


def mentions(bot: TestBot, who: str) -> list[Card]:
    """Every card to `who` that asks about personal accounts (on its own or on the policy's Monday card)."""
    return [c for c in bot.outbox.cards(who) if "personal account" in c.body and c.buttons]


async def test_staff_are_asked_once_leavers_and_volunteers_not_and_each_answer_is_recorded(tmp_path: Path) -> None:
    bot = await school(tmp_path / "data")  # Wednesday 25 November 2026, 10:00
    async with bot.store.transaction() as tx:
        put_person(tx, "treid", person_record(leaving="2026-12-18"))  # leaving at Christmas
        put_person(tx, "dokafor", person_record(leaving="2026-11-24", leaving_status="finished"))  # has left
    await bot.tick()
    for pid in ("swhitfield", "pshah", "eclarke", "jbennett"):
        assert len(titled(bot, pid, ASK)) == 1, pid
    for pid in ("treid", "dokafor", "glowe"):  # a leaver, someone who has left, a parent volunteer
        assert mentions(bot, pid) == [], pid
    card = titled(bot, "eclarke", ASK)[0]
    assert ("Suggested wording to copy", WORDING) in card.fields  # a field of its own: it copies cleanly
    assert "you do not need to tell me which accounts you have" in card.body
    assert [b.label for b in card.buttons] == [
        "No personal account names the school",
        "Yes, and it has the disclaimer",
        "Yes, I will add it now",
    ]
    # Asked once: not again on the next tick, nor after a restart.
    await bot.tick()
    await bot.close()
    again = TestBot(bot.settings, tmp_path / "data", start=bot.clock.now() + timedelta(minutes=5))
    await again.tick()
    assert again.outbox.sent == []

    await again.click("eclarke", button(card, "No personal account"))
    await again.click("jbennett", button(titled(bot, "jbennett", ASK)[0], "Yes, and it has"))
    await again.click("pshah", button(titled(bot, "pshah", ASK)[0], "Yes, I will add it now"))
    stored = {pid: again.store.get("disclaimers", pid) for pid in ("eclarke", "jbennett", "pshah")}
    assert {pid: (r["answer"], r["policy_version"], r["date"]) for pid, r in stored.items()} == {
        "eclarke": ("none", "2025-1", "2026-11-25"),
        "jbennett": ("has", "2025-1", "2026-11-25"),
        "pshah": ("will_add", "2025-1", "2026-11-25"),
    }
    assert [(e["actor"], e["after"]) for e in again.store.audit(action="disclaimer_answered")] == [
        ("eclarke", "none"),
        ("jbennett", "has"),
        ("pshah", "will_add"),
    ]
    thanks = again.last("eclarke")
    assert thanks.title == "Thank you" and "I will ask again on Thu 25 Nov 2027" in thanks.body
    # "I will add it now" is not an all-clear: the wording again, and a reminder the next working day.
    adding = again.last("pshah")
    assert adding.title == "Thank you: please add it now" and "this is not done" in adding.body
    assert (
        "I will remind you on Thu 26 Nov 2026" in adding.body
        and ("Suggested wording to copy", WORDING) in adding.fields
    )
    await again.say("swhitfield", "/policy-status")
    status = again.last("swhitfield").body
    assert "1 of 4 staff have not answered for version 2025-1: Sarah Whitfield;" in status  # not Tom: he leaves
    assert "said they would add the disclaimer and have not yet confirmed it: Priya Shah" in status

    # The next working day she is reminded once to confirm, and she confirms.
    again.clock.advance(timedelta(days=1))  # Thursday 10:00
    await again.tick()
    await again.tick()
    reminded = titled(again, "pshah", CONFIRM)
    assert len(reminded) == 1 and "On Wed 25 Nov 2026 you said you would add a disclaimer" in reminded[0].body
    await again.click("pshah", button(reminded[0], "It has the disclaimer now"))
    assert again.store.get("disclaimers", "pshah")["answer"] == "has"
    await again.say("swhitfield", "/policy-status")
    assert "Priya Shah" not in again.last("swhitfield").body.split("Disclaimers on personal accounts")[1]
    await again.close()


async def test_an_answer_is_the_persons_own_and_an_old_card_records_nothing() -> None:
    bot = await school()
    await bot.tick()
    emmas = titled(bot, "eclarke", ASK)[0]
    await bot.click("jbennett", button(emmas, "Yes, and it has"))  # Emma's card, clicked by someone else
    assert bot.last("jbennett").title == "Sorry" and "only they can answer" in bot.last("jbennett").body
    assert bot.store.get("disclaimers", "eclarke") is None
    assert [(e["actor"], e["record"]) for e in bot.store.audit(action="refused")] == [
        ("jbennett", "disclaimers/eclarke")
    ]
    await bot.click("eclarke", button(emmas, "Yes, and it has"))
    await bot.click("eclarke", button(emmas, "Yes, and it has"))  # twice: recorded once
    assert bot.last("eclarke").title == "Already recorded"
    assert len(bot.store.audit(action="disclaimer_answered")) == 1
    # /disclaimer shows her answer and lets her change it.
    await bot.say("eclarke", "/disclaimer")
    shown = bot.last("eclarke")
    assert "Your answer from Wed 25 Nov 2026: has the disclaimer (policy version 2025-1)" in shown.body
    await bot.click("eclarke", button(shown, "No personal account"))
    assert bot.store.get("disclaimers", "eclarke")["answer"] == "none"
    await bot.close()


async def test_a_new_policy_version_asks_again_and_a_card_from_the_old_one_is_not_recorded(tmp_path: Path) -> None:
    bot = await school(tmp_path / "data")
    await bot.tick()
    old = titled(bot, "eclarke", ASK)[0]
    await bot.click("eclarke", button(old, "No personal account"))
    await bot.close()
    newer = replace(bot.settings, school=replace(bot.settings.school, policy_version="2026-1"))
    again = TestBot(newer, tmp_path / "data", start=datetime(2026, 12, 2, 10, 0, tzinfo=UTC))  # a Wednesday
    await again.tick()
    await again.tick()
    asked = titled(again, "eclarke", ASK)
    assert len(asked) == 1 and "has been updated (now version 2026-1), so please answer this again" in asked[0].body
    await again.click("eclarke", button(old, "Yes, and it has"))  # last week's card
    assert "it is now version 2026-1), so I have not recorded that answer" in again.last("eclarke").body
    assert again.store.get("disclaimers", "eclarke")["policy_version"] == "2025-1"
    await again.click("eclarke", button(asked[0], "Yes, and it has"))
    assert again.store.get("disclaimers", "eclarke")["policy_version"] == "2026-1"
    await again.close()


async def test_staff_are_asked_again_months_after_their_last_answer() -> None:
    bot = await school()
    async with bot.store.transaction() as tx:
        for pid in STAFF:
            put_disclaimer(tx, pid, on="2026-01-10T09:00:00+00:00")  # well within the year
        put_disclaimer(tx, "eclarke", on="2025-11-26T09:00:00+00:00")  # a year ago tomorrow
    await bot.tick()
    assert all(mentions(bot, pid) == [] for pid in STAFF)
    bot.clock.advance(timedelta(days=1))  # Thursday 26 November 2026: a year since Emma answered
    await bot.tick()
    asked = titled(bot, "eclarke", ASK)
    assert len(asked) == 1 and "You last answered this on Wed 26 Nov 2025" in asked[0].body
    assert all(mentions(bot, pid) == [] for pid in STAFF if pid != "eclarke")
    await bot.tick()
    assert len(titled(bot, "eclarke", ASK)) == 1
    await bot.close()

    # With disclaimer_every_months = 0 only a new policy version asks again.
    sample = load_config(None)
    never = TestBot(replace(sample, records=replace(sample.records, disclaimer_every_months=0)))
    async with never.store.transaction() as tx:
        put_disclaimer(tx, "eclarke", on="2024-11-26T09:00:00+00:00")
    await never.tick()
    assert mentions(never, "eclarke") == []
    await never.close()


async def test_mondays_remind_once_and_ride_on_the_policy_reminder(tmp_path: Path) -> None:
    bot = await school(tmp_path / "data")
    await read_policy(bot.core, "swhitfield", "dokafor", "pshah", "eclarke", "jbennett")  # not Tom
    await bot.tick()  # Wednesday: everyone is asked
    friday = bot.clock.now() + timedelta(days=2)
    bot.clock.advance(friday - bot.clock.now())
    await bot.click("pshah", button(titled(bot, "pshah", ASK)[0], "Yes, I will add it now"))
    assert "I will remind you on Mon 30 Nov 2026" in bot.last("pshah").body  # Monday comes first
    await bot.tick()
    before = {pid: len(bot.outbox.cards(pid)) for pid in STAFF}
    bot.clock.advance(MONDAY - bot.clock.now())
    await bot.tick()
    await bot.tick()
    other = ("Nobody", "This week's look-out")  # rota gaps, and the administrators' weekly look-out
    new = {pid: [c for c in bot.outbox.cards(pid)[before[pid] :] if not c.title.startswith(other)] for pid in STAFF}
    # Tom has not read the policy either: one card on Monday carries both, with both sets of buttons.
    assert [c.title for c in new["treid"]] == ["Please read the social media policy"]
    both = new["treid"][0]
    assert (
        "Also, about personal social media accounts:" in both.body
        and ("Suggested wording to copy", WORDING) in both.fields
    )
    assert [b.label for b in both.buttons] == [
        "Show the full policy",
        "I have read and understood it",
        "No personal account names the school",
        "Yes, and it has the disclaimer",
        "Yes, I will add it now",
    ]
    assert [c.title for c in new["eclarke"]] == [ASK] and "A weekly reminder" in new["eclarke"][0].body
    assert [c.title for c in new["pshah"]] == [CONFIRM] and "A weekly reminder" in new["pshah"][0].body
    # Once a week: not again that day, nor after a restart, nor the next day.
    await bot.close()
    again = TestBot(bot.settings, tmp_path / "data", start=MONDAY + timedelta(hours=2))
    await again.tick()
    again.clock.advance(timedelta(days=1))
    await again.tick()
    assert [m for _, m in again.outbox.sent if not (m.key or "").startswith("rota-gap")] == []
    await again.click("treid", button(both, "No personal account"))  # answered from the policy's card
    assert again.store.get("disclaimers", "treid")["answer"] == "none"
    again.clock.advance(timedelta(days=6))  # the next Monday
    await again.tick()
    assert [c.title for c in again.outbox.cards("treid")[-1:]] == ["Please read the social media policy"]
    assert "personal accounts" not in again.outbox.cards("treid")[-1].body  # his answer stands
    assert len(titled(again, "eclarke", ASK)) == 1 and len(titled(again, "pshah", CONFIRM)) == 1
    await again.close()


async def test_waiting_shows_the_question_until_it_is_answered() -> None:
    bot = await school()
    await bot.say("jbennett", "/waiting")
    overview = bot.outbox.cards("jbennett")[-2]
    assert ("Personal social media", "Say whether a personal account of yours names the school") in overview.fields
    await bot.click("jbennett", button(bot.last("jbennett"), "Yes, I will add it now"))
    await bot.say("jbennett", "/waiting")
    assert bot.last("jbennett").title == CONFIRM  # "will add" still waits
    await bot.click("jbennett", button(bot.last("jbennett"), "It has the disclaimer now"))
    await bot.say("jbennett", "/waiting")
    assert bot.last("jbennett").title == "Nothing is waiting for you"
    await bot.close()


async def test_the_digest_lists_who_has_not_answered() -> None:
    bot = await school(start=MONDAY)
    async with bot.store.transaction() as tx:
        for pid in ("swhitfield", "dokafor", "eclarke", "treid"):
            put_disclaimer(tx, pid)
        put_disclaimer(tx, "pshah", answer="will_add")
    await bot.tick()
    digest = next(c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest")
    line = dict(digest.fields)["Disclaimers on personal accounts (/disclaimer)"]
    assert line == (
        "1 of 6 staff have not answered for version 2025-1: Jo Bennett; said they would add the disclaimer and "
        "have not yet confirmed it: Priya Shah. They are reminded every Monday."
    )
    await bot.close()


def test_export_lists_every_answer_and_a_leavers_answer_goes_with_their_record(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("POLICYBOT_CONFIG", raising=False)
    sample = Path(__file__).resolve().parent.parent / "bot" / "sample_school.toml"
    config = tmp_path / "school.toml"
    config.write_text(
        sample.read_text(encoding="utf-8").replace('path = "data"', f'path = "{tmp_path / "data"}"'), encoding="utf-8"
    )

    async def answers() -> None:
        bot = TestBot(load_config(config), tmp_path / "data")
        await bot.tick()
        await bot.click("eclarke", button(titled(bot, "eclarke", ASK)[0], "Yes, and it has"))
        await bot.click("treid", button(titled(bot, "treid", ASK)[0], "Yes, I will add it now"))
        await bot.close()

    asyncio.run(answers())
    out = tmp_path / "disclaimers.csv"
    assert main(["export", "--config", str(config), "--what", "disclaimers", "--out", str(out)]) == 0
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig")))}
    assert set(rows) == {"swhitfield", "dokafor", "pshah", "eclarke", "treid", "jbennett", "glowe"}  # everyone
    assert (rows["eclarke"]["answer"], rows["eclarke"]["policy_version"], rows["eclarke"]["date"]) == (
        "has",
        "2025-1",
        "2026-11-25",
    )
    assert rows["treid"]["answer"] == "will_add" and rows["jbennett"]["answer"] == ""  # not answered

    async def retention() -> list[tuple[str, str]]:
        bot = TestBot(load_config(config), tmp_path / "data")
        async with bot.store.transaction() as tx:
            put_person(tx, "eclarke", person_record(leaving="2020-07-20", leaving_status="finished"))
        due = records.past_retention(bot.store, bot.settings, bot.clock.now())
        await bot.close()
        return sorted((e.table, e.key) for e in due)

    assert asyncio.run(retention()) == [("disclaimers", "eclarke"), ("people", "eclarke")]


async def test_a_volunteer_is_not_asked_but_may_answer() -> None:
    bot = await school()
    await bot.say("glowe", "/disclaimer")  # a volunteer is not asked, but may answer
    card = bot.last("glowe")
    assert card.title == ASK and WORDING in text(card)
    await bot.click("glowe", button(card, "No personal account"))
    assert bot.store.get("disclaimers", "glowe")["answer"] == "none"
    await bot.close()
