"""The engine: one turn of one person, from a neutral `Inbound` to persisted outbound cards.

A turn runs inside one store transaction: the person's conversation is loaded, the
workflow step runs, and the new state, the records it files, the audit entries and the
messages it sends are committed together. A failed turn changes nothing.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from bot import access, answers
from bot.config import Person, Settings
from bot.errors import AlreadyDecided, Expired, NotAllowed, NotRecognised, PolicybotError, StoreUnavailable, reference
from bot.messages import Button, Card, Choice, Inbound, Outbound, Question, Recipient, person
from bot.people import Directory, fold
from bot.registry import Registry
from bot.store import Conflict, Store, Transaction
from bot.timefmt import when
from bot.workflow import REMINDERS, Command, Context, Invalid, Outcome, Step, Workflow

log = logging.getLogger("policybot.engine")

CONVERSATIONS = "conversations"
INBOX = "inbox"  # requests acknowledged to a platform and not yet handled
# The scheduler's own record: when it last ran ("last_tick"), so a reminder can tell
# whether it is late because policybot was not running at its time.
SCHEDULER = "scheduler"
# A sent reminder's key is kept this long, then forgotten (once a day), so years of daily
# reminders do not pile up in the store. Every key that names a day or a week is long past
# by then; one whose cause still stands (a comment still without a reply, a policy still
# unread after three months) is sent once more, which is what SLT would want.
REMINDER_KEEP_DAYS = 90
SYSTEM = Person(id="policybot", name="policybot")
HELP_WORDS = {"help", "?", "/help"}
CANCEL_WORDS = {"cancel", "stop", "quit", "/cancel"}
BACK_WORDS = {"back", "/back", "go back"}
SKIP_WORDS = {"skip", "skip it"}
SUBMIT_WORDS = {"submit", "send", "send it", "done"}
SUMMARY = "_summary"
COMMAND_TEXT_MAX = Step.max_length  # the text after a command is limited as a typed answer is (2,000 characters)
ROLE_NAMES = {"slt": "the Senior Leadership Team", "admins": "the administrators", "staff": "all staff"}


def conversation_key(person_id: str, workflow: str) -> str:
    return f"{person_id}:{workflow}"


class Engine:
    """Runs turns and scheduled checks against the store."""

    def __init__(self, settings: Settings, store: Store, registry: Registry) -> None:
        self.settings = settings
        self.store = store
        self.registry = registry
        self.directory = Directory(settings.people, platforms=settings.platforms)
        self.tz = settings.school.tz

    # ---- the turn ------------------------------------------------------------

    async def admit(self, platform: str, user: str, now: datetime, *, doing: str, record: str = "", role: str = "", to: Recipient | None = None) -> Person:
        """The person behind a platform user, if they may do `doing` (see bot/access.py).

        Raises `NotRecognised` or `NotAllowed` after recording the refusal in the audit trail.
        """
        async with self.store.transaction() as tx:
            try:
                return access.admit(tx, self.directory, self.tz, platform, user, now, doing=doing, record=record, role=role, to=to)
            except (NotRecognised, NotAllowed) as exc:
                refusal: PolicybotError = exc  # leave the block normally: the record of it is committed
        raise refusal

    async def home(self, platform: str, user: str, now: datetime) -> Card | None:
        """A person's home page (read-only), or None when no workflow module offers one.

        Raises `NotRecognised` or `NotAllowed` (someone who has left) as `admit` does.
        """
        async with self.store.transaction() as tx:
            try:
                who = access.admit(tx, self.directory, self.tz, platform, user, now, doing="open their home page")
            except (NotRecognised, NotAllowed) as exc:
                refusal: PolicybotError = exc  # leave the block normally: the record of it is committed
            else:
                return self.registry.home(Context(who, now, self.settings, self.directory, tx, platform)) if self.registry.home else None
        raise refusal

    async def handle(self, event: Inbound, now: datetime, inbox_key: str = "") -> list[Outbound]:
        """Carry out one thing a person did; return the cards it sent (already queued).

        `inbox_key` names the saved copy of a request a front end acknowledged before
        handling it (see `Core.accept`); it is removed in the same commit as the turn.
        Raises `NotRecognised` for someone not in the configuration (recorded, with the
        request removed), and `StoreUnavailable` when the answer could not be saved
        (nothing changed).
        """
        sent: list[Outbound] = []
        unknown: NotRecognised | None = None
        async with self.store.transaction() as tx:
            if inbox_key:
                tx.delete(INBOX, inbox_key)
            if event.event_id:
                if tx.get("events", event.event_id):
                    return []  # a platform retry of something already handled
                tx.put("events", event.event_id, {"at": now.isoformat()})
            try:
                who = access.admit(tx, self.directory, self.tz, event.platform, event.user, now, doing=_what(event), record=_record(event))
                ctx = Context(who, now, self.settings, self.directory, tx, event.platform)
                out = self._turn(event, ctx)
            except NotRecognised as refusal:
                unknown = refusal  # recorded, and the request removed; nobody to write to, so the front end tells them
            except NotAllowed as refusal:  # someone who has left: recorded by admit
                who = self.directory.by_platform(event.platform, event.user)  # type: ignore[assignment]  # known: admit found them
                ctx = Context(who, now, self.settings, self.directory, tx, event.platform)
                out = _sorry(who, refusal)
            if unknown is None:
                sent = self._apply(out, ctx)
                queue(tx, sent, now)
        if unknown is not None:
            raise unknown
        return sent

    def _turn(self, event: Inbound, ctx: Context) -> Outcome:
        """What the person's request does, or the refusal they are shown (and its record)."""
        out = Outcome(actor=ctx.actor.id)
        try:
            self._dispatch(event, ctx, out)
        except NotAllowed as refusal:
            access.refuse(ctx.tx, ctx.actor.id, _what(event), _record(event), refusal.why or str(refusal), ctx.now)
            out = _sorry(ctx.actor, refusal)
        except (AlreadyDecided, Expired) as refusal:
            out = _sorry(ctx.actor, refusal)
            out.audit("too_late", _record(event), detail=_what(event))
        except Conflict:
            out = Outcome(actor=ctx.actor.id)
            out.tell(Card("Sorry", "Someone else changed this at the same moment. Please look again and retry.", tone="warning"), ephemeral=True)
        return out

    def _dispatch(self, event: Inbound, ctx: Context, out: Outcome) -> None:
        if event.kind == "command":
            self._command(event.command, event.text, ctx, out)
        elif event.kind == "action":
            self._action(event, ctx, out)
        elif event.kind == "file":
            self._file(ctx, out)
        else:
            self._text(event.text, ctx, out)

    def _text(self, text: str, ctx: Context, out: Outcome) -> None:
        text = answers.clean_text(text)
        word = fold(text)
        if text.startswith("/"):
            name, _, rest = text[1:].partition(" ")
            self._command(name, rest, ctx, out)
            return
        convo = self._active(ctx)
        if convo is None:
            found = self.registry.by_command(text)
            if found is not None:
                self._command(text, "", ctx, out)
            elif word in HELP_WORDS or word == "hi" or word == "hello":
                self._help(ctx, out)
            else:
                out.tell(Card("I'm not sure what you need", "Type /help to see what I can do for you."))
            return
        self._answer_text(convo, text, ctx, out)

    def _command(self, name: str, rest: str, ctx: Context, out: Outcome) -> None:
        name = fold(name).lstrip("/")
        if name == "policybot" and rest.strip() and fold(rest) not in HELP_WORDS:
            # "/policybot new-account": one slash command that reaches everything.
            name, _, rest = rest.strip().partition(" ")
            self._command(name, rest, ctx, out)
            return
        if name in ("help", "policybot", "policybot help", "start"):
            self._help(ctx, out)
            return
        if name in ("cancel",):
            convo = self._active(ctx)
            if convo:
                self._cancel(convo, ctx, out)
            else:
                out.tell(Card("Nothing to cancel", "You have nothing in progress."))
            return
        found = self.registry.by_command(name)
        if found is None:
            out.tell(Card("I don't know that command", f"I don't know /{name}. Type /help to see what I can do."))
            return
        if found.role:
            ctx.require(found.role, f"use /{found.command if isinstance(found, Workflow) else found.name}")
        if isinstance(found, Command):
            # Text after a command is read like a typed answer: cleaned, and no longer than one.
            rest = answers.clean_text(rest)
            if len(rest) > COMMAND_TEXT_MAX:
                out.tell(Card("That is too long", f"That is {len(rest)} characters; please keep it under {COMMAND_TEXT_MAX}. Type /{found.name} again with a shorter text.", tone="warning"))
                return
            found.run(rest, ctx, out)
        else:
            self._start(found, ctx, out, {})

    def _help(self, ctx: Context, out: Outcome) -> None:
        lines = []
        buttons = []
        for command, summary, role in self.registry.menu():
            if role and not any(r in ctx.actor.roles for r in role.split(",")):
                continue  # only what this person may use
            lines.append(f"/{command} - {summary}")
            wf = self.registry.by_command(command)
            if isinstance(wf, Workflow):
                buttons.append(Button("conversation.start", wf.title, {"workflow": wf.name}))
        lines.append("While answering questions you can type back, cancel or help at any time.")
        out.tell(Card(f"Hello {ctx.actor.name.split()[0]}, here is what I can do", "\n".join(lines), buttons=tuple(buttons)))

    # ---- conversations --------------------------------------------------------

    def _active(self, ctx: Context) -> dict[str, Any] | None:
        mine = ctx.find(CONVERSATIONS, person=ctx.actor.id)
        mine.sort(key=lambda c: c["updated_at"])
        return mine[-1] if mine else None

    def _start(self, wf: Workflow, ctx: Context, out: Outcome, context: dict[str, Any], fresh: bool = False) -> None:
        key = conversation_key(ctx.actor.id, wf.name)
        existing = None if fresh else ctx.get(CONVERSATIONS, key)
        if existing and wf.command and not context:
            self._ask(existing, wf, ctx, out, note="You already started this, so I've kept your answers. Carrying on where you left off (type cancel to start again).")
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

    def _applicable(self, wf: Workflow, answers_: dict[str, Any]) -> list[Step]:
        return [s for s in wf.steps if s.when is None or s.when(answers_)]

    def _advance(self, convo: dict[str, Any], wf: Workflow, ctx: Context, out: Outcome, note: str = "") -> None:
        """Move to the first unanswered question, or the summary, or file it (`note` heads what is asked next)."""
        pending = [s for s in self._applicable(wf, convo["answers"]) if s.key not in convo["answers"]]
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

    def _ask(self, convo: dict[str, Any], wf: Workflow, ctx: Context, out: Outcome, note: str = "") -> None:
        if convo["step"] == SUMMARY:
            out.tell(self._summary_card(convo, wf, note, ctx))
            return
        step = wf.step(convo["step"])
        if step is None:
            return
        step = _resolved(step, convo["answers"], ctx)
        # Questions answered for the person at the start (the only account there is) are not counted.
        prefilled = set(convo.get("prefilled") or ()) - {step.key}
        steps = [s for s in self._applicable(wf, convo["answers"]) if s.key not in prefilled]
        number = next((i for i, s in enumerate(steps, 1) if s.key == step.key), 1)
        # "question 2 of 8" only when 8 cannot change with answers still to come; else "question 2".
        count = f"question {number} of {len(steps)}" if _settled(wf, convo["answers"]) else f"question {number}"
        choices = step.choices
        if step.kind == "yesno":
            choices = (Choice("yes", "Yes"), Choice("no", "No"))
        question = Question(step.key, step.kind, step.prompt, choices, step.optional, workflow=wf.name)
        body = f"{note}\n\n{step.prompt}".strip() if note else step.prompt
        if step.optional:
            body += "\n(Type skip if you have nothing to add.)"
        out.tell(
            Card(
                f"{wf.title} - {count}",
                body,
                question=question,
            )
        )

    def _summary_card(self, convo: dict[str, Any], wf: Workflow, note: str = "", ctx: Context | None = None) -> Card:
        fields = []
        buttons = [Button("conversation.submit", wf.submit_label, {"workflow": wf.name}, style="primary")]
        for step in self._applicable(wf, convo["answers"]):
            if ctx is not None:
                step = _resolved(step, convo["answers"], ctx)
            fields.append((step.title, answers.show(step, convo["answers"].get(step.key), self.directory, self.tz)))
            buttons.append(Button("conversation.edit", f"Change: {step.title}", {"workflow": wf.name, "key": step.key}))
        buttons.append(Button("conversation.cancel", "Cancel", {"workflow": wf.name}, style="danger"))
        body = f"Please check your answers. If they are right, choose {wf.submit_label}; or change any answer first."
        return Card(f"{wf.title} - check your answers", f"{note}\n\n{body}".strip(), fields=tuple(fields), buttons=tuple(buttons))

    def _answer_text(self, convo: dict[str, Any], text: str, ctx: Context, out: Outcome) -> None:
        wf = self.registry.workflows.get(convo["workflow"])
        if wf is None or (convo["step"] != SUMMARY and wf.step(convo["step"]) is None):
            self._restart(convo, wf, ctx, out)
            return
        word = fold(text)
        if word in CANCEL_WORDS:
            self._cancel(convo, ctx, out)
        elif word in BACK_WORDS:
            self._back(convo, wf, ctx, out)
        elif word in HELP_WORDS:
            step = wf.step(convo["step"])
            tip = ""
            if step is not None:
                step = _resolved(step, convo["answers"], ctx)
                needed = "If you have nothing to add, type skip." if step.optional else "This question is needed: it can't be skipped."
                tip = f"Help with this question: {answers.explain(step, self.directory, ctx.actor.id)}\n{needed}\n\n"
            self._ask(convo, wf, ctx, out, note=f"{tip}You can type back to change your last answer, or {self._cancel_hint(convo)}.".strip())
        elif convo["step"] == SUMMARY:
            self._summary_reply(convo, wf, word, ctx, out)
        else:
            self._accept(convo, wf, text, ctx, out)

    def _summary_reply(self, convo: dict[str, Any], wf: Workflow, word: str, ctx: Context, out: Outcome) -> None:
        if word in SUBMIT_WORDS or word == fold(wf.submit_label):
            self._finish(convo, wf, ctx, out)
            return
        steps = self._applicable(wf, convo["answers"])
        target = word.removeprefix("edit ").removeprefix("change ").strip()
        if target != word or target.isdigit():
            for n, step in enumerate(steps, 1):
                if target in (str(n), fold(step.title), step.key):
                    self._edit(convo, wf, step.key, ctx, out)
                    return
        self._ask(convo, wf, ctx, out, note="Type submit to send it, change and a number (like change 2) to change an answer, or cancel.")

    def _accept(self, convo: dict[str, Any], wf: Workflow, raw: Any, ctx: Context, out: Outcome) -> None:
        step = wf.step(convo["step"])
        assert step is not None
        step = _resolved(step, convo["answers"], ctx)
        if not step.optional and isinstance(raw, str) and fold(raw) in SKIP_WORDS:
            self._ask(convo, wf, ctx, out, note=f"Sorry, this question is needed, so it can't be skipped. {answers.explain(step, self.directory, ctx.actor.id)}")
            return
        try:
            if step.optional and isinstance(raw, str) and fold(raw) in ("skip", "none", "no", "-", "n/a"):
                value: Any = ""
            else:
                value = answers.parse(step, raw, self.directory, self.tz, ctx.now)
                if step.check:
                    value = step.check(value, convo["answers"], ctx)
        except Invalid as problem:
            # The refused answer is not stored anywhere: it might be a password.
            self._ask(convo, wf, ctx, out, note=str(problem))
            return
        convo["answers"][step.key] = value
        convo["history"].append(step.key)
        # Answers to questions that no longer apply after a change are dropped; keys
        # starting "_" are the workflow's own notes (such as an incident number) and stay.
        live = {s.key for s in self._applicable(wf, convo["answers"])}
        convo["answers"] = {k: v for k, v in convo["answers"].items() if k in live or k.startswith("_")}
        if wf.on_answer:
            told = len(out.messages)
            wf.on_answer(step.key, convo["answers"], ctx, out)
            self._remember(convo, out, told, ctx)
        self._advance(convo, wf, ctx, out)

    def _back(self, convo: dict[str, Any], wf: Workflow, ctx: Context, out: Outcome) -> None:
        history = [k for k in convo["history"] if k in convo["answers"]]
        if history:
            previous = history[-1]
        else:
            self._ask(convo, wf, ctx, out, note="This is the first question, so there is nothing to go back to. Type cancel if you want to stop.")
            return
        convo["history"] = history[:-1]
        convo["answers"].pop(previous, None)
        convo["step"] = previous
        self._save(convo, ctx, out)
        self._ask(convo, wf, ctx, out)

    def _edit(self, convo: dict[str, Any], wf: Workflow, key: str, ctx: Context, out: Outcome) -> None:
        step = wf.step(key)
        if step is None:  # such as a card's Change pressed with nothing chosen in its list
            self._ask(convo, wf, ctx, out, note="Please choose which answer to change first, then press Change again. Nothing was changed.")
            out.messages[-1] = replace(out.messages[-1], ephemeral=True)  # the click is refused (a front end may say so in place)
            return
        old = answers.show(step, convo["answers"].get(key), self.directory, self.tz)
        convo["answers"].pop(key, None)
        convo["step"] = key
        self._save(convo, ctx, out)
        self._ask(convo, wf, ctx, out, note=f"Your answer was: {old}")

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

    def _cancel(self, convo: dict[str, Any], ctx: Context, out: Outcome) -> None:
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
        lines = [f"{title}: cancelled. I have removed this form from your unfinished ones, and nothing more will be sent from it."]
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
            out.tell(Card("Sorry", "Something you had started no longer exists in this version of policybot, so I have removed it. Type /help to see what you can do."))
            return
        out.tell(Card("Sorry", "policybot was updated and that question changed, so I need to start this again from the beginning. Sorry for the trouble."))
        self._start(wf, ctx, out, convo.get("context", {}), fresh=True)

    def _finish(self, convo: dict[str, Any], wf: Workflow, ctx: Context, out: Outcome) -> None:
        live = {s.key for s in self._applicable(wf, convo["answers"])}
        final = {k: v for k, v in convo["answers"].items() if k in live or k.startswith("_")}
        final["_context"] = convo.get("context", {})
        out.delete(CONVERSATIONS, conversation_key(convo["person"], convo["workflow"]))
        done = Outcome(actor=out.actor)
        try:
            wf.on_complete(final, ctx, done)
        except (AlreadyDecided, Expired) as refusal:
            # Too late (another member of SLT decided meanwhile): nothing of it is filed, and the
            # form is closed, or every later message would be refused again as an answer to it.
            out.audit("too_late", f"{CONVERSATIONS}/{conversation_key(convo['person'], convo['workflow'])}", detail=wf.name)
            out.tell(Card("Sorry", f"{refusal} I have closed this form ({wf.title}), so there is nothing more to answer.", tone="warning"), ephemeral=True)
            return
        out.messages.extend(done.messages)
        out.writes.extend(done.writes)
        out.audits.extend(done.audits)
        out.start = done.start or out.start

    # ---- actions and files ------------------------------------------------------

    def _action(self, event: Inbound, ctx: Context, out: Outcome) -> None:
        data = dict(event.data)
        if event.action == "conversation.start":
            wf = self.registry.workflows.get(str(data.get("workflow", "")))
            if wf is None or not wf.command:
                raise Expired("That button is from an older message. Type /help to see what I can do.")
            if wf.role:
                ctx.require(wf.role, f"use /{wf.command}")
            self._start(wf, ctx, out, {})
            return
        if event.action in ("answer", "conversation.submit", "conversation.edit", "conversation.cancel", "conversation.resume"):
            self._conversation_action(event.action, data, ctx, out)
            return
        handler = self.registry.actions.get(event.action)
        if handler is None:
            raise Expired("That button is from an older version of a message and no longer works. Type /help to see what I can do.")
        handler(data, ctx, out)

    def _conversation_action(self, action: str, data: dict[str, Any], ctx: Context, out: Outcome) -> None:
        name = str(data.get("workflow", ""))
        convo = ctx.get(CONVERSATIONS, conversation_key(ctx.actor.id, name)) if name else self._active(ctx)
        wf = self.registry.workflows.get(convo["workflow"]) if convo else None
        if convo is None or wf is None:
            out.tell(Card("Already done", "That question has already been answered or cancelled, so nothing was changed. Type /help to start something new."), ephemeral=True)
            return
        if action == "conversation.cancel":
            self._cancel(convo, ctx, out)
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
                self._ask(convo, wf, ctx, out, note="That question was already answered, so I ignored that click. Here is where you are now:")
                out.messages[-1] = replace(out.messages[-1], ephemeral=True)  # a refusal of the click (a front end may answer it in place)
                return
            value = data.get("value")
            if wf.step(convo["step"]).kind in ("person", "people") and self.directory.names_by_identity(ctx.platform):  # type: ignore[union-attr]  # a picker there gives the platform's own ids
                value = self._platform_people(value, ctx.platform)
            self._accept(convo, wf, value, ctx, out)

    def _platform_people(self, value: Any, platform: str) -> Any:
        """Map a picker's platform user ids to the school's person ids."""
        ids = value if isinstance(value, list) else [value]
        mapped = []
        for uid in ids:
            p = self.directory.by_platform(platform, str(uid)) or self.directory.get(str(uid))
            if p is None:
                raise Invalid("One of the people you picked is not on the school's staff list in policybot. Please pick someone else, or ask an administrator to add them.")
            mapped.append(p.id)
        return mapped if isinstance(value, list) else mapped[0]

    def _file(self, ctx: Context, out: Outcome) -> None:
        convo = self._active(ctx)
        wf = self.registry.workflows.get(convo["workflow"]) if convo else None
        if convo is not None and wf is not None and wf.on_file:
            wf.on_file(convo["answers"], ctx, out)
            self._save(convo, ctx, out)
            return
        out.tell(
            Card(
                "I can't take files",
                "I don't keep files or pictures. Please delete the message with the file, and describe it in words instead.",
                tone="warning",
            )
        )

    # ---- carrying out an outcome ------------------------------------------------

    def _apply(self, out: Outcome, ctx: Context) -> list[Outbound]:
        """Write an outcome's changes and audit entries; return its messages, for the caller
        to `queue` (a tick queues all of its messages in one go)."""
        tx = ctx.tx
        for w in out.writes:
            before = (tx.get(w.table, w.key) or {}).get("status") if w.action else None
            if w.doc is None:
                tx.delete(w.table, w.key)
            else:
                tx.put(w.table, w.key, w.doc, expect_version=w.expect_version)
            if w.action:
                tx.audit(out.actor, w.action, f"{w.table}/{w.key}", before=w.before or before, after=w.after or (w.doc or {}).get("status"), at=ctx.now, detail=w.detail)
        for a in out.audits:
            tx.audit(out.actor, a.action, a.key, before=a.before, after=a.after, at=ctx.now, detail=a.detail)
        if out.start:
            name, context = out.start
            wf = self.registry.workflows[name]
            inner = Outcome(actor=out.actor)
            self._start(wf, ctx, inner, context)
            out.start = None
            out.messages.extend(inner.messages)
            for w in inner.writes:
                tx.put(w.table, w.key, w.doc) if w.doc is not None else tx.delete(w.table, w.key)
        return list(out.messages)

    # ---- scheduled work ---------------------------------------------------------

    async def tick(self, now: datetime) -> list[Outbound]:
        """Send whatever is due now, each reminder once only (keys in `reminders`)."""
        sent: list[Outbound] = []
        async with self.store.transaction() as tx:
            ctx = Context(SYSTEM, now, self.settings, self.directory, tx, "scheduler")
            self._forget_old_reminders(ctx)  # first, so one whose cause still stands goes again at once
            due = list(self._conversation_reminders(ctx))
            for schedule in self.registry.schedules:
                due.extend(schedule(ctx))
            for key, out in due:
                if ctx.reminded(key):
                    continue
                tx.put(REMINDERS, key, {"at": now.isoformat()})
                sent.extend(self._apply(out, ctx))
            queue(tx, sent, now)
            old = now - timedelta(days=2)
            for ev in tx.where("events", lambda e: _before(e, old)):
                tx.delete("events", ev["id"])
            last = (tx.get(SCHEDULER, "last_tick") or {}).get("at")
            if last is None or datetime.fromisoformat(last) < now:
                tx.put(SCHEDULER, "last_tick", {"at": now.isoformat()})
        return sent

    def _forget_old_reminders(self, ctx: Context) -> None:
        """On the first tick of each day, forget reminder keys older than REMINDER_KEEP_DAYS."""
        tx, today = ctx.tx, ctx.today.isoformat()
        if (tx.get(SCHEDULER, "reminders_forgotten") or {}).get("day") == today:
            return
        cutoff = ctx.now - timedelta(days=REMINDER_KEEP_DAYS)
        for reminder in tx.where(REMINDERS, lambda r: _before(r, cutoff)):
            tx.delete(REMINDERS, reminder["id"])
        tx.put(SCHEDULER, "reminders_forgotten", {"day": today})

    def _conversation_reminders(self, ctx: Context) -> list[tuple[str, Outcome]]:
        conf = self.settings.conversations
        due = []
        for convo in ctx.all(CONVERSATIONS):
            updated = datetime.fromisoformat(convo["updated_at"])
            wf = self.registry.workflows.get(convo["workflow"])
            title = wf.title if wf else "Something you started"
            key = conversation_key(convo["person"], convo["workflow"])
            out = Outcome(actor=SYSTEM.id)
            if ctx.now - updated >= timedelta(days=conf.expire_after_days):
                out.delete(CONVERSATIONS, key, action="draft_expired")
                again = f" Type /{wf.command} to start again." if wf and wf.command else ""
                sent = self._sent_lines(convo.get("sent") or [])
                told = "Nothing was sent." if not sent else "\n".join(["Nothing more will be sent from it. What was already sent stays with whoever received it:", *sent])
                out.send(
                    person(convo["person"]),
                    Card("Your unfinished draft has expired", f"{title}: you didn't finish this, so after {conf.expire_after_days:g} days I have removed your answers. {told}{again}"),
                )
                due.append((f"expired:{key}:{convo['started_at']}", out))
            elif ctx.now - updated >= timedelta(hours=conf.remind_after_hours) and not convo.get("reminded"):
                out.put(CONVERSATIONS, key, {**convo, "reminded": True})
                out.send(person(convo["person"]), Card("A gentle reminder", f"{title}: you haven't finished this yet. Reply to carry on where you left off, or type cancel to throw it away."))
                due.append((f"nudge:{key}:{convo['updated_at']}", out))
        return due


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


def _settled(wf: Workflow, answers_: dict[str, Any]) -> bool:
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


def _sent_since(out: Outcome, since: int, ctx: Context) -> list[dict[str, Any]]:
    """The messages an outcome sent to someone other than the actor after its first `since` (updates of cards aside)."""
    me = person(ctx.actor.id)
    return [{"to": str(m.to), "title": m.card.title, "at": ctx.now.isoformat()} for m in out.messages[since:] if m.to != me and not m.replace]


def _before(record: dict[str, Any], cutoff: datetime) -> bool:
    """True when the record's "at" time is before `cutoff`; one without a readable time is kept."""
    try:
        return datetime.fromisoformat(record["at"]) < cutoff
    except (KeyError, TypeError, ValueError):
        return False


def queue(tx: Transaction, messages: list[Outbound], now: datetime) -> None:
    """Put messages in the persisted outbox, in the same commit as the change that sent them."""
    if not messages:
        return
    first = tx.next_id("outbox", len(messages))
    for n, msg in enumerate(messages, first):
        tx.put(
            "outbox",
            f"m{n:09d}",
            {
                "n": n,
                "to": str(msg.to),
                "card": msg.card.to_dict(),
                "key": msg.key,
                "replace": msg.replace,
                "private": msg.private,
                "ephemeral": msg.ephemeral,
                "created_at": now.isoformat(),
                "next_at": now.isoformat(),
                "attempts": 0,
                "targets": None,
            },
        )


def _sorry(who: Person, refusal: PolicybotError) -> Outcome:
    """The refusal, shown to the person who asked (only them, where they asked)."""
    out = Outcome(actor=who.id)
    out.tell(Card("Sorry", str(refusal), tone="warning"), ephemeral=True)
    return out


def _record(event: Inbound) -> str:
    """The record an action was about, from the ids a button carries ("applications/A-3")."""
    for key, table in (("application", "applications"), ("incident", "incidents"), ("account", "accounts"), ("item", "items")):
        if event.data.get(key):
            return f"{table}/{event.data[key]}"
    return _what(event)


def _resolved(step: Step, answers_: dict[str, Any], ctx: Context) -> Step:
    """The step with its choices read from the records, when it has `options`."""
    if step.options is None:
        return step
    return replace(step, choices=tuple(step.options(answers_, ctx)))


def _what(event: Inbound) -> str:
    return event.action or (f"/{event.command}" if event.command else event.kind)


__all__ = ["Engine", "NotRecognised", "StoreUnavailable", "queue", "reference"]
