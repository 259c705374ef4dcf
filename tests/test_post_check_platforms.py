"""/post-check over real HTTP: in Slack (signed requests, the fake Web API) and in Teams (the fake connector),
from the command to the second person's Confirm button, and every copy of the card updated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.harness import PTA_ACCOUNT
from tests.slack_world import EC, JB, PS, TR, Workspace, dm, has_buttons, text_of
from tests.teams_client import TeamsClient, personal, start_teams

# A post showing one pupil, in order: it needs a second check (the default, "pupils").
ANSWERS = ("Sports day relay photo, caption 'Well run!'", "yes", "Zoe Amos, Year 4", "no", "1", "1")
MORE = ("yes", "yes", "1", "yes", "yes", "yes")


async def test_post_check_and_its_second_check_in_slack(slack: Workspace) -> None:
    async with slack.core.store.transaction() as tx:
        tx.put("accounts", "ACC-1", dict(PTA_ACCOUNT))  # run by Emma Clarke and Tom Reid
    await slack.command(JB, "/post-check")  # runs no account: the rules, not a refusal
    assert "Before you post: what the check asks" in text_of(slack.fake.last(dm(JB)))
    await slack.command(EC, "/post-check")
    for typed in ANSWERS + MORE:
        await slack.say(EC, typed)
    assert "no restriction recorded" in "\n".join(text_of(m) for m in slack.fake.posted(dm(EC)))
    await slack.act(EC, dm(EC), "Check it")
    assert "Waiting for a second check: post P-1" in text_of(slack.fake.last(dm(EC)))
    card = slack.fake.last(dm(TR))
    assert "Second check: post P-1" in text_of(card) and has_buttons(card)

    await slack.act(EC, dm(TR), "Confirm", message=card)  # the checker, pressing a copy: refused, to them only
    refusal = [c for c in slack.fake.calls if "You checked this post yourself" in str(c.args)]
    assert [c.args.get("channel") for c in refusal] == [dm(EC)]
    assert slack.core.store.audit(action="refused", actor="eclarke")
    assert slack.core.store.get("posts", "P-1")["status"] == "waiting"

    await slack.act(TR, dm(TR), "Confirm", message=card)
    assert slack.core.store.get("posts", "P-1")["second_check_by"] == "treid"
    assert "Post P-1: ready to post" in text_of(slack.fake.last(dm(EC)))
    for user in (TR, PS):  # every copy updated, with no buttons left
        updates = [c for c in slack.fake.ok("chat.update") if c.args["channel"] == dm(user)]
        assert updates and "Confirmed: ready to post, by Tom Reid" in str(updates[-1].args)
        assert not has_buttons(slack.fake.last(dm(user)))


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[TeamsClient]:
    tc, fake_server, client, core = await start_teams(tmp_path)
    yield tc
    await client.close()
    await fake_server.close()
    await core.close()


async def test_post_check_and_its_second_check_in_teams(teams: TeamsClient) -> None:
    for pid in ("eclarke", "treid", "pshah"):
        await teams.install(pid)
    async with teams.core.store.transaction() as tx:
        tx.put("accounts", "ACC-1", dict(PTA_ACCOUNT))
    await teams.say("eclarke", "/post-check")
    for typed in ANSWERS + MORE:
        await teams.say("eclarke", typed)
    await teams.press("eclarke", teams.last(personal("eclarke")), "Check it")
    assert "Waiting for a second check: post P-1" in teams.last(personal("eclarke")).text()
    card = teams.last(personal("pshah"))
    assert "Second check: post P-1" in card.text() and "Zoe Amos (Year 4): no restriction recorded" in card.text()

    status, _ = await teams.press("pshah", card, "Confirm")
    assert status == 200
    post = teams.core.store.get("posts", "P-1")
    assert post["status"] == "ready" and post["second_check_by"] == "pshah"
    assert "Post P-1: ready to post" in teams.last(personal("eclarke")).text()
    for pid in ("treid", "pshah"):  # both copies now say who confirmed, with no button left
        done = teams.fake.to(personal(pid), "PUT")
        assert done and "Confirmed: ready to post, by Priya Shah" in done[-1].text() and "actions" not in done[-1].card
