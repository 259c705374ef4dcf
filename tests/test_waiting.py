"""/waiting (or /todo): whatever waits for a person can always be reached again, with its buttons."""

from __future__ import annotations

import io

from adapters.console import ConsoleChat
from bot.messages import Card
from tests.harness import (
    APPLICATION,
    TestBot,
    add_account,
    answer_disclaimer,
    button,
    person_record,
    put_person,
    read_policy,
    ready_record,
)

TRAINED = ready_record()


async def approved(bot: TestBot) -> None:
    await read_policy(bot.core, "eclarke", "treid")
    await bot.answer_all("eclarke", *APPLICATION, "submit")
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Approve"))


async def train(bot: TestBot, *people: str) -> None:
    async with bot.store.transaction() as tx:
        for pid in people:
            put_person(tx, pid, TRAINED)


def titled(cards: list[Card], start: str) -> Card:
    found = [c for c in cards if c.title.startswith(start)]
    assert found, f"no card {start!r} in {[c.title for c in cards]}"
    return found[-1]


async def test_the_administrator_refused_until_runners_are_trained_finds_the_button_again(strict: TestBot) -> None:
    bot = strict
    await answer_disclaimer(bot.core, "pshah")  # nothing else waits for her
    await approved(bot)
    await bot.click("pshah", button(bot.last("pshah"), "Record the new account"))
    assert bot.last("pshah").title == "Not yet: training or policy reading needed"
    await train(bot, "eclarke", "treid")
    # The card with the button has long scrolled away: /waiting brings it back.
    before = len(bot.outbox.cards("pshah"))
    await bot.say("pshah", "/waiting")
    shown = bot.outbox.cards("pshah")[before:]
    overview = shown[0]
    assert (
        overview.title == "What is waiting for you"
        and ("Approved accounts to record", "A-1 Year 6 Trips") in overview.fields
    )
    record = titled(shown, "Please create an account: Year 6 Trips")
    await bot.click("pshah", button(record, "Record the new account"))
    await bot.answer_all("pshah", "@PenningtonY6", "school password manager", "submit")
    assert [a["handle"] for a in bot.store.all("accounts")] == ["@PenningtonY6"]
    # Nothing is left for her, and a friendlier name works too.
    await bot.say("pshah", "/todo")
    assert bot.last("pshah").title == "Nothing is waiting for you"


async def test_each_person_sees_what_waits_for_them_with_its_buttons(bot: TestBot) -> None:
    await add_account(bot)
    await answer_disclaimer(bot.core, "jbennett")
    await read_policy(bot.core, "eclarke", "treid")
    await bot.answer_all("eclarke", *APPLICATION, "submit")  # A-1 for SLT to decide
    await bot.answer_all("treid", "/report-abuse")  # an unfinished form, and SLT alerted if urgent
    await bot.answer_all("pshah", "/rota-set", "Pennington PTA", "1", "Mon-Sun: Emma Clarke", "submit")
    await bot.answer_all("eclarke", "/log-comment", "1", "2", "1", "When is the trip back?", "skip", "no", "submit")
    await bot.answer_all("eclarke", "/swap-duty", "Pennington PTA", "tomorrow", "Tom Reid", "submit")

    async def waiting(who: str, typed: str = "/waiting") -> list[Card]:
        before = len(bot.outbox.cards(who))
        await bot.say(who, typed)
        return bot.outbox.cards(who)[before:]

    head = await waiting("swhitfield")
    sections = dict(head[0].fields)
    assert sections["Applications to decide"] == "A-1 Year 6 Trips"
    assert [b.label for b in titled(head, "New account application A-1").buttons] == ["Approve", "Reject"]

    tom = await waiting("treid")
    sections = dict(tom[0].fields)
    assert "report abuse" in sections["Unfinished"] and "IT-1" in sections["Waiting for a reply"]
    assert "Pennington PTA" in sections["Monitoring days you were asked to take"]
    assert [b.label for b in titled(tom, "Can you monitor").buttons] == ["Accept", "Decline"]
    carry_on = titled(tom, "Unfinished: report abuse")
    await bot.click("treid", button(carry_on, "Carry on"))
    assert "Carrying on where you left off." in bot.last("treid").body and bot.last("treid").question is not None
    await bot.click("treid", button(titled(tom, "Waiting for a reply: IT-1"), "Mark replied"))
    assert bot.store.get("items", "IT-1")["status"] == "replied"

    jo = await waiting("jbennett", "waiting")  # typed as a word, with nothing in progress
    assert [c.title for c in jo] == ["Nothing is waiting for you"]


async def test_waiting_is_offered_in_help_and_someone_who_has_left_sees_nothing(bot: TestBot) -> None:
    await bot.say("eclarke", "/help")
    assert "/waiting - see everything waiting for you" in bot.last("eclarke").body
    await read_policy(bot.core, "eclarke", "treid")
    await bot.answer_all("eclarke", *APPLICATION, "submit")
    assert bot.store.get("applications", "A-1")
    async with bot.store.transaction() as tx:
        put_person(tx, "swhitfield", person_record(leaving="2026-11-20", leaving_status="done"))
    await bot.say("swhitfield", "/waiting")
    told = bot.last("swhitfield")
    assert "left the school" in told.body and "A-1" not in told.body + str(told.fields) and not told.buttons


async def test_waiting_in_the_terminal_chat(strict: TestBot) -> None:
    bot = strict
    await approved(bot)
    await train(bot, "eclarke", "treid")
    out = io.StringIO()
    console = ConsoleChat(bot.core, out)
    await console.start("pshah")
    await console.line("/waiting")
    shown = out.getvalue()
    assert "=== What is waiting for you ===" in shown and "[1] Record the new account" in shown
    for line in ("1", "@PenningtonY6", "school password manager", "submit"):
        await console.line(line)
    assert [a["handle"] for a in bot.store.all("accounts")] == ["@PenningtonY6"]


async def test_one_thing_among_many_is_brought_back_on_its_own(strict: TestBot) -> None:
    """In the terminal chat only the last card's buttons are numbered: /waiting A-1 brings that one back last."""
    bot = strict
    await answer_disclaimer(bot.core, "pshah")
    await approved(bot)
    await bot.answer_all(
        "treid",
        "/new-account",
        "Instagram",
        "Class 4 Art",
        "Show pupils' art",
        "Parents of Class 4",
        "Newsletter",
        "Tom Reid, Emma Clarke",
        "open",
        "yes",
        "submit",
    )
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Approve"))
    await train(bot, "eclarke", "treid")
    out = io.StringIO()
    console = ConsoleChat(bot.core, out)
    await console.start("pshah")
    await console.line("/waiting")
    assert "2 things need you" in out.getvalue() and "like /waiting A-2" in out.getvalue()
    await console.line("/waiting a-1")
    assert out.getvalue().rstrip().splitlines()[-2:] == ["  [1] Record the new account", "  (type a number to choose)"]
    for line in ("1", "@PenningtonY6", "school password manager", "submit"):
        await console.line(line)
    assert [(a["application"], a["handle"]) for a in bot.store.all("accounts")] == [("A-1", "@PenningtonY6")]
    await bot.say("pshah", "/waiting Year 9")
    assert bot.last("pshah").title == "Nothing waiting matches 'Year 9'" and "A-2 Class 4 Art" in bot.last("pshah").body
