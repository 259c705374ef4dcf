"""/healthz tells the truth: 503 naming the broken part, for each thing a school relies on,
and 200 once it works again."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.platforms import load_config
from adapters.server import FRONT_ENDS, build_app, healthz
from adapters.slack import SlackFrontEnd
from bot.clock import Clock
from bot.core import Core
from bot.delivery import Message, person_targets
from bot.engine import queue
from bot.errors import NotSaved, StoreLocked, TemporaryFailure
from bot.health import HealthLimits, read_folder, waiting_in
from bot.messages import Card, Inbound, Outbound, role
from bot.people import Directory
from bot.registry import default_registry
from bot.store import Store
from bot.store.tuning import StoreTuning
from tests.disk import Disk
from tests.fakes.slack_api import FakeSlack
from tests.harness import START, put_disclaimer
from tests.slack_world import slack_app, write_config

# The limits a school gets, given to the core here as a test would give any other.
LIMITS = HealthLimits(tick=timedelta(minutes=5), outbox=timedelta(minutes=15), link=timedelta(minutes=1))


@dataclass
class FlakyChannel:
    """A front end that reaches everyone, and fails for now while `down` is set."""

    name: str = "flaky"
    down: bool = True
    sent: list[tuple[str, Message]] = field(default_factory=list)

    def targets(self, msg: Message, directory: Directory) -> list[str]:
        return person_targets(msg.to, directory)

    async def send(self, target: str, msg: Message) -> None:
        if self.down:
            raise TemporaryFailure("the platform answered 503")
        self.sent.append((target, msg))


@dataclass
class Running:
    core: Core
    clock: Clock
    http: TestClient
    disk: Disk

    async def health(self) -> tuple[int, dict[str, Any]]:
        resp = await self.http.get("/healthz")
        return resp.status, await resp.json()


@pytest.fixture
async def running(tmp_path: Path) -> AsyncIterator[Running]:
    disk = Disk()
    clock = Clock(START)
    store = Store(tmp_path / "data", tuning=StoreTuning(recover_every=0.0, fsync=disk.fsync))
    core = Core(load_config(None), store, clock, limits=LIMITS)
    http = TestClient(TestServer(await build_app(core)))
    await http.start_server()
    try:
        yield Running(core, clock, http, disk)
    finally:
        await http.close()
        disk.error = None
        await core.close()


async def test_all_well_is_200_and_names_each_part(running: Running) -> None:
    status, body = await running.health()
    assert status == 200
    assert body["status"] == "ok" and body["broken"] == []
    assert {name for name, part in body["parts"].items() if part["ok"]} == {"store", "scheduler", "delivery"}
    assert body["parts"]["store"]["state"] == "saving changes"
    assert body["outbox"] == 0 and body["unhandled"] == 0  # the counts policybot serve's callers read


async def test_a_store_refusing_writes_is_503_until_the_disk_works_again(running: Running) -> None:
    running.disk.error = OSError(5, "Input/output error")
    with pytest.raises(NotSaved):
        await running.core.accept(Inbound("test", "eclarke", "message", text="hello"))
    status, body = await running.health()
    assert status == 503
    assert body["status"] == "broken" and body["broken"] == ["store"]
    assert "refusing to save changes" in body["parts"]["store"]["state"]
    assert "Input/output error" in body["parts"]["store"]["state"]
    assert body["parts"]["scheduler"]["ok"] and body["parts"]["delivery"]["ok"]

    running.disk.error = None
    await running.core.store.recover()  # what the scheduler does on each tick
    status, body = await running.health()
    assert (status, body["broken"]) == (200, [])
    assert body["parts"]["store"]["state"] == "saving changes"


async def test_a_store_refusing_a_write_for_a_full_disk_is_503_too(running: Running, tmp_path: Path) -> None:
    """Not only a failed fsync: a write the disk refuses (full, read-only) makes the store refuse changes."""
    journal = tmp_path / "data" / "journal.jsonl"
    assert not journal.exists()  # nothing written yet: the first change opens it
    journal.mkdir()  # so that opening it to write fails, as a read-only or lost disk does
    with pytest.raises(NotSaved):
        await running.core.accept(Inbound("test", "eclarke", "message", text="hello"))
    status, body = await running.health()
    assert (status, body["broken"]) == (503, ["store"])
    assert "Is a directory" in body["parts"]["store"]["state"]
    journal.rmdir()
    await running.core.accept(Inbound("test", "eclarke", "message", text="hello again"))
    status, body = await running.health()
    assert (status, body["broken"]) == (200, [])


async def test_a_scheduler_that_has_not_run_for_over_5_minutes_is_503_until_it_runs(running: Running) -> None:
    running.clock.advance(timedelta(minutes=5))
    status, body = await running.health()
    assert status == 200  # not over the limit yet
    assert body["parts"]["scheduler"]["state"] == "has not run since policybot started 5 minutes ago"

    running.clock.advance(timedelta(seconds=1))
    status, body = await running.health()
    assert (status, body["broken"]) == (503, ["scheduler"])

    await running.core.tick()
    status, body = await running.health()
    assert (status, body["broken"]) == (200, [])
    assert body["parts"]["scheduler"]["state"] == "last ran 0 seconds ago"

    running.clock.advance(timedelta(minutes=7))
    status, body = await running.health()
    assert (status, body["broken"]) == (503, ["scheduler"])
    assert body["parts"]["scheduler"]["state"] == "last ran 7 minutes ago"


async def owe(core: Core, title: str) -> None:
    async with core.store.transaction() as tx:
        queue(tx, [Outbound(role("admins"), Card(title, "body"))], core.now())


async def everyone_answered(core: Core) -> None:
    """Everyone has answered /disclaimer already, so a tick sends nothing of its own."""
    async with core.store.transaction() as tx:
        for p in core.settings.people:
            put_disclaimer(tx, p.id)


async def test_a_message_undelivered_for_over_15_minutes_is_503_until_it_is_delivered(running: Running) -> None:
    core, clock = running.core, running.clock
    await everyone_answered(core)
    channel = FlakyChannel()
    core.add_channel(channel)
    await owe(core, "Something to do")
    await core.flush()  # the platform fails for now: retried later
    assert channel.sent == []

    clock.advance(timedelta(minutes=15))
    await core.tick()  # the scheduler is well: only delivery is late
    status, body = await running.health()
    assert status == 200
    assert body["outbox"] == 1

    clock.advance(timedelta(minutes=1))
    await core.tick()
    status, body = await running.health()
    assert (status, body["broken"]) == (503, ["delivery"])
    assert body["parts"]["delivery"]["state"] == "1 message(s) waiting, the oldest for 16 minutes"

    channel.down = False
    await core.flush()
    assert [t for t, _ in channel.sent]  # delivered to the administrators
    status, body = await running.health()
    assert (status, body["broken"], body["outbox"]) == (200, [], 0)
    assert body["parts"]["delivery"]["state"] == "nothing waiting"


async def test_a_message_for_nobody_reachable_yet_does_not_count_as_late(running: Running) -> None:
    """Someone who has not added the app yet is a person to chase (/unreachable), not policybot broken."""
    core, clock = running.core, running.clock
    await everyone_answered(core)
    await owe(core, "For someone not on any platform yet")
    await core.flush()  # no front end reaches them: kept for later
    clock.advance(timedelta(hours=2))
    await core.tick()
    status, body = await running.health()
    assert (status, body["broken"]) == (200, [])
    assert body["outbox"] == 1
    assert body["parts"]["delivery"]["state"] == "1 message(s) waiting"


async def test_a_link_down_for_over_a_minute_is_503_until_it_is_up_again(running: Running) -> None:
    core, clock = running.core, running.clock
    link = core.link("slack_socket_mode")
    status, body = await running.health()
    assert status == 200  # connecting, for less than a minute
    assert body["parts"]["slack_socket_mode"] == {"ok": True, "state": "not connected for 0 seconds"}

    clock.advance(timedelta(seconds=61))
    await core.tick()
    status, body = await running.health()
    assert (status, body["broken"]) == (503, ["slack_socket_mode"])

    link.up()
    status, body = await running.health()
    assert (status, body["broken"]) == (200, [])
    assert body["parts"]["slack_socket_mode"]["state"] == "connected for 0 seconds"

    link.down()  # a reconnect of a few seconds is nothing to worry about
    clock.advance(timedelta(seconds=60))
    await core.tick()
    assert (await running.health())[0] == 200
    clock.advance(timedelta(seconds=1))
    status, body = await running.health()
    assert (status, body["broken"]) == (503, ["slack_socket_mode"])
    assert body["parts"]["slack_socket_mode"]["state"] == "not connected for 61 seconds"

    link.up()
    assert (await running.health())[0] == 200


async def test_several_broken_parts_are_all_named(running: Running) -> None:
    core, clock = running.core, running.clock
    core.link("slack_socket_mode")
    clock.advance(timedelta(minutes=6))
    status, body = await running.health()
    assert (status, sorted(body["broken"])) == (503, ["scheduler", "slack_socket_mode"])


# ---- policybot status: what /healthz knows and what is waiting, for a person at a terminal ----------

SAMPLE = Path(__file__).resolve().parent.parent / "bot" / "sample_school.toml"


def status_config(tmp_path: Path) -> Path:
    """The sample school, its data in `tmp_path/data`, served on a free port of this computer."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    text = SAMPLE.read_text(encoding="utf-8").replace('path = "data"', f'path = "{tmp_path / "data"}"')
    path = tmp_path / "school.toml"
    path.write_text(text + f'\n[server]\nhost = "127.0.0.1"\nport = {port}\n', encoding="utf-8")
    return path


async def school_with_work(core: Core) -> None:
    """Two applications to decide, one decided; an open item and a replied one; an open incident and a closed one."""
    rows = {
        "applications": {"APP-1": "submitted", "APP-2": "submitted", "APP-3": "approved"},
        "items": {"ITEM-1": "open", "ITEM-2": "replied"},
        "incidents": {"INC-1": "open", "INC-2": "closed"},
    }
    # Only what the scheduler's look at them needs besides: an owned incident is not chased, an item is due later.
    extra = {"incidents": {"owner": "dokafor"}, "items": {"account": "ACC-1", "due_at": "2026-12-25T10:00:00+00:00"}}
    async with core.store.transaction() as tx:
        for table, statuses in rows.items():
            for key, state in statuses.items():
                tx.put(table, key, {"status": state, **extra.get(table, {})})
    await owe(core, "For someone not on any platform yet")


def status_of(config: Path) -> int:
    from adapters.cli import main

    return main(["status", "--config", str(config)])


async def test_status_while_serve_runs_reads_the_data_folder_without_its_lock(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = status_config(tmp_path)
    settings = load_config(config)
    clock = Clock(START)
    core = Core(settings, Store(settings.storage_path), clock, limits=LIMITS)
    runner = web.AppRunner(await build_app(core), access_log=None)
    try:
        await school_with_work(core)
        await runner.setup()
        await web.TCPSite(runner, settings.server.host, settings.server.port).start()
        with pytest.raises(StoreLocked):
            Store(settings.storage_path)  # serve holds the folder: status must read it without the lock

        assert await asyncio.to_thread(status_of, config) == 0
        out = capsys.readouterr().out
        assert f"policybot for {settings.school.name} is working." in out
        assert "ok      Saving records: saving changes" in out
        for line in (
            "applications to decide: 2",
            "open monitoring items: 1",
            "open incidents: 1",
            "undelivered messages: 1",
        ):
            assert f"  {line}\n" in out
        assert "Traceback" not in out

        clock.advance(timedelta(minutes=6))  # the scheduler has not run since
        assert await asyncio.to_thread(status_of, config) == 1
        out = capsys.readouterr().out
        assert "is NOT WORKING: Reminders and deadlines." in out
        assert "BROKEN  Reminders and deadlines: has not run since policybot started 6 minutes ago" in out
        assert "restart policybot" in out
        assert "applications to decide: 2" in out  # still counted

        await core.tick()
        assert await asyncio.to_thread(status_of, config) == 0
    finally:
        await runner.cleanup()
        await core.close()


async def test_status_when_serve_is_stopped_says_so_and_still_counts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = status_config(tmp_path)
    settings = load_config(config)
    core = Core(settings, Store(settings.storage_path), Clock(START), limits=LIMITS)
    await school_with_work(core)
    await core.close()

    assert await asyncio.to_thread(status_of, config) == 1
    out = capsys.readouterr().out
    assert "policybot serve is not running" in out and "Start it again" in out
    assert "  applications to decide: 2\n" in out and "  undelivered messages: 1\n" in out


async def test_status_cannot_tell_when_something_else_answers_on_the_port(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = status_config(tmp_path)
    settings = load_config(config)
    runner = web.AppRunner(web.Application(), access_log=None)  # answers 404 to everything
    await runner.setup()
    try:
        await web.TCPSite(runner, settings.server.host, settings.server.port).start()
        assert await asyncio.to_thread(status_of, config) == 2
    finally:
        await runner.cleanup()
    out = capsys.readouterr().out
    assert "I can't tell whether policybot is working" in out and "not policybot" in out
    assert "There is no data folder" in out
    assert "Traceback" not in out


# ---- Socket Mode reports its connection ------------------------------------------------------------


async def until(done: Callable[[], bool], limit: float = 15.0) -> None:
    """Wait for `done` (at most `limit` seconds: a bound for a stuck test, not a measure)."""
    for _ in range(int(limit / 0.02)):
        if done():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("it did not happen")


async def test_socket_mode_reports_connected_and_a_lost_connection_turns_healthz_503(
    tmp_path: Path, fake: FakeSlack
) -> None:
    settings = load_config(write_config(tmp_path, fake.base_url + "/api/", socket=True))
    clock = Clock(START)
    core = Core(settings, Store(settings.storage_path), clock, limits=LIMITS)
    front = SlackFrontEnd(core)
    front.socket.look_every = 0.02  # how often it looks at the WebSocket (5 seconds in policybot serve)
    app = await slack_app(core, front)
    app[FRONT_ENDS] = ["slack"]
    app.router.add_get("/healthz", healthz)
    http = TestClient(TestServer(app))
    await http.start_server()

    async def part() -> tuple[int, dict[str, Any]]:
        resp = await http.get("/healthz")
        return resp.status, (await resp.json())["parts"]["slack_socket_mode"]

    try:
        await until(lambda: core.link("slack_socket_mode").connected)
        status, state = await part()
        assert (status, state) == (200, {"ok": True, "state": "connected for 0 seconds"})

        fake.fail("apps.connections.open", 500, times=10_000)  # Slack unreachable: it cannot connect again
        await fake.sockets[-1].close()
        await until(lambda: not core.link("slack_socket_mode").connected)
        clock.advance(timedelta(seconds=61))
        await core.tick()
        status, state = await part()
        assert (status, state) == (503, {"ok": False, "state": "not connected for 61 seconds"})

        fake.failures.clear()  # Slack back: slack_sdk connects again by itself, at its next look (10 s)
        await until(lambda: core.link("slack_socket_mode").connected, limit=40)
        status, state = await part()
        assert (status, state["ok"]) == (200, True)
    finally:
        await http.close()
        await core.close()


async def test_reading_the_data_folder_without_the_lock_during_checkpoints_never_misses_a_change(
    tmp_path: Path,
) -> None:
    """While serve writes and checkpoints (live.json replaced, the journal set aside), each read of the folder by
    `policybot status` holds every change up to some point and none after: never a gap."""
    folder = tmp_path / "data"
    store = Store(folder, tuning=StoreTuning(checkpoint_every=3, checkpoint_share=0.0))
    total = 600
    seen: list[list[str]] = []
    writing = True

    def read_while_writing() -> None:
        while writing:
            tables = read_folder(folder)
            if tables is not None:  # None: a checkpoint replaced live.json meanwhile, and it reads again
                seen.append(sorted(int(k.removeprefix("APP-")) for k in tables.keys("applications")))

    reader = asyncio.create_task(asyncio.to_thread(read_while_writing))
    try:
        for i in range(total):
            async with store.transaction() as tx:
                tx.put("applications", f"APP-{i}", {"status": "submitted"})
            await store.sync()
            if i % 10 == 0:
                await asyncio.sleep(0)  # let the checkpoints' threads and the reader run
    finally:
        writing = False
        await reader
    await store.wait_for_checkpoint()
    assert any(s for s in seen)  # it read while changes were being written
    for keys in seen:
        assert keys == list(range(len(keys))), "a read missed a change"
    assert waiting_in(folder, default_registry().tables.values())["applications to decide"] == total
    await store.close()
