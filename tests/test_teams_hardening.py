"""Teams under hostile input and slow Microsoft services, over real HTTP against local fakes:
no 500 for anything a request holds, forged tokens refused with 401, and no token fetch on the event loop."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.teams_client import BOT, TENANT, TeamsClient, personal, start_teams


@pytest.fixture(autouse=True)
def no_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MicrosoftAppId", "MicrosoftAppPassword", "MicrosoftAppTenantId", "MicrosoftAppType", "POLICYBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
async def teams(tmp_path: Path) -> AsyncIterator[TeamsClient]:
    tc, fake_server, client, core = await start_teams(tmp_path)
    yield tc
    await client.close()
    await fake_server.close()
    await core.close()


def crashes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Everything logged with a traceback: each one is a crash somebody would have to look into."""
    return [r.getMessage() for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]


async def test_a_deeply_nested_body_is_refused_with_400(teams: TeamsClient, caplog: pytest.LogCaptureFixture) -> None:
    for depth in (100_000, 2_000, 200):
        body = ("[" * depth + "]" * depth).encode()
        resp = await teams.client.post("/api/messages", data=body, headers={"Content-Type": "application/json", "Authorization": "Bearer x"})
        assert resp.status == 400, depth
    # Nested inside an activity that is otherwise fine: refused too, before anything is saved.
    act = teams.activity("eclarke", "message", text="help", value={"a": __import__("functools").reduce(lambda inner, _: [inner], range(500), [])})
    resp = await teams.client.post("/api/messages", json=act)
    assert resp.status == 400
    assert teams.core.store.count("inbox") == 0 and teams.fake.calls == []
    assert not crashes(caplog)


async def test_a_tenant_given_as_text_is_ignored_and_the_person_is_greeted(teams: TeamsClient, caplog: pytest.LogCaptureFixture) -> None:
    act = teams.activity("eclarke", "conversationUpdate", membersAdded=[BOT])
    act["conversation"] = {"conversationType": "personal", "id": personal("eclarke")}  # no tenantId here, so channelData's is read
    act["channelData"] = {"tenant": "not an object"}
    status, _ = await teams.post(act)
    assert status == 201
    assert "Hello Emma" in teams.last(personal("eclarke")).text()
    assert teams.core.store.get("references", "teams:person:eclarke") is not None
    assert not crashes(caplog)


async def test_nulls_among_the_members_added_are_ignored(teams: TeamsClient, caplog: pytest.LogCaptureFixture) -> None:
    status, _ = await teams.post(teams.activity("eclarke", "conversationUpdate", membersAdded=[None, {"name": "no id"}, BOT]))
    assert status == 201
    assert "Hello Emma" in teams.last(personal("eclarke")).text()
    assert not crashes(caplog)


async def test_odd_shapes_in_a_channel_message_are_ignored(teams: TeamsClient, caplog: pytest.LogCaptureFixture) -> None:
    await teams.install("eclarke")
    conv = {"isGroup": True, "conversationType": "channel", "tenantId": TENANT, "id": "19:x@thread.tacv2"}
    odd = [
        {"team": "Senior Leadership", "channel": 5, "tenant": None},
        {"team": {"id": {"x": 1}, "name": ["SLT"]}, "channel": {"id": None}},
        {"team": {"id": "19:x@thread.tacv2", "name": 7}, "channel": "general"},
    ]
    for data in odd:
        act = teams.activity("eclarke", "message", conv, text="<at>policybot</at> help", channelData=data)
        act["entities"] = [None, {"type": None}, {"type": "mention", "mentioned": "policybot"}, {"type": "mention", "mentioned": BOT, "text": "<at>policybot</at>"}]
        act["attachments"] = [None, {"contentType": "text/html", "content": "<p>help</p>"}]
        status, _ = await teams.post(act)
        assert status == 201
        assert "here is what I can do" in teams.last(personal("eclarke")).text()  # read as "help"
    assert teams.core.store.get("references", "teams:team:19:x@thread.tacv2") is not None  # the one well-formed team
    assert not crashes(caplog)
