"""Teams end to end over real HTTP: the CloudAdapter endpoint and a local fake Bot Framework connector."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from adapters.server import FRONT_ENDS
from adapters.teams import TEAMS
from tests.harness import person_record, put_person, read_policy, ready_record
from tests.teams_client import APPLICATION, SLT_TEAM, TENANT, TeamsClient, action, inputs, personal, start_teams


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[TeamsClient]:
    tc, fake_server, client, core = await start_teams(tmp_path)
    # The SDK's anonymous path: with an empty app id, CloudAdapter accepts a request with no token.
    assert core.settings.platform("teams") is not None and core.settings.platform("teams").app_id == ""
    assert "teams" in client.app[FRONT_ENDS]
    yield tc
    await client.close()
    await fake_server.close()
    await core.close()


async def test_anonymous_install_is_accepted_and_greets(teams: TeamsClient) -> None:
    assert await teams.install("eclarke") == 201
    ref = teams.core.store.get("references", "teams:person:eclarke")
    assert ref is not None and ref["reference"]["conversation"]["id"] == personal("eclarke")
    hello = teams.last(personal("eclarke"))
    assert "Hello Emma" in hello.text()
    start = action(hello, "New school social media account")
    assert start["type"] == "Action.Execute" and start["data"] == {
        "action": "conversation.start",
        "workflow": "new_account",
    }


async def test_new_account_through_teams_only(teams: TeamsClient) -> None:
    for pid in ("eclarke", "treid", "swhitfield", "dokafor", "pshah"):
        await teams.install(pid)
    await teams.install_in_slt_team()
    assert teams.core.store.get("references", "teams:slt") is not None
    me = personal("eclarke")
    await read_policy(teams.core, "eclarke", "treid")

    await teams.say("eclarke", "New Account")  # typed, any case
    question = teams.last(me)
    assert "Which platform" in question.text()
    platform = inputs(question)["value"]
    assert platform["type"] == "Input.ChoiceSet" and {"title": "Facebook", "value": "facebook"} in platform["choices"]
    # Action.Submit from the card (a message whose value carries the data and inputs).
    await teams.submit("eclarke", {**action(question, "Send")["data"], "value": "facebook"})
    assert "called" in teams.last(me).text()

    for typed in (
        "Year 6 Trips",
        "To share trip news with families",
        "Parents and carers of Year 6",
        "In the newsletter",
    ):
        await teams.say("eclarke", typed)
    runners = teams.last(me)
    picker = inputs(runners)["values"]
    assert picker["isMultiSelect"] and {"title": "Tom Reid (Year 4 Teacher)", "value": "treid"} in picker["choices"]
    status, body = await teams.execute("eclarke", action(runners, "Send"), {"values": "eclarke,treid"})
    assert status == 200 and body["statusCode"] == 200

    visibility = teams.last(me)
    await teams.execute("eclarke", action(visibility, "Send"), {"value": "private"})
    read = teams.last(me)
    await teams.execute("eclarke", action(read, "Yes"))
    summary = teams.last(me)
    assert "check your answers" in summary.text() and "Emma Clarke" in summary.text() and "Tom Reid" in summary.text()
    assert len(summary.card["actions"]) <= 5  # the Change buttons fold into one choice set
    assert "question" in inputs(summary) and "key" not in inputs(
        summary
    )  # the Agents Playground cannot send a field named key
    await teams.press("eclarke", summary, "Submit to SLT")  # as Teams sends it: the Change picker is left empty
    assert "gone to the Senior Leadership Team" in teams.last(me).text()
    app_id = teams.core.store.all("applications")[0]["id"]

    # The approval card goes to the SLT team channel, not to SLT's personal chats.
    approval = teams.last(SLT_TEAM["id"])
    assert f"New account application {app_id}" in approval.text()
    assert not [c for c in teams.fake.to(personal("swhitfield")) if "New account application" in c.text()]
    channel = {
        "isGroup": True,
        "conversationType": "channel",
        "tenantId": "x",
        "id": f"{SLT_TEAM['id']};messageid={approval.activity_id}",
    }

    # A teacher cannot approve, even from the card.
    status, _ = await teams.execute("treid", action(approval, "Approve"), conversation=channel)
    assert status == 200 and teams.core.store.get("applications", app_id)["status"] == "submitted"
    assert "Only the Senior Leadership Team" in teams.last(personal("treid")).text()

    status, _ = await teams.execute("swhitfield", action(approval, "Approve"), conversation=channel)
    assert status == 200 and teams.core.store.get("applications", app_id)["status"] == "approved"
    updates = teams.fake.to(SLT_TEAM["id"], "PUT")
    assert len(updates) == 1 and updates[0].activity_id == approval.activity_id
    teams.check(updates[0])
    assert "Approved by Sarah Whitfield" in updates[0].text() and "actions" not in updates[0].card
    assert "approved" in teams.last(me).text()

    # A second SLT click on the (old) card changes nothing and is answered politely.
    await teams.execute("dokafor", action(approval, "Approve"), conversation=channel)
    assert "already approved by Sarah Whitfield" in teams.last(personal("dokafor")).text()
    assert len(teams.core.store.audit(action="application_approved")) == 1

    admin = teams.last(personal("pshah"))
    await teams.execute("pshah", action(admin, "Record the new account"))
    # By default nobody untrained may run an account: the administrator is told who and what is missing.
    assert "Not yet: training or policy reading needed" in teams.last(personal("pshah")).text()
    assert teams.core.store.all("accounts") == []
    async with teams.core.store.transaction() as tx:  # (the records tests cover /policy and /training themselves)
        for pid in ("eclarke", "treid"):
            put_person(tx, pid, ready_record())
    await teams.execute("pshah", action(admin, "Record the new account"))
    await teams.say("pshah", "@PenningtonY6")
    await teams.say("pshah", "school password manager, Social Media folder")
    check = teams.last(personal("pshah"))
    await teams.execute("pshah", action(check, "Add to the register"))
    account = teams.core.store.all("accounts")[0]
    assert account["handle"] == "@PenningtonY6" and account["runners"] == ["eclarke", "treid"]
    done = [c for c in teams.fake.to(personal("pshah"), "PUT") if c.activity_id == admin.activity_id]
    assert done and "Account created" in done[-1].text() and "actions" not in done[-1].card
    assert "ready" in teams.last(personal("treid")).text()
    assert teams.check_all() > 20  # every card sent or updated is a valid Adaptive Card 1.5


async def test_a_stale_card_submit_is_answered_politely(teams: TeamsClient) -> None:
    await teams.install("eclarke")
    await teams.say("eclarke", "/new-account")
    question = teams.last(personal("eclarke"))
    send = action(question, "Send")
    await teams.execute("eclarke", send, {"value": "instagram"})
    before = teams.core.store.get("conversations", "eclarke:new_account")
    status, _ = await teams.execute("eclarke", send, {"value": "youtube"})  # the same card, clicked again
    assert status == 200
    assert "already answered" in teams.last(personal("eclarke")).text()
    after = teams.core.store.get("conversations", "eclarke:new_account")
    assert after["answers"] == before["answers"] == {"platform": "instagram"}


async def test_connector_failure_then_recovery_sends_exactly_once(teams: TeamsClient) -> None:
    await teams.install("eclarke")
    greetings = len(teams.fake.to(personal("eclarke")))
    teams.fake.fail(2, 503)
    teams.fake.fail(1, 429)
    await teams.say("eclarke", "help")
    assert len(teams.fake.to(personal("eclarke"))) == greetings  # not sent yet, still in the outbox
    assert teams.core.delivery.waiting()
    for _ in range(4):
        teams.core.clock.advance(__import__("datetime").timedelta(minutes=11))
        await teams.core.delivery.flush()
    assert teams.fake.refused == 3
    assert len(teams.fake.to(personal("eclarke"))) == greetings + 1
    assert not teams.core.delivery.waiting()


async def test_unreachable_people_are_listed_to_admins_then_reached_on_install(teams: TeamsClient) -> None:
    await teams.install("eclarke")
    await teams.install("pshah")
    await teams.install("swhitfield")
    # No SLT channel yet: the approval card goes to each SLT member's personal chat.
    await read_policy(teams.core, "eclarke", "treid")
    for typed in (*APPLICATION, "submit"):
        await teams.say("eclarke", typed)
    assert "New account application" in teams.last(personal("swhitfield")).text()
    # David Okafor has never opened the app, and Teams refuses to open a chat with him.
    creates = [c for c in teams.fake.calls if c.method == "CREATE"]
    assert creates and creates[-1].body["members"][0]["id"] == "a1000000-0000-4000-8000-000000000002"
    await teams.core.delivery.flush()  # the notice to admins was queued during the last flush
    notice = [c for c in teams.fake.to(personal("pshah")) if "cannot reach David Okafor" in c.text()]
    assert len(notice) == 1 and "Assign users" in notice[0].text()

    await teams.say("pshah", "/unreachable")
    listing = teams.last(personal("pshah"))
    assert "David Okafor" in listing.text() and "Jo Bennett" in listing.text() and "no teams_id" in listing.text()
    await teams.say("eclarke", "unreachable")
    assert "Only the Senior Leadership Team or an administrator" in teams.last(personal("eclarke")).text()
    assert teams.core.store.audit(action="refused", actor="eclarke")

    await teams.install("dokafor")  # he adds the app: what waited for him arrives now
    assert any("New account application" in c.text() for c in teams.fake.to(personal("dokafor")))
    assert teams.core.store.get("teams_unreachable", "dokafor") is None
    await teams.say("pshah", "/unreachable")
    listing = teams.last(personal("pshah")).text()
    assert "David Okafor" not in listing and "Jo Bennett" in listing  # reached now; Jo Bennett still has no teams_id


async def test_unknown_person_and_files_are_answered_in_teams(teams: TeamsClient) -> None:
    act = teams.activity("eclarke", "message", text="hello")
    act["from"] = {"id": "29:stranger", "aadObjectId": "ffffffff-0000-4000-8000-00000000beef"}
    act["conversation"]["id"] = "a:personal-stranger"
    status, _ = await teams.post(act)
    assert status == 201
    reply = teams.last("a:personal-stranger")
    assert "don't know you yet" in reply.text() and "ffffffff-0000-4000-8000-00000000beef" in reply.text()
    assert teams.core.store.count("inbox") == 0  # answered, so not handled again at the next start

    await teams.install("eclarke")
    photo = teams.activity(
        "eclarke",
        "message",
        text="",
        attachments=[{"contentType": "image/png", "contentUrl": "https://example.invalid/x.png", "name": "trip.png"}],
    )
    await teams.post(photo)
    assert "I can't take files" in teams.last(personal("eclarke")).text()
    assert not [c for c in teams.fake.calls if "x.png" in str(c.body)]


async def test_token_is_required_when_an_app_id_is_set(tmp_path: Path) -> None:
    tc, fake_server, client, core = await start_teams(
        tmp_path, app_id="0f0f0f0f-1111-4222-8333-444444444444", app_password="made-up-test-secret"
    )
    try:
        act = tc.activity("eclarke", "message", text="/new-account")
        for headers in ({}, {"Authorization": "Bearer not-a-real-token"}):
            status, _ = await tc.post(act, headers)
            assert status == 401
        assert (
            core.store.all("conversations") == []
            and core.store.all("references") == []
            and core.store.all("outbox") == []
        )
        assert tc.fake.calls == []
    finally:
        await client.close()
        await fake_server.close()
        await core.close()


async def test_clients_are_reused_across_turns(teams: TeamsClient) -> None:
    await teams.install("eclarke")
    await teams.say("eclarke", "help")
    await teams.say("eclarke", "/accounts")
    auth = teams.client.app[TEAMS]["adapter"].bot_framework_authentication
    assert len(auth.connectors) == 1  # one connector client for the one service URL, not one per turn
    client = next(iter(auth.connectors.values()))
    assert client.config.retry_policy.retries == 0  # the outbox retries, not msrest


async def test_unexpected_error_shows_a_reference_not_a_traceback(
    teams: TeamsClient, caplog: pytest.LogCaptureFixture
) -> None:
    await teams.install("eclarke")

    def broken(*_: object) -> None:
        raise RuntimeError("boom")

    teams.core.registry.actions["new_account.approve"] = broken
    await teams.submit("eclarke", {"action": "new_account.approve", "application": "A-1"})
    reply = teams.last(personal("eclarke"))
    ref = next(r.message.split("reference ")[1].rstrip(")") for r in caplog.records if "Teams turn failed" in r.message)
    assert f"quote reference {ref}" in reply.text() and "Traceback" not in reply.text() and "boom" not in reply.text()


async def test_replies_follow_a_person_to_a_new_service_url_and_an_unchanged_one_is_not_rewritten(
    teams: TeamsClient,
) -> None:
    from aiohttp.test_utils import TestServer

    from adapters.teams.channel import REFERENCES, person_key
    from tests.fakes.bf_connector import FakeConnector

    await teams.say("eclarke", "help")
    assert teams.fake.last(personal("eclarke")).text()
    stored = teams.core.store.get(REFERENCES, person_key("eclarke"))["version"]
    await teams.say("eclarke", "help")
    await teams.say("eclarke", "help")
    assert teams.core.store.get(REFERENCES, person_key("eclarke"))["version"] == stored  # nothing rewritten per message
    # Teams moves the school to another regional service: replies must go there from now on.
    moved = FakeConnector()
    server = TestServer(moved.app(), host="127.0.0.1", port=0)
    await server.start_server()
    try:
        teams.service_url = str(server.make_url("/")).rstrip("/") + "/"
        before = len(teams.fake.calls)
        await teams.say("eclarke", "help")
        assert moved.last(personal("eclarke")).text()
        assert len(teams.fake.calls) == before  # nothing more to the old one
    finally:
        await server.close()


async def test_messages_to_teams_carry_the_bots_token_when_an_app_id_is_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Proactive messages are posted to the connector with the token the SDK's credentials give."""
    from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference
    from botframework.connector.auth import MicrosoftAppCredentials

    from adapters.teams.channel import person_key, save_reference
    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    token = "made-up-token-for-this-test"  # MSAL would fetch a real one from Microsoft Entra
    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", lambda self, force_refresh=False: token)
    tc, fake_server, client, core = await start_teams(
        tmp_path, app_id="0f0f0f0f-1111-4222-8333-444444444444", app_password="made-up-test-secret"
    )
    try:
        tc.fake.token = token
        chat = personal("eclarke")
        reference = ConversationReference(
            service_url=tc.service_url,
            channel_id="msteams",
            conversation=ConversationAccount(id=chat, conversation_type="personal"),
            bot=ChannelAccount(id="28:policybot"),
            user=ChannelAccount(id="29:eclarke"),
        )
        await save_reference(
            core.store, person_key("eclarke"), {"kind": "person", "person": "eclarke"}, reference, core.now()
        )

        async def send(text: str) -> None:
            async with core.store.transaction() as tx:
                queue(tx, [Outbound(person("eclarke"), Card("A message", text))], core.now())
            await core.delivery.flush()

        await send("Signed with the bot's token.")
        [call] = tc.fake.to(chat)
        assert "Signed with the bot's token." in call.text()
        assert call.body["from"]["id"] == "28:policybot" and call.body["recipient"]["id"] == "29:eclarke"
        assert core.delivery.waiting() == 0

        tc.fake.token = "a-different-token"  # the connector no longer accepts ours (say, the secret was rotated)
        await send("Refused, so kept.")
        assert len(tc.fake.to(chat)) == 1
        assert core.delivery.waiting() == 1  # kept in the outbox, not lost
        tc.fake.token = token
        core.clock.advance(timedelta(minutes=1))
        await core.delivery.flush()
        assert "Refused, so kept." in tc.fake.to(chat)[-1].text() and core.delivery.waiting() == 0
    finally:
        await client.close()
        await fake_server.close()
        await core.close()


async def test_a_chat_is_opened_with_the_id_teams_gave_someone_who_spoke_in_a_team_first(teams: TeamsClient) -> None:
    # Sue Whitfield added the bot to the SLT team but has never written to it personally.
    await teams.install_in_slt_team(by="swhitfield")
    assert teams.core.store.get("references", "teams:person:swhitfield") is None
    conv = {"isGroup": True, "conversationType": "channel", "tenantId": TENANT, "id": SLT_TEAM["id"]}
    act = teams.activity("swhitfield", "message", conv, text="help")
    act["channelData"] = {"team": SLT_TEAM, "channel": {"id": SLT_TEAM["id"]}, "tenant": {"id": TENANT}}
    await teams.post(act)
    creates = [c for c in teams.fake.calls if c.method == "CREATE"]
    assert creates, "no personal chat was opened"
    assert creates[-1].body["members"][0]["id"] == "29:swhitfield"


async def saved_not_handled(teams: TeamsClient, person: str, text: str) -> dict[str, object]:
    """A message Teams was answered for and policybot saved, but has not handled yet (as if it stopped then)."""
    from adapters.teams.activity import read_activity
    from adapters.teams.bot import parse_activity

    answer = teams.activity(person, "message", text=text)
    event = parse_activity(read_activity(answer))
    assert event is not None
    await teams.core.accept(event, {"activity": answer}, key=teams.core.inbox_key(event))
    return answer


async def start_again(teams: TeamsClient) -> None:
    """What policybot does with saved messages when it starts."""
    replay = next(hook for hook in teams.client.app.on_startup if getattr(hook, "__name__", "") == "replay")
    await replay(teams.client.app)
    await teams.core.backlog.idle()
    await teams.core.delivery.flush()


async def test_a_message_acknowledged_but_not_handled_before_a_stop_is_handled_at_start(teams: TeamsClient) -> None:
    await teams.install("eclarke")
    await teams.say("eclarke", "/new-account")
    answer = await saved_not_handled(teams, "eclarke", "facebook")
    assert teams.core.store.get("conversations", "eclarke:new_account")["answers"] == {}

    await start_again(teams)
    assert teams.core.store.get("conversations", "eclarke:new_account")["answers"] == {"platform": "facebook"}
    assert "called" in teams.last(personal("eclarke")).text()  # the next question
    assert teams.core.store.count("inbox") == 0

    await teams.post(answer)  # Teams sends it again: it was already handled
    assert teams.core.store.get("conversations", "eclarke:new_account")["answers"] == {"platform": "facebook"}
    assert teams.core.store.count("inbox") == 0


async def test_a_saved_message_that_cannot_be_handled_yet_is_not_asked_for_again(
    teams: TeamsClient, tmp_path: Path
) -> None:
    from bot.store import JOURNAL

    await teams.install("eclarke")
    await teams.say("eclarke", "/new-account")
    await saved_not_handled(teams, "eclarke", "facebook")
    # Then the disk refuses writes before the message is handled.
    teams.core.store.checkpoint()
    journal = tmp_path / "data" / JOURNAL
    journal.unlink(missing_ok=True)
    journal.mkdir()
    await start_again(teams)
    told = teams.fake.last(personal("eclarke")).text()
    assert "I have your message" in told and "no need to send it again" in told
    assert teams.core.store.get("conversations", "eclarke:new_account")["answers"] == {}

    journal.rmdir()  # the disk is back; at the next start the message is handled, once
    await start_again(teams)
    assert teams.core.store.get("conversations", "eclarke:new_account")["answers"] == {"platform": "facebook"}
    assert teams.core.store.count("inbox") == 0


async def test_a_runner_whose_training_has_lapsed_is_shown_so_on_slts_card_in_teams(teams: TeamsClient) -> None:
    """Issue 19 §3: training 25 months old counts as lapsed, and SLT read it on the approval card in Teams."""
    await teams.install("eclarke")
    await teams.install_in_slt_team()
    async with teams.core.store.transaction() as tx:
        put_person(tx, "eclarke", ready_record())
        put_person(tx, "treid", person_record(read="2025-1", trained="2024-10-20"))  # 25 months before 25 Nov 2026
    for typed in APPLICATION:
        await teams.say("eclarke", typed)
    await teams.say("eclarke", "submit")
    approval = teams.last(SLT_TEAM["id"]).text()
    assert "Tom Reid - read the policy on Fri 20 Nov 2026; training lapsed on Tue 20 Oct 2026" in approval
    assert "Emma Clarke - read the policy on Fri 20 Nov 2026; trained on Fri 20 Nov 2026" in approval
