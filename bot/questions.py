"""How a conversation's question and its summary look: the card for one question (with
"question 2 of 8"), the card to check the answers before submitting, and which questions
apply to the answers so far. The conversation machine (bot/conversation.py) decides which
one to show; this module only draws it.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import tzinfo
from typing import Any

from bot import answers
from bot.messages import Button, Card, Choice, Question
from bot.people import Directory
from bot.workflow import Context, Step, Workflow

SUMMARY = "_summary"  # the step of a conversation whose questions are all answered: the check-your-answers card


def applicable(wf: Workflow, answers_: dict[str, Any]) -> list[Step]:
    """The workflow's questions that apply to these answers (each step's `when`)."""
    return [s for s in wf.steps if s.when is None or s.when(answers_)]


def resolved(step: Step, answers_: dict[str, Any], ctx: Context) -> Step:
    """The step with its choices read from the records, when it has `options`."""
    if step.options is None:
        return step
    return replace(step, choices=tuple(step.options(answers_, ctx)))


def question_card(convo: dict[str, Any], wf: Workflow, step: Step, note: str = "") -> Card:
    """The card asking `step` (already `resolved`), headed by `note`."""
    # Questions answered for the person at the start (the only account there is) are not counted.
    prefilled = set(convo.get("prefilled") or ()) - {step.key}
    steps = [s for s in applicable(wf, convo["answers"]) if s.key not in prefilled]
    number = next((i for i, s in enumerate(steps, 1) if s.key == step.key), 1)
    # "question 2 of 8" only when 8 cannot change with answers still to come; else "question 2".
    count = f"question {number} of {len(steps)}" if settled(wf, convo["answers"]) else f"question {number}"
    choices = step.choices
    if step.kind == "yesno":
        choices = (Choice("yes", "Yes"), Choice("no", "No"))
    question = Question(step.key, step.kind, step.prompt, choices, step.optional, workflow=wf.name)
    body = f"{note}\n\n{step.prompt}".strip() if note else step.prompt
    if step.optional:
        body += "\n(Type skip if you have nothing to add.)"
    return Card(f"{wf.title} - {count}", body, question=question)


def summary_card(
    convo: dict[str, Any], wf: Workflow, directory: Directory, tz: tzinfo, note: str = "", ctx: Context | None = None
) -> Card:
    """The check-your-answers card: every answer, a Change button for each, Submit and Cancel."""
    fields = []
    buttons = [Button(action="conversation.submit", label=wf.submit_label, data={"workflow": wf.name}, style="primary")]
    for step in applicable(wf, convo["answers"]):
        if ctx is not None:
            step = resolved(step, convo["answers"], ctx)
        fields.append((step.title, answers.show(step, convo["answers"].get(step.key), directory, tz)))
        buttons.append(
            Button(
                action="conversation.edit", label=f"Change: {step.title}", data={"workflow": wf.name, "key": step.key}
            )
        )
    buttons.append(Button(action="conversation.cancel", label="Cancel", data={"workflow": wf.name}, style="danger"))
    body = f"Please check your answers. If they are right, choose {wf.submit_label}; or change any answer first."
    return Card(
        f"{wf.title} - check your answers", f"{note}\n\n{body}".strip(), fields=tuple(fields), buttons=tuple(buttons)
    )


class _Reads(dict[str, Any]):
    """Answers that note which keys a step's `when` looked at (and whether it looked at them all)."""

    def __init__(self, answers_: dict[str, Any]) -> None:
        super().__init__(answers_)
        self.read: set[str] = set()
        self.everything = False

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self.read.add(str(key))
        return super().__contains__(key)

    def __iter__(self) -> Any:
        self.everything = True
        return super().__iter__()

    def items(self) -> Any:
        self.everything = True
        return super().items()

    def keys(self) -> Any:
        self.everything = True
        return super().keys()

    def values(self) -> Any:
        self.everything = True
        return super().values()


def settled(wf: Workflow, answers_: dict[str, Any]) -> bool:
    """True when no answer still to come can change which questions are asked: every
    conditional step's `when` depends only on questions already answered."""
    for step in wf.steps:
        if step.when is None:
            continue
        reads = _Reads(answers_)
        step.when(reads)
        if reads.everything or any(key not in answers_ for key in reads.read):
            return False
    return True
