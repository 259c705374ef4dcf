"""/log-post and SLT's choice over real HTTP: Slack (signed requests, the fake Web API) and Teams (the
CloudAdapter endpoint, the fake connector)."""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.slack_world import EC, SLT_CHANNEL, SW, TR, Workspace, has_buttons, text_of
from tests.teams_client import SLT_TEAM, TeamsClient, action, personal, start_teams


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[TeamsClient]:
    tc, fake_server, client, core = await start_teams(tmp_path)
    yield tc
    await client.close()
    await fake_server.close()
    await core.close()


async def test_log_post_in_slack_and_slt_leave_it_from_their_channel(slack: Workspace) -> None:
    me = "D" + EC[1:]
    await slack.command(EC, "/log-post")
    assert "Where did you see it?" in text_of(slack.fake.last(me))
    await slack.choose(EC, me, "facebook")
    await slack.say(EC, "A village page saying the school is closing next year")
    await slack.choose(EC, me, "misleading")
    await slack.act(EC, me, "Log it")
    assert "I have sent it to SLT" in "\n".join(text_of(m) for m in slack.fake.posted(me))
    card = copy.deepcopy(slack.fake.last(SLT_CHANNEL))
    assert "M-1" in text_of(card) and "saying the school is closing" in text_of(card) and has_buttons(card)

    await slack.act(TR, SLT_CHANNEL, "Leave it", message=card)  # a teacher cannot choose
    refusal = [c for c in slack.fake.ok("chat.postEphemeral") if c.args.get("user") == TR]
    assert refusal and "Senior Leadership Team" in str(refusal[-1].args)
    assert slack.core.store.get("mentions", "M-1")["decision"] is None

    await slack.act(SW, SLT_CHANNEL, "Leave it", message=card)
    assert slack.core.store.get("mentions", "M-1")["decided_by"] == "swhitfield"
    decided = slack.fake.last(SLT_CHANNEL)
    assert not has_buttons(decided) and "Leave it: by Sarah Whitfield" in text_of(decided)
    assert [c for c in slack.fake.ok("chat.update") if c.args["channel"] == SLT_CHANNEL]
    assert "decided to leave it" in text_of(slack.fake.last(me))


async def test_log_post_in_teams_and_slt_choose_respond_with_a_note(teams: TeamsClient) -> None:
    for pid in ("eclarke", "swhitfield", "treid"):
        await teams.install(pid)
    await teams.install_in_slt_team()
    me = personal("eclarke")
    await teams.say("eclarke", "/log-post")
    where = teams.last(me)
    assert "Where did you see it?" in where.text()
    await teams.execute("eclarke", action(where, "Send"), {"value": "x"})
    await teams.say("eclarke", "https://x.example/status/7 saying pupils were hurt on the trip")
    await teams.execute("eclarke", action(teams.last(me), "Send"), {"value": "concern"})
    await teams.press("eclarke", teams.last(me), "Log it")
    assert "I have sent it to SLT" in teams.last(me).text()

    card = teams.last(SLT_TEAM["id"])
    assert "M-1" in card.text() and "X (Twitter)" in card.text()
    channel = {"isGroup": True, "conversationType": "channel", "tenantId": "x", "id": SLT_TEAM["id"]}
    await teams.execute("treid", action(card, "Respond through the school account"), conversation=channel)
    assert "Only the Senior Leadership Team" in teams.last(personal("treid")).text()

    await teams.execute("swhitfield", action(card, "Respond through the school account"), conversation=channel)
    assert "who will respond" in teams.last(personal("swhitfield")).text()
    await teams.say("swhitfield", "Emma to post the facts on the school Facebook page")
    m = teams.core.store.get("mentions", "M-1")
    assert (m["decision"], m["decided_by"]) == ("respond", "swhitfield")
    update = teams.fake.to(SLT_TEAM["id"], "PUT")[-1]
    teams.check(update)
    assert update.activity_id == card.activity_id and "actions" not in update.card
    assert "Respond through the school account: by Sarah Whitfield" in update.text()
    assert "respond to it through its own account" in teams.last(me).text()
