"""Every conversation, driven by generated input: what is stored is what was given, and what is said is true.

For every registered workflow, hypothesis generates a sequence of typed lines (numbers at
free-text questions, names, dates, back, help, skip, cancel, submit) typed into the terminal
chat, and clicks of buttons and question choices sent earlier (stale ones too: edits from a
summary, answers to questions already answered). After each step:

- an answer accepted for a question is exactly what the question makes of what was typed
  (its own parse and check, on the same records): a number typed at a free-text question
  is kept as that text, never a choice from an earlier card;
- nothing that says "nothing was sent" or "nothing will be sent" is said after the
  conversation sent something to someone else (an alert to SLT);
- every click and every line gets an answer (never silence), and no error reaches anyone.
"""

from __future__ import annotations

import io
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.console import ConsoleChat
from bot import answers as read
from bot.conversation import CONVERSATIONS, conversation_key
from bot.messages import Button, Card, Inbound, person
from bot.people import fold
from bot.questions import SUMMARY, resolved
from bot.registry import default_registry
from bot.workflow import Context, Invalid
from tests.harness import PTA_ACCOUNT, TestBot, put_person, ready_record

WORKFLOWS = sorted(default_registry().workflows)
WORDS = ["1", "2", "3", "7", "12", "0", "yes", "no", "skip", "back", "help", "cancel", "submit", "?"]
ANSWERS = [
    "Year 6 trips and news",
    "Emma Clarke, Tom Reid",
    "Tom Reid",
    "Emma Clarke",
    "yesterday 18:30",
    "tomorrow",
    "today",
    "26/11/2026",
    "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid",
    "@PenningtonY6",
    "school password manager",
    "Mohammed Khan",
    "Year 3",
    "Someone posted a nasty comment about a teacher",
    "I can't, I need help",
    "The weekly pattern",
]
STEP = st.one_of(
    st.tuples(st.just("type"), st.sampled_from(WORDS + ANSWERS)),
    st.tuples(st.just("type"), st.text(alphabet="abcXYZ 019,/:-@", min_size=1, max_size=12)),
    st.tuples(st.just("click"), st.integers(min_value=0, max_value=40)),
    st.tuples(st.just("choose"), st.integers(min_value=0, max_value=40)),
)
NOTHING_SENT = ("nothing was sent", "nothing will be sent")


def who_may(role: str) -> str:
    return "swhitfield" if "slt" in role else "pshah" if role == "admin" else "eclarke"


async def school(bot: TestBot) -> None:
    """A school with one account on a rota, runners who read the policy and were trained,
    an application waiting for SLT, an approved one, and an open incident."""
    ready = ready_record(bot.settings.school.policy_version)
    app = {
        "number": 1,
        "applicant": "eclarke",
        "platform": "facebook",
        "account_name": "Year 6 Trips",
        "aim": "Trip news",
        "audience": "Parents",
        "promotion": "Newsletter",
        "runners": ["eclarke", "treid"],
        "visibility": "private",
        "all_read_policy": True,
        "status": "submitted",
        "submitted_at": "2026-11-24T09:00:00+00:00",
        "decided_by": None,
        "decided_at": None,
        "reason": "",
    }
    inc = {
        "number": 1,
        "kind": "abuse",
        "status": "open",
        "report_complete": True,
        "urgency": "normal",
        "reporter": "treid",
        "reported_at": "2026-11-24T09:00:00+00:00",
        "alerted_at": "2026-11-24T09:00:00+00:00",
        "answers": {},
        "details": [],
        "files_sent": 0,
        "owner": None,
        "owned_at": None,
        "assessment": None,
        "notes": [],
        "outcome": "",
        "reporter_message": "",
        "closed_by": None,
        "closed_at": None,
        "timeline": [],
    }
    async with bot.store.transaction() as tx:
        tx.put("accounts", "ACC-1", dict(PTA_ACCOUNT))
        tx.put(
            "rota",
            "ACC-1",
            {"weekly": {d: "eclarke" for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}, "overrides": {}},
        )
        for pid in ("eclarke", "treid"):
            put_person(tx, pid, dict(ready))
        tx.put("applications", "A-1", {**app, "id": "A-1"})
        tx.put(
            "applications",
            "A-2",
            {
                **app,
                "id": "A-2",
                "number": 2,
                "status": "approved",
                "decided_by": "swhitfield",
                "decided_at": "2026-11-24T10:00:00+00:00",
            },
        )
        tx.put("incidents", "INC-1", {**inc, "id": "INC-1"})
        tx.put("dnp", "p1", {"name": "Mohammed Khan", "class": "Year 3"})
        tx.put("dnp", "p2", {"name": "Mohammed Khan", "class": "Year 6"})


# What a conversation started by a button needs to know (the records `school` made).
CONTEXTS: dict[str, dict[str, str]] = {
    "new_account_reject": {"application": "A-1"},
    "new_account_setup": {"application": "A-2"},
    "incident_assess": {"incident": "INC-1"},
    "incident_note": {"incident": "INC-1"},
    "incident_close": {"incident": "INC-1"},
    "incident_reopen": {"incident": "INC-1"},
    "leavers_transfer": {"account": "ACC-1"},
    "leavers_close": {"account": "ACC-1"},
    "photo_check_class": {"name": "Mohammed Khan"},
    "dnp_remove_class": {"name": "Mohammed Khan"},
}


class Run:
    """One person in one conversation, through the terminal chat and clicks."""

    def __init__(self, bot: TestBot, name: str) -> None:
        self.bot = bot
        self.wf = bot.core.registry.workflows[name]
        self.me = who_may(self.wf.role)
        self.out = io.StringIO()
        self.console = ConsoleChat(bot.core, self.out)
        # Messages each of my conversations (workflow, started at) sent to someone other than me.
        self.sent_by: dict[tuple[str, str], int] = {}

    async def begin(self) -> None:
        await self.console.start(self.me)
        if self.wf.command:
            await self.turn("type", f"/{self.wf.command}")
        else:
            # Started by a button on a card (Reject, Record the new account, Add a note...):
            # the engine's own way of starting one, `Outcome.begin`, behind a test button.
            await self.turn("click", Button(action="test.begin", label="Start", data={"workflow": self.wf.name}))

    def convo(self) -> dict[str, Any] | None:
        return self.bot.store.get(CONVERSATIONS, conversation_key(self.me, self.wf.name))

    def mine(self) -> dict[tuple[str, str], str]:
        """My conversations, (workflow, started at) -> last updated."""
        return {
            (c["workflow"], c["started_at"]): c["updated_at"]
            for c in self.bot.store.find(CONVERSATIONS, person=self.me)
        }

    def my_cards(self) -> list[Card]:
        return self.bot.outbox.cards(self.me)

    async def expected(self, text: str) -> tuple[str, Any] | None:
        """(question, value it should store) if `text` typed now answers the question being asked."""
        convo = self.convo()
        cards = self.my_cards()
        if (
            convo is None
            or convo["step"] == SUMMARY
            or not cards
            or cards[-1].question is None
            or cards[-1].question.key != convo["step"]
        ):
            return None  # the last card shown is not this question: a number may click one of its buttons
        word = fold(text)
        if word in (
            "back",
            "go back",
            "help",
            "?",
            "cancel",
            "stop",
            "quit",
            "submit",
            "send",
            "done",
        ) or text.startswith("/"):
            return None
        step = self.wf.step(convo["step"])
        assert step is not None
        async with self.bot.store.transaction() as tx:
            ctx = Context(
                self.bot.directory_person(self.me),
                self.bot.clock.now(),
                self.bot.settings,
                self.bot.core.directory,
                tx,
                "test",
            )
            step = resolved(step, convo["answers"], ctx)
            if step.optional and word in ("skip", "none", "no", "-", "n/a"):
                return step.key, ""
            if word in ("skip", "skip it"):
                return step.key, Invalid
            if step.kind == "choice" and text.isdigit():
                # The terminal sends the choice itself (the card's menu), which the engine reads as that choice.
                pass
            try:
                value = read.parse(step, text, self.bot.core.directory, self.bot.settings.school.tz, ctx.now)
                if step.check:
                    value = step.check(value, dict(convo["answers"]), ctx)
            except Invalid:
                return step.key, Invalid
            except Exception:
                return None  # a check that reads records this test did not make: the engine's own run is checked below
        return step.key, value

    async def turn(self, kind: str, what: Any) -> None:
        self.bot.clock.advance(timedelta(seconds=20))  # people take a moment between turns
        before_me = len(self.my_cards())
        before_all = len(self.bot.outbox.sent)
        before = self.mine()
        want = await self.expected(what) if kind == "type" else None
        convo_turn = kind == "type" or (
            isinstance(what, Button) and what.action.startswith(("conversation.", "answer", "test."))
        )
        if kind == "type":
            await self.console.line(what)
            await self.bot.core.delivery.flush()
        else:
            await self.bot.send(Inbound("test", self.me, "action", action=what.action, data=dict(what.data)))
        printed = self.out.getvalue()
        assert "something went wrong on my side" not in printed, printed[-2000:]
        new_me = self.my_cards()[before_me:]
        if not (kind == "type" and not what.strip()):  # an empty line in a terminal is nothing said
            assert new_me, f"no answer to {kind} {what!r}"
        new = self.bot.outbox.sent[before_all:]
        # The turn belongs to the conversation it started, else to the one I was in.
        created = set(self.mine()) - set(before)
        target = next(iter(created)) if created else max(before, key=lambda k: before[k]) if before else None
        if convo_turn and target is not None:
            self.sent_by[target] = self.sent_by.get(target, 0) + sum(
                1 for _t, m in new if m.to != person(self.me) and not m.replace
            )
        sent = self.sent_by.get(target, 0) if target is not None else 0
        for card in new_me:
            said = f"{card.title} {card.body}".lower()
            if sent and any(claim in said for claim in NOTHING_SENT):
                raise AssertionError(f"after the conversation sent {sent} message(s) to others, it said: {card.body}")
        if want is not None:
            key, value = want
            convo = self.convo()
            stored = (convo or {}).get("answers", {})
            if value is Invalid:
                assert key not in stored, f"{key}: {what!r} was not a valid answer, yet {stored.get(key)!r} was stored"
            elif convo is not None and key in stored:
                assert stored[key] == value, f"{key}: typed {what!r}, expected {value!r}, stored {stored[key]!r}"

    def buttons(self) -> list[Button]:
        return [b for c in self.my_cards() for b in c.buttons]

    def choices(self) -> list[Button]:
        """Each choice of each question card sent so far, as the widget's click would send it."""
        found = []
        for card in self.my_cards():
            q = card.question
            if q is not None:
                for c in q.choices:
                    found.append(
                        Button(
                            action=q.action,
                            label=c.label,
                            data={"workflow": q.workflow, "key": q.key, "value": c.value},
                        )
                    )
        return found


def begin_action(data: Any, ctx: Context, out: Any) -> None:
    out.begin(str(data["workflow"]), CONTEXTS.get(str(data["workflow"]), {}))


@pytest.mark.parametrize("name", WORKFLOWS)
@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(steps=st.lists(STEP, max_size=16))
async def test_every_conversation_keeps_what_was_given_and_says_only_what_is_true(
    name: str, steps: list[tuple[str, Any]]
) -> None:
    bot = TestBot()
    bot.core.registry.actions["test.begin"] = begin_action
    bot.directory_person = bot.core.directory.get  # type: ignore[attr-defined]
    try:
        await school(bot)
        run = Run(bot, name)
        await run.begin()
        for kind, what in steps:
            if kind == "type":
                await run.turn("type", what)
            else:
                pool = run.buttons() if kind == "click" else run.choices()
                if pool:
                    await run.turn("click", pool[what % len(pool)])
    finally:
        await bot.close()


async def test_the_property_test_reaches_a_question_in_every_workflow() -> None:
    """Each workflow really starts in the test's school (else its run above would check nothing)."""
    for name in WORKFLOWS:
        bot = TestBot()
        bot.core.registry.actions["test.begin"] = begin_action
        bot.directory_person = bot.core.directory.get  # type: ignore[attr-defined]
        try:
            await school(bot)
            run = Run(bot, name)
            await run.begin()
            assert run.convo() is not None, f"{name} did not start: {[c.body for c in run.my_cards()][-1:]}"
        finally:
            await bot.close()
