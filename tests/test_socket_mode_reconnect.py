"""Socket Mode when Slack's connection is lost in the middle of a burst of slash commands and clicks.

What Slack expects (https://docs.slack.dev/apis/events-api/using-socket-mode): an app acknowledges each
envelope within 3 seconds; Slack sends an envelope it has no acknowledgement for again; it asks an app to
reconnect with a "disconnect" envelope and closes the old connection about 10 seconds later; and an app
reconnects by itself when a connection drops. policybot (slack_sdk's client) reconnects at once on a close or
a "disconnect", and tries again every `ping_interval` while Slack cannot be reached (10 s in `policybot
serve`); /healthz counts Socket Mode broken after a minute down. Here `ping_interval` is 0.2 s, so the bound
checked is reconnecting within a few tries once Slack answers again, waited for with a generous timeout (a
stuck test fails, a slow machine does not).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer

from adapters.platforms import load_config
from adapters.server import FRONT_ENDS, healthz
from adapters.slack import SlackFrontEnd
from adapters.slack.blocks import BUTTON, button_value
from bot.clock import Clock
from bot.core import Core
from bot.messages import Button
from bot.store import Store
from tests.fakes.slack_api import Envelope, FakeSlack, block_actions, command_form
from tests.harness import START
from tests.slack_world import DO, EC, JB, PS, SW, TR, dm, slack_app, write_config

USERS = (SW, DO, PS, EC, TR, JB)
BURST = 60  # envelopes: commands and clicks, in thirds (before the drop, while down, after a "disconnect")


def request(n: int) -> tuple[str, dict[str, Any], str]:
    """Envelope n of the burst: (type, payload, the request id policybot records it under)."""
    user = USERS[n % len(USERS)]
    if n % 2 == 0:
        form = command_form(user, "/policybot", "help", channel=dm(user))
        return "slash_commands", form, f"command:{form['trigger_id']}"
    value = button_value(Button(action="conversation.start", label="Start", data={"workflow": "new_account"}))
    text = {"type": "plain_text", "text": "New school social media account"}
    element = {"type": "button", "action_id": f"{BUTTON}.0", "value": value, "text": text}
    message = {"ts": "1700000000.000100", "blocks": [{"type": "actions", "block_id": "b", "elements": [element]}]}
    payload = block_actions(user, dm(user), message, message["blocks"][0], element)
    return "interactive", payload, f"action:{payload['trigger_id']}"


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    fake = FakeSlack(check_blocks=False)
    server = TestServer(fake.app(), host="127.0.0.1", port=0)
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


async def until(done: Callable[[], bool], limit: float = 30.0) -> None:
    """Wait for `done` (at most `limit` seconds: a bound for a stuck test, not a measure of speed)."""
    for _ in range(int(limit / 0.02)):
        if done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("it did not happen")


async def test_a_connection_lost_mid_burst_loses_nothing_acknowledged_and_applies_nothing_twice(
    tmp_path: Path, fake: FakeSlack
) -> None:
    settings = load_config(write_config(tmp_path, fake.base_url + "/api/", socket=True))
    core = Core(settings, Store(settings.storage_path), Clock(START))
    front = SlackFrontEnd(core)
    front.socket.look_every = 0.02  # how often the link is looked at (5 s in serve)
    front.socket.ping_interval = 0.2  # slack_sdk's wait between tries (10 s in serve)
    app = await slack_app(core, front)
    app[FRONT_ENDS] = ["slack"]
    app.router.add_get("/healthz", healthz)
    http = TestClient(TestServer(app))
    await http.start_server()
    link = core.link("slack_socket_mode")

    async def socket_part() -> dict[str, Any]:
        return (await (await http.get("/healthz")).json())["parts"]["slack_socket_mode"]

    def answered() -> float:
        """Envelopes policybot has answered, counting each time one is sent again (its metrics)."""
        return core.metrics.requests.labels("slack_socket_mode")._value.get()

    sent: list[Envelope] = []
    ids: list[str] = []

    async def send(n: int, app: str | None = None) -> None:
        kind, payload, request_id = request(n)
        ids.append(request_id)
        sent.append(await fake.send_envelope(kind, payload, app=app))

    try:
        await until(lambda: link.connected)
        app_name = fake.app_of(fake.open_socket())
        third = BURST // 3

        # A third of the burst, handled and acknowledged by policybot, the acknowledgements lost on the way;
        # then the connection drops, and Slack sends them all again once policybot is connected anew.
        fake.lose_acks = True
        for n in range(third):
            await send(n)
        await until(lambda: answered() >= third)
        fake.lose_acks = False
        fake.fail("apps.connections.open", 500, times=100_000)  # and Slack cannot be reached for a while
        await fake.drop()
        await until(lambda: not link.connected)
        assert (await socket_part())["state"].startswith("not connected")

        # Another third while it is down: Slack keeps them for the next connection.
        for n in range(third, 2 * third):
            await send(n, app_name)
        assert (await socket_part())["state"].startswith("not connected")  # still down: /healthz says so
        fake.failures.clear()
        await until(lambda: link.connected)  # within a few of slack_sdk's tries
        assert (await socket_part())["state"].startswith("connected")

        # The last third, with Slack's "disconnect" (a refresh) in the middle of it.
        for n in range(2 * third, BURST):
            await send(n)
            if n == 2 * third + third // 2:
                await fake.disconnect()
        await asyncio.wait_for(asyncio.gather(*(e.acked for e in sent)), timeout=30)  # every one acknowledged
        await front.idle()
        await core.flush()
    finally:
        await http.close()
        await core.close()

    assert all(e.sent > 1 for e in sent[: BURST // 3])  # those whose acknowledgement was lost came again
    assert len(fake.ok("apps.connections.open")) >= 3  # the first connection, after the drop, after "disconnect"
    # Nothing applied twice: policybot was given the first third twice at least, yet there is one reply for each.
    assert answered() >= BURST + BURST // 3
    assert len(fake.ok("chat.postMessage")) == BURST
    # Nothing acknowledged lost: every request is recorded as handled, on disk (the store read back).
    store = Store(settings.storage_path)
    try:
        assert set(ids) <= set(store.keys("events"))
        assert store.count("inbox") == 0
    finally:
        await store.close()
