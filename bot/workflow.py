"""How a policy workflow is written: steps as data, handlers as plain functions.

A handler never awaits, never does I/O and never reads the clock itself: it reads
records through `Context`, and says what should happen through `Outcome` (messages to
send, records to write with their audit entries). The engine carries the outcome out
in one transaction, so each policy rule reads and tests as plain Python.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal, Protocol

from bot import access
from bot.config import Person, Settings
from bot.declarations import Reader
from bot.messages import Card, Choice, Outbound, QuestionKind, Recipient, person
from bot.people import Directory


class Invalid(Exception):
    """An answer that cannot be accepted; the message says what was wrong and what to do."""


Answers = dict[str, Any]


@dataclass(frozen=True, kw_only=True)
class Step:
    """One question of a conversation (built with keywords, so each argument says what it is)."""

    key: str
    prompt: str
    kind: QuestionKind = "text"
    label: str = ""  # how the answer is named in the summary
    choices: tuple[Choice, ...] = ()
    help: str = ""
    # A typical answer, shown by `help` ("For example: ..."); kinds with choices, people or
    # dates have one made from the step itself, so this is for free-text questions.
    example: str = ""
    # Clean or refuse an answer already parsed for its kind: return the value to keep,
    # or raise Invalid. It may look at the earlier answers and the records.
    check: Callable[[Any, Answers, Context], Any] | None = None
    # Ask this step only when this returns True for the answers so far.
    when: Callable[[Answers], bool] | None = None
    optional: bool = False
    max_length: int = 2000
    # Choices read from the records when the question is asked (such as the school's
    # accounts); used instead of `choices` when given.
    options: Callable[[Answers, Context], tuple[Choice, ...]] | None = None
    # A "date" or "datetime" question says which side of now its answer may be: "past"
    # (when something happened), "future" (a deadline, a day of cover) or "any"; the
    # reader (bot/answers.py) refuses the other side, saying so. Every one declares it.
    direction: Literal["past", "future", "any"] | None = None
    # The reaction to this question, beside it: run the moment it is answered (after `check`),
    # with the answers so far, to tell the person something or alert SLT at once.
    then: Callable[[Answers, Context, Outcome], None] | None = None

    @property
    def title(self) -> str:
        return self.label or self.key.replace("_", " ").capitalize()


REMINDERS = "reminders"  # the scheduler's record of each reminder it has sent, by key (bot/scheduler.py)
CONVERSATIONS = "conversations"  # people's workflows in progress (bot/conversation.py)


class Records(Reader, Protocol):
    """What a `Context` uses of the store: reading records, and numbering new ones.
    The engine hands it the turn's transaction."""

    def next_id(self, counter: str, count: int = 1) -> int: ...


@dataclass
class Context:
    """What a handler may know: the acting person, the time, the school and the records."""

    actor: Person
    now: datetime
    settings: Settings
    directory: Directory
    tx: Records
    platform: str = "console"

    @property
    def local_now(self) -> datetime:
        """Now, in the school's time zone."""
        return self.now.astimezone(self.settings.school.tz)

    @property
    def today(self) -> date:
        """Today's date at the school."""
        return self.local_now.date()

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        return self.tx.get(table, key)

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        return self.tx.find(table, **match)

    def all(self, table: str) -> list[dict[str, Any]]:
        return self.tx.all(table)

    def where(self, table: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The records `keep` accepts: only those are copied, so a scan of years of records stays cheap."""
        return self.tx.where(table, keep)

    def reminded(self, key: str) -> bool:
        """True if the scheduler has sent the reminder with this key (keys are forgotten
        after REMINDER_KEEP_DAYS, bot/scheduler.py). A schedule asks before it works out a
        reminder, so one already sent costs nothing on later ticks."""
        return self.tx.get(REMINDERS, key) is not None

    def next_id(self, counter: str) -> int:
        return self.tx.next_id(counter)

    def drafts(self) -> list[dict[str, Any]]:
        """The actor's unfinished conversations (forms they started), least recently answered first."""
        return sorted(self.tx.find(CONVERSATIONS, person=self.actor.id), key=lambda c: c["updated_at"])

    def require(self, role: str, doing: str) -> None:
        """Refuse unless the actor holds `role` ("slt", "admin", or "slt,admin" for either);
        the engine records the refusal (bot/access.py)."""
        access.require(self.actor, role, doing)


def filled(why: str) -> Callable[[Any, Answers, Context], str]:
    """A step check: at least a couple of characters, else `why` (which says what to write)."""

    def check(value: str, _answers: Answers, _ctx: Context) -> str:
        if len(value.strip()) < 2:
            raise Invalid(why)
        return value.strip()

    return check


@dataclass(frozen=True)
class Write:
    table: str
    key: str
    doc: dict[str, Any] | None
    action: str = ""
    before: str | None = None
    after: str | None = None
    detail: str = ""
    expect_version: int | None = None


@dataclass
class Outcome:
    """What a step asks the engine to do, all or nothing."""

    actor: str
    messages: list[Outbound] = field(default_factory=list)
    writes: list[Write] = field(default_factory=list)
    audits: list[Write] = field(default_factory=list)
    start: tuple[str, dict[str, Any]] | None = None  # (workflow, context) to begin for the actor

    def tell(self, card: Card, **kw: Any) -> None:
        """Reply to the person who acted."""
        self.messages.append(Outbound(person(self.actor), card, **kw))

    def send(
        self,
        to: Recipient,
        card: Card,
        *,
        key: str | None = None,
        replace: bool = False,
        private: bool = False,
        ephemeral: bool = False,
    ) -> None:
        self.messages.append(Outbound(to, card, key=key, replace=replace, private=private, ephemeral=ephemeral))

    def put(
        self,
        table: str,
        key: str,
        doc: dict[str, Any],
        *,
        action: str = "",
        before: str | None = None,
        after: str | None = None,
        detail: str = "",
        expect_version: int | None = None,
    ) -> None:
        """Write a record; with `action`, the audit trail records it too."""
        self.writes.append(Write(table, key, doc, action, before, after, detail, expect_version))

    def delete(self, table: str, key: str, *, action: str = "", detail: str = "") -> None:
        self.writes.append(Write(table, key, None, action, detail=detail))

    def audit(
        self, action: str, record: str, *, before: str | None = None, after: str | None = None, detail: str = ""
    ) -> None:
        """Record something that changed nothing but must be on the record (a refusal, a view)."""
        self.audits.append(Write("", record, None, action, before, after, detail))

    def begin(self, workflow: str, context: dict[str, Any] | None = None) -> None:
        """Start another of the school's conversations for the actor (one with a command), its
        answers already known given as `context["answers"]`."""
        self.start = (workflow, context or {})

    def ask(self, follow_up: FollowUp, about: Mapping[str, str]) -> None:
        """Ask the actor a follow-up question (the reason for a rejection); `about` holds the ids
        of the records it is about, and comes back to `follow_up.then` with the answers."""
        self.start = (follow_up.name, dict(about))


Handler = Callable[[Answers, Context, Outcome], None]
ActionHandler = Callable[[Mapping[str, Any], Context, Outcome], None]
# What a follow-up does with its answers: (answers, about, ctx, out), `about` as it was asked.
FollowUpHandler = Callable[[Answers, Mapping[str, Any], Context, Outcome], None]
# A schedule looks at the records and returns (deterministic key, outcome) pairs for
# what is due now; the scheduler sends each key's outcome once only.
Schedule = Callable[[Context], Iterable[tuple[str, Outcome]]]


@dataclass(frozen=True)
class Workflow:
    """A conversation: questions, then a summary to check, then `on_complete` files it."""

    name: str  # "new_account"
    title: str  # shown at the top of every question
    steps: tuple[Step, ...]
    on_complete: Handler
    command: str = ""  # "new-account": the slash command that starts it ("" = started by an action)
    summary: str = ""  # one line for /help
    intro: str = ""
    aliases: tuple[str, ...] = ()  # typed phrases that start it, e.g. "new account"
    role: str = ""  # "" for everyone, else "slt" or "admin"
    confirm: bool = True  # show the summary before filing
    submit_label: str = "Submit"
    # Run when the conversation starts (before the first question is sent).
    on_start: Callable[[Answers, Context, Outcome], None] | None = None
    # Run after every accepted answer, whichever the question (keeping a copy of a report in
    # progress current); a reaction to one question is that step's own `then`.
    on_answer: Callable[[str, Answers, Context, Outcome], None] | None = None
    # A file sent during the conversation: the handler decides what to record.
    on_file: Callable[[Answers, Context, Outcome], None] | None = None
    # Run when the person cancels: undo or note what the conversation already filed, and
    # return sentences saying what stays (the engine lists what was already sent itself).
    on_cancel: Callable[[Answers, Context, Outcome], list[str]] | None = None

    def step(self, key: str) -> Step | None:
        return next((s for s in self.steps if s.key == key), None)


@dataclass(frozen=True, kw_only=True)
class FollowUp:
    """A question (or a few) asked on its own as the follow-up of a click or a command, such as
    the reason SLT give for a rejection: `Outcome.ask(FOLLOW_UP, about={"application": "A-3"})`
    asks it, and `then(answers, about, ctx, out)` files the answers. A module lists its
    follow-ups in `FOLLOW_UPS`, so an answer given after a restart still finds its question."""

    name: str  # the conversation's stored name: "new_account_reject"
    title: str
    steps: tuple[Step, ...]
    then: FollowUpHandler
    role: str = ""
    confirm: bool = False  # show the answers to check before filing (for more than one question)
    submit_label: str = "Submit"

    def conversation(self) -> Workflow:
        """The follow-up as the conversation machine runs it: `about` travels as the answers' `_context`."""
        then = self.then

        def complete(answers: Answers, ctx: Context, out: Outcome) -> None:
            about = answers.pop("_context", {})
            then(answers, about, ctx, out)

        return Workflow(
            name=self.name,
            title=self.title,
            steps=self.steps,
            on_complete=complete,
            role=self.role,
            confirm=self.confirm,
            submit_label=self.submit_label,
        )


@dataclass(frozen=True)
class Command:
    """A command that answers at once, without a conversation (such as /accounts)."""

    name: str  # "accounts"
    summary: str
    run: Callable[[str, Context, Outcome], None]
    role: str = ""
    aliases: tuple[str, ...] = ()
