"""Drive the real engine with no platform: a memory or file store, a fixed clock, a recording channel."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.platforms import load_config
from bot.clock import Clock
from bot.config import Settings
from bot.core import Core
from bot.delivery import Message, person_targets
from bot.messages import Button, Card, Inbound, Outbound
from bot.people import Directory
from bot.registry import Registry
from bot.store import Store
from workflows import people

# Wednesday 25 November 2026, 10:00 in London (GMT).
START = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


@dataclass
class RecordingChannel:
    """A delivery channel that records what each person received."""

    name: str = "test"
    sent: list[tuple[str, Message]] = field(default_factory=list)

    def targets(self, msg: Message, directory: Directory) -> list[str]:
        return person_targets(msg.to, directory)

    async def send(self, target: str, msg: Message) -> None:
        self.sent.append((target, msg))

    def cards(self, to: str) -> list[Card]:
        return [m.card for t, m in self.sent if t == to]

    def last(self, to: str) -> Card:
        cards = self.cards(to)
        assert cards, f"nothing was sent to {to}"
        return cards[-1]

    def messages(self, to: str) -> list[Message]:
        return [m for t, m in self.sent if t == to]


class TestBot:
    """The real core, spoken to as a person would through a front end."""

    __test__ = False

    def __init__(
        self,
        settings: Settings | None = None,
        path: Path | None = None,
        start: datetime = START,
        registry: Registry | None = None,
    ) -> None:
        self.settings = settings or load_config(None)
        self.clock = Clock(start)
        self.core = Core(self.settings, Store(path), self.clock, registry)
        self.outbox = RecordingChannel()
        self.core.delivery.add(self.outbox)

    @property
    def store(self) -> Store:
        return self.core.store

    async def send(self, event: Inbound) -> list[Outbound]:
        sent = await self.core.handle(event)
        await self.core.delivery.flush()
        return sent

    async def say(self, who: str, text: str) -> list[Outbound]:
        """`who` types `text` (a slash command if it starts with '/')."""
        return await self.send(Inbound("test", who, "text", text=text))

    async def answer_all(self, who: str, *answers: str) -> None:
        for a in answers:
            await self.say(who, a)

    async def click(self, who: str, button: Button) -> list[Outbound]:
        return await self.send(Inbound("test", who, "action", action=button.action, data=dict(button.data)))

    async def tick(self) -> list[Outbound]:
        sent = await self.core.tick()
        await self.core.delivery.flush()
        return sent

    def last(self, to: str) -> Card:
        return self.outbox.last(to)

    async def close(self) -> None:
        await self.core.close()


def button(card: Card, label: str) -> Button:
    """The button on `card` whose label starts with `label`."""
    for b in card.buttons:
        if b.label.lower().startswith(label.lower()):
            return b
    raise AssertionError(f"no button {label!r} on card {card.title!r}: {[b.label for b in card.buttons]}")


# A complete, valid business case typed by Emma Clarke (Year 6 teacher).
APPLICATION = (
    "/new-account",
    "Facebook",
    "Year 6 Trips",
    "To share trip news with families",
    "Parents and carers of Year 6",
    "In the newsletter",
    "Emma Clarke, Tom Reid",
    "private",
    "yes",
)


# A registered school account, as an administrator records it (see workflows/new_account.py).
PTA_ACCOUNT = {
    "platform": "facebook",
    "platform_label": "Facebook",
    "name": "Pennington PTA",
    "handle": "@PenningtonPTA",
    "status": "active",
    "runners": ["eclarke", "treid"],
    "credentials_location": "school password manager",
    "created_at": "2026-01-01T09:00:00+00:00",
}


async def add_account(bot: TestBot, key: str = "ACC-1", **changes: object) -> None:
    """Put a registered account in the school's register."""
    async with bot.store.transaction() as tx:
        tx.put("accounts", key, {**PTA_ACCOUNT, **changes})


async def read_policy(core: Core, *people: str) -> None:
    """Each person confirms reading the current policy, as they would with /policy."""
    version = core.settings.school.policy_version
    for pid in people:
        await core.handle(
            Inbound("test", pid, "action", action="policy_acknowledgement.ack", data={"version": version})
        )


async def answer_disclaimer(core: Core, *people: str, answer: str = "none") -> None:
    """Each person answers /disclaimer ("none": no personal account of theirs names the school)."""
    version = core.settings.school.policy_version
    for pid in people:
        data = {"disclaimer": pid, "answer": answer, "policy_version": version}
        await core.handle(Inbound("test", pid, "action", action="disclaimer.answer", data=data))


# When the sample school's staff read the policy and were trained, in the records made by hand below.
READ_AT = "2026-11-20T09:00:00+00:00"


def person_record(
    *, read: str | None = None, trained: str | None = None, leaving: str | None = None, leaving_status: str = "open"
) -> dict[str, Any]:
    """A person's record in the shape workflows/people.py keeps: `read` the policy version they
    confirmed (on READ_AT), `trained` the date of their induction, `leaving` their last day."""
    doc: dict[str, Any] = {}
    if read:
        doc["policy_ack"] = people.acknowledgement(read, READ_AT)
    if trained:
        doc["training"] = [people.training_entry(trained, "Induction", "pshah")]
    if leaving:
        doc["leaving"] = {"date": leaving, "status": leaving_status}
    return doc


def put_disclaimer(tx: Any, pid: str, answer: str = "none", version: str = "2025-1", on: str = READ_AT) -> None:
    """Write a person's /disclaimer answer (workflows/disclaimer.py) given at `on` (UTC ISO) inside an open
    transaction, for tests about something else that tick past the day everyone is first asked."""
    tx.put("disclaimers", pid, {"answer": answer, "policy_version": version, "at": on, "date": on[:10]})


def ready_record(version: str = "2025-1") -> dict[str, Any]:
    """The record of someone ready to run an account: read the current policy and trained."""
    return person_record(read=version, trained=READ_AT[:10])


def put_person(tx: Any, pid: str, doc: dict[str, Any]) -> None:
    """Write a person's record (from `person_record`) inside an open store transaction."""
    tx.put(people.TABLE, pid, doc)


# The sample school's Senior Leadership Team (config.example.toml).
SLT = ("swhitfield", "dokafor")


def text(card: Card) -> str:
    """Everything a person reads on a card, in one string: title, body, fields and button labels."""
    return " ".join([card.title, card.body, *(f"{a} {b}" for a, b in card.fields), *(b.label for b in card.buttons)])


async def school(path: Path | None = None, start: datetime | None = None) -> TestBot:
    """The sample school with one registered account run by Emma Clarke and Tom Reid."""
    bot = TestBot(path=path, start=start) if start else TestBot(path=path)
    if bot.store.get("accounts", "ACC-1") is None:
        await add_account(bot)
    return bot


async def set_weekly(bot: TestBot, pattern: str = "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid") -> None:
    """An administrator sets the weekly monitoring rota of the only account."""
    await bot.answer_all("pshah", "/rota-set", "1", pattern, "submit")


EVIDENCE = "A comment calling a Year 5 child names under the sports day post, posted at 19:40 last night."


async def report_abuse(bot: TestBot, who: str = "eclarke", danger: str = "no") -> str:
    """A complete report about a post on the school's Facebook page; returns the incident's number."""
    await add_account(bot)
    await bot.answer_all(
        who,
        "/report-abuse",
        danger,
        "1",
        "bullying",
        "1, 2",
        "parent",
        "2, 3",
        "not yet",
        EVIDENCE,
        "https://facebook.example/post/1",
        "submit",
    )
    return bot.store.find("incidents", reporter=who)[-1]["id"]


def chat(cwd: Path, script: str, *options: str) -> subprocess.CompletedProcess[str]:
    """Run the terminal chat (`policybot chat OPTIONS`) in `cwd` with `script` typed in, as a person would."""
    env = {k: v for k, v in os.environ.items() if k != "POLICYBOT_CONFIG"}
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "chat", *options],
        input=script,
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
    )


async def log_post(
    bot: TestBot, who: str, kind: str, *, about: str = "A post about the school", where: str = "facebook"
) -> str:
    """`who` logs a public post about the school found elsewhere (/log-post); returns its number.
    An abusive one leaves /report-abuse started for them."""
    before = len(bot.store.all("mentions"))
    await bot.answer_all(who, "/log-post", where, about, kind, "submit")
    return f"M-{before + 1}"
