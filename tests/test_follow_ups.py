"""Declarations over switches: a question's reaction sits beside it (`Step(then=...)`), a follow-up
question is asked with `Outcome.ask`, and `Step` and `Button` say what each argument is."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from bot.messages import Button, Card
from bot.registry import Registry
from bot.workflow import Answers, Command, Context, FollowUp, Outcome, Step, Workflow
from tests.harness import TestBot

FILED: list[tuple[dict[str, Any], dict[str, Any]]] = []


def noted(answers: Answers, _ctx: Context, out: Outcome) -> None:
    out.tell(Card("Noted", f"You said {answers['first']}."))


def file_it(answers: Answers, _ctx: Context, out: Outcome) -> None:
    out.tell(Card("Filed", ", ".join(f"{k}={v}" for k, v in sorted(answers.items()) if not k.startswith("_"))))


def record_reason(answers: Answers, about: Mapping[str, Any], _ctx: Context, out: Outcome) -> None:
    FILED.append((dict(answers), dict(about)))
    out.tell(Card("Reason recorded", f"{about['thing']}: {answers['reason']}"))


REASON = FollowUp(
    name="test_reason",
    title="Why?",
    steps=(Step(key="reason", prompt="Why is that?", label="Reason"),),
    then=record_reason,
)


def ask_reason(text: str, _ctx: Context, out: Outcome) -> None:
    out.ask(REASON, about={"thing": text.strip() or "T-1"})


MODULE = SimpleNamespace(
    WORKFLOWS=(
        Workflow(
            name="two_questions",
            command="two-questions",
            title="Two questions",
            steps=(
                Step(key="first", prompt="First?", label="First", then=noted),
                Step(key="second", prompt="Second?", label="Second"),
            ),
            on_complete=file_it,
            confirm=False,
        ),
    ),
    FOLLOW_UPS=(REASON,),
    COMMANDS=(Command(name="ask-reason", summary="ask a reason", run=ask_reason),),
)


def registry() -> Registry:
    return Registry.from_modules([MODULE])  # type: ignore[list-item]


async def test_a_questions_reaction_runs_right_after_that_question_is_answered() -> None:
    bot = TestBot(registry=registry())
    await bot.say("eclarke", "/two-questions")
    await bot.say("eclarke", "apples")
    titles = [c.title for c in bot.outbox.cards("eclarke")]
    assert (
        titles[-2] == "Noted" and "apples" in bot.outbox.cards("eclarke")[-2].body
    )  # the reaction, before the next question
    assert "Second?" in bot.last("eclarke").body
    await bot.say("eclarke", "pears")
    titles = [c.title for c in bot.outbox.cards("eclarke")]
    assert titles.count("Noted") == 1  # the second question has no reaction of its own
    assert bot.last("eclarke").title == "Filed" and bot.last("eclarke").body == "first=apples, second=pears"
    await bot.close()


async def test_a_follow_up_is_asked_with_its_records_and_files_them_even_after_a_restart(tmp_path: Path) -> None:
    FILED.clear()
    path = tmp_path / "data"
    bot = TestBot(path=path, registry=registry())
    await bot.say("swhitfield", "/ask-reason A-7")
    assert "Why is that?" in bot.last("swhitfield").body
    await bot.close()
    again = TestBot(path=path, registry=registry())  # policybot restarted between the question and the answer
    await again.say("swhitfield", "It is a duplicate")
    assert FILED == [
        ({"reason": "It is a duplicate"}, {"thing": "A-7"})
    ]  # the ids come as `about`, not among the answers
    assert (
        again.last("swhitfield").title == "Reason recorded"
        and again.last("swhitfield").body == "A-7: It is a duplicate"
    )
    await again.close()


def test_step_and_button_are_built_with_keywords() -> None:
    with pytest.raises(TypeError):
        Step("reason", "Why?")  # type: ignore[misc]
    with pytest.raises(TypeError):
        Button("new_account.approve", "Approve", {"application": "A-1"})  # type: ignore[misc]
    assert Button(action="new_account.approve", label="Approve", data={"application": "A-1"}).label == "Approve"
