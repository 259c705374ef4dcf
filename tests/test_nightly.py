"""Nightly backups from `policybot serve`: once a night, restart-safe, the oldest removed, failures told once."""

from __future__ import annotations

import asyncio
import dataclasses
import stat
import threading
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from adapters.platforms import load_config
from adapters.server import build_app
from bot.clock import Clock
from bot.config import Backups
from bot.core import Core
from bot.nightly import file_name
from bot.store import Store, backup
from tests.harness import RecordingChannel, TestBot, add_account, text
from tests.test_health import status_config, status_of

# Thursday 3 December 2026, 01:00 in London (GMT): before the 02:30 backup.
EVENING = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)
ADMIN = "pshah"


async def backed_up(tmp_path: Path, folder: Path | None = None, keep: int = 14) -> TestBot:
    settings = dataclasses.replace(
        load_config(None), backups=Backups(folder=folder or tmp_path / "backups", keep=keep, time=time(2, 30))
    )
    bot = TestBot(settings, path=tmp_path / "data", start=EVENING)
    if bot.store.get("accounts", "ACC-1") is None:
        await add_account(bot)  # something to back up
    return bot


def told(bot: TestBot) -> list:
    """What the administrator was told about backups."""
    return [c for c in bot.outbox.cards(ADMIN) if "backup" in c.title]


def files(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def test_one_backup_a_night_at_its_time_private_whole_and_not_again_after_a_restart(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    bot = await backed_up(tmp_path)
    await bot.core.nightly.look()
    assert files(tmp_path / "backups") == []  # 01:00: not yet
    bot.clock.advance(timedelta(hours=1, minutes=30))
    await bot.core.nightly.look()
    made = tmp_path / "backups" / "policybot-2026-12-03.tar.gz"
    assert files(tmp_path / "backups") == [made.name]
    assert stat.S_IMODE(made.stat().st_mode) == 0o600
    assert backup.open_archive(made).manifest["tables"]["accounts"] == 1  # a whole, verified backup
    summary = bot.core.health().to_dict()["backups"]
    assert summary["last"] == "2026-12-03T02:30:00+00:00" and summary["failed"] is False
    before = made.stat().st_mtime_ns
    bot.clock.advance(timedelta(hours=3))
    await bot.core.nightly.look()
    await bot.close()

    again = await backed_up(tmp_path)  # restarted the same night
    again.clock.advance(timedelta(hours=5))
    await again.core.nightly.look()
    assert files(tmp_path / "backups") == [made.name] and made.stat().st_mtime_ns == before
    assert again.core.health().to_dict()["backups"]["last_file"] == made.name  # remembered across the restart
    assert again.outbox.sent == []  # nobody is told anything when all is well
    await again.close()


async def test_a_night_missed_while_stopped_is_made_at_the_next_start_after_its_time(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    bot = await backed_up(tmp_path)
    bot.clock.advance(timedelta(days=1, hours=8))  # started at 09:00 the next day: 02:30 has passed
    await bot.core.nightly.look()
    assert files(tmp_path / "backups") == ["policybot-2026-12-04.tar.gz"]
    await bot.close()


async def test_only_the_newest_are_kept_and_only_policybots_own_files_are_removed(tmp_path: Path) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()
    mine = ["notes.txt", "policybot-manual.tar.gz", "policybot-2026-01-01.tar.gz.bak"]
    for name in mine:
        (folder / name).write_text("the school's own")
    (folder / "policybot-2020-01-01.tar.gz").mkdir()  # a folder that happens to look like one: not a backup file
    (folder / ".policybot-2026-12-02.tar.gz.0badf00d.partial").write_bytes(b"half")  # left by a crash mid-write
    bot = await backed_up(tmp_path, keep=2)
    bot.clock.advance(timedelta(hours=2))
    for _ in range(4):
        await bot.core.nightly.look()
        bot.clock.advance(timedelta(days=1))
    assert files(folder) == sorted(
        [*mine, "policybot-2020-01-01.tar.gz", "policybot-2026-12-05.tar.gz", "policybot-2026-12-06.tar.gz"]
    )
    await bot.close()


async def test_a_failed_backup_is_told_to_the_administrators_once_a_night_and_again_when_it_works(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "backups"  # not there: a backup disk that is not connected
    bot = await backed_up(tmp_path)
    bot.clock.advance(timedelta(hours=2))
    await bot.tick()  # the scheduler runs, so only the backup can be wrong
    await bot.core.nightly.look()
    await bot.core.flush()
    [card] = told(bot)
    assert card.title == "policybot's nightly backup failed"
    assert f"the folder {folder} does not exist" in card.body and "tries again every hour" in card.body
    assert "tried at Thu 3 Dec 2026, 03:00" in card.body
    assert bot.outbox.cards("eclarke") == []  # staff are not troubled with it
    health = bot.core.health()
    assert health.ok and health.to_dict()["backups"]["failed"] is True  # not a 503: staff can still use policybot
    assert not folder.exists()  # never made in its place (it may be an unmounted disk)

    bot.clock.advance(timedelta(minutes=30))
    await bot.core.nightly.look()  # not tried again within the hour
    bot.clock.advance(timedelta(hours=1))
    await bot.core.nightly.look()  # tried again, fails again: not told twice
    await bot.core.flush()
    await bot.close()
    again = await backed_up(tmp_path)  # a restart the same night
    again.clock.advance(timedelta(hours=4))
    await again.core.nightly.look()
    await again.core.flush()
    assert told(again) == []
    assert len(told(bot)) == 1

    folder.mkdir()
    again.clock.advance(timedelta(hours=1))
    await again.core.nightly.look()
    await again.core.flush()
    [card] = told(again)
    assert card.title == "policybot's nightly backups work again"
    assert "policybot-2026-12-03.tar.gz" in text(card)
    assert again.core.health().to_dict()["backups"]["failed"] is False
    await again.core.nightly.look()
    again.clock.advance(timedelta(days=1))
    await again.core.nightly.look()  # the next night works: nothing more to say
    await again.core.flush()
    assert len(told(again)) == 1
    await again.close()


async def test_a_folder_policybot_cannot_write_or_a_full_disk_is_said_plainly_and_leaves_no_file(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()

    def full(data: Path, into: Path, night: object, now: datetime) -> tuple[Path, dict]:
        raise OSError(28, "No space left on device")

    bot = await backed_up(tmp_path)
    bot.core.nightly.write = full
    bot.clock.advance(timedelta(hours=2))
    await bot.core.nightly.look()
    await bot.core.flush()
    assert f"the disk that holds {folder} is full" in bot.last(ADMIN).body
    await bot.close()

    def refused(data: Path, into: Path, night: object, now: datetime) -> tuple[Path, dict]:
        raise PermissionError(13, "Permission denied")

    other = await backed_up(tmp_path)
    other.core.nightly.write = refused
    other.clock.advance(timedelta(days=1, hours=2))
    await other.core.nightly.look()
    await other.core.flush()
    assert f"policybot's user is not allowed to write to {folder}" in other.last(ADMIN).body
    assert files(folder) == []  # nothing under a backup's name, whole or half
    await other.close()


async def test_the_backup_is_made_off_the_event_loop_so_requests_are_answered_meanwhile(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    bot = await backed_up(tmp_path)
    release, started = threading.Event(), threading.Event()
    write = bot.core.nightly.write

    def slow(data: Path, into: Path, night: object, now: datetime) -> tuple[Path, dict]:
        started.set()
        release.wait(30)
        return write(data, into, night, now)

    bot.core.nightly.write = slow
    bot.clock.advance(timedelta(hours=2))
    making = asyncio.create_task(bot.core.nightly.look())
    while not started.is_set():
        await asyncio.sleep(0.01)
    await bot.say("eclarke", "/help")  # answered while the backup is being written
    assert bot.outbox.cards("eclarke")
    assert not making.done()
    release.set()
    await making
    assert files(tmp_path / "backups") == [file_name(EVENING.date())]
    await bot.close()


async def test_a_stop_while_a_backup_is_written_waits_for_it_and_records_it(tmp_path: Path) -> None:
    (tmp_path / "backups").mkdir()
    bot = await backed_up(tmp_path)
    release, started = threading.Event(), threading.Event()
    write = bot.core.nightly.write

    def slow(data: Path, into: Path, night: object, now: datetime) -> tuple[Path, dict]:
        started.set()
        release.wait(30)
        return write(data, into, night, now)

    bot.core.nightly.write = slow
    bot.clock.advance(timedelta(hours=2))
    looking = asyncio.create_task(bot.core.nightly.look())
    while not started.is_set():
        await asyncio.sleep(0.01)
    looking.cancel()  # as serve's stop cancels the background tasks
    closing = asyncio.create_task(bot.close())
    await asyncio.sleep(0.05)
    release.set()
    await closing
    store = Store(tmp_path / "data")
    try:
        assert (store.get("scheduler", "backups") or {}).get("last_file") == "policybot-2026-12-03.tar.gz"
    finally:
        await store.close()


async def test_status_and_healthz_show_the_last_backup_and_a_failure_running_or_stopped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = status_config(tmp_path)
    folder = tmp_path / "backups"
    text_ = config.read_text(encoding="utf-8").replace("[storage]\n", f'[storage]\nbackup_dir = "{folder}"\n', 1)
    config.write_text(text_, encoding="utf-8")
    settings = load_config(config)
    clock = Clock(EVENING + timedelta(hours=2))
    core = Core(settings, Store(settings.storage_path), clock)
    core.add_channel(RecordingChannel())
    runner = web.AppRunner(await build_app(core), access_log=None)
    try:
        await runner.setup()
        await web.TCPSite(runner, settings.server.host, settings.server.port).start()
        await core.tick()
        await core.nightly.look()  # the folder is missing
        await core.flush()
        assert await asyncio.to_thread(status_of, config) == 0  # staff can use policybot: working
        out = capsys.readouterr().out
        assert f"Nightly backups into {folder}: none made yet." in out
        assert "The last one FAILED (Thu 3 Dec 2026, 03:00): the folder" in out and "does not exist" in out
        folder.mkdir()
        clock.advance(timedelta(hours=1))
        await core.tick()
        await core.nightly.look()
        await core.flush()
        assert await asyncio.to_thread(status_of, config) == 0
        out = capsys.readouterr().out
        assert "last made Thu 3 Dec 2026, 04:00 (policybot-2026-12-03.tar.gz)." in out and "FAILED" not in out
    finally:
        await runner.cleanup()
        await core.close()
    assert await asyncio.to_thread(status_of, config) == 1  # stopped: still says when the last backup was made
    out = capsys.readouterr().out
    assert "policybot serve is not running" in out and "(policybot-2026-12-03.tar.gz)." in out


async def test_an_unexpected_error_is_told_too_and_a_file_that_cannot_be_removed_does_not_count_as_a_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "backups"
    folder.mkdir()

    def broken(data: Path, into: Path, night: object, now: datetime) -> tuple[Path, dict]:
        raise ValueError("something nobody expected")

    bot = await backed_up(tmp_path, keep=1)
    bot.core.nightly.write = broken
    bot.clock.advance(timedelta(hours=2))
    await bot.core.nightly.look()
    await bot.core.flush()
    [card] = told(bot)
    assert "could not be made: an unexpected error (ValueError)" in card.body
    assert "Traceback" not in card.body and "nobody expected" not in card.body  # the details are in the log
    await bot.close()

    def cannot_remove(self: Path) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    (folder / "policybot-2026-12-01.tar.gz").write_bytes(b"an old one")
    again = await backed_up(tmp_path, keep=1)
    again.clock.advance(timedelta(days=1, hours=2))
    monkeypatch.setattr(Path, "unlink", cannot_remove)
    await again.core.nightly.look()
    monkeypatch.undo()
    await again.core.flush()
    assert files(folder) == ["policybot-2026-12-01.tar.gz", "policybot-2026-12-04.tar.gz"]
    assert [c.title for c in told(again)] == ["policybot's nightly backups work again"]  # made: that is what counts
    assert again.core.health().to_dict()["backups"]["failed"] is False
    await again.close()
