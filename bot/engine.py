"""The engine: one turn of one person, from a neutral `Inbound` to persisted outbound cards.

A turn runs inside one store transaction: the person is admitted (bot/access.py), the
request is dispatched (a command, a button, a file, or text that answers the person's
conversation, bot/conversation.py), and the new state, the records it files, the audit
entries and the messages it sends are committed together (bot/outbox.py). A failed turn
changes nothing. Ticks are the scheduler's (bot/scheduler.py).
"""

from __future__ import annotations

import logging
from datetime import datetime

from bot import access, answers
from bot.clicks import ACTIONS
from bot.config import Person, Settings
from bot.conversation import HELP_WORDS, Conversations
from bot.errors import AlreadyDecided, Expired, NotAllowed, NotRecognised, PolicybotError, StoreUnavailable, reference
from bot.messages import Button, Card, Inbound, Outbound, Recipient
from bot.outbox import apply, queue
from bot.people import Directory, fold
from bot.registry import Registry
from bot.scheduler import EVENTS, Scheduler
from bot.store import Conflict, Store, Transaction
from bot.workflow import Command, Context, Outcome, Step, Workflow

log = logging.getLogger("policybot.engine")

INBOX = "inbox"  # requests acknowledged to a platform and not yet handled
COMMAND_TEXT_MAX = Step.max_length  # the text after a command is limited as a typed answer is (2,000 characters)


class Engine:
    """Runs turns against the store; `tick` runs the scheduler."""

    def __init__(self, settings: Settings, store: Store, registry: Registry) -> None:
        self.settings = settings
        self.store = store
        self.registry = registry
        self.directory = Directory(settings.people, platforms=settings.platforms)
        self.tz = settings.school.tz
        self.conversations = Conversations(settings, registry, self.directory)
        schedules = [self.conversations.reminders, *registry.schedules]
        self.scheduler = Scheduler(settings, store, self.directory, schedules, begin=self.conversations.begin)

    # ---- the turn ------------------------------------------------------------

    async def admit(
        self,
        platform: str,
        user: str,
        now: datetime,
        *,
        doing: str,
        record: str = "",
        role: str = "",
        to: Recipient | None = None,
    ) -> Person:
        """The person behind a platform user, if they may do `doing` (see bot/access.py).

        Raises `NotRecognised` or `NotAllowed` after recording the refusal in the audit trail.
        """
        async with self.store.transaction() as tx:
            try:
                return self._admit(tx, platform, user, now, doing=doing, record=record, role=role, to=to)
            except (NotRecognised, NotAllowed) as exc:
                refusal: PolicybotError = exc  # leave the block normally: the record of it is committed
        raise refusal

    async def home(self, platform: str, user: str, now: datetime) -> Card | None:
        """A person's home page (read-only), or None when no workflow module offers one.

        Raises `NotRecognised` or `NotAllowed` (someone who has left) as `admit` does.
        """
        async with self.store.transaction() as tx:
            try:
                who = self._admit(tx, platform, user, now, doing="open their home page")
            except (NotRecognised, NotAllowed) as exc:
                refusal: PolicybotError = exc  # leave the block normally: the record of it is committed
            else:
                return (
                    self.registry.home(Context(who, now, self.settings, self.directory, tx, platform))
                    if self.registry.home
                    else None
                )
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
                if tx.get(EVENTS, event.event_id):
                    return []  # a platform retry of something already handled
                tx.put(EVENTS, event.event_id, {"at": now.isoformat()})
            try:
                who = self._admit(tx, event.platform, event.user, now, doing=_what(event), record=self._record(event))
                ctx = Context(who, now, self.settings, self.directory, tx, event.platform)
                out = self._turn(event, ctx, tx)
            except NotRecognised as refusal:
                unknown = refusal  # recorded, and the request removed; nobody to write to, so the front end tells them
            except NotAllowed as refusal:  # someone who has left: recorded by admit
                # known: admit found them
                who = self.directory.by_platform(event.platform, event.user)  # type: ignore[assignment]
                ctx = Context(who, now, self.settings, self.directory, tx, event.platform)
                out = _sorry(who, refusal)
            if unknown is None:
                sent = apply(out, tx, ctx, self.conversations.begin)
                queue(tx, sent, now)
        if unknown is not None:
            raise unknown
        return sent

    def _admit(
        self,
        tx: Transaction,
        platform: str,
        user: str,
        now: datetime,
        *,
        doing: str,
        record: str = "",
        role: str = "",
        to: Recipient | None = None,
    ) -> Person:
        """The one access check (bot/access.py), with the procedures' guards."""
        return access.admit(
            tx,
            self.directory,
            self.tz,
            platform,
            user,
            now,
            guards=self.registry.guards,
            doing=doing,
            record=record,
            role=role,
            to=to,
        )

    def _record(self, event: Inbound) -> str:
        """The record an action was about, from the id its button carries ("applications/A-3")."""
        return self.registry.named(event.data) or _what(event)

    def _turn(self, event: Inbound, ctx: Context, tx: Transaction) -> Outcome:
        """What the person's request does, or the refusal they are shown (and its record)."""
        out = Outcome(actor=ctx.actor.id)
        try:
            self._dispatch(event, ctx, out)
        except NotAllowed as refusal:
            access.refuse(tx, ctx.actor.id, _what(event), self._record(event), refusal.why or str(refusal), ctx.now)
            out = _sorry(ctx.actor, refusal)
        except (AlreadyDecided, Expired) as refusal:
            out = _sorry(ctx.actor, refusal)
            out.audit("too_late", self._record(event), detail=_what(event))
        except Conflict:
            out = Outcome(actor=ctx.actor.id)
            out.tell(
                Card(
                    "Sorry",
                    "Someone else changed this at the same moment. Please look again and retry.",
                    tone="warning",
                ),
                ephemeral=True,
            )
        return out

    def _dispatch(self, event: Inbound, ctx: Context, out: Outcome) -> None:
        if event.kind == "command":
            self._command(event.command, event.text, ctx, out)
        elif event.kind == "action":
            self._action(event, ctx, out)
        elif event.kind == "file":
            self.conversations.file(ctx, out)
        else:
            self._text(event.text, ctx, out)

    def _text(self, text: str, ctx: Context, out: Outcome) -> None:
        text = answers.clean_text(text)
        word = fold(text)
        if text.startswith("/"):
            name, _, rest = text[1:].partition(" ")
            self._command(name, rest, ctx, out)
            return
        convo = self.conversations.active(ctx)
        if convo is None:
            found = self.registry.by_command(text)
            if found is not None:
                self._command(text, "", ctx, out)
            elif word in HELP_WORDS or word == "hi" or word == "hello":
                self._help(ctx, out)
            else:
                out.tell(Card("I'm not sure what you need", "Type /help to see what I can do for you."))
            return
        self.conversations.answer_text(convo, text, ctx, out)

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
            convo = self.conversations.active(ctx)
            if convo:
                self.conversations.cancel(convo, ctx, out)
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
                out.tell(
                    Card(
                        "That is too long",
                        f"That is {len(rest)} characters; please keep it under {COMMAND_TEXT_MAX}. "
                        f"Type /{found.name} again with a shorter text.",
                        tone="warning",
                    )
                )
                return
            found.run(rest, ctx, out)
        else:
            self.conversations.start(found, ctx, out, {})

    def _help(self, ctx: Context, out: Outcome) -> None:
        lines = []
        buttons = []
        for command, summary, role in self.registry.menu():
            if role and not any(r in ctx.actor.roles for r in role.split(",")):
                continue  # only what this person may use
            lines.append(f"/{command} - {summary}")
            wf = self.registry.by_command(command)
            if isinstance(wf, Workflow):
                buttons.append(Button(action="conversation.start", label=wf.title, data={"workflow": wf.name}))
        lines.append("While answering questions you can type back, cancel or help at any time.")
        out.tell(
            Card(f"Hello {ctx.actor.name.split()[0]}, here is what I can do", "\n".join(lines), buttons=tuple(buttons))
        )

    def _action(self, event: Inbound, ctx: Context, out: Outcome) -> None:
        data = dict(event.data)
        if event.action == "conversation.start":
            wf = self.registry.workflows.get(str(data.get("workflow", "")))
            if wf is None or not wf.command:
                raise Expired("That button is from an older message. Type /help to see what I can do.")
            if wf.role:
                ctx.require(wf.role, f"use /{wf.command}")
            self.conversations.start(wf, ctx, out, {})
            return
        if event.action in ACTIONS:
            self.conversations.action(event.action, data, ctx, out)
            return
        handler = self.registry.actions.get(event.action)
        if handler is None:
            raise Expired(
                "That button is from an older version of a message and no longer works. "
                "Type /help to see what I can do."
            )
        handler(data, ctx, out)

    # ---- scheduled work ---------------------------------------------------------

    async def tick(self, now: datetime) -> list[Outbound]:
        """Send whatever is due now (bot/scheduler.py)."""
        return await self.scheduler.tick(now)


def _sorry(who: Person, refusal: PolicybotError) -> Outcome:
    """The refusal, shown to the person who asked (only them, where they asked)."""
    out = Outcome(actor=who.id)
    out.tell(Card("Sorry", str(refusal), tone="warning"), ephemeral=True)
    return out


def _what(event: Inbound) -> str:
    return event.action or (f"/{event.command}" if event.command else event.kind)


__all__ = ["COMMAND_TEXT_MAX", "INBOX", "Engine", "NotRecognised", "StoreUnavailable", "queue", "reference"]
