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
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from adapters.platforms import load_config
from adapters.server import build_app
from bot.clock import Clock
from bot.core import Core
from bot.store import Store
from tests.fakes.bf_connector import FakeConnector
from tests.harness import START
from tests.teams_client import TEAMS_IDS, TENANT, write_config

HOSTILE = [
    "<!channel>",
    "@here",
    "<https://evil.example|school.org>",
    "\u202egnp.exe",
    "\x00\x1b[2J",
    "x" * 10_000,
    "",
    "new account",
    "/report-abuse",
    "help",
    "cancel",
]
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
        self.core = Core(
            load_config(write_config(self.folder, self.app_id, self.app_password)),
            Store(self.folder / "data"),
            Clock(START),
        )
        self.runner = web.AppRunner(await build_app(self.core))
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.url = f"http://127.0.0.1:{self.runner.addresses[0][1]}"

    def post(self, path: str, body: bytes, content_type: str = "application/json") -> int:
        request = urllib.request.Request(
            self.url + path, data=body, headers={"Content-Type": content_type}, method="POST"
        )
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
    server = ServerThread(
        tmp_path_factory.mktemp("guarded"),
        app_id="0f0f0f0f-1111-4222-8333-444444444444",
        app_password="made-up-test-secret",
    )
    yield server
    server.close()


def activities(service_url: str) -> st.SearchStrategy[dict[str, Any]]:
    person = st.sampled_from([*TEAMS_IDS.values(), "unknown-person"]) | st.text(max_size=40)
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["message", "invoke", "conversationUpdate", "installationUpdate", "messageReaction", "event"]
            )
            | JSON,
            "serviceUrl": st.sampled_from([service_url, service_url, service_url, "", "not a url", None]),
            "from": st.fixed_dictionaries({"id": st.text(min_size=1, max_size=20), "aadObjectId": person}),
            "conversation": st.fixed_dictionaries(
                {
                    "conversationType": st.sampled_from(["personal", "channel", "groupChat"]) | JSON,
                    "id": st.text(min_size=1, max_size=30),
                    "tenantId": st.just(TENANT),
                }
            ),
        },
        optional={
            "id": st.text(max_size=20) | JSON,
            "text": TEXT | JSON,
            "value": JSON
            | st.fixed_dictionaries(
                {"action": st.sampled_from(["answer", "conversation.start", "new_account.approve"]), "value": JSON}
            ),
            "name": st.sampled_from(["adaptiveCard/action", "composeExtension/query"]) | st.text(max_size=20),
            "channelData": JSON,
            "attachments": st.lists(
                st.fixed_dictionaries(
                    {
                        "contentType": st.text(max_size=20),
                        "contentUrl": st.sampled_from(["https://evil.example/x.png", ""]),
                    }
                ),
                max_size=2,
            )
            | JSON,
            "membersAdded": st.lists(st.fixed_dictionaries({"id": st.text(max_size=20)}), max_size=2),
            "recipient": st.fixed_dictionaries({"id": st.text(max_size=20)}),
            "channelId": st.sampled_from(["msteams", "emulator", ""]),
        },
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_any_teams_activity_is_answered_without_a_server_error(
    anonymous: ServerThread, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    activity = data.draw(activities(anonymous.service_url))
    caplog.set_level(logging.WARNING)
    status = anonymous.post("/api/messages", json.dumps(activity).encode())
    assert status < 500, activity
    anonymous.flush()
    # A server error is logged with its traceback. (aiohttp's own "bad HTTP message" is a 400: here, the fake
    # connector refusing a header made from a generated conversation id, as the real one would.)
    crashes = [
        r
        for r in caplog.records
        if r.exc_info and r.levelno >= logging.ERROR and not isinstance(r.exc_info[1], BadHttpMessage)
    ]
    assert not crashes, activity
    assert anonymous.post("/api/messages", b"{}") < 500  # still serving


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    body=st.binary(max_size=2000)
    | st.text(max_size=2000).map(str.encode)
    | st.dictionaries(
        st.sampled_from(["type", "from", "conversation", "serviceUrl", "text", "value", "id", "channelData"]), JSON
    ).map(lambda d: json.dumps(d).encode())
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
    card = render_card(
        Card("Report from \u202eEmma", hostile, fields=(("Link", "[school.org]( https://evil.example)"),)),
        Directory(sample(None).people),
    )
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
def test_any_card_is_block_kit_slack_accepts_with_user_text_made_harmless(
    title: str, body: str, fields: list[tuple[str, str]], labels: list[str], kind: Any
) -> None:
    from adapters.slack.blocks import render_card
    from bot.messages import Button, Card, Choice, Question
    from tests.fakes.slack_api import invalid_blocks

    choices = tuple(Choice(f"v{i}", label or "-") for i, label in enumerate(labels))
    question = Question("k", kind, body, choices, workflow="w")
    buttons = tuple(
        Button(action="wf.go", label=label or "-", data={"id": str(i)}) for i, label in enumerate(labels[:3])
    )
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
        return [
            t
            for k, v in value.items()
            if k not in ("value", "action_id", "block_id", "type", "style")
            for t in _texts(v)
        ]
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
        self.core = Core(
            load_config(slack_config(self.folder, self.slack.base_url + "/api/")),
            Store(self.folder / "data"),
            Clock(START),
        )
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

    def idle(self) -> None:
        """Wait until the requests acknowledged so far have been handled."""
        from adapters.slack import SLACK

        self._call(self.app[SLACK].idle())

    def raw(self, body: bytes, headers: dict[str, str]) -> int:
        """POST to /slack/events with exactly these headers (values sent as UTF-8, as a client may)."""
        encoded = {k: v.encode("utf-8", "surrogateescape") for k, v in headers.items()}
        request = urllib.request.Request(
            self.url + "/slack/events",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded", **encoded},
            method="POST",
        )  # type: ignore[dict-item]
        try:
            with urllib.request.urlopen(request, timeout=20) as resp:
                return resp.status
        except urllib.error.HTTPError as err:
            return err.code


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


# What a header may hold that str.isdigit() or int() mistakes for a time: other scripts' digits,
# superscripts, circled numbers, numbers too big for a float, signs, spaces, floats, bytes
# that are not UTF-8 (aiohttp hands those over as lone surrogates).
ODD_NUMBERS = [
    "\u00b2",
    "\u2460",
    "\u0663",
    "\U0001d7d7",
    "\u00bd",
    "\u2167",
    "9" * 400,
    "-" + "9" * 400,
    "1" * 5000,
    "-1",
    "+1700000000",
    " 1700000000",
    "1700000000 ",
    "1.7e9",
    "0x10",
    "1_700_000_000",
    "inf",
    "nan",
    "",
    "\udcff",
]
HEADER_TEXT = (
    st.sampled_from(ODD_NUMBERS)
    | st.integers(min_value=-(10**400), max_value=10**400).map(str)
    | st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=40)
)


@pytest.mark.parametrize("timestamp", ["\u00b2", "\u2460", "9" * 400])
def test_an_unsigned_request_with_an_odd_timestamp_is_refused_not_a_server_error(
    slack_server: SlackServerThread, timestamp: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    before = slack_server.journal()
    assert (
        slack_server.raw(
            b"command=%2Fnew-account&user_id=U0EC",
            {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": "v0=" + "0" * 64},
        )
        == 401
    )
    # Even correctly signed with the secret over that "time": the time is not a time.
    import hashlib
    import hmac

    from tests.slack_world import SECRET

    digest = hmac.new(
        SECRET.encode(), b"v0:" + timestamp.encode() + b":command=%2Fnew-account&user_id=U0EC", hashlib.sha256
    ).hexdigest()
    assert (
        slack_server.raw(
            b"command=%2Fnew-account&user_id=U0EC",
            {"X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": f"v0={digest}"},
        )
        == 401
    )
    assert slack_server.journal() == before
    assert not [r for r in caplog.records if r.exc_info], "a refused request left a traceback in the log"


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    timestamp=HEADER_TEXT,
    signature=st.sampled_from(["v0=" + "0" * 64, "", "v0=\u00e9", "v0=\udcff"]) | HEADER_TEXT,
    extra=st.dictionaries(
        st.sampled_from(["X-Slack-Retry-Num", "X-Slack-Retry-Reason", "Content-Type"]), HEADER_TEXT, max_size=2
    ),
)
def test_any_slack_headers_without_a_valid_signature_get_401(
    slack_server: SlackServerThread,
    timestamp: str,
    signature: str,
    extra: dict[str, str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.clear()
    caplog.set_level(logging.WARNING)
    before = slack_server.journal()
    headers = {**extra, "X-Slack-Request-Timestamp": timestamp, "X-Slack-Signature": signature}
    assert slack_server.raw(b"command=%2Fnew-account&user_id=U0EC&text=&trigger_id=1.1.x", headers) == 401
    assert slack_server.journal() == before
    assert not [r for r in caplog.records if r.exc_info]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(retry=HEADER_TEXT, reason=HEADER_TEXT)
def test_odd_retry_headers_on_a_signed_request_are_no_server_error(
    slack_server: SlackServerThread, retry: str, reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()
    caplog.set_level(logging.WARNING)
    body = json.dumps(
        {
            "type": "event_callback",
            "event_id": "EvOdd",
            "event": {"type": "message", "channel_type": "im", "user": "U0JB", "text": "help", "channel": "D0JB"},
        }
    ).encode()
    from tests.slack_world import SECRET

    assert (
        slack_server.raw(
            body,
            {
                "Content-Type": "application/json",
                "X-Slack-Retry-Num": retry,
                "X-Slack-Retry-Reason": reason,
                **sign_bytes(SECRET, body),
            },
        )
        < 500
    )
    slack_server.idle()
    assert not [r for r in caplog.records if r.exc_info and r.levelno >= logging.ERROR]


def deep(n: int) -> str:
    """JSON text nested `n` deep (a list in a list in a list...)."""
    return "[" * n + "]" * n


# A leaf of a Slack payload where something else is expected: a wrong type, null, a list of
# nulls, a number too big for a float (as JSON text, @@BIG@@), odd Unicode digits, a string
# of deeply nested JSON (which our own json.loads of a button value or block id would meet),
# or deeply nested JSON itself (@@DEEP:n@@, spliced into the body as raw JSON text).
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**400), max_value=10**400),
    st.floats(allow_nan=False),
    st.sampled_from(ODD_NUMBERS),
    st.lists(st.none(), min_size=1, max_size=3),
    st.lists(st.sampled_from([None, "U0EC", 7, [], {}]), max_size=3),
    st.just("@@BIG@@"),
    st.integers(min_value=2, max_value=3000).map(deep),
    st.integers(min_value=2, max_value=100_000).map(lambda n: f"@@DEEP:{n}@@"),
    JSON,
)


def dumps(data: Any) -> str:
    """JSON text of `data`, with the @@...@@ markers replaced by the raw JSON they stand for."""
    text = json.dumps(data)
    text = text.replace('"@@BIG@@"', "1" * 5000)
    return re.sub(r'"@@DEEP:(\d+)@@"', lambda m: deep(int(m.group(1))), text)


def _places(data: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """The path of every value inside a payload (dict keys and list positions)."""
    found = []
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        found.append((*path, key))
        found.extend(_places(value, (*path, key)))
    return found


@st.composite
def with_odd_parts(draw: st.DrawFn, shaped: st.SearchStrategy[tuple[str, Any]]) -> tuple[str, Any]:
    """A payload of Slack's shape with a few of its values (anywhere in it) swapped for odd ones.

    One or two wrong things at a time: most payloads still pass the shape check and reach
    the listeners, where the odd value is met.
    """
    import copy

    kind, data = draw(shaped)
    data = copy.deepcopy(data)  # st.just() hands out the same object every time: change a copy
    places = _places(data)
    for _ in range(draw(st.integers(min_value=0, max_value=2)) if places else 0):
        *parent_path, last = draw(st.sampled_from(places))
        parent = data
        try:
            for key in parent_path:
                parent = parent[key]
            parent[last] = draw(ODD)
        except (KeyError, IndexError, TypeError):
            pass  # an earlier swap replaced a parent of this place
    return kind, data


def slack_bodies() -> st.SearchStrategy[tuple[str, Any]]:
    """Slack's payload shapes with odd values in them: ("form", fields) for a slash command,
    ("json", body) for an event, ("payload", body) for a click or modal."""
    users = st.sampled_from(["U0EC", "U0SW", "U0JB", "U0NOBODY"]) | st.text(max_size=12)
    text = st.one_of(TEXT, st.sampled_from(ODD_NUMBERS), st.integers(min_value=2, max_value=3000).map(deep))
    command = st.fixed_dictionaries(
        {
            "command": st.sampled_from(["/new-account", "/policybot", "/report-abuse", "/photo-check", "/rota"])
            | st.text(max_size=20),
            "user_id": users,
            "text": text,
            "channel_id": st.sampled_from(["C0STAFF", "D0EC", "", *ODD_NUMBERS]),
        },
        optional={"trigger_id": st.text(max_size=20) | st.sampled_from(ODD_NUMBERS)},
    ).map(lambda d: ("form", d))
    message = st.fixed_dictionaries(
        {
            "type": st.just("message"),
            "channel_type": st.just("im"),
            "user": users,
            "text": text,
            "channel": st.just("D0EC"),
        },
        optional={
            "files": st.lists(st.fixed_dictionaries({"id": st.just("F0PIC")}), max_size=2),
            "subtype": st.sampled_from(["file_share", "message_changed"]),
        },
    )
    home = st.fixed_dictionaries(
        {
            "type": st.just("app_home_opened"),
            "user": users,
            "tab": st.sampled_from(["home", "messages"]),
            "channel": st.just("D0EC"),
        }
    )
    event = st.fixed_dictionaries(
        {
            "type": st.just("event_callback"),
            "event_id": st.text(max_size=12),
            "event": message | home,
            "authorizations": st.just([{"team_id": "T0PENN", "user_id": "U0BOT", "is_bot": True}]),
        }
    ).map(lambda d: ("json", d))
    picked = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["multi_users_select", "multi_static_select"]),
            "selected_users": st.lists(users, max_size=3),
            "selected_options": st.lists(
                st.fixed_dictionaries({"value": st.sampled_from(["facebook", "staff", "x"])}), max_size=2
            ),
        }
    )
    block = st.sampled_from(
        ['{"w":"new_account","k":"platform"}', '{"w":"new_account","k":"runners"}', '{"w":null}', "[]", deep(900)]
    ) | st.text(max_size=30)
    state = st.fixed_dictionaries(
        {
            "values": st.dictionaries(
                block, st.dictionaries(st.sampled_from(["pb.answer.done", "pb.pick.0"]), picked, max_size=2), max_size=2
            )
        }
    )
    block = block | st.just(deep(1500))
    button_value = (
        st.sampled_from(
            [
                '{"a":"new_account.approve","d":{"application":"A-1"}}',
                '{"a":"incidents.show","d":{"incident":"INC-1"}}',
                '{"a":7}',
                '{"a":"x","d":[]}',
                "null",
                deep(1500),
            ]
        )
        | TEXT
    )
    more_value = (
        st.sampled_from(['{"message":"m000000001"}', '{"message":null}', '{"message":["m1"]}', "[]", deep(1500)]) | TEXT
    )
    action = st.one_of(
        st.fixed_dictionaries(
            {
                "action_id": st.just("pb.button.0"),
                "type": st.just("button"),
                "value": button_value,
                "block_id": st.text(max_size=10),
            }
        ),
        st.fixed_dictionaries(
            {
                "action_id": st.just("pb.more"),
                "type": st.just("button"),
                "value": more_value,
                "block_id": st.text(max_size=10),
            }
        ),
        st.fixed_dictionaries(
            {
                "action_id": st.just("pb.answer.select"),
                "type": st.just("static_select"),
                "block_id": block,
                "selected_option": st.fixed_dictionaries({"value": st.sampled_from(["facebook", "2", "x"])}),
            }
        ),
        st.fixed_dictionaries(
            {
                "action_id": st.just("pb.answer.user"),
                "type": st.just("users_select"),
                "block_id": block,
                "selected_user": users,
            }
        ),
        st.fixed_dictionaries(
            {
                "action_id": st.just("pb.answer.date"),
                "type": st.just("datepicker"),
                "block_id": block,
                "selected_date": st.sampled_from(["2026-11-30", "2026-02-31", "x"]),
            }
        ),
        st.fixed_dictionaries(
            {
                "action_id": st.just("pb.answer.done"),
                "type": st.just("button"),
                "block_id": block,
                "value": st.just("done"),
            }
        ),
        st.fixed_dictionaries(
            {"action_id": st.sampled_from(["pb.pick.0", "x"]), "type": st.just("multi_users_select"), "block_id": block}
        ),
    )
    view = st.fixed_dictionaries(
        {
            "id": st.just("V0MODAL"),
            "hash": st.just("1.abc"),
            "callback_id": st.just("pb.modal"),
            "private_metadata": st.sampled_from(
                ['{"workflow":"new_account","key":"reason"}', '{"workflow":"x","key":"y"}', "[]", "null", deep(1500)]
            )
            | st.integers(min_value=2, max_value=3000).map(deep),
            "state": st.fixed_dictionaries(
                {
                    "values": st.fixed_dictionaries(
                        {
                            "pb.modal.answer": st.fixed_dictionaries(
                                {"text": st.fixed_dictionaries({"type": st.just("plain_text_input"), "value": text})}
                            )
                        }
                    )
                }
            ),
        }
    )
    click = st.fixed_dictionaries(
        {
            "type": st.sampled_from(["block_actions", "block_actions", "view_submission", "view_closed", "shortcut"]),
            "user": st.fixed_dictionaries({"id": users}),
            "trigger_id": st.text(max_size=12),
            "actions": st.lists(action, min_size=1, max_size=2),
            "view": view,
            "state": state,
            "container": st.fixed_dictionaries({"type": st.just("message"), "channel_id": st.just("C0SLT")}),
            "channel": st.fixed_dictionaries({"id": st.sampled_from(["C0SLT", "D0EC"])}),
        }
    ).map(lambda d: ("payload", d))
    return with_odd_parts(command | event | click)


# One good payload of each kind policybot's listeners read, as Slack sends them.
_BUTTON = '{"a":"new_account.approve","d":{"application":"A-1"}}'
_QUESTION = '{"w":"new_account","k":"platform"}'
_CLICK = {
    "type": "block_actions",
    "user": {"id": "U0SW"},
    "trigger_id": "1.1.t",
    "container": {"type": "message", "channel_id": "C0SLT"},
    "channel": {"id": "C0SLT"},
    "state": {"values": {}},
}
GOOD_BODIES: list[tuple[str, Any]] = [
    ("form", {"command": "/policybot", "user_id": "U0EC", "text": "help", "channel_id": "D0EC", "trigger_id": "1.1.t"}),
    (
        "json",
        {
            "type": "event_callback",
            "event_id": "Ev1",
            "event": {"type": "message", "channel_type": "im", "user": "U0EC", "text": "help", "channel": "D0EC"},
        },
    ),
    (
        "json",
        {
            "type": "event_callback",
            "event_id": "Ev2",
            "event": {
                "type": "message",
                "channel_type": "im",
                "user": "U0EC",
                "text": "x",
                "channel": "D0EC",
                "subtype": "file_share",
                "files": [{"id": "F1"}],
            },
        },
    ),
    (
        "json",
        {
            "type": "event_callback",
            "event_id": "Ev3",
            "event": {"type": "app_home_opened", "user": "U0SW", "tab": "home", "channel": "D0SW"},
        },
    ),
    (
        "payload",
        {**_CLICK, "actions": [{"action_id": "pb.button.0", "type": "button", "value": _BUTTON, "block_id": "b"}]},
    ),
    (
        "payload",
        {
            **_CLICK,
            "actions": [
                {"action_id": "pb.more", "type": "button", "value": '{"message":"m000000001"}', "block_id": "b"}
            ],
        },
    ),
    (
        "payload",
        {
            **_CLICK,
            "actions": [
                {
                    "action_id": "pb.answer.select",
                    "type": "static_select",
                    "block_id": _QUESTION,
                    "selected_option": {"value": "facebook"},
                }
            ],
        },
    ),
    (
        "payload",
        {
            **_CLICK,
            "actions": [
                {
                    "action_id": "pb.answer.date",
                    "type": "datepicker",
                    "block_id": _QUESTION,
                    "selected_date": "2026-11-30",
                }
            ],
        },
    ),
    (
        "payload",
        {
            **_CLICK,
            "actions": [{"action_id": "pb.answer.done", "type": "button", "block_id": _QUESTION, "value": "done"}],
            "state": {
                "values": {_QUESTION: {"pb.pick.0": {"type": "multi_users_select", "selected_users": ["U0EC", "U0TR"]}}}
            },
        },
    ),
    (
        "payload",
        {
            "type": "view_submission",
            "user": {"id": "U0SW"},
            "trigger_id": "1.1.t",
            "view": {
                "id": "V0MODAL",
                "hash": "1.a",
                "callback_id": "pb.modal",
                "private_metadata": '{"workflow":"new_account","key":"reason"}',
                "state": {"values": {"pb.modal.answer": {"text": {"type": "plain_text_input", "value": "Because"}}}},
            },
        },
    ),
]


def encoded(body: tuple[str, Any]) -> tuple[bytes, str]:
    """A generated body as Slack would send it over HTTP."""
    from urllib.parse import urlencode

    kind, data = body
    if kind == "form":
        return urlencode(data, errors="surrogateescape").encode(), "application/x-www-form-urlencoded"
    if kind == "json":
        return dumps(data).encode(), "application/json"
    return urlencode({"payload": dumps(data)}).encode(), "application/x-www-form-urlencoded"


def slack_payloads() -> st.SearchStrategy[tuple[bytes, str]]:
    raw = st.tuples(
        st.binary(max_size=500),
        st.sampled_from(["application/json", "application/x-www-form-urlencoded", "text/plain"]),
    )
    whole = st.integers(min_value=2, max_value=100_000).map(lambda n: (deep(n).encode(), "application/json"))
    nested_form = st.integers(min_value=2, max_value=100_000).map(
        lambda n: (("payload=" + deep(n)).encode(), "application/x-www-form-urlencoded")
    )
    return st.one_of([slack_bodies().map(encoded)] * 6 + [raw, whole, nested_form])


@settings(max_examples=300, deadline=None)
@given(body=slack_bodies())
def test_the_slack_parsers_read_any_payload_or_call_it_unreadable(body: tuple[str, Any]) -> None:
    """What the listeners read from a payload that passed `well_formed`: an event, nothing, or Unreadable;
    never another error."""
    from adapters.slack.inbound import Unreadable, parse_action, parse_command, parse_message, parse_modal, where
    from adapters.slack.request import well_formed
    from bot.config import load_config as sample
    from bot.people import Directory

    directory = Directory(sample(None).people)
    kind, data = body
    data = json.loads(dumps(data).replace("1" * 5000, "1e999")) if "@@DEEP" not in json.dumps(data) else data
    if not well_formed(data):
        return
    where(data)
    if kind == "form":
        parse_command(data)
    elif data["type"] == "event_callback" and data["event"]["type"] == "message":
        parse_message(data, directory)
    elif data["type"] == "block_actions":
        for action in data["actions"]:
            try:
                parse_action(data, action)
            except Unreadable:
                pass
    elif data["type"] == "view_submission" and isinstance(data.get("view"), dict):
        try:
            parse_modal(data, data["view"])
        except Unreadable:
            pass


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(body=st.sampled_from(GOOD_BODIES).flatmap(lambda good: with_odd_parts(st.just(good))))
@example(
    body=(
        "payload",
        {**_CLICK, "actions": [{"action_id": "pb.button.0", "type": "button", "value": deep(1500), "block_id": "b"}]},
    )
)
@example(
    body=(
        "payload",
        {**_CLICK, "actions": [{"action_id": "pb.more", "type": "button", "value": deep(1500), "block_id": "b"}]},
    )
)
@example(
    body=(
        "payload",
        {
            **_CLICK,
            "actions": [
                {
                    "action_id": "pb.answer.select",
                    "type": "static_select",
                    "block_id": deep(1500),
                    "selected_option": {"value": "facebook"},
                }
            ],
        },
    )
)
@example(
    body=("payload", {**GOOD_BODIES[-1][1], "view": {**GOOD_BODIES[-1][1]["view"], "private_metadata": deep(1500)}})
)
def test_an_odd_value_anywhere_in_a_good_slack_payload_is_no_server_error(
    slack_server: SlackServerThread, body: tuple[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    """Each payload the listeners read, with one or two of its values (at any depth) made odd."""
    caplog.clear()  # one caplog serves every example
    caplog.set_level(logging.WARNING)
    status = slack_server.signed(*encoded(body))
    event(f"HTTP {status}")
    assert status < 500
    crashes = [
        r
        for r in caplog.records
        if r.exc_info and r.levelno >= logging.ERROR and not isinstance(r.exc_info[1], BadHttpMessage)
    ]
    assert not crashes, str(body)[:300]


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(payload=slack_payloads())
def test_any_signed_slack_request_is_answered_without_a_server_error(
    slack_server: SlackServerThread, payload: tuple[bytes, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.clear()  # one caplog serves every example
    caplog.set_level(logging.WARNING)
    body, content_type = payload
    status = slack_server.signed(body, content_type)
    event(f"HTTP {status}")  # see how many reach the listeners: pytest --hypothesis-show-statistics
    assert status < 500
    crashes = [
        r
        for r in caplog.records
        if r.exc_info and r.levelno >= logging.ERROR and not isinstance(r.exc_info[1], BadHttpMessage)
    ]
    assert not crashes, body[:300]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=slack_payloads())
def test_a_slack_request_signed_with_the_wrong_secret_changes_nothing(
    slack_server: SlackServerThread, payload: tuple[bytes, str]
) -> None:
    before = slack_server.journal()
    assert slack_server.signed(payload[0], payload[1], secret="not-the-signing-secret") == 401
    assert slack_server.journal() == before


# What an attacker tries first: digits that are not ASCII, numbers too big for anything,
# nesting deeper than any activity, nulls where a list should hold objects, and wrong types.
ODD_DIGITS = st.sampled_from(
    [
        "²",
        "①",
        "٣",
        "１２",
        "߀",
        "𝟗",
        "9" * 400,
        "-0",
        "1e400",
        "NaN",
        "２０２６-11-25T10:00:00Z",
        "2026-11-25T10:00:00.１Z",
    ]
)
HUGE = st.sampled_from([10**400, -(10**400), 2**63, -(2**63) - 1, 1e308, -1e308, 5e-324, 0.1])


def nested(depth: int) -> Any:
    value: Any = None
    for i in range(depth):
        value = [value] if i % 2 else {"a": value}
    return value


DEEP = st.sampled_from([10, 40, 63, 70, 300]).map(nested)
WRONG = st.sampled_from(
    ["text", "", 7, -1, 0.5, True, None, [], {}, [None], [None, {}], ["x"], {"id": None}, {"id": 5}]
)
ODD_FIELD = st.one_of(WRONG, WRONG, ODD_DIGITS, HUGE, DEEP, st.lists(st.none() | JSON, max_size=3), JSON)


def odd_activities(service_url: str) -> st.SearchStrategy[dict[str, Any]]:
    """Activities shaped as Teams sends them, with odd values in the places policybot reads."""
    account = st.fixed_dictionaries(
        {"id": st.sampled_from(["28:policybot", "29:x"]) | ODD_FIELD},
        optional={"name": ODD_FIELD, "aadObjectId": st.sampled_from(list(TEAMS_IDS.values())) | ODD_FIELD},
    )
    return st.fixed_dictionaries(
        {
            "type": st.sampled_from(["message", "invoke", "conversationUpdate", "installationUpdate"]),
            "serviceUrl": st.just(service_url),
            "from": st.fixed_dictionaries(
                {"id": st.sampled_from(["29:a", "29:b"])},
                optional={"aadObjectId": st.sampled_from(list(TEAMS_IDS.values())) | ODD_FIELD, "name": ODD_FIELD},
            ),
            "conversation": st.fixed_dictionaries(
                {"id": st.sampled_from(["a:personal", "19:team@thread.tacv2"])},
                optional={
                    "conversationType": st.sampled_from(["personal", "channel"]) | ODD_FIELD,
                    "tenantId": st.just(TENANT) | ODD_FIELD,
                    "isGroup": ODD_FIELD,
                },
            ),
        },
        optional={
            "id": ODD_FIELD,
            "timestamp": ODD_DIGITS | ODD_FIELD,
            "text": st.sampled_from(["help", "<at>policybot</at> help", "/photo-check ²", "/new-account"]) | ODD_FIELD,
            "value": ODD_FIELD
            | st.fixed_dictionaries(
                {"action": st.sampled_from(["answer", "conversation.start"]) | ODD_FIELD},
                optional={"value": ODD_FIELD, "workflow": ODD_FIELD},
            ),
            "name": st.sampled_from(["adaptiveCard/action"]) | ODD_FIELD,
            "recipient": account | ODD_FIELD,
            "membersAdded": st.lists(account | st.none() | ODD_FIELD, max_size=3) | ODD_FIELD,
            "entities": st.lists(
                st.none()
                | ODD_FIELD
                | st.fixed_dictionaries(
                    {"type": st.just("mention") | ODD_FIELD, "mentioned": account | ODD_FIELD, "text": ODD_FIELD}
                ),
                max_size=3,
            )
            | ODD_FIELD,
            "attachments": st.lists(
                st.none()
                | ODD_FIELD
                | st.fixed_dictionaries({"contentType": st.just("text/html") | ODD_FIELD, "name": ODD_FIELD}),
                max_size=2,
            )
            | ODD_FIELD,
            "channelData": ODD_FIELD
            | st.fixed_dictionaries(
                {},
                optional={
                    "tenant": ODD_FIELD | st.fixed_dictionaries({"id": ODD_FIELD}),
                    "team": ODD_FIELD | st.fixed_dictionaries({"id": ODD_FIELD, "name": ODD_FIELD}),
                    "channel": ODD_FIELD | st.fixed_dictionaries({"id": ODD_FIELD}),
                },
            ),
        },
    )


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_odd_values_anywhere_in_a_teams_activity_never_give_a_server_error(
    anonymous: ServerThread, data: st.DataObject, caplog: pytest.LogCaptureFixture
) -> None:
    activity = data.draw(odd_activities(anonymous.service_url))
    caplog.set_level(logging.WARNING)
    status = anonymous.post("/api/messages", json.dumps(activity).encode())
    assert status < 500, activity
    anonymous.flush()
    crashes = [
        r
        for r in caplog.records
        if r.exc_info and r.levelno >= logging.ERROR and not isinstance(r.exc_info[1], BadHttpMessage)
    ]
    assert not crashes, (activity, crashes[0].getMessage())


def test_numbers_and_nesting_beyond_what_json_can_hold_are_refused_with_400(anonymous: ServerThread) -> None:
    before = anonymous.journal()
    for body in (
        b'{"type": "message", "id": ' + b"9" * 5000 + b"}",
        b"[" * 100_000 + b"]" * 100_000,
        b'{"a": ' * 5000 + b"1" + b"}" * 5000,
        b'{"type": 1e999999}',
    ):
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
        server = ServerThread(
            tmp_path_factory.mktemp("checked"),
            app_id="0f0f0f0f-1111-4222-8333-444444444444",
            app_password="made-up-test-secret",
        )
        yield server, identity
        server.close()
    identity.close()


def b64(data: Any) -> str:
    import base64

    raw = data if isinstance(data, bytes) else json.dumps(data).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


ISSUERS = st.sampled_from(["https://api.botframework.com"]) | st.text(
    max_size=20
)  # (never an emulator issuer: its keys are on the internet)
PRINTABLE = st.characters(min_codepoint=0x20, max_codepoint=0x7E)  # what an HTTP header may hold
TOKEN_HEADERS = st.fixed_dictionaries(
    {"alg": st.sampled_from(["RS256", "HS256", "none", "ES256", ""]) | ODD_FIELD},
    optional={"kid": st.sampled_from(["fake-bot-framework-key", "nobody's"]) | ODD_FIELD, "typ": ODD_FIELD},
)
TOKEN_CLAIMS = st.fixed_dictionaries(
    {"iss": ISSUERS},
    optional={
        "aud": st.just("0f0f0f0f-1111-4222-8333-444444444444") | ODD_FIELD,
        "exp": HUGE | ODD_FIELD,
        "nbf": HUGE | ODD_FIELD,
        "serviceurl": ODD_FIELD,
    },
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    header=TOKEN_HEADERS.map(b64) | st.text(PRINTABLE, max_size=20),
    claims=TOKEN_CLAIMS.map(b64) | st.text(PRINTABLE, max_size=20),
    signature=st.binary(max_size=64).map(b64) | st.just(""),
    scheme=st.sampled_from(["Bearer", "Bearer", "bearer", "Basic", ""]),
    raw=st.none() | st.text(PRINTABLE, min_size=1, max_size=60),
)
def test_any_authorization_header_without_a_real_token_is_401(
    checked: tuple[ServerThread, Any], header: str, claims: str, signature: str, scheme: str, raw: str | None
) -> None:
    server, _identity = checked
    before = server.journal()
    value = raw if raw is not None else f"{scheme} {header}.{claims}.{signature}"
    activity = {
        "type": "message",
        "serviceUrl": server.service_url,
        "from": {"id": "29:x"},
        "conversation": {"id": "a:x"},
        "channelId": "msteams",
        "text": "help",
    }
    request = urllib.request.Request(
        server.url + "/api/messages",
        data=json.dumps(activity).encode(),
        headers={"Content-Type": "application/json", "Authorization": value},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=20) as resp:
            status = resp.status
    except urllib.error.HTTPError as err:
        status = err.code
    assert status == 401, value
    assert server.journal() == before and server.fake.calls == []
