"""Teams under hostile input and slow Microsoft services, over real HTTP against local fakes:
no 500 for anything a request holds, forged tokens refused with 401, and no token fetch on the event loop."""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import logging
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fakes.identity import FakeIdentity, new_key
from tests.teams_client import BOT, TENANT, TeamsClient, personal, start_teams


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
        resp = await teams.client.post(
            "/api/messages", data=body, headers={"Content-Type": "application/json", "Authorization": "Bearer x"}
        )
        assert resp.status == 400, depth
    # Nested inside an activity that is otherwise fine: refused too, before anything is saved.
    act = teams.activity(
        "eclarke",
        "message",
        text="help",
        value={"a": __import__("functools").reduce(lambda inner, _: [inner], range(500), [])},
    )
    resp = await teams.client.post("/api/messages", json=act)
    assert resp.status == 400
    assert teams.core.store.count("inbox") == 0 and teams.fake.calls == []
    assert not crashes(caplog)


async def test_a_tenant_given_as_text_is_ignored_and_the_person_is_greeted(
    teams: TeamsClient, caplog: pytest.LogCaptureFixture
) -> None:
    act = teams.activity("eclarke", "conversationUpdate", membersAdded=[BOT])
    act["conversation"] = {
        "conversationType": "personal",
        "id": personal("eclarke"),
    }  # no tenantId here, so channelData's is read
    act["channelData"] = {"tenant": "not an object"}
    status, _ = await teams.post(act)
    assert status == 201
    assert "Hello Emma" in teams.last(personal("eclarke")).text()
    assert teams.core.store.get("references", "teams:person:eclarke") is not None
    assert not crashes(caplog)


async def test_nulls_among_the_members_added_are_ignored(teams: TeamsClient, caplog: pytest.LogCaptureFixture) -> None:
    status, _ = await teams.post(
        teams.activity("eclarke", "conversationUpdate", membersAdded=[None, {"name": "no id"}, BOT])
    )
    assert status == 201
    assert "Hello Emma" in teams.last(personal("eclarke")).text()
    assert not crashes(caplog)


async def test_odd_shapes_in_a_channel_message_are_ignored(
    teams: TeamsClient, caplog: pytest.LogCaptureFixture
) -> None:
    await teams.install("eclarke")
    conv = {"isGroup": True, "conversationType": "channel", "tenantId": TENANT, "id": "19:x@thread.tacv2"}
    odd = [
        {"team": "Senior Leadership", "channel": 5, "tenant": None},
        {"team": {"id": {"x": 1}, "name": ["SLT"]}, "channel": {"id": None}},
        {"team": {"id": "19:x@thread.tacv2", "name": 7}, "channel": "general"},
    ]
    for data in odd:
        act = teams.activity("eclarke", "message", conv, text="<at>policybot</at> help", channelData=data)
        act["entities"] = [
            None,
            {"type": None},
            {"type": "mention", "mentioned": "policybot"},
            {"type": "mention", "mentioned": BOT, "text": "<at>policybot</at>"},
        ]
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
        with urllib.request.urlopen(
            urllib.request.Request(identity.url + "/token", data=b"grant_type=client_credentials"), timeout=30
        ) as resp:
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
    assert (
        store.all("references") == []
        and store.all("conversations") == []
        and store.count("inbox") == 0
        and store.count("outbox") == 0
    )
    assert teams.fake.calls == []


async def test_a_token_signed_with_the_published_key_is_accepted(guarded: TeamsClient, identity: FakeIdentity) -> None:
    token = identity.sign({"aud": APP_ID, "serviceurl": guarded.service_url})
    status, _ = await guarded.post(guarded.activity("eclarke", "message", text="help"), bearer(token))
    assert status == 201
    assert "here is what I can do" in guarded.last(personal("eclarke")).text()  # and the reply carried the bot's token
    assert identity.requests["openid"] == identity.requests["keys"] == 1


async def test_every_forged_token_is_refused_with_401(
    guarded: TeamsClient, identity: FakeIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    claims = {"aud": APP_ID, "serviceurl": guarded.service_url}
    forged = {
        "alg none": identity.sign(claims, algorithm="none"),
        "HS256 with a guessed secret": identity.sign(
            claims, key="a-secret-guessed-by-someone-at-least-32-bytes", algorithm="HS256"
        ),
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


# ---- a slow Microsoft never holds up Slack, the scheduler or /healthz ----------------------------

STALL = 5.0  # seconds Microsoft's identity services take to answer, as in the report


class LoopThread:
    """An event loop in its own thread: policybot's (in asyncio debug mode), or the fakes'."""

    def __init__(self, debug: bool = False) -> None:
        self.loop = asyncio.new_event_loop()
        if debug:
            self.loop.set_debug(True)
            self.loop.slow_callback_duration = 0.1  # asyncio logs any callback or task step over 100 ms
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coro: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


def both_config(folder: Path, slack_api: str) -> Path:
    """Slack and Teams (with an app id) for one school."""
    from tests.slack_world import BOT_TOKEN, SECRET
    from tests.teams_client import TEAMS_IDS

    path = folder / "school.toml"
    path.write_text(
        f"""
[school]
name = "Pennington C of E Primary School"
policy_version = "2025-1"

[storage]
path = "{folder / "data"}"

[slack]
bot_token = "{BOT_TOKEN}"
signing_secret = "{SECRET}"
api_url = "{slack_api}"

[teams]
app_id = "{APP_ID}"
app_password = "made-up-test-secret"
tenant_id = "{TENANT}"

[[people]]
id = "swhitfield"
name = "Sarah Whitfield"
title = "Headteacher"
roles = ["slt"]
slack_id = "U0SW"

[[people]]
id = "pshah"
name = "Priya Shah"
title = "School Business Manager"
roles = ["admin"]
slack_id = "U0PS"

[[people]]
id = "eclarke"
name = "Emma Clarke"
title = "Year 6 Teacher"
slack_id = "U0EC"
teams_id = "{TEAMS_IDS["eclarke"]}"
""",
        encoding="utf-8",
    )
    return path


def timed(request: urllib.request.Request) -> tuple[int, float]:
    """The status of a blocking request and how long it took."""
    start = time.monotonic()
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            resp.read()
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    return status, time.monotonic() - start


def test_a_slow_microsoft_login_holds_up_neither_slack_nor_healthz(
    tmp_path: Path, identity: FakeIdentity, caplog: pytest.LogCaptureFixture
) -> None:
    from datetime import timedelta
    from urllib.parse import urlencode

    from aiohttp import web
    from aiohttp.test_utils import TestServer
    from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

    from adapters.platforms import load_config
    from adapters.server import build_app
    from adapters.teams.channel import person_key, save_reference
    from bot.clock import Clock
    from bot.core import Core
    from bot.engine import queue
    from bot.messages import Card, Outbound, person
    from bot.store import Store
    from tests.fakes.bf_connector import FakeConnector
    from tests.fakes.slack_api import FakeSlack, command_form, sign
    from tests.harness import START
    from tests.slack_world import SECRET

    fakes, served = LoopThread(), LoopThread(debug=True)
    connector = FakeConnector(token=identity.token)

    async def start_fakes() -> tuple[FakeSlack, TestServer, TestServer]:
        slack = FakeSlack()
        slack_server, connector_server = (
            TestServer(slack.app(), host="127.0.0.1", port=0),
            TestServer(connector.app(), host="127.0.0.1", port=0),
        )
        await slack_server.start_server()
        await connector_server.start_server()
        slack.base_url = str(slack_server.make_url("")).rstrip("/")
        return slack, slack_server, connector_server

    slack, slack_server, connector_server = fakes.run(start_fakes())
    service_url = str(connector_server.make_url("/"))

    async def start_policybot() -> tuple[Core, web.AppRunner, str]:
        core = Core(
            load_config(both_config(tmp_path, slack.base_url + "/api/")), Store(tmp_path / "data"), Clock(START)
        )
        runner = web.AppRunner(await build_app(core))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", 0).start()
        core.start_background()  # delivery and the scheduler, as `policybot serve` runs them
        reference = ConversationReference(
            service_url=service_url,
            channel_id="msteams",
            conversation=ConversationAccount(id=personal("eclarke"), conversation_type="personal"),
            bot=ChannelAccount(id="28:policybot"),
            user=ChannelAccount(id="29:eclarke"),
        )
        await save_reference(
            core.store, person_key("eclarke"), {"kind": "person", "person": "eclarke"}, reference, core.now()
        )
        return core, runner, f"http://127.0.0.1:{runner.addresses[0][1]}"

    core, runner, url = served.run(start_policybot())

    def slack_command() -> tuple[int, float]:
        body = urlencode(command_form("U0EC", "/policybot", "help"))
        headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)}
        return timed(urllib.request.Request(url + "/slack/events", data=body.encode(), headers=headers, method="POST"))

    def healthz() -> tuple[int, float]:
        return timed(urllib.request.Request(url + "/healthz"))

    try:
        assert slack_command()[0] == 200 and healthz()[0] == 200  # warmed up: every route has run once
        identity.delay = STALL  # from now on Microsoft Entra and the Bot Framework's metadata take 5 s to answer
        caplog.clear()
        caplog.set_level(logging.WARNING, logger="asyncio")

        async def owe_a_teams_card() -> None:
            async with core.store.transaction() as tx:
                queue(
                    tx, [Outbound(person("eclarke"), Card("A card owed", "Sent once Microsoft answers."))], core.now()
                )
            core.delivery.kick()

        served.run(owe_a_teams_card())

        async def later() -> None:
            core.clock.advance(timedelta(seconds=10))
            core.delivery.kick()

        # And someone sends a Teams request with a token the Bot Framework never signed: checking it needs the keys.
        forged = identity.sign({"aud": APP_ID, "serviceurl": service_url}, key=new_key())
        activity = {
            "type": "message",
            "id": "f:1",
            "serviceUrl": service_url,
            "channelId": "msteams",
            "from": {"id": "29:x"},
            "conversation": {"id": "a:x"},
            "text": "help",
        }
        teams_request = urllib.request.Request(
            url + "/api/messages",
            data=json.dumps(activity).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {forged}"},
        )
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            forged_answer = pool.submit(timed, teams_request)
            time.sleep(0.3)  # the token and the keys are being fetched now
            acks, health = [], []
            while time.monotonic() - identity.stalled_since < STALL - 0.5:
                acks.append(slack_command())
                health.append(healthz())
                time.sleep(0.2)
            assert forged_answer.result(30)[0] == 401
        assert acks and all(status == 200 for status, _ in acks + health)
        assert max(took for _, took in acks) < 3.0, acks  # the bounds the report asks for
        assert max(took for _, took in health) < 0.5, health
        print(
            f"during the stall: {len(acks)} Slack acks, slowest {max(t for _, t in acks):.3f} s; "
            f"/healthz slowest {max(t for _, t in health):.3f} s"
        )
        assert identity.requests["token"] >= 1 and identity.requests["openid"] >= 1  # both were stalled meanwhile

        deadline = time.monotonic() + 30
        sent_once = "Sent once Microsoft answers."
        owed = lambda: [c for c in connector.to(personal("eclarke")) if sent_once in c.text()]  # noqa: E731
        while not owed() and time.monotonic() < deadline:
            served.run(later())  # (the test's clock stands still otherwise: the outbox retries by it)
            time.sleep(0.1)
        assert len(owed()) == 1  # delivered with the bot's token, once it came
        stalls = [
            r.getMessage() for r in caplog.records if r.name == "asyncio" and r.getMessage().startswith("Executing")
        ]
        assert not stalls, stalls  # no callback held the event loop for over 100 ms
    finally:
        served.run(runner.cleanup())
        served.run(core.close())
        served.stop()
        fakes.run(slack_server.close())
        fakes.run(connector_server.close())
        fakes.stop()


# ---- no card bigger than Teams takes ------------------------------------------------------------

LONG = st.sampled_from(["Emma ", "名前 ", "😀", '<b>"x"</b> ', "\\", "a" * 50 + "\n"]).flatmap(
    lambda unit: st.integers(0, 45_000 // len(unit)).map(lambda n: unit * n)
)


@settings(max_examples=40, deadline=None)
@given(
    title=LONG,
    body=LONG,
    fields=st.lists(st.tuples(st.sampled_from(["Pupil", "Class", "What happened"]), LONG), max_size=80),
)
def test_no_card_sent_to_teams_is_over_the_size_teams_takes(
    title: str, body: str, fields: list[tuple[str, str]]
) -> None:
    from adapters.teams.cards import render_card
    from adapters.teams.fitting import ACTIVITY_MAX, card_activity, size
    from bot.config import load_config
    from bot.messages import Card
    from bot.people import Directory
    from tests.adaptive_schema import check_card

    reference = {
        "serviceUrl": "https://smba.example/",
        "channelId": "msteams",
        "conversation": {"id": "a:1"},
        "bot": BOT,
        "user": {"id": "29:x"},
    }
    card = Card(title or "-", body, tuple(fields))
    directory = Directory(load_config(None).people)
    activity = card_activity(card, directory, reference)
    assert size(activity) <= ACTIVITY_MAX
    content = activity["attachments"][0]["content"]
    assert not check_card(content)
    whole = render_card(card, directory)
    if (
        len(json.dumps([whole, card.title], ensure_ascii=False).encode()) < ACTIVITY_MAX - 2_000
    ):  # the card, and its title as the notification
        assert content == whole  # a card that fits is sent as it is
    elif content != whole:  # near the limit a card may still fit whole; one that was cut says so
        shown = json.dumps(content, ensure_ascii=False)
        assert (
            "(shortened — this was too long to show in Teams)" in shown
            or "more not shown: this was too long to show in Teams" in shown
        )


async def test_a_card_too_big_for_teams_arrives_shortened_and_says_so(teams: TeamsClient) -> None:
    ACTIVITY_MAX = 24 * 1024  # bytes: Teams refuses messages over about 28 KB
    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    await teams.install("eclarke")
    async with teams.core.store.transaction() as tx:
        queue(
            tx,
            [
                Outbound(
                    person("eclarke"),
                    Card("Photo check", "Starts here. " + "Emma Clarke " * 3_400, fields=(("Pupil", "名前 " * 5_000),)),
                )
            ],
            teams.core.now(),
        )
    await teams.core.delivery.flush()
    sent = teams.last(personal("eclarke"))  # a valid Adaptive Card
    assert len(json.dumps(sent.body, ensure_ascii=False).encode()) <= ACTIVITY_MAX
    assert (
        "Starts here. Emma Clarke" in sent.text() and "(shortened — this was too long to show in Teams)" in sent.text()
    )
    assert teams.core.delivery.waiting() == 0


async def test_a_failed_token_fetch_is_backed_off_and_the_card_waits(
    guarded: TeamsClient, identity: FakeIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import timedelta

    from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

    from adapters.teams import auth
    from adapters.teams.channel import person_key, save_reference
    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    core = guarded.core
    reference = ConversationReference(
        service_url=guarded.service_url,
        channel_id="msteams",
        conversation=ConversationAccount(id=personal("eclarke"), conversation_type="personal"),
        bot=ChannelAccount(id="28:policybot"),
        user=ChannelAccount(id="29:eclarke"),
    )
    await save_reference(
        core.store, person_key("eclarke"), {"kind": "person", "person": "eclarke"}, reference, core.now()
    )
    identity.token_status = 401  # Microsoft Entra does not accept the app's password
    async with core.store.transaction() as tx:
        queue(tx, [Outbound(person("eclarke"), Card("A card owed", "Sent once there is a token."))], core.now())
    for _ in range(4):
        await core.delivery.flush()
        core.clock.advance(timedelta(minutes=1))
    assert identity.requests["token"] == 1  # not asked again at every try
    assert guarded.fake.calls == [] and core.delivery.waiting() == 1  # kept, not lost
    later = time.monotonic() + auth.BACKOFF_FIRST + 1
    monkeypatch.setattr(auth, "_now", lambda: later)  # the back-off is over
    identity.token_status = 200
    await core.delivery.flush()
    core.clock.advance(timedelta(minutes=15))
    await core.delivery.flush()
    assert (
        "Sent once there is a token." in guarded.fake.last(personal("eclarke")).text() and core.delivery.waiting() == 0
    )


async def test_a_very_long_command_from_teams_is_refused_kindly(teams: TeamsClient) -> None:
    await teams.install("eclarke")
    await teams.say("eclarke", "/photo-check " + "Emma Clarke " * 3_400)
    told = teams.last(personal("eclarke"))
    assert "That is 40799 characters; please keep it under 2000" in told.text()
    assert len(json.dumps(told.body).encode()) < 4_000
    assert teams.core.store.audit(action="photo_check") == []


def test_no_bidirectional_control_reaches_a_teams_card() -> None:
    from adapters.platforms import load_config
    from adapters.teams.cards import render_card
    from bot.messages import Card
    from bot.people import Directory

    controls = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
    card = render_card(
        Card(f"Report from {controls}Emma", f"gnp{controls}.exe", fields=(("Pupil", f"Jane{controls} Smith"),)),
        Directory(load_config(None).people),
    )
    text = json.dumps(card, ensure_ascii=False)
    assert not set(text) & set(controls)
    assert "Report from Emma" in text and "gnp.exe" in text and "Jane Smith" in text


async def test_a_send_is_put_off_while_the_token_is_slow_not_waited_for(
    guarded: TeamsClient, identity: FakeIdentity
) -> None:
    from datetime import timedelta

    from botbuilder.schema import ChannelAccount, ConversationAccount, ConversationReference

    from adapters.teams.channel import person_key, save_reference
    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    core = guarded.core
    reference = ConversationReference(
        service_url=guarded.service_url,
        channel_id="msteams",
        conversation=ConversationAccount(id=personal("eclarke"), conversation_type="personal"),
        bot=ChannelAccount(id="28:policybot"),
        user=ChannelAccount(id="29:eclarke"),
    )
    await save_reference(
        core.store, person_key("eclarke"), {"kind": "person", "person": "eclarke"}, reference, core.now()
    )
    identity.delay = 2.0  # Microsoft Entra is slow
    async with core.store.transaction() as tx:
        for n in (1, 2):
            queue(tx, [Outbound(person("eclarke"), Card(f"Card {n}", "For Emma."))], core.now())
    await core.delivery.flush()
    # The outbox went on without them (whatever came after them would have gone): both put off, one fetch under way.
    assert guarded.fake.calls == [] and core.delivery.waiting() == 2 and identity.requests["token"] == 1
    await asyncio.sleep(2.5)  # the token has come
    core.clock.advance(timedelta(minutes=1))
    await core.delivery.flush()
    assert [c.text().split("\n")[0] for c in guarded.fake.to(personal("eclarke"))] == ["Card 1", "Card 2"]
    assert identity.requests["token"] == 1 and core.delivery.waiting() == 0
