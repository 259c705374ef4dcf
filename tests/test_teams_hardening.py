"""Teams under hostile input and slow Microsoft services, over real HTTP against local fakes:
no 500 for anything a request holds, forged tokens refused with 401, and no token fetch on the event loop."""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest

from tests.fakes.identity import FakeIdentity, new_key
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


# ---- tokens: checked against the Bot Framework's published keys, fetched off the event loop -----

APP_ID = "0f0f0f0f-1111-4222-8333-444444444444"  # made up


def msal_through(identity: FakeIdentity) -> Callable[..., str]:
    """What MSAL does for the bot's token: a blocking HTTP request, here to the fake Microsoft Entra."""

    def get_access_token(_self: object, force_refresh: bool = False) -> str:
        with urllib.request.urlopen(urllib.request.Request(identity.url + "/token", data=b"grant_type=client_credentials"), timeout=30) as resp:
            return str(json.loads(resp.read())["access_token"])

    return get_access_token


@pytest.fixture
def identity(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeIdentity]:
    """The fake Microsoft identity services, with the SDK pointed at them (its own setting for the metadata URL)."""
    from botframework.connector.auth import ChannelValidation, MicrosoftAppCredentials

    fake = FakeIdentity()
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", fake.metadata_url)
    monkeypatch.setattr(MicrosoftAppCredentials, "get_access_token", msal_through(fake))
    yield fake
    fake.close()


@pytest.fixture
async def guarded(tmp_path: Path, identity: FakeIdentity) -> AsyncIterator[TeamsClient]:
    tc, fake_server, client, core = await start_teams(tmp_path, app_id=APP_ID, app_password="made-up-test-secret")
    tc.fake.token = identity.token  # the connector only takes the bot's own token
    yield tc
    await client.close()
    await fake_server.close()
    await core.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def nothing_changed(teams: TeamsClient) -> None:
    store = teams.core.store
    assert store.all("references") == [] and store.all("conversations") == [] and store.count("inbox") == 0 and store.count("outbox") == 0
    assert teams.fake.calls == []


async def test_a_token_signed_with_the_published_key_is_accepted(guarded: TeamsClient, identity: FakeIdentity) -> None:
    token = identity.sign({"aud": APP_ID, "serviceurl": guarded.service_url})
    status, _ = await guarded.post(guarded.activity("eclarke", "message", text="help"), bearer(token))
    assert status == 201
    assert "here is what I can do" in guarded.last(personal("eclarke")).text()  # and the reply carried the bot's token
    assert identity.requests["openid"] == identity.requests["keys"] == 1


async def test_every_forged_token_is_refused_with_401(guarded: TeamsClient, identity: FakeIdentity, caplog: pytest.LogCaptureFixture) -> None:
    claims = {"aud": APP_ID, "serviceurl": guarded.service_url}
    forged = {
        "alg none": identity.sign(claims, algorithm="none"),
        "HS256 with a guessed secret": identity.sign(claims, key="a-secret-guessed-by-someone-at-least-32-bytes", algorithm="HS256"),
        "RS256 with another key": identity.sign(claims, key=new_key()),
        "an unknown key id": identity.sign(claims, kid="a-key-nobody-published"),
        "no key id": identity.sign(claims, kid=None),
        "another bot's audience": identity.sign({**claims, "aud": "someone-else"}),
        "another service URL": identity.sign({**claims, "serviceurl": "https://evil.example/"}),
        "expired": identity.sign({**claims, "exp": int(time.time()) - 3600}),
    }
    for what, token in forged.items():
        status, _ = await guarded.post(guarded.activity("eclarke", "message", text="/new-account"), bearer(token))
        assert status == 401, what
    nothing_changed(guarded)
    assert not crashes(caplog)


async def test_signing_keys_that_cannot_be_fetched_refuse_with_401_and_are_not_fetched_again_at_once(
    guarded: TeamsClient, identity: FakeIdentity, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from botframework.connector.auth import ChannelValidation

    token = identity.sign({"aud": APP_ID, "serviceurl": guarded.service_url})
    identity.status = 503  # Microsoft's metadata is broken
    for _ in range(5):
        status, _ = await guarded.post(guarded.activity("eclarke", "message", text="help"), bearer(token))
        assert status == 401
    assert identity.requests["openid"] == 1  # the failure is remembered, not fetched per request
    # Nobody answering at all (no network): the same.
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}/openid"
    monkeypatch.setattr(ChannelValidation, "open_id_metadata_endpoint", closed)
    for _ in range(3):
        status, _ = await guarded.post(guarded.activity("eclarke", "message", text="help"), bearer(token))
        assert status == 401
    nothing_changed(guarded)
    assert not crashes(caplog)
