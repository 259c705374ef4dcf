"""The policy's new-account process end to end through the engine, as staff, SLT and admins see it."""

from __future__ import annotations

import asyncio

import pytest

from bot.store import iter_tables
from tests.harness import APPLICATION, TestBot, button, read_policy


@pytest.fixture(autouse=True)
async def runners_read_the_policy(bot: TestBot) -> None:
    """The applicant's runners have confirmed reading the policy (the application asks, and checks the records)."""
    await read_policy(bot.core, "eclarke", "treid")


async def apply(bot: TestBot) -> str:
    await bot.answer_all("eclarke", *APPLICATION)
    await bot.say("eclarke", "submit")
    app = bot.store.find("applications", applicant="eclarke")[-1]
    return app["id"]


async def test_application_to_registered_account(bot: TestBot) -> None:
    app_id = await apply(bot)
    assert "gone to the Senior Leadership Team" in bot.last("eclarke").body
    card = bot.last("swhitfield")
    assert card.title.startswith(f"New account application {app_id}")
    assert (
        ("Run by", card.fields[6][1]) == card.fields[6]
        and "Emma Clarke" in card.fields[6][1]
        and "Tom Reid" in card.fields[6][1]
    )
    assert bot.last("dokafor").title == card.title  # every SLT member gets it

    await bot.click("swhitfield", button(card, "Approve"))
    assert bot.store.get("applications", app_id)["status"] == "approved"
    assert "approved" in bot.last("eclarke").body
    updated = [m for m in bot.outbox.messages("dokafor") if m.replace]
    assert updated and not updated[-1].card.buttons and "Approved by Sarah Whitfield" in updated[-1].card.body

    admin_card = bot.last("pshah")
    await bot.click("pshah", button(admin_card, "Record the new account"))
    await bot.answer_all("pshah", "@PenningtonY6", "school password manager, Social Media folder", "submit")
    accounts = bot.store.all("accounts")
    assert len(accounts) == 1
    acc = accounts[0]
    assert acc["handle"] == "@PenningtonY6" and acc["runners"] == ["eclarke", "treid"] and acc["status"] == "active"
    assert bot.store.get("applications", app_id)["status"] == "created"
    assert "ready" in bot.last("treid").title

    await bot.say("treid", "/accounts")
    register = bot.last("treid")
    assert "@PenningtonY6" in register.fields[0][1]
    assert "password manager" not in register.fields[0][1]  # staff don't see where the login is kept
    await bot.say("pshah", "/accounts")
    assert "password manager" in bot.last("pshah").fields[0][1]

    actions = [e["action"] for e in bot.store.audit() if e["action"] != "policy_acknowledged"]
    assert actions == [
        "application_submitted",
        "application_approved",
        "account_created",
        "application_account_created",
    ]


async def test_rejection_with_reason_reaches_applicant(bot: TestBot) -> None:
    app_id = await apply(bot)
    await bot.click("dokafor", button(bot.last("dokafor"), "Reject"))
    assert "Why" in bot.last("dokafor").body
    await bot.say("dokafor", "We already have a class page for this on the school website.")
    app = bot.store.get("applications", app_id)
    assert app["status"] == "rejected" and app["decided_by"] == "dokafor"
    told = bot.last("eclarke")
    assert "not approved" in told.title and "class page" in told.body
    await bot.say("eclarke", "/my-applications")
    assert "not approved" in bot.last("eclarke").fields[0][1]


async def test_non_slt_decision_is_refused_and_audited(bot: TestBot) -> None:
    app_id = await apply(bot)
    approve = button(bot.last("swhitfield"), "Approve")
    await bot.click("treid", approve)
    assert "Only the Senior Leadership Team" in bot.last("treid").body
    assert bot.store.get("applications", app_id)["status"] == "submitted"
    refused = bot.store.audit(action="refused", actor="treid")
    assert len(refused) == 1 and refused[0]["record"] == f"applications/{app_id}"


async def test_two_slt_decisions_at_once_record_exactly_one(bot: TestBot) -> None:
    await apply(bot)
    approve = button(bot.last("swhitfield"), "Approve")
    await asyncio.gather(bot.click("swhitfield", approve), bot.click("dokafor", approve))
    decided = [e for e in bot.store.audit() if e["action"] == "application_approved"]
    assert len(decided) == 1
    loser = "dokafor" if decided[0]["actor"] == "swhitfield" else "swhitfield"
    assert "already approved by" in bot.last(loser).body


async def test_invalid_answers_are_reasked_and_back_and_edit_work(strict: TestBot) -> None:
    bot = strict  # where an unread policy is refused, not only told ([records] untrained_runner = "block")
    await read_policy(bot.core, "eclarke", "treid")
    await bot.answer_all("eclarke", "/new-account", "Facebook", "Year 6", "Aim of it", "Parents", "Newsletter")
    await bot.say("eclarke", "Emma Clarke")
    assert "at least two" in bot.last("eclarke").body
    await bot.say("eclarke", "Emma Clarke, Gary Lowe")
    assert "must be school staff" in bot.last("eclarke").body
    await bot.say("eclarke", "back")
    assert "promoted" in bot.last("eclarke").body
    await bot.answer_all("eclarke", "Posters", "Emma Clarke, Tom Reid, Gary Lowe", "open", "no")
    assert "read and understood" in bot.last("eclarke").body
    await bot.say("eclarke", "yes")
    assert "Gary Lowe has not yet confirmed reading" in bot.last("eclarke").body  # the records are checked
    await read_policy(bot.core, "glowe")
    await bot.say("eclarke", "yes")
    summary = bot.last("eclarke")
    assert "check your answers" in summary.title
    await bot.click("eclarke", button(summary, "Change: Aim"))
    await bot.say("eclarke", "A better aim")
    summary = bot.last("eclarke")
    assert ("Aim", "A better aim") in summary.fields
    await bot.say("eclarke", "submit")
    app = bot.store.find("applications")[0]
    assert app["aim"] == "A better aim" and app["promotion"] == "Posters"


async def test_password_is_never_stored(bot: TestBot) -> None:
    await apply(bot)
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Approve"))
    await bot.click("pshah", button(bot.last("pshah"), "Record the new account"))
    await bot.say("pshah", "@PenningtonY6")
    await bot.say("pshah", "password: Tr1ckyP@ss!")
    assert "looks like it might be a password" in bot.last("pshah").body
    everything = repr({t: bot.store.all(t) for t in iter_tables(bot.store)}) + repr(bot.store.audit())
    assert "Tr1ckyP@ss" not in everything


async def test_cancel_discards_the_draft(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/new-account", "Facebook")
    await bot.say("eclarke", "cancel")
    assert "Nothing was sent" in bot.last("eclarke").body
    assert bot.store.all("conversations") == []


async def test_stale_click_after_decision_is_answered_politely(bot: TestBot) -> None:
    app_id = await apply(bot)
    approve = button(bot.last("swhitfield"), "Approve")
    await bot.click("swhitfield", approve)
    await bot.click("swhitfield", approve)
    assert "already approved by Sarah Whitfield" in bot.last("swhitfield").body
    assert len(bot.store.audit(action="application_approved")) == 1
    assert bot.store.get("applications", app_id)["version"] == 2


async def test_the_approval_card_shows_each_business_case_question_under_its_label(bot: TestBot) -> None:
    """SLT read every answer of the business case, named as the applicant was asked it; "another
    platform" is named as typed, and each runner's row shows their policy and training record."""
    answers = ("/new-account", "Another platform", "Flickr", *APPLICATION[2:])
    await bot.answer_all("eclarke", *answers, "submit")
    card = bot.last("swhitfield")
    labels = [label for label, _ in card.fields]
    assert labels == [
        "Applicant",
        "Platform",
        "Account name",
        "Aim",
        "Audience",
        "How it will be promoted",
        "Run by",
        "Open or private",
    ]
    shown = dict(card.fields)
    assert (
        shown["Applicant"] == "Emma Clarke"
        and shown["Platform"] == "Flickr"
        and shown["Account name"] == "Year 6 Trips"
    )
    assert (
        shown["Aim"] == "To share trip news with families" and shown["How it will be promoted"] == "In the newsletter"
    )
    assert (
        shown["Run by"].splitlines()[0].startswith("Emma Clarke")
        and "read the policy on" in shown["Run by"]
        and len(shown["Run by"].splitlines()) == 2
    )
    assert shown["Open or private"] == "Private or closed (approved followers only)"


async def test_a_school_that_chose_warn_takes_the_applicants_word_on_reading() -> None:
    """With [records] untrained_runner = "warn" (such as a trial with one person), 'yes, everyone
    has read it' is accepted although the records do not show it; SLT's card shows the records."""
    from dataclasses import replace

    from adapters.platforms import load_config

    settings = load_config(None)
    bot = TestBot(replace(settings, records=replace(settings.records, untrained_runner="warn")))
    try:
        await bot.answer_all("treid", *APPLICATION)
        told = [c.body for c in bot.outbox.cards("treid")]
        assert any("Our records show that Emma Clarke and you have not yet confirmed reading" in t for t in told)
        await bot.say("treid", "submit")
        assert [a["status"] for a in bot.store.all("applications")] == ["submitted"]
    finally:
        await bot.close()
