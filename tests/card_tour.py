"""A tour of every card policybot sends: every workflow, command and button, driven through the engine.

`tour()` starts every workflow as someone allowed to, answers each question with the first
answer it accepts (trying a few plausible ones), opens the summary's Change once, submits,
then clicks every button of every card anyone received (as the person who received it)
until no new button is left, runs every command as each kind of person, and lets the
scheduler send its reminders over a few days. It returns every card sent, so a front end's
renderer can be checked against all of them (tests/test_teams_cards.py).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from bot.messages import Button, Card, Inbound, Outbound, Question
from bot.workflow import Workflow
from tests.harness import APPLICATION, TestBot, add_account, put_person, ready_record

STAFF, SLT, ADMIN = "eclarke", "swhitfield", "pshah"
PEOPLE = ("eclarke", "treid", "swhitfield", "dokafor", "pshah", "jbennett")
TEXTS = (
    "Pennington PTA",
    "@PenningtonPTA",
    "Year 3",
    "Mohammed Khan",
    "Weekdays, every morning",
    "A short note about it, in enough words to be useful.",
    "Mon-Sun: Emma Clarke",
)
ANSWERS: dict[str, tuple[Any, ...]] = {
    "yesno": ("yes", "no"),
    "person": ("treid", "jbennett", "eclarke", "dokafor", "swhitfield"),
    "people": (["eclarke", "treid"], ["treid", "jbennett"]),
    "date": ("tomorrow", "yesterday", "next Monday", "today"),
    "datetime": ("yesterday 10:00", "tomorrow 10:00", "today 09:00"),
    "text": TEXTS,
}
MAX_CLICKS = 400


def _actor(wf: Workflow) -> str:
    return ADMIN if "admin" in wf.role.split(",") else SLT if wf.role else STAFF


class Tour:
    """Drives a TestBot and remembers which buttons it has pressed."""

    def __init__(self, bot: TestBot, clicks: list[tuple[str, Button, list[Outbound]]] | None = None) -> None:
        self.bot = bot
        self.clicked: set[tuple[str, str, tuple[tuple[str, str], ...]]] = set()
        self.clicks = clicks if clicks is not None else []  # (who, button, what the click sent)

    def _step(self, who: str) -> tuple[str, str] | None:
        """(workflow, step) of the person's conversation in progress, if any."""
        mine = sorted(self.bot.store.find("conversations", person=who), key=lambda c: c["updated_at"])
        return (mine[-1]["workflow"], mine[-1]["step"]) if mine else None

    def _question(self, who: str) -> Question | None:
        cards = self.bot.outbox.cards(who)
        return cards[-1].question if cards else None

    async def finish(self, who: str, change: bool = False) -> None:
        """Answer whatever `who` is being asked until their conversations are filed or given up."""
        for _ in range(60):
            where = self._step(who)
            if where is None:
                return
            workflow, step = where
            if step == "_summary":
                if change:
                    summary = self.bot.last(who)
                    edit = next((b for b in summary.buttons if b.action == "conversation.edit"), None)
                    change = False
                    if edit is not None:
                        await self.bot.click(who, edit)
                        continue
                await self.bot.click(
                    who, Button(action="conversation.submit", label="Submit", data={"workflow": workflow})
                )
                if self._step(who) == where:  # refused at the end: give up on this one
                    await self.bot.say(who, "cancel")
                continue
            q = self._question(who)
            options: tuple[Any, ...] = ()
            if q is not None and q.key == step and q.choices and q.kind in ("choice", "multi"):
                options = tuple([c.value] if q.kind == "multi" else c.value for c in q.choices)
            elif q is not None and q.key == step:
                options = ANSWERS.get(q.kind, TEXTS)
            for value in options or TEXTS:
                await self.bot.send(
                    Inbound(
                        "test", who, "action", action="answer", data={"workflow": workflow, "key": step, "value": value}
                    )
                )
                if self._step(who) != where:
                    break
            else:
                await self.bot.say(who, "cancel")

    async def click_everything(self) -> None:
        """Press every button anyone has received, once, as its recipient (new cards included)."""
        for _ in range(MAX_CLICKS):
            todo = next(
                (
                    (who, b)
                    for who, msg in list(self.bot.outbox.sent)
                    for b in msg.card.buttons
                    if who in PEOPLE
                    and (who, b.action, tuple(sorted((k, str(v)) for k, v in b.data.items()))) not in self.clicked
                ),
                None,
            )
            if todo is None:
                return
            who, b = todo
            self.clicked.add((who, b.action, tuple(sorted((k, str(v)) for k, v in b.data.items()))))
            self.clicks.append((who, b, await self.bot.click(who, b)))
            await self.finish(who)


async def setup(bot: TestBot) -> None:
    """An account with a rota, and staff who have read the policy and been trained."""
    await add_account(bot, "ACC-1")
    async with bot.store.transaction() as tx:
        for pid in ("eclarke", "treid", "jbennett"):
            put_person(tx, pid, ready_record())


async def tour(bot: TestBot, clicks: list[tuple[str, Button, list[Outbound]]] | None = None) -> list[Card]:
    """Every card the tour made policybot send, in order (and each button click with what it sent, into `clicks`)."""
    await setup(bot)
    t = Tour(bot, clicks)
    registry = bot.core.registry
    for who in (STAFF, SLT, ADMIN):
        await bot.say(who, "/help")
        for name, _summary, _role in registry.menu():
            if registry.by_command(name) in registry.commands.values():
                await bot.say(who, f"/{name}")
                await t.finish(who)
    for wf in registry.workflows.values():
        if wf.command:
            who = _actor(wf)
            await bot.say(who, f"/{wf.command}")
            await t.finish(who, change=True)
            await t.click_everything()
    # What the generic answers do not reach: a rejection, and a name listed in two classes.
    await bot.answer_all(STAFF, *APPLICATION)
    await t.finish(STAFF)
    approval = bot.last(SLT)
    reject = next(b for b in approval.buttons if b.action == "new_account.reject")
    t.clicked.add((SLT, reject.action, tuple(sorted(reject.data.items()))))
    await bot.click(SLT, reject)
    await t.finish(SLT)
    for year in ("Year 3", "Year 6"):
        await bot.answer_all(SLT, "/dnp-add", "Mohammed Khan", year)
        await t.finish(SLT)
    await bot.say(STAFF, "/photo-check Mohammed Khan")
    await t.finish(STAFF)
    await bot.answer_all(SLT, "/dnp-remove", "Mohammed Khan")
    await t.finish(SLT)
    # A post's second check answered "not yet" (the generic clicks confirm each post first).
    await bot.say(STAFF, "/post-check")
    await t.finish(STAFF)
    not_yet = next(b for c in reversed(bot.outbox.cards("treid")) for b in c.buttons if b.action == "post_log.not_yet")
    t.clicked.add(("treid", not_yet.action, tuple(sorted(not_yet.data.items()))))
    await bot.click("treid", not_yet)
    await t.finish("treid")
    await bot.answer_all(STAFF, "/log-post", "facebook", "A post saying the school is closing", "misleading")
    await t.finish(STAFF)
    escalate = next(b for b in bot.last(SLT).buttons if b.action == "mentions.escalate")
    t.clicked.add((SLT, escalate.action, tuple(sorted(escalate.data.items()))))
    await bot.click(SLT, escalate)
    await t.finish(SLT)
    await bot.answer_all(STAFF, "/log-post", "facebook", "A worried thread about the crossing", "concern")
    await t.finish(STAFF)
    await t.click_everything()
    # A draft left unfinished, then the scheduler's days: reminders, chasers, expiries.
    await bot.say(STAFF, "/new-account")
    for _ in range(8):
        bot.clock.advance(timedelta(hours=13))
        await bot.tick()
    bot.clock.advance(timedelta(hours=15))  # Monday 09:00: the weekly look-out and the digest
    await bot.tick()
    await t.click_everything()
    # Details of an incident opened again after it was closed offer to reopen it.
    t.clicked = {c for c in t.clicked if c[1] != "incidents.show"}
    await t.click_everything()
    for who in (STAFF, SLT, ADMIN):
        for name, _summary, _role in registry.menu():
            if registry.by_command(name) in registry.commands.values():
                await bot.say(who, f"/{name}")
                await t.finish(who)
    return [msg.card for _who, msg in bot.outbox.sent]
