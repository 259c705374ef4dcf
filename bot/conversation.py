"""The conversation machine: one person's workflow in progress, question by question.

It starts a workflow, asks its questions in turn (bot/questions.py draws them), reads the
answers (bot/answers.py), understands back, help, skip and cancel, shows the summary to
check, and files the answers with the workflow's `on_complete`. It notes what a conversation
has already sent, so that cancelling, help and expiry can say so truthfully (bot/drafts.py,
which also nudges and expires unfinished ones). Clicks on a card's buttons and replies to the
summary are bot/clicks.py. A conversation is stored in the `conversations` table, one per
person and workflow.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from bot import answers
from bot.clicks import Clicks
from bot.config import Settings
from bot.drafts import cancel_hint, conversation_key, reminders, sent_lines, sent_since
from bot.errors import AlreadyDecided, Expired
from bot.messages import Card, Outbound, person
from bot.people import Directory, fold
from bot.questions import SUMMARY, applicable, question_card, resolved, summary_card
from bot.registry import Registry
from bot.workflow import CONVERSATIONS, Context, Invalid, Outcome, Workflow

HELP_WORDS = {"help", "?", "/help"}
CANCEL_WORDS = {"cancel", "stop", "quit", "/cancel"}
BACK_WORDS = {"back", "/back", "go back"}
SKIP_WORDS = {"skip", "skip it"}


class Conversations(Clicks):
    """Runs people's conversations; every change is written through the turn's `Outcome`."""

    def __init__(self, settings: Settings, registry: Registry, directory: Directory) -> None:
        self.settings = settings
        self.registry = registry
        self.directory = directory
        self.tz = settings.school.tz

    # ---- starting and finding ---------------------------------------------------

    def active(self, ctx: Context) -> dict[str, Any] | None:
        """The actor's most recently touched conversation, if any."""
        mine = ctx.drafts()
        return mine[-1] if mine else None

    def begin(self, name: str, context: dict[str, Any], ctx: Context, out: Outcome) -> None:
        """Start the workflow called `name` afresh for the actor (`Outcome.begin`)."""
        self.start(self.registry.workflows[name], ctx, out, context)

    def start(self, wf: Workflow, ctx: Context, out: Outcome, context: dict[str, Any], fresh: bool = False) -> None:
        key = conversation_key(ctx.actor.id, wf.name)
        existing = None if fresh else ctx.get(CONVERSATIONS, key)
        if existing and wf.command and not context:
            self._ask(
                existing,
                wf,
                ctx,
                out,
                note=(
                    "You already started this, so I've kept your answers. "
                    "Carrying on where you left off (type cancel to start again)."
                ),
            )
            return
        convo = {
            "person": ctx.actor.id,
            "workflow": wf.name,
            "step": "",
            "answers": {},
            "context": context,
            "history": [],
            "started_at": ctx.now.isoformat(),
            "updated_at": ctx.now.isoformat(),
            "reminded": False,
            "platform": ctx.platform,
        }
        # Answers another workflow already knows (a logged comment's account and summary when
        # it is reported as abuse) are filled in; the person still sees them in the summary.
        known = {s.key for s in wf.steps}
        convo["answers"].update({k: v for k, v in (context.get("answers") or {}).items() if k in known})
        told = len(out.messages)
        if wf.on_start:
            wf.on_start(convo["answers"], ctx, out)
            self._remember(convo, out, told, ctx)
        # The introduction heads the first question: one message, not two. If the start
        # had something to say of its own, the introduction comes before that instead.
        convo["prefilled"] = [k for k in convo["answers"] if not k.startswith("_")]
        intro = wf.intro
        if intro and len(out.messages) > told:
            out.messages.insert(told, Outbound(person(ctx.actor.id), Card(wf.title, intro)))
            intro = ""
        self._advance(convo, wf, ctx, out, note=intro)

    def _save(self, convo: dict[str, Any], ctx: Context, out: Outcome) -> None:
        convo["updated_at"] = ctx.now.isoformat()
        convo["reminded"] = False
        out.put(CONVERSATIONS, conversation_key(convo["person"], convo["workflow"]), convo)

    def _advance(self, convo: dict[str, Any], wf: Workflow, ctx: Context, out: Outcome, note: str = "") -> None:
        """Move to the first unanswered question, or the summary, or file it (`note` heads what is asked next)."""
        pending = [s for s in applicable(wf, convo["answers"]) if s.key not in convo["answers"]]
        if pending:
            convo["step"] = pending[0].key
            self._save(convo, ctx, out)
            self._ask(convo, wf, ctx, out, note)
        elif wf.confirm:
            convo["step"] = SUMMARY
            self._save(convo, ctx, out)
            self._ask(convo, wf, ctx, out, note)
        else:
            if note:
                out.tell(Card(wf.title, note))
            self._finish(convo, wf, ctx, out)

    def _refuse_click(self, convo: dict[str, Any], wf: Workflow, ctx: Context, out: Outcome, note: str) -> None:
        """Ask the current question again, headed by why the click did nothing: only the person who
        clicked sees it, as a refusal of the click (a front end may answer the click with it in place)."""
        self._ask(convo, wf, ctx, out, note=note)
        out.messages[-1] = replace(out.messages[-1], ephemeral=True)

    def _ask(self, convo: dict[str, Any], wf: Workflow, ctx: Context, out: Outcome, note: str = "") -> None:
        if convo["step"] == SUMMARY:
            out.tell(summary_card(convo, wf, self.directory, self.tz, note, ctx))
            return
        step = wf.step(convo["step"])
        if step is None:
            return
        out.tell(question_card(convo, wf, resolved(step, convo["answers"], ctx), note))

    # ---- what the person typed or clicked ----------------------------------------

    def answer_text(self, convo: dict[str, Any], text: str, ctx: Context, out: Outcome) -> None:
        """Text typed while `convo` is the person's conversation: an answer, or back, help, cancel, submit."""
        wf = self.registry.workflows.get(convo["workflow"])
        if wf is None or (convo["step"] != SUMMARY and wf.step(convo["step"]) is None):
            self._restart(convo, wf, ctx, out)
            return
        word = fold(text)
        if word in CANCEL_WORDS:
            self.cancel(convo, ctx, out)
        elif word in BACK_WORDS:
            self._back(convo, wf, ctx, out)
        elif word in HELP_WORDS:
            step = wf.step(convo["step"])
            tip = ""
            if step is not None:
                step = resolved(step, convo["answers"], ctx)
                needed = (
                    "If you have nothing to add, type skip."
                    if step.optional
                    else "This question is needed: it can't be skipped."
                )
                tip = f"Help with this question: {answers.explain(step, self.directory, ctx.actor.id)}\n{needed}\n\n"
            hint = cancel_hint(convo, self.directory)
            self._ask(
                convo, wf, ctx, out, note=f"{tip}You can type back to change your last answer, or {hint}.".strip()
            )
        elif convo["step"] == SUMMARY:
            self._summary_reply(convo, wf, word, ctx, out)
        else:
            self._accept(convo, wf, text, ctx, out)

    def file(self, ctx: Context, out: Outcome) -> None:
        """A file the person sent: their conversation's `on_file` decides, else it is refused."""
        convo = self.active(ctx)
        wf = self.registry.workflows.get(convo["workflow"]) if convo else None
        if convo is not None and wf is not None and wf.on_file:
            wf.on_file(convo["answers"], ctx, out)
            self._save(convo, ctx, out)
            return
        out.tell(
            Card(
                "I can't take files",
                "I don't keep files or pictures. "
                "Please delete the message with the file, and describe it in words instead.",
                tone="warning",
            )
        )

    def _accept(self, convo: dict[str, Any], wf: Workflow, raw: Any, ctx: Context, out: Outcome) -> None:
        step = wf.step(convo["step"])
        assert step is not None
        step = resolved(step, convo["answers"], ctx)
        if not step.optional and isinstance(raw, str) and fold(raw) in SKIP_WORDS:
            self._ask(
                convo,
                wf,
                ctx,
                out,
                note=(
                    "Sorry, this question is needed, so it can't be skipped. "
                    f"{answers.explain(step, self.directory, ctx.actor.id)}"
                ),
            )
            return
        try:
            if step.optional and isinstance(raw, str) and fold(raw) in ("skip", "none", "no", "-", "n/a"):
                value: Any = ""
            else:
                value = answers.parse(step, raw, self.directory, self.tz, ctx.now)
                if step.check:
                    value = step.check(value, convo["answers"], ctx)
        except Invalid as problem:
            # The refused answer is not stored anywhere: it might be a password. The question is
            # asked again as a warning: a front end answering a click in place shows why, not thanks.
            self._ask(convo, wf, ctx, out, note=str(problem))
            out.messages[-1] = replace(out.messages[-1], card=replace(out.messages[-1].card, tone="warning"))
            return
        convo["answers"][step.key] = value
        convo["history"].append(step.key)
        # Answers to questions that no longer apply after a change are dropped; keys
        # starting "_" are the workflow's own notes (such as an incident number) and stay.
        live = {s.key for s in applicable(wf, convo["answers"])}
        convo["answers"] = {k: v for k, v in convo["answers"].items() if k in live or k.startswith("_")}
        if step.then or wf.on_answer:
            told = len(out.messages)
            if step.then:  # the question's own reaction, declared beside it
                step.then(convo["answers"], ctx, out)
            if wf.on_answer:  # what the workflow does after every answer
                wf.on_answer(step.key, convo["answers"], ctx, out)
            self._remember(convo, out, told, ctx)
        self._advance(convo, wf, ctx, out)

    def _back(self, convo: dict[str, Any], wf: Workflow, ctx: Context, out: Outcome) -> None:
        history = [k for k in convo["history"] if k in convo["answers"]]
        if history:
            previous = history[-1]
        else:
            self._ask(
                convo,
                wf,
                ctx,
                out,
                note="This is the first question, so there is nothing to go back to. Type cancel if you want to stop.",
            )
            return
        convo["history"] = history[:-1]
        convo["answers"].pop(previous, None)
        convo["step"] = previous
        self._save(convo, ctx, out)
        self._ask(convo, wf, ctx, out)

    # ---- what was sent, cancelling, finishing ------------------------------------

    def _remember(self, convo: dict[str, Any], out: Outcome, since: int, ctx: Context) -> None:
        """Note on the conversation each message a workflow's own step sent to someone else
        (an alert to SLT), so that cancelling, help and expiry can say what was already sent."""
        sent = sent_since(out, since, ctx)
        if sent:
            convo.setdefault("sent", []).extend(sent)

    def cancel(self, convo: dict[str, Any], ctx: Context, out: Outcome) -> None:
        """End a conversation and say exactly what it had already sent, what stays, and what is removed."""
        wf = self.registry.workflows.get(convo["workflow"])
        title = wf.title if wf else "That"
        out.delete(CONVERSATIONS, conversation_key(convo["person"], convo["workflow"]))
        kept: list[str] = []
        now_lines: list[str] = []
        if wf is not None and wf.on_cancel:
            told = len(out.messages)
            kept = wf.on_cancel(convo["answers"], ctx, out)
            now_lines = sent_lines(sent_since(out, told, ctx), self.directory, self.tz)
        before = sent_lines(convo.get("sent") or [], self.directory, self.tz)
        if not before and not kept and not now_lines:
            out.tell(Card("Cancelled", f"{title}: cancelled. Nothing was sent and your answers have been removed."))
            return
        lines = [
            f"{title}: cancelled. I have removed this form from your unfinished ones, "
            "and nothing more will be sent from it."
        ]
        if before:
            lines += ["", "Already sent while you were answering (cancelling does not take these back):", *before]
        if now_lines:
            lines += ["", "Sent now, so they know you have stopped:", *now_lines]
        if kept:
            lines += ["", *kept]
        out.tell(Card("Cancelled", "\n".join(lines), tone="warning" if before else "info"))

    def _restart(self, convo: dict[str, Any], wf: Workflow | None, ctx: Context, out: Outcome) -> None:
        out.delete(CONVERSATIONS, conversation_key(convo["person"], convo["workflow"]))
        if wf is None:
            out.tell(
                Card(
                    "Sorry",
                    "Something you had started no longer exists in this version of policybot, so I have removed it. "
                    "Type /help to see what you can do.",
                )
            )
            return
        out.tell(
            Card(
                "Sorry",
                "policybot was updated and that question changed, so I need to start this again from the beginning. "
                "Sorry for the trouble.",
            )
        )
        self.start(wf, ctx, out, convo.get("context", {}), fresh=True)

    def _finish(self, convo: dict[str, Any], wf: Workflow, ctx: Context, out: Outcome) -> None:
        live = {s.key for s in applicable(wf, convo["answers"])}
        final = {k: v for k, v in convo["answers"].items() if k in live or k.startswith("_")}
        final["_context"] = convo.get("context", {})
        out.delete(CONVERSATIONS, conversation_key(convo["person"], convo["workflow"]))
        done = Outcome(actor=out.actor)
        try:
            wf.on_complete(final, ctx, done)
        except (AlreadyDecided, Expired) as refusal:
            # Too late (another member of SLT decided meanwhile): nothing of it is filed, and the
            # form is closed, or every later message would be refused again as an answer to it.
            out.audit(
                "too_late", f"{CONVERSATIONS}/{conversation_key(convo['person'], convo['workflow'])}", detail=wf.name
            )
            out.tell(
                Card(
                    "Sorry",
                    f"{refusal} I have closed this form ({wf.title}), so there is nothing more to answer.",
                    tone="warning",
                ),
                ephemeral=True,
            )
            return
        out.messages.extend(done.messages)
        out.writes.extend(done.writes)
        out.audits.extend(done.audits)
        out.start = done.start or out.start

    # ---- reminders (a schedule the scheduler runs each tick) -----------------------

    def reminders(self, ctx: Context) -> list[tuple[str, Outcome]]:
        """A nudge for a conversation left unfinished, and its expiry after `expire_after_days` (bot/drafts.py)."""
        return reminders(self.settings, self.registry, self.directory, ctx)
