"""Generated and hostile requests into the real server over HTTP: never a 500, never a change without a valid token.

The server runs in a background thread with its own event loop, so hypothesis can drive it
with ordinary blocking requests. Replies only ever go to the local fake connector.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage
from aiohttp.test_utils import TestServer
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.server import build_app
from bot.clock import Clock
from bot.config import load_config
from bot.core import Core
from bot.store import Store
from tests.fakes.bf_connector import FakeConnector
from tests.harness import START
from tests.teams_client import TEAMS_IDS, TENANT, write_config

HOSTILE = ["<!channel>", "@here", "<https://evil.example|school.org>", "\u202egnp.exe", "\x00\x1b[2J", "x" * 10_000, "", "new account", "/report-abuse", "help", "cancel"]
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
TEXT = st.one_of(st.text(max_size=200), st.sampled_from(HOSTILE))


class ServerThread:
    """policybot's aiohttp app on 127.0.0.1, in its own thread and loop."""

    def __init__(self, folder: Path, app_id: str = "", app_password: str = "") -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.folder, self.app_id, self.app_password = folder, app_id, app_password
        self.fake = FakeConnector()
        self.fake.installed = set(TEAMS_IDS.values())
        self._call(self._start())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(30)

    async def _start(self) -> None:
        self.connector = TestServer(self.fake.app(), host="127.0.0.1", port=0)
        await self.connector.start_server()
        self.service_url = str(self.connector.make_url("/"))
        self.core = Core(load_config(write_config(self.folder, self.app_id, self.app_password)), Store(self.folder / "data"), Clock(START))
        self.runner = web.AppRunner(await build_app(self.core))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def post(self, path: str, body: bytes, content_type: str = "application/json") -> int:
        request = urllib.request.Request(self.url + path, data=body, headers={"Content-Type": content_type}, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=20) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code

    def flush(self) -> None:
        self._call(self.core.delivery.flush())

    def journal(self) -> int:
        """How many changes the store has made (its journal sequence)."""
        return self.core.store.seq

    def close(self) -> None:
        async def stop() -> None:
            await self.runner.cleanup()
            await self.connector.close()
            await self.core.close()

        self._call(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)


@pytest.fixture(scope="module")
def anonymous(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path_factory.mktemp("anon"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    server = ServerThread(tmp_path_factory.mktemp("guarded"), app_id="0f0f0f0f-1111-4222-8333-444444444444", app_password="made-up-test-secret")
    yield server
    server.close()


def activities(service_url: str) -> st.SearchStrategy[dict[str, Any]]:
    person = st.sampled_from([*TEAMS_IDS.values(), "unknown-person"]) | st.text(max_size=40)
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(["message", "invoke", "conversationUpdate", "installationUpdate", "messageReaction", "event"]) | JSON,
            "serviceUrl": st.sampled_from([service_url, service_url, service_url, "", "not a url", None]),
            "from": st.fixed_dictionaries({"id": st.text(min_size=1, max_size=20), "aadObjectId": person}),
            "conversation": st.fixed_dictionaries(
                {"conversationType": st.sampled_from(["personal", "channel", "groupChat"]) | JSON, "id": st.text(min_size=1, max_size=30), "tenantId": st.just(TENANT)}
            ),
        },
        optional={
            "id": st.text(max_size=20) | JSON,
            "text": TEXT | JSON,
            "value": JSON | st.fixed_dictionaries({"action": st.sampled_from(["answer", "conversation.start", "new_account.approve"]), "value": JSON}),
            "name": st.sampled_from(["adaptiveCard/action", "composeExtension/query"]) | st.text(max_size=20),
            "channelData": JSON,
            "attachments": st.lists(st.fixed_dictionaries({"contentType": st.text(max_size=20), "contentUrl": st.sampled_from(["https://evil.example/x.png", ""])}), max_size=2) | JSON,
            "membersAdded": st.lists(st.fixed_dictionaries({"id": st.text(max_size=20)}), max_size=2),
            "recipient": st.fixed_dictionaries({"id": st.text(max_size=20)}),
            "channelId": st.sampled_from(["msteams", "emulator", ""]),
        },
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_any_teams_activity_is_answered_without_a_server_error(anonymous: ServerThread, data: st.DataObject, caplog: pytest.LogCaptureFixture) -> None:
    activity = data.draw(activities(anonymous.service_url))
    caplog.set_level(logging.WARNING)
    status = anonymous.post("/api/messages", json.dumps(activity).encode())
    assert status < 500, activity
    anonymous.flush()
    # A server error is logged with its traceback. (aiohttp's own "bad HTTP message" is a 400: here, the fake
    # connector refusing a header made from a generated conversation id, as the real one would.)
    crashes = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR and not isinstance(r.exc_info[1], BadHttpMessage)]
    assert not crashes, activity
    assert anonymous.post("/api/messages", b"{}") < 500  # still serving


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=2000)
    | st.text(max_size=2000).map(str.encode)
    | st.dictionaries(st.sampled_from(["type", "from", "conversation", "serviceUrl", "text", "value", "id", "channelData"]), JSON).map(lambda d: json.dumps(d).encode())
)
def test_any_raw_body_is_refused_cleanly(anonymous: ServerThread, body: bytes) -> None:
    assert anonymous.post("/api/messages", body) < 500


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_without_a_valid_token_nothing_changes(guarded: ServerThread, data: st.DataObject) -> None:
    before = guarded.journal()
    activity = data.draw(activities(guarded.service_url))
    assert guarded.post("/api/messages", json.dumps(activity).encode()) == 401
    guarded.flush()
    assert guarded.journal() == before
    assert guarded.fake.calls == []


def test_bodies_over_one_megabyte_are_refused_before_parsing(anonymous: ServerThread) -> None:
    before = anonymous.journal()
    huge = json.dumps({"type": "message", "text": "x" * (1024 * 1024 + 10)}).encode()
    assert anonymous.post("/api/messages", huge) == 413
    assert anonymous.journal() == before


def test_hostile_text_is_shown_safely_on_an_adaptive_card() -> None:
    from adapters.teams.cards import render_card
    from bot.config import load_config as sample
    from bot.messages import Card
    from bot.people import Directory

    hostile = "See [school.org](https://evil.example/login) <at>everyone</at> \u202egnp.exe\x00\x1b[2J " + "x" * 10_000
    card = render_card(Card("Report from \u202eEmma", hostile, fields=(("Link", "[school.org]( https://evil.example)"),)), Directory(sample(None).people))
    text = json.dumps(card, ensure_ascii=False)
    assert "](https://evil" not in text and "]( https://evil" not in text  # no disguised link
    assert "\u202e" not in text and "\x00" not in text and "\x1b" not in text
    assert "school.org" in text and "https://evil.example/login" in text  # the address is still there to see
    assert "x" * 10_000 in text  # long text is kept whole, wrapped by Teams


CARD_TEXT = st.one_of(st.text(max_size=200), st.sampled_from(HOSTILE))


@settings(max_examples=200, deadline=None)
@given(
    title=CARD_TEXT,
    body=CARD_TEXT,
    fields=st.lists(st.tuples(CARD_TEXT, CARD_TEXT), max_size=60),
    labels=st.lists(CARD_TEXT, max_size=8),
    kind=st.sampled_from(["text", "choice", "yesno", "multi", "person", "people", "date"]),
)
def test_any_card_is_block_kit_slack_accepts_with_user_text_made_harmless(title: str, body: str, fields: list[tuple[str, str]], labels: list[str], kind: Any) -> None:
    from adapters.slack.blocks import render_card
    from bot.messages import Button, Card, Choice, Question
    from tests.fakes.slack_api import invalid_blocks

    choices = tuple(Choice(f"v{i}", label or "-") for i, label in enumerate(labels))
    question = Question("k", kind, body, choices, workflow="w")
    buttons = tuple(Button("wf.go", label or "-", {"id": str(i)}) for i, label in enumerate(labels[:3]))
    card = Card(title or "-", body, tuple(fields), buttons, question)
    for more in (None, {"message": "1"}):
        rendered = render_card(card, more)
        assert invalid_blocks(rendered.blocks, 50) == ""
        texts = [("mrkdwn", rendered.text), *_texts(rendered.blocks)]
        for kind_of_text, text in texts:
            if kind_of_text == "mrkdwn":  # Slack reads <...> in these as mentions and links
                assert "<" not in text and ">" not in text, text[:200]
            assert not re.search(r"@(here|channel|everyone)\b", text, re.IGNORECASE), text[:200]


def _texts(value: Any) -> list[tuple[str, str]]:
    """Every (type, text) text object in some blocks; the fallback text counts as mrkdwn."""
    if isinstance(value, str):
        return [("mrkdwn", value)]
    if isinstance(value, list):
        return [t for v in value for t in _texts(v)]
    if isinstance(value, dict):
        if value.get("type") in ("mrkdwn", "plain_text") and isinstance(value.get("text"), str):
            return [(value["type"], value["text"])]
        return [t for k, v in value.items() if k not in ("value", "action_id", "block_id", "type", "style") for t in _texts(v)]
    return []


class SlackServerThread(ServerThread):
    """The same, with Slack configured against a local fake Slack Web API."""

    async def _start(self) -> None:
        from tests.fakes.slack_api import FakeSlack
        from tests.slack_world import write_config as slack_config

        self.slack = FakeSlack()
        self.slack_server = TestServer(self.slack.app(), host="127.0.0.1", port=0)
        await self.slack_server.start_server()
        self.slack.base_url = str(self.slack_server.make_url("")).rstrip("/")
        self.connector = self.slack_server  # closed by close()
        self.core = Core(load_config(slack_config(self.folder, self.slack.base_url + "/api/")), Store(self.folder / "data"), Clock(START))
        self.app = await build_app(self.core)
        self.runner = web.AppRunner(self.app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def signed(self, body: bytes, content_type: str, secret: str | None = None) -> int:
        from tests.slack_world import SECRET

        headers = {"Content-Type": content_type, **sign_bytes(secret or SECRET, body)}
        request = urllib.request.Request(self.url + "/slack/events", data=body, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=20) as resp:
                status = resp.status
        except urllib.error.HTTPError as err:
            status = err.code
        from adapters.slack import SLACK

        self._call(self.app[SLACK].idle())
        return status


def sign_bytes(secret: str, body: bytes) -> dict[str, str]:
    """Slack's v0 signature over the raw bytes (so even non-UTF-8 bodies are signed correctly)."""
    import hashlib
    import hmac
    import time

    ts = str(int(time.time()))
    digest = hmac.new(secret.encode(), b"v0:" + ts.encode() + b":" + body, hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@pytest.fixture(scope="module")
def slack_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SlackServerThread]:
    server = SlackServerThread(tmp_path_factory.mktemp("slack"))
    yield server
    server.close()


def slack_payloads() -> st.SearchStrategy[tuple[bytes, str]]:
    from urllib.parse import urlencode

    users = st.sampled_from(["U0EC", "U0SW", "U0JB", "U0NOBODY"]) | st.text(max_size=12)
    command = st.fixed_dictionaries(
        {
            "command": st.sampled_from(["/new-account", "/policybot", "/report-abuse", "/photo-check", "/rota"]) | st.text(max_size=20),
            "user_id": users,
            "text": TEXT,
            "channel_id": st.sampled_from(["C0STAFF", "D0EC", ""]),
        },
        optional={"trigger_id": st.text(max_size=20)},
    ).map(lambda d: (urlencode(d).encode(), "application/x-www-form-urlencoded"))
    event = st.fixed_dictionaries(
        {
            "type": st.just("event_callback"),
            "event_id": st.text(max_size=12),
            "event": st.fixed_dictionaries(
                {"type": st.just("message"), "channel_type": st.sampled_from(["im", "channel"]) | JSON, "user": users, "text": TEXT | JSON, "channel": st.just("D0EC")},
                optional={"files": JSON, "subtype": st.text(max_size=10) | JSON},
            ),
        }
    ).map(lambda d: (json.dumps(d).encode(), "application/json"))
    click = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["block_actions", "view_submission", "shortcut"]),
            "user": st.fixed_dictionaries({"id": users}),
            "trigger_id": st.text(max_size=12),
            "actions": st.lists(
                st.fixed_dictionaries({"action_id": st.sampled_from(["pb.button.0", "pb.answer.select", "pb.answer.done", "pb.more", "x"]), "value": TEXT | JSON, "block_id": st.text(max_size=30)}),
                max_size=2,
            ),
            "view": JSON,
            "state": JSON,
            "container": JSON,
            "channel": JSON,
        }
    ).map(lambda d: (urlencode({"payload": json.dumps(d)}).encode(), "application/x-www-form-urlencoded"))
    raw = st.tuples(st.binary(max_size=500), st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]))
    return command | event | click | raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(payload=slack_payloads())
def test_any_signed_slack_request_is_answered_without_a_server_error(slack_server: SlackServerThread, payload: tuple[bytes, str], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING)
    body, content_type = payload
    assert slack_server.signed(body, content_type) < 500
    crashes = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR and not isinstance(r.exc_info[1], BadHttpMessage)]
    assert not crashes, body[:300]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=slack_payloads())
def test_a_slack_request_signed_with_the_wrong_secret_changes_nothing(slack_server: SlackServerThread, payload: tuple[bytes, str]) -> None:
    before = slack_server.journal()
    assert slack_server.signed(payload[0], payload[1], secret="not-the-signing-secret") == 401
    assert slack_server.journal() == before


# What an attacker tries first: digits that are not ASCII, numbers too big for anything,
# nesting deeper than any activity, nulls where a list should hold objects, and wrong types.
ODD_DIGITS = st.sampled_from(["²", "①", "٣", "１２", "߀", "𝟗", "9" * 400, "-0", "1e400", "NaN", "２０２６-11-25T10:00:00Z", "2026-11-25T10:00:00.１Z"])
HUGE = st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1, 1e308, -1e308, 5e-324, 0.1])


def nested(depth: int) -> Any:
    value: Any = None
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


DEEP = st.sampled_from([10, 40, 63, 70, 300]).map(nested)
WRONG = st.sampled_from(["text", "", 7, -1, 0.5, True, None, [], {}, [None], [None, {}], ["x"], {"id": None}, {"id": 5}])
ODD = st.one_of(WRONG, WRONG, ODD_DIGITS, HUGE, DEEP, st.lists(st.none() | JSON, max_size=3), JSON)


def odd_activities(service_url: str) -> st.SearchStrategy[dict[str, Any]]:
    """Activities shaped as Teams sends them, with odd values in the places policybot reads."""
    account = st.fixed_dictionaries({"id": st.sampled_from(["28:policybot", "29:x"]) | ODD}, optional={"name": ODD, "aadObjectId": st.sampled_from(list(TEAMS_IDS.values())) | ODD})
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(["message", "invoke", "conversationUpdate", "installationUpdate"]),
            "serviceUrl": st.just(service_url),
            "from": st.fixed_dictionaries({"id": st.sampled_from(["29:a", "29:b"])}, optional={"aadObjectId": st.sampled_from(list(TEAMS_IDS.values())) | ODD, "name": ODD}),
            "conversation": st.fixed_dictionaries(
                {"id": st.sampled_from(["a:personal", "19:team@thread.tacv2"])},
                optional={"conversationType": st.sampled_from(["personal", "channel"]) | ODD, "tenantId": st.just(TENANT) | ODD, "isGroup": ODD},
            ),
        },
        optional={
            "id": ODD,
            "timestamp": ODD_DIGITS | ODD,
            "text": st.sampled_from(["help", "<at>policybot</at> help", "/photo-check ²", "/new-account"]) | ODD,
            "value": ODD | st.fixed_dictionaries({"action": st.sampled_from(["answer", "conversation.start"]) | ODD}, optional={"value": ODD, "workflow": ODD}),
            "name": st.sampled_from(["adaptiveCard/action"]) | ODD,
            "recipient": account | ODD,
            "membersAdded": st.lists(account | st.none() | ODD, max_size=3) | ODD,
            "entities": st.lists(st.none() | ODD | st.fixed_dictionaries({"type": st.just("mention") | ODD, "mentioned": account | ODD, "text": ODD}), max_size=3) | ODD,
            "attachments": st.lists(st.none() | ODD | st.fixed_dictionaries({"contentType": st.just("text/html") | ODD, "name": ODD}), max_size=2) | ODD,
            "channelData": ODD
            | st.fixed_dictionaries(
                {}, optional={"tenant": ODD | st.fixed_dictionaries({"id": ODD}), "team": ODD | st.fixed_dictionaries({"id": ODD, "name": ODD}), "channel": ODD | st.fixed_dictionaries({"id": ODD})}
            ),
        },
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_odd_values_anywhere_in_a_teams_activity_never_give_a_server_error(anonymous: ServerThread, data: st.DataObject, caplog: pytest.LogCaptureFixture) -> None:
    activity = data.draw(odd_activities(anonymous.service_url))
    caplog.set_level(logging.WARNING)
    status = anonymous.post("/api/messages", json.dumps(activity).encode())
    assert status < 500, activity
    anonymous.flush()
    crashes = [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR and not isinstance(r.exc_info[1], BadHttpMessage)]
    assert not crashes, (activity, crashes[0].getMessage())


def test_numbers_and_nesting_beyond_what_json_can_hold_are_refused_with_400(anonymous: ServerThread) -> None:
    before = anonymous.journal()
    for body in (b'{"type": "message", "id": ' + b"9" * 5000 + b"}", b"[" * 100_000 + b"]" * 100_000, b'{"a": ' * 5000 + b"1" + b"}" * 5000, b'{"type": 1e999999}'):
        assert anonymous.post("/api/messages", body) == 400
    assert anonymous.journal() == before


@pytest.fixture(scope="module")
def checked(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerThread, Any]]:
    """Teams with an app id, its token checks pointed at a fake Bot Framework key service on 127.0.0.1."""
    from botframework.connector.auth import ChannelValidation

    from tests.fakes.identity import FakeIdentity

    identity = FakeIdentity()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ChannelValidation, "open_id_metadata_endpoint", identity.metadata_url)
        server = ServerThread(tmp_path_factory.mktemp("checked"), app_id="0f0f0f0f-1111-4222-8333-444444444444", app_password="made-up-test-secret")
        yield server, identity
        server.close()
    identity.close()


def b64(data: Any) -> str:
    import base64

    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


ISSUERS = st.sampled_from(["https://api.botframework.com"]) | st.text(max_size=20)  # (never an emulator issuer: its keys are on the internet)
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)  # what an HTTP header may hold
TOKEN_HEADERS = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS256", "HS256", "none", "ES256", ""]) | ODD}, optional={"kid": st.sampled_from(["fake-bot-framework-key", "nobody's"]) | ODD, "typ": ODD}
)
TOKEN_CLAIMS = st.fixed_dictionaries({"iss": ISSUERS}, optional={"aud": st.just("0f0f0f0f-1111-4222-8333-444444444444") | ODD, "exp": HUGE | ODD, "nbf": HUGE | ODD, "serviceurl": ODD})


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=TOKEN_HEADERS.map(b64) | st.text(PRINTABLE, max_size=20),
    claims=TOKEN_CLAIMS.map(b64) | st.text(PRINTABLE, max_size=20),
    signature=st.binary(max_size=64).map(b64) | st.just(""),
    scheme=st.sampled_from(["Bearer", "Bearer", "bearer", "Basic", ""]),
    raw=st.none() | st.text(PRINTABLE, min_size=1, max_size=60),
)
def test_any_authorization_header_without_a_real_token_is_401(checked: tuple[ServerThread, Any], header: str, claims: str, signature: str, scheme: str, raw: str | None) -> None:
    server, _identity = checked
    before = server.journal()
    value = raw if raw is not None else f"{scheme} {header}.{claims}.{signature}"
    activity = {"type": "message", "serviceUrl": server.service_url, "from": {"id": "29:x"}, "conversation": {"id": "a:x"}, "channelId": "msteams", "text": "help"}
    request = urllib.request.Request(server.url + "/api/messages", data=json.dumps(activity).encode(), headers={"Content-Type": "application/json", "Authorization": value}, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    assert status == 401, value
    assert server.journal() == before and server.fake.calls == []
