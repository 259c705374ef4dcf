"""GET /metrics: what a monitoring system reads (Prometheus' text format), and who may read it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer, make_mocked_request
from prometheus_client.parser import text_string_to_metric_families

from adapters.platforms import load_config
from adapters.server import build_app, metrics
from bot.clock import Clock
from bot.core import Core
from bot.store import Store
from tests.fakes.bf_connector import FakeConnector
from tests.fakes.slack_api import FakeSlack, SlackSender
from tests.harness import START
from tests.slack_world import BOT_TOKEN, EC, SECRET, write_config

EMMA_TEAMS = "a1000000-0000-4000-8000-000000000004"
TENANT = "9d1e2f3a-0000-4000-8000-00000000feed"  # made up


@dataclass
class School:
    """policybot on Slack (HTTP) and Teams at once, both platforms faked, served over real HTTP."""

    core: Core
    http: TestClient
    slack: FakeSlack
    sender: SlackSender
    connector: FakeConnector
    connector_url: str

    async def teams_says(self, text: str, *, user: str = EMMA_TEAMS) -> int:
        activity = {
            "type": "message",
            "id": f"m-{text}",
            "serviceUrl": self.connector_url,
            "channelId": "msteams",
            "from": {"id": "29:emma", "name": "Emma", "aadObjectId": user},
            "conversation": {"conversationType": "personal", "tenantId": TENANT, "id": f"a:personal-{user}"},
            "recipient": {"id": "28:policybot", "name": "policybot"},
            "channelData": {"tenant": {"id": TENANT}},
            "text": text,
        }
        resp = await self.http.post("/api/messages", json=activity)
        return resp.status

    async def settle(self) -> None:
        await self.core.idle()
        await self.core.flush()

    async def read(self, **headers: str) -> tuple[int, str]:
        resp = await self.http.get("/metrics", headers=headers)
        return resp.status, await resp.text()


def config(tmp_path: Path, api_url: str, metrics_for: str) -> Path:
    """slack_world's school on Slack, Emma on Teams too, with `[server] metrics = metrics_for`."""
    path = write_config(tmp_path, api_url)
    text = path.read_text(encoding="utf-8").replace(
        'slack_id = "U0EC"', f'slack_id = "U0EC"\nteams_id = "{EMMA_TEAMS}"'
    )
    path.write_text(f'[server]\nmetrics = "{metrics_for}"\n{text}\n[teams]\napp_id = ""\n', encoding="utf-8")
    return path


async def open_school(tmp_path: Path, metrics_for: str = "loopback") -> AsyncIterator[School]:
    slack = FakeSlack()
    slack_server = TestServer(slack.app(), host="127.0.0.1", port=0)
    await slack_server.start_server()
    slack.base_url = str(slack_server.make_url("")).rstrip("/")
    connector = FakeConnector()
    connector.installed = {EMMA_TEAMS}
    connector_server = TestServer(connector.app(), host="127.0.0.1", port=0)
    await connector_server.start_server()
    settings = load_config(config(tmp_path, slack.base_url + "/api/", metrics_for))
    core = Core(settings, Store(settings.storage_path), Clock(START))
    http = TestClient(TestServer(await build_app(core), host="127.0.0.1", port=0))
    await http.start_server()
    sender = SlackSender(str(http.make_url("/slack/events")), SECRET)
    try:
        yield School(core, http, slack, sender, connector, str(connector_server.make_url("/")))
    finally:
        await sender.close()
        await http.close()
        await core.close()
        await slack_server.close()
        await connector_server.close()


@pytest.fixture
async def school(tmp_path: Path) -> AsyncIterator[School]:
    async for s in open_school(tmp_path):
        yield s


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of the text format: (name, sorted labels) -> value, read with prometheus-client's own parser."""
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


async def test_metrics_count_what_slack_and_teams_sent_and_what_policybot_did(school: School) -> None:
    for _ in range(2):
        assert (await school.sender.command(EC, "/policybot", "help", channel="DEC")).status == 200
    refused = await school.sender.post("command=%2Fpolicybot", "application/x-www-form-urlencoded", headers={})
    assert refused.status == 401  # no signature
    assert await school.teams_says("help") == 201
    assert await school.teams_says("help", user="b2000000-0000-4000-8000-000000000009") == 201  # not on the staff list
    resp = await school.http.post("/api/messages", data=b"{", headers={"Content-Type": "application/json"})
    assert resp.status == 400
    await school.settle()
    school.slack.fail("chat.postMessage", 429, retry_after=1)  # Slack's rate limit, once
    assert (await school.sender.command(EC, "/policybot", "help", channel="DEC")).status == 200
    await school.settle()
    school.core.clock.advance(timedelta(seconds=2))  # past Retry-After: sent at the next try
    await school.core.tick()
    await school.settle()
    before = school.core.store.commits

    status, text = await school.read()
    assert status == 200
    found = samples(text)
    assert value(found, "policybot_requests_total", front_end="slack") == 4
    assert value(found, "policybot_requests_total", front_end="teams") == 3
    assert value(found, "policybot_refusals_total", front_end="slack", status="401") == 1
    assert value(found, "policybot_refusals_total", front_end="teams", status="400") == 1
    assert value(found, "policybot_ack_seconds_count", front_end="slack") == 4
    assert value(found, "policybot_ack_seconds_count", front_end="teams") == 3
    assert value(found, "policybot_ack_seconds_bucket", front_end="slack", le="+Inf") == 4
    assert value(found, "policybot_turns_total", front_end="slack", outcome="done") == 3
    assert value(found, "policybot_turns_total", front_end="teams", outcome="done") == 1
    assert value(found, "policybot_turns_total", front_end="teams", outcome="refused") == 1
    slack_sent = len(school.slack.ok("chat.postMessage")) + len(school.slack.ok("chat.update"))
    assert value(found, "policybot_deliveries_total", platform="slack", status="sent") == slack_sent >= 3
    # Emma is on both: every reply to her went to Teams too (and the morning tick's /disclaimer question).
    to_emma = [c for c in school.connector.calls if c.conversation == f"a:personal-{EMMA_TEAMS}"]
    assert value(found, "policybot_deliveries_total", platform="teams", status="sent") == len(to_emma) >= 3
    assert value(found, "policybot_delivery_retries_total", platform="slack", why="rate_limited") == 1
    assert value(found, "policybot_store_commits_total") == before > 0
    assert value(found, "policybot_store_fsync_seconds_count") > 0
    assert value(found, "policybot_outbox_messages") == 0
    assert value(found, "policybot_outbox_oldest_seconds") == 0
    assert value(found, "policybot_inbox_requests") == 0
    assert value(found, "policybot_scheduler_lag_seconds") == 0  # it just ran, by policybot's (stopped) clock

    school.core.clock.advance(timedelta(seconds=45))
    assert value(samples((await school.read())[1]), "policybot_scheduler_lag_seconds") == 45


async def test_reminders_checkpoints_and_people_unreachable_are_counted(school: School) -> None:
    await school.sender.command(EC, "/new-account", channel="DEC")
    await school.settle()
    school.core.clock.advance(timedelta(hours=25))  # a draft left unfinished: the scheduler nudges Emma
    await school.core.tick()
    await school.core.tick()  # the same reminder is not sent twice
    await school.settle()
    school.core.store.checkpoint()
    found = samples((await school.read())[1])
    # Each reminder key the scheduler recorded (the nudge, and the morning's /disclaimer questions) counted once.
    keys = school.core.store.all("reminders")
    assert value(found, "policybot_reminders_total") == len(keys) >= 1
    assert sum(1 for r in keys if "nudge" in str(r) or "draft" in str(r)) == 1
    assert value(found, "policybot_store_checkpoint_seconds_count") == 1
    # Teams cannot reach the five staff with no teams_id, nor Emma until she opens a chat with the bot there;
    # Slack reaches everyone. (So Emma's Teams copy of her first card was given up a day after it was written.)
    unreachable = {labels: v for (name, labels), v in found.items() if name == "policybot_people_unreachable"}
    assert unreachable == {(("platform", "teams"),): 6}
    assert value(found, "policybot_deliveries_total", platform="teams", status="given_up") == 1


async def test_no_secret_and_no_person_appears_in_the_metrics(school: School) -> None:
    await school.sender.command(EC, "/policybot", "help", channel="DEC")
    await school.teams_says("help")
    await school.settle()
    text = (await school.read())[1]
    for secret in (SECRET, BOT_TOKEN, *school.core.settings.secrets()):
        assert secret not in text
    for who in ("U0EC", EMMA_TEAMS, "eclarke", "Emma", "Clarke"):
        assert who not in text


def peer(app: web.Application, address: str, **headers: str) -> web.Request:
    """GET /metrics as it arrives from `address` (the socket's peer), with `headers`."""
    transport = mock.Mock()
    transport.get_extra_info.return_value = (address, 50_000)
    return make_mocked_request("GET", "/metrics", headers=headers, app=app, transport=transport)


async def test_loopback_answers_this_machine_only_and_never_through_a_proxy(school: School) -> None:
    status, text = await school.read()
    assert status == 200 and "policybot_requests_total" in text
    status, text = await school.read(**{"X-Forwarded-For": "203.0.113.7"})  # a proxy on this machine forwarding
    assert status == 403 and text == 'Metrics are for this machine only ([server] metrics = "loopback").'
    assert (await school.read(Forwarded="for=198.51.100.4"))[0] == 403
    app = school.http.server.app
    for address in ("::1", "127.0.0.1", "::ffff:127.0.0.1"):
        assert (await metrics(peer(app, address))).status == 200
    for address in ("192.168.1.20", "10.0.0.5", "2001:db8::1", "::ffff:10.0.0.5"):
        with pytest.raises(web.HTTPForbidden):
            await metrics(peer(app, address))


async def test_public_answers_anyone(tmp_path: Path) -> None:
    async for school in open_school(tmp_path, "public"):
        app = school.http.server.app
        assert (await metrics(peer(app, "192.168.1.20"))).status == 200
        assert (await school.read(**{"X-Forwarded-For": "203.0.113.7"}))[0] == 200


async def test_off_answers_404_and_counts_nothing(tmp_path: Path) -> None:
    async for school in open_school(tmp_path, "off"):
        assert (await school.sender.command(EC, "/policybot", "help", channel="DEC")).status == 200
        await school.settle()
        status, text = await school.read()
        assert status == 404 and "Metrics are off" in text
        assert school.core.metrics.front_end("slack") is None
        counted = samples(school.core.metrics.text().decode())
        moved = {name for (name, _labels), v in counted.items() if v and not name.endswith("_created")}
        assert counted and not moved  # nothing was counted either


def test_each_core_counts_in_its_own_registry() -> None:
    """Two cores in one process (tests, or a tool beside serve) never share a count."""
    settings = load_config(None)
    one, two = Core(settings, Store()), Core(settings, Store())
    front = one.metrics.front_end("chat")
    assert front is not None
    front.answered(0.002, 200)
    assert value(samples(one.metrics.text().decode()), "policybot_requests_total", front_end="chat") == 1
    assert value(samples(two.metrics.text().decode()), "policybot_requests_total", front_end="chat") == 0
