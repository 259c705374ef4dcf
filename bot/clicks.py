"""Clicks on a conversation card's buttons, and replies to its check-your-answers summary.

A question card's answer buttons and pickers, the summary's Submit, Change and Cancel, "Carry on" from
/waiting, and the typed "submit" or "change 2" at the summary. `Clicks` is mixed into
`bot.conversation.Conversations`, whose methods (`_ask`, `_accept`, `_finish`, `cancel`, ...) it calls.
"""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot import answers
from bot.drafts import conversation_key
from bot.messages import Card
from bot.people import Directory, fold
from bot.questions import SUMMARY, applicable
from bot.registry import Registry
from bot.workflow import CONVERSATIONS, Context, Invalid, Outcome, Workflow

SUBMIT_WORDS = {"submit", "send", "send it", "done"}
# The buttons of a question or summary card (`action`).
ACTIONS = ("answer", "conversation.submit", "conversation.edit", "conversation.cancel", "conversation.resume")


class Clicks:
    """What a button of a conversation's card, or a reply to its summary, does (part of `Conversations`)."""

    # Set by `Conversations.__init__`.
    registry: Registry
    directory: Directory
    tz: ZoneInfo

    def action(self, action: str, data: dict[str, Any], ctx: Context, out: Outcome) -> None:
        """A button of a question or summary card (one of `ACTIONS`)."""
        name = str(data.get("workflow", ""))
        convo = ctx.get(CONVERSATIONS, conversation_key(ctx.actor.id, name)) if name else self.active(ctx)
        wf = self.registry.workflows.get(convo["workflow"]) if convo else None
        if convo is None or wf is None:
            out.tell(
                Card(
                    "Already done",
                    "That question has already been answered or cancelled, so nothing was changed. "
                    "Type /help to start something new.",
                ),
                ephemeral=True,
            )
            return
        if action == "conversation.cancel":
            self.cancel(convo, ctx, out)
        elif action == "conversation.resume":  # "Carry on" from the list of what is waiting (/waiting)
            self._ask(convo, wf, ctx, out, note="Carrying on where you left off.")
        elif action == "conversation.submit":
            if convo["step"] != SUMMARY:
                self._ask(convo, wf, ctx, out, note="There are still questions to answer before you can submit.")
            else:
                self._finish(convo, wf, ctx, out)
        elif action == "conversation.edit":
            self._edit(convo, wf, str(data.get("key", "")), ctx, out)
        else:
            if data.get("key") != convo["step"]:
                note = "That question was already answered, so I ignored that click. Here is where you are now:"
                self._refuse_click(convo, wf, ctx, out, note)
                return
            value = data.get("value")
            # a picker there gives the platform's own ids
            picker = wf.step(convo["step"]).kind in ("person", "people")  # type: ignore[union-attr]
            if picker and self.directory.names_by_identity(ctx.platform):
                value = self._platform_people(value, ctx.platform)
            self._accept(convo, wf, value, ctx, out)

    def _platform_people(self, value: Any, platform: str) -> Any:
        """Map a picker's platform user ids to the school's person ids."""
        ids = value if isinstance(value, list) else [value]
        mapped = []
        for uid in ids:
            p = self.directory.by_platform(platform, str(uid)) or self.directory.get(str(uid))
            if p is None:
                raise Invalid(
                    "One of the people you picked is not on the school's staff list in policybot. "
                    "Please pick someone else, or ask an administrator to add them."
                )
            mapped.append(p.id)
        return mapped if isinstance(value, list) else mapped[0]

    def _summary_reply(self, convo: dict[str, Any], wf: Workflow, word: str, ctx: Context, out: Outcome) -> None:
        if word in SUBMIT_WORDS or word == fold(wf.submit_label):
            self._finish(convo, wf, ctx, out)
            return
        steps = applicable(wf, convo["answers"])
        target = word.removeprefix("edit ").removeprefix("change ").strip()
        if target != word or target.isdigit():
            for n, step in enumerate(steps, 1):
                if target in (str(n), fold(step.title), step.key):
                    self._edit(convo, wf, step.key, ctx, out)
                    return
        self._ask(
            convo,
            wf,
            ctx,
            out,
            note="Type submit to send it, change and a number (like change 2) to change an answer, or cancel.",
        )

    def _edit(self, convo: dict[str, Any], wf: Workflow, key: str, ctx: Context, out: Outcome) -> None:
        step = wf.step(key)
        if step is None:  # such as a card's Change pressed with nothing chosen in its list
            note = "Please choose which answer to change first, then press Change again. Nothing was changed."
            self._refuse_click(convo, wf, ctx, out, note)
            return
        old = answers.show(step, convo["answers"].get(key), self.directory, self.tz)
        convo["answers"].pop(key, None)
        convo["step"] = key
        self._save(convo, ctx, out)
        self._ask(convo, wf, ctx, out, note=f"Your answer was: {old}")
