"""The conversation machine: one person's workflow in progress, question by question.

It starts a workflow, asks its questions in turn (bot/questions.py draws them), reads the
answers (bot/answers.py), understands back, help, skip and cancel, shows the summary to
check, and files the answers with the workflow's `on_complete`. It also knows what a
conversation has already sent, so that cancelling, help and expiry can say so truthfully.
A conversation is stored in the `conversations` table, one per person and workflow.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot import answers
from bot.config import Settings
from bot.errors import AlreadyDecided, Expired
from bot.messages import Card, Outbound, person
from bot.people import Directory, fold
from bot.questions import SUMMARY, applicable, question_card, resolved, summary_card
from bot.registry import Registry
from bot.timefmt import when
from bot.workflow import CONVERSATIONS, Context, Invalid, Outcome, Workflow

HELP_WORDS = {"help", "?", "/help"}
CANCEL_WORDS = {"cancel", "stop", "quit", "/cancel"}
BACK_WORDS = {"back", "/back", "go back"}
SKIP_WORDS = {"skip", "skip it"}
SUBMIT_WORDS = {"submit", "send", "send it", "done"}
ROLE_NAMES = {"slt": "the Senior Leadership Team", "admins": "the administrators", "staff": "all staff"}
# The buttons of a question or summary card (`action`).
ACTIONS = ("answer", "conversation.submit", "conversation.edit", "conversation.cancel", "conversation.resume")


def conversation_key(person_id: str, workflow: str) -> str:
    return f"{person_id}:{workflow}"


class Conversations:
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
            self._ask(
                convo,
                wf,
                ctx,
                out,
                note=f"{tip}You can type back to change your last answer, or {self._cancel_hint(convo)}.".strip(),
            )
        elif convo["step"] == SUMMARY:
            self._summary_reply(convo, wf, word, ctx, out)
        else:
            self._accept(convo, wf, text, ctx, out)

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

    # ---- what was sent, cancelling, finishing ------------------------------------

    def _remember(self, convo: dict[str, Any], out: Outcome, since: int, ctx: Context) -> None:
        """Note on the conversation each message a workflow's own step sent to someone else
        (an alert to SLT), so that cancelling, help and expiry can say what was already sent."""
        sent = _sent_since(out, since, ctx)
        if sent:
            convo.setdefault("sent", []).extend(sent)

    def _sent_lines(self, sent: list[dict[str, Any]]) -> list[str]:
        """'- to the Senior Leadership Team, Wed 25 Nov 2026, 10:02: Incident INC-3 ...', one a message."""
        return [f"- to {self._recipient(s['to'])}, {when(s['at'], self.tz)}: {s['title']}" for s in sent]

    def _recipient(self, to: str) -> str:
        kind, _, ident = to.partition(":")
        if kind == "role":
            return ROLE_NAMES.get(ident, ident)
        return self.directory.name(ident)

    def _cancel_hint(self, convo: dict[str, Any]) -> str:
        """What typing cancel would do now, from what this conversation has already sent."""
        sent = convo.get("sent") or []
        if not sent:
            return "cancel to stop (nothing will be sent)"
        who = sorted({self._recipient(s["to"]) for s in sent})
        return f"cancel to stop (nothing more will be sent; what already went to {' and '.join(who)} stays with them)"

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
            now_lines = self._sent_lines(_sent_since(out, told, ctx))
        before = self._sent_lines(convo.get("sent") or [])
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
        """A nudge for a conversation left unfinished, and its expiry after `expire_after_days`."""
        conf = self.settings.conversations
        due = []
        for convo in ctx.all(CONVERSATIONS):
            updated = datetime.fromisoformat(convo["updated_at"])
            wf = self.registry.workflows.get(convo["workflow"])
            title = wf.title if wf else "Something you started"
            key = conversation_key(convo["person"], convo["workflow"])
            out = Outcome(actor=ctx.actor.id)
            if ctx.now - updated >= timedelta(days=conf.expire_after_days):
                out.delete(CONVERSATIONS, key, action="draft_expired")
                again = f" Type /{wf.command} to start again." if wf and wf.command else ""
                sent = self._sent_lines(convo.get("sent") or [])
                told = (
                    "Nothing was sent."
                    if not sent
                    else "\n".join(
                        [
                            "Nothing more will be sent from it. What was already sent stays with whoever received it:",
                            *sent,
                        ]
                    )
                )
                out.send(
                    person(convo["person"]),
                    Card(
                        "Your unfinished draft has expired",
                        f"{title}: you didn't finish this, "
                        f"so after {conf.expire_after_days:g} days I have removed your answers. {told}{again}",
                    ),
                )
                due.append((f"expired:{key}:{convo['started_at']}", out))
            elif ctx.now - updated >= timedelta(hours=conf.remind_after_hours) and not convo.get("reminded"):
                out.put(CONVERSATIONS, key, {**convo, "reminded": True})
                out.send(
                    person(convo["person"]),
                    Card(
                        "A gentle reminder",
                        f"{title}: you haven't finished this yet. "
                        "Reply to carry on where you left off, or type cancel to throw it away.",
                    ),
                )
                due.append((f"nudge:{key}:{convo['updated_at']}", out))
        return due


def _sent_since(out: Outcome, since: int, ctx: Context) -> list[dict[str, Any]]:
    """The messages an outcome sent to someone other than the actor after its first `since` (updates of cards aside)."""
    me = person(ctx.actor.id)
    return [
        {"to": str(m.to), "title": m.card.title, "at": ctx.now.isoformat()}
        for m in out.messages[since:]
        if m.to != me and not m.replace
    ]
