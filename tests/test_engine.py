"""The engine: conversations survive restarts, are reminded once, expire, and refuse what they should."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bot.engine import NotRecognised
from bot.messages import Inbound
from bot.store import iter_tables
from tests.harness import APPLICATION, TestBot, button, read_policy


async def test_restart_in_the_middle_resumes_exactly_where_the_person_was(tmp_path: Path) -> None:
    first = TestBot(path=tmp_path)
    await read_policy(first.core, "eclarke", "treid")
    await first.answer_all("eclarke", *APPLICATION[:5])  # up to the audience
    asked = first.last("eclarke").question
    assert asked is not None and asked.key == "promotion"
    await first.close()

    second = TestBot(path=tmp_path)
    await second.answer_all("eclarke", "Newsletter and website", "Emma Clarke, Tom Reid", "open", "yes")
    summary = second.last("eclarke")
    assert ("Audience", "Parents and carers of Year 6") in summary.fields
    assert ("How it will be promoted", "Newsletter and website") in summary.fields
    await second.say("eclarke", "submit")
    assert second.store.find("applications")[0]["audience"] == "Parents and carers of Year 6"
    await second.close()


async def test_starting_again_keeps_a_draft(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/new-account", "Instagram", "Class 4 Art")
    before = len(bot.outbox.cards("eclarke"))
    await bot.say("eclarke", "/new-account")
    # One message: why the form carries on, then the next question.
    assert len(bot.outbox.cards("eclarke")) == before + 1
    assert "kept your answers" in bot.last("eclarke").body
    assert bot.last("eclarke").question.key == "aim"


async def test_a_form_starts_with_one_message_that_says_what_it_is_for(bot: TestBot) -> None:
    await bot.say("eclarke", "/new-account")
    (first,) = bot.outbox.cards("eclarke")
    assert first.body.startswith("I'll ask the questions the policy's business case needs")
    assert first.question is not None and first.question.key == "platform"
    assert first.title.endswith("question 1")  # no total yet: the platform decides whether one more is asked


async def test_an_introduction_comes_before_what_the_start_itself_says(bot: TestBot) -> None:
    # Reporting a compromising picture alerts SLT at the start and says so, before the first question.
    await bot.say("eclarke", "/compromising-image")
    cards = bot.outbox.cards("eclarke")
    assert [c.body.split(".")[0] for c in cards[:2]] == [
        "The policy says to delete it immediately and alert SLT",
        "Thank you for reporting this straight away",
    ]
    assert cards[1].title.startswith("SLT have been alerted")
    assert len(cards) == 3 and cards[2].question is not None


async def test_quiet_person_is_reminded_once_then_draft_expires(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/new-account", "Instagram")
    bot.clock.advance(timedelta(hours=23))
    await bot.tick()
    assert "reminder" not in bot.last("eclarke").title.lower()
    bot.clock.advance(timedelta(hours=2))
    await bot.tick()
    await bot.tick()
    reminders = [c for c in bot.outbox.cards("eclarke") if c.title == "A gentle reminder"]
    assert len(reminders) == 1 and "haven't finished" in reminders[0].body
    bot.clock.advance(timedelta(days=7))
    await bot.tick()
    assert "expired" in bot.last("eclarke").title
    assert bot.store.all("conversations") == []
    assert bot.store.audit(action="draft_expired")


async def test_answering_after_a_reminder_carries_on(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/new-account", "Instagram")
    bot.clock.advance(timedelta(hours=30))
    await bot.tick()
    await bot.say("eclarke", "Class 4 Art")
    assert bot.last("eclarke").question.key == "aim"


async def test_help_and_back_at_the_first_question(bot: TestBot) -> None:
    await bot.say("eclarke", "/new-account")
    await bot.say("eclarke", "help")
    assert "type back" in bot.last("eclarke").body
    await bot.say("eclarke", "back")
    assert "first question" in bot.last("eclarke").body
    await bot.say("eclarke", "Myspace")
    assert "Please choose one of the options" in bot.last("eclarke").body
    assert bot.last("eclarke").question.key == "platform"


async def test_unknown_person_is_told_what_to_do(bot: TestBot) -> None:
    with pytest.raises(NotRecognised, match="ask the school's policybot administrator"):
        await bot.send(Inbound("slack", "U-STRANGER", "command", command="new-account"))
    assert bot.store.all("conversations") == []


async def test_repeated_platform_event_is_applied_once(bot: TestBot) -> None:
    event = Inbound("test", "eclarke", "command", command="new-account", event_id="Ev123")
    await bot.send(event)
    await bot.send(event)
    assert len([c for c in bot.outbox.cards("eclarke") if c.question]) == 1


async def test_stale_widget_answer_changes_nothing(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/new-account", "Instagram")
    old = Inbound(
        "test",
        "eclarke",
        "action",
        action="answer",
        data={"workflow": "new_account", "key": "platform", "value": "facebook"},
    )
    await bot.send(old)
    assert "already answered" in bot.last("eclarke").body
    convo = bot.store.all("conversations")[0]
    assert convo["answers"] == {"platform": "instagram"} and convo["step"] == "account_name"


async def test_step_removed_by_an_update_restarts_with_an_apology(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/new-account", "Instagram")
    async with bot.store.transaction() as tx:
        convo = tx.get("conversations", "eclarke:new_account")
        tx.put("conversations", "eclarke:new_account", {**convo, "step": "a_question_that_no_longer_exists"})
    await bot.say("eclarke", "anything")
    assert any("start this again" in c.body for c in bot.outbox.cards("eclarke"))
    assert bot.last("eclarke").question.key == "platform"


async def test_file_outside_a_conversation_is_not_kept(bot: TestBot) -> None:
    def kept() -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
        """Every record (the outbox, emptied once delivered, and its counter aside) and the audit trail."""
        return {
            t: bot.store.all(t) for t in iter_tables(bot.store) if t not in ("outbox", "counters")
        }, bot.store.audit()

    before = kept()
    await bot.send(Inbound("test", "eclarke", "file", data={"name": "IMG_0001.jpg"}))
    card = bot.last("eclarke")
    assert (card.title, card.body) == (
        "I can't take files",
        "I don't keep files or pictures. Please delete the message with the file, and describe it in words instead.",
    )
    assert kept() == before  # nothing of the file, nor anything else, is stored or recorded


async def test_help_lists_commands_for_the_persons_role(bot: TestBot) -> None:
    await bot.say("treid", "/help")
    card = bot.last("treid")
    assert "/new-account" in card.body and "/accounts" in card.body
    await bot.click("treid", button(card, "New school social media account"))
    assert bot.last("treid").question.key == "platform"


async def test_typed_phrase_starts_a_workflow(bot: TestBot) -> None:
    await bot.say("treid", "New account")
    assert bot.last("treid").question.key == "platform"
