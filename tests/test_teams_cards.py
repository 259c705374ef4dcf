"""Every card policybot sends, as Teams shows it: valid, and every button on it can be pressed
and means what it says."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from adapters.platforms import load_config
from adapters.teams.cards import ANSWER_ID, MANY_ID, TIME_ID, parse_submit, render_card
from bot.messages import Button, Card
from bot.people import Directory
from tests.adaptive_schema import check_card
from tests.card_tour import tour
from tests.harness import TestBot, put_person, read_policy, ready_record
from tests.teams_client import APPLICATION, Blocked, TeamsClient, card_inputs, personal, start_teams, teams_sends

QUESTION_INPUTS = {ANSWER_ID, MANY_ID, TIME_ID}


def received(action: dict[str, Any], sent: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """What policybot reads from a click (as adapters/teams/bot.py reads an Action.Execute)."""
    return parse_submit({"action": action["verb"], **sent})


def pressing(card: dict[str, Any], button: Button) -> list[str]:
    """Problems pressing `button` on its rendered card, as a person in Teams would."""
    want = (button.action, {k: str(v) for k, v in button.data.items()})
    tried: list[str] = []
    for a in card.get("actions", []):
        if a.get("verb") != button.action:
            continue
        # Straight away, or after choosing it in a picker the buttons were folded into.
        pickers = [{}] + [
            {i["id"]: c["value"]}
            for i in card_inputs(card)
            if i["id"] not in QUESTION_INPUTS
            for c in i.get("choices", [])
        ]
        for chosen in pickers:
            try:
                sent = teams_sends(card, a, chosen)
            except Blocked as exc:
                tried.append(str(exc))
                continue
            if received(a, sent) == want:
                return []
    return [f"{button.label!r} cannot be pressed: " + ("; ".join(tried) or "no action sends its data")]


def answering(card: dict[str, Any], neutral: Card) -> list[str]:
    """Problems answering the card's question with its own buttons and inputs."""
    q = neutral.question
    assert q is not None
    problems = []
    for a in card.get("actions", []):
        if a.get("verb") != q.action:
            continue
        filled = (
            {} if ANSWER_ID in a.get("data", {}) else {ANSWER_ID: "2026-11-26", MANY_ID: "eclarke", TIME_ID: "10:00"}
        )
        try:
            action, data = received(a, teams_sends(card, a, filled))
        except Blocked as exc:
            problems.append(str(exc))
            continue
        if (action, data.get("workflow"), data.get("key")) != (q.action, q.workflow, q.key) or data.get("value") in (
            None,
            "",
        ):
            problems.append(f"{a['title']!r} sends {action} {data}, not an answer to {q.workflow}/{q.key}")
    return problems


def named_key(card: dict[str, Any]) -> list[str]:
    """A field named `key` in what the card sends (the Agents Playground cannot send it)."""
    found = [f"action {a['title']!r} data has 'key'" for a in card.get("actions", []) if "key" in (a.get("data") or {})]
    return found + [f"input id 'key' ({i.get('label')})" for i in card_inputs(card) if i.get("id") == "key"]


@pytest.fixture(scope="module")
def every_card() -> list[Card]:
    import asyncio

    async def run() -> list[Card]:
        bot = TestBot()
        try:
            return await tour(bot)
        finally:
            await bot.close()

    return asyncio.run(run())


def test_the_tour_reaches_every_workflow_and_every_button(every_card: list[Card]) -> None:
    from bot.registry import default_registry

    registry = default_registry()
    actions = {b.action for c in every_card for b in c.buttons}
    assert set(registry.actions) <= actions, set(registry.actions) - actions
    asked = {c.question.workflow for c in every_card if c.question}
    assert set(registry.workflows) <= asked, set(registry.workflows) - asked
    summaries = [c for c in every_card if any(b.action == "conversation.edit" for b in c.buttons)]
    assert len(summaries) >= 10  # check-your-answers cards, with their Change buttons folded in Teams


def test_every_button_on_every_card_can_be_pressed_in_teams(every_card: list[Card]) -> None:
    """Teams checks every input on a card before sending any click: a button that needs no
    input must never be held back by one that is required (issue 16 item 5), no card sends
    a field named `key` (item 6), and each click reaches policybot as the button it was."""
    directory = Directory(load_config(None).people)
    problems: set[str] = set()
    for neutral in every_card:
        card = render_card(neutral, directory)
        where = neutral.title
        problems.update(f"{where}: {p}" for p in check_card(card))
        problems.update(f"{where}: {p}" for p in named_key(card))
        for b in neutral.buttons:
            problems.update(f"{where}: {p}" for p in pressing(card, b))
        if neutral.question is not None:
            problems.update(f"{where}: {p}" for p in answering(card, neutral))
    assert not problems, sorted(problems)[:20]


# ---- through the fake Teams service ----------------------------------------------------


@pytest.fixture
async def teams(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    for name in (
        "MicrosoftAppId",
        "MicrosoftAppPassword",
        "MicrosoftAppTenantId",
        "MicrosoftAppType",
        "POLICYBOT_CONFIG",
    ):
        monkeypatch.delenv(name, raising=False)
    tc, fake_server, client, core = await start_teams(tmp_path)
    yield tc
    await client.close()
    await fake_server.close()
    await core.close()


async def fill_in_new_account(teams: TeamsClient) -> None:
    await teams.install("eclarke")
    await read_policy(teams.core, "eclarke", "treid")  # so "everyone named has read the policy" is true
    for typed in APPLICATION:
        await teams.say("eclarke", typed)


async def test_the_summary_can_be_changed_and_submitted_by_pressing_its_buttons(teams: TeamsClient) -> None:
    await fill_in_new_account(teams)
    me = personal("eclarke")
    summary = teams.last(me)
    assert (
        "check your answers" in summary.text() and "If they are right, choose Submit to SLT" in summary.text()
    )  # the button's own name
    # Change pressed with nothing chosen in its list: asked to choose, nothing changed.
    _, body = await teams.press("eclarke", summary, "Change")
    assert "Please choose which answer to change first" in teams.last(me).text()
    assert "Please choose which answer to change first" in body["value"]  # under the card too, not a thank-you
    assert teams.core.store.get("conversations", "eclarke:new_account")["step"] == "_summary"
    # Change an answer with the picker, then submit: nothing chosen in the picker holds Submit back.
    await teams.press("eclarke", summary, "Aim")
    assert "Your answer was: Trip news" in teams.last(me).text()
    await teams.say("eclarke", "Trip news and reminders")
    summary = teams.last(me)
    status, _ = await teams.press("eclarke", summary, "Submit to SLT")
    assert status == 200
    assert "gone to the Senior Leadership Team" in teams.last(me).text()
    assert teams.core.store.all("applications")[0]["aim"] == "Trip news and reminders"


async def test_a_card_sent_before_the_rename_still_works(teams: TeamsClient) -> None:
    """Cards already in people's chats send `key`: they keep working after an upgrade."""
    await fill_in_new_account(teams)
    me = personal("eclarke")
    await teams.execute(
        "eclarke",
        {"verb": "conversation.edit", "data": {"action": "conversation.edit", "workflow": "new_account", "key": "aim"}},
    )
    question = teams.last(me)
    assert "Your answer was: Trip news" in question.text()
    old_send = {"verb": "answer", "data": {"action": "answer", "workflow": "new_account", "key": "aim"}}
    await teams.execute("eclarke", old_send, {"value": "Trip news for families"})
    summary = teams.last(me)
    assert "check your answers" in summary.text() and "Trip news for families" in summary.text()


# ---- what Teams shows under a clicked card ---------------------------------------------------


def shown_under_card(body: Any) -> str:
    """The text of an adaptiveCard/action invoke response (Teams shows it on the card)."""
    assert (
        isinstance(body, dict)
        and body["statusCode"] == 200
        and body["type"] == "application/vnd.microsoft.activity.message"
    ), body
    return str(body["value"])


async def test_a_refused_click_is_answered_with_the_refusal_never_a_thank_you(
    teams: TeamsClient, tmp_path: Path
) -> None:
    from tests.teams_client import SLT_TEAM

    for pid in ("eclarke", "treid", "swhitfield", "pshah"):
        await teams.install(pid)
    await teams.install_in_slt_team()
    await fill_in_new_account(teams)
    me = personal("eclarke")
    _, body = await teams.press("eclarke", teams.last(me), "Submit to SLT")
    assert shown_under_card(body) == "Thanks, got it."  # accepted: the application went

    approval = teams.last(SLT_TEAM["id"])
    channel = {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": "x",
        "id": f"{SLT_TEAM['id']};messageid={approval.activity_id}",
    }
    _, body = await teams.press("treid", approval, "Approve", conversation=channel)  # not SLT
    said = shown_under_card(body)
    assert "Only the Senior Leadership Team" in said and "Thanks" not in said
    _, body = await teams.press("swhitfield", approval, "Approve", conversation=channel)
    assert shown_under_card(body) == "Thanks, got it."
    _, body = await teams.press("swhitfield", approval, "Approve", conversation=channel)  # the old card, clicked again
    said = shown_under_card(body)
    assert "already approved by Sarah Whitfield" in said and "Thanks" not in said

    # The administrator is refused until the runners are trained (the default, "block").
    admin = teams.last(personal("pshah"))
    _, body = await teams.press("pshah", admin, "Record the new account")
    said = shown_under_card(body)
    assert said.startswith("Not yet: training or policy reading needed.") and "Thanks" not in said
    assert teams.core.store.all("accounts") == []

    # A question card clicked again after it was answered, and a question already cancelled.
    await teams.say("eclarke", "/new-account")
    question = teams.last(me)
    await teams.press("eclarke", question, "Send", {"value": "instagram"})
    _, body = await teams.press("eclarke", question, "Send", {"value": "youtube"})
    said = shown_under_card(body)
    assert "already answered, so I ignored that click" in said and "Thanks" not in said
    await teams.say("eclarke", "cancel")
    _, body = await teams.press("eclarke", question, "Send", {"value": "youtube"})
    said = shown_under_card(body)
    assert "already been answered or cancelled" in said and "Thanks" not in said


async def test_waiting_in_teams_brings_back_record_the_new_account(teams: TeamsClient) -> None:
    from tests.teams_client import SLT_TEAM

    for pid in ("eclarke", "treid", "swhitfield", "pshah"):
        await teams.install(pid)
    await teams.install_in_slt_team()
    await fill_in_new_account(teams)
    await teams.press("eclarke", teams.last(personal("eclarke")), "Submit to SLT")
    approval = teams.last(SLT_TEAM["id"])
    channel = {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": "x",
        "id": f"{SLT_TEAM['id']};messageid={approval.activity_id}",
    }
    await teams.press("swhitfield", approval, "Approve", conversation=channel)
    admin = personal("pshah")
    first = teams.last(admin)
    await teams.press("pshah", first, "Record the new account")  # refused: the runners are not trained yet
    async with teams.core.store.transaction() as tx:
        for pid in ("eclarke", "treid"):
            put_person(tx, pid, ready_record())
    await teams.say("pshah", "/todo")
    sent = teams.fake.to(admin)
    assert any("What is waiting for you" in c.text() and "Approved accounts to record" in c.text() for c in sent)
    again = next(c for c in reversed(sent) if "Please create an account" in c.text())
    assert again.activity_id != first.activity_id
    teams.check(again)
    await teams.press("pshah", again, "Record the new account")
    await teams.say("pshah", "@PenningtonY6")
    await teams.say("pshah", "school password manager, Social Media folder")
    await teams.press("pshah", teams.last(admin), "Add to the register")
    assert [a["handle"] for a in teams.core.store.all("accounts")] == ["@PenningtonY6"]
    # Both copies of the card are updated to say it is done, with no button left.
    for card in (first, again):
        done = [c for c in teams.fake.to(admin, "PUT") if c.activity_id == card.activity_id]
        assert done and "Account created" in done[-1].text() and "actions" not in done[-1].card


REFUSED = ("nothing was changed", "nothing changed", "no longer", "already", "not yet", "only the", "sorry")


def test_no_refused_click_anywhere_is_answered_with_a_thank_you() -> None:
    """Every button click of the tour: when what policybot told the person who clicked says the
    click did nothing (already done, no longer open, not allowed...), the line Teams shows under
    the card says so too, never 'Thanks, got it.' (issue 16 item 7, for every kind of card)."""
    import asyncio

    from adapters.teams.bot import THANKS, click_answer

    clicks: list[tuple[str, Button, list[Any]]] = []

    async def run() -> None:
        bot = TestBot()
        try:
            await tour(bot, clicks)
        finally:
            await bot.close()

    asyncio.run(run())
    assert len(clicks) > 100
    wrong = set()
    for who, button, sent in clicks:
        told = " ".join(f"{m.card.title} {m.card.body}" for m in sent if str(m.to) == f"person:{who}").lower()
        if any(word in told for word in REFUSED) and click_answer(who, sent) == THANKS:
            wrong.add(f"{button.action} ({button.label}): {told[:150]}")
    assert not wrong, sorted(wrong)


async def test_an_answer_refused_by_its_question_is_not_thanked(teams: TeamsClient) -> None:
    """Pressing Yes at 'has everyone named read the policy?' while the records say not: the
    question is asked again as a warning, and the line under the clicked card says why."""
    await teams.install("eclarke")
    for typed in APPLICATION[:6]:
        await teams.say("eclarke", typed)
    await teams.say("eclarke", "Emma Clarke, Tom Reid")
    await teams.say("eclarke", "private")
    me = personal("eclarke")
    question = teams.last(me)
    assert "read and understood" in question.text()
    _, body = await teams.press("eclarke", question, "Yes")
    said = shown_under_card(body)
    assert "Thanks" not in said and "not yet confirmed reading" in said
    assert teams.core.store.all("applications") == []
