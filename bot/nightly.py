"""Nightly backups made by `policybot serve` ([storage] backup_dir, backup_keep, backup_time).

Once a night, at `backup_time` in the school's time zone, the data folder is copied with the
same code as `policybot backup` (bot/store/backup.py: consistent while policybot runs, no
lock taken) into `policybot-<date>.tar.gz` in the backup folder, readable by policybot's
user only. The copy is made in a worker thread, so requests are acknowledged meanwhile; it is
written under a hidden name (`.policybot-<date>.tar.gz.<random>.partial`), flushed to disk,
then renamed, so the final name never holds half a file. Then the oldest beyond `backup_keep`
are removed: only files named as policybot names them.

Restart-safe: the file for tonight is the record that tonight's backup exists, so a restart the
same night makes no second one; a night missed because policybot was stopped at `backup_time`
is made at the next start that day (one backup, of the records as they are then). A night on
which policybot is stopped all day has no backup: the backups are of a folder nobody changed.

A failed backup (the folder missing, not writable, the disk full) is tried again every hour;
the administrators are told once that night, in chat, and told again when a backup is made.
What happened last (`scheduler/backups`) is kept in the store, so a restart neither repeats
the message nor forgets to say it works again. /healthz and `policybot status` show it; a
failed backup is not a 503 (staff can still use policybot: see docs/reliability.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import re
import secrets
from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.config import Settings
from bot.errors import PolicybotError, StoreUnavailable
from bot.messages import Card, Outbound, role
from bot.outbox import queue
from bot.store import Store
from bot.store.backup import archive, take
from bot.store.folder import fsync_dir
from bot.timefmt import when

log = logging.getLogger("policybot")

NAME = re.compile(r"policybot-(\d{4}-\d{2}-\d{2})\.tar\.gz")
PARTIAL = re.compile(r"\.policybot-\d{4}-\d{2}-\d{2}\.tar\.gz\.[0-9a-f]+\.partial")
STATE = ("scheduler", "backups")  # table and key of what happened last
RETRY = timedelta(hours=1)  # a failed night is tried again this often
LOOK_EVERY = 60.0  # seconds between looks at the clock


def file_name(night: date) -> str:
    """The name of the backup made on `night` (the school's date)."""
    date_id = night.isoformat()  # a file name, not a message
    return f"policybot-{date_id}.tar.gz"


def write_backup(data: Path, folder: Path, night: date, now: datetime) -> tuple[Path, dict[str, Any]]:
    """Copy the data folder into `folder` as tonight's file; return its path and manifest.

    Runs in a worker thread. Raises OSError (the folder, the disk) or BackupRefused (a damaged data
    folder). A file only reaches its final name once it is whole and on disk.
    """
    if not folder.is_dir():
        raise FileNotFoundError(errno.ENOENT, "no such folder", str(folder))
    for leftover in folder.iterdir():  # what a crash in the middle of writing left
        if PARTIAL.fullmatch(leftover.name) and not leftover.is_symlink() and leftover.is_file():
            with contextlib.suppress(OSError):
                leftover.unlink()
    taken = take(data, now)
    final = folder / file_name(night)
    partial = folder / f".{final.name}.{secrets.token_hex(4)}.partial"
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(archive(taken))
            fh.flush()
            os.fsync(fh.fileno())
        os.rename(partial, final)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    with contextlib.suppress(OSError):  # some file systems (a network share) cannot sync a folder
        fsync_dir(folder)
    return final, taken.manifest


def prune(folder: Path, keep: int) -> list[str]:
    """Remove the oldest of policybot's own nightly files beyond `keep`; return the names removed."""
    ours = sorted(p.name for p in folder.iterdir() if NAME.fullmatch(p.name) and p.is_file() and not p.is_symlink())
    removed = []
    for name in ours[: max(0, len(ours) - keep)]:
        with contextlib.suppress(FileNotFoundError):
            (folder / name).unlink()
        removed.append(name)
    return removed


def why(exc: BaseException, folder: Path) -> str:
    """What went wrong, in words for an administrator."""
    if isinstance(exc, PolicybotError):
        return str(exc)
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOENT:
            return f"the folder {folder} does not exist (if it is on another disk, is that disk connected?)"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return f"policybot's user is not allowed to write to {folder}"
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            return f"the disk that holds {folder} is full"
        if exc.errno == errno.EROFS:
            return f"the disk that holds {folder} can only be read, not written"
        return f"{exc.strerror or exc} ({folder})"
    return f"an unexpected error ({type(exc).__name__})"


def failed_card(settings: Settings, folder: Path, at: datetime, reason: str) -> Card:
    return Card(
        "policybot's nightly backup failed",
        f"The nightly backup tried at {when(at, settings.school.tz)} could not be made: {reason}. "
        "Everything policybot holds is still safe in its data folder, and staff can carry on using it, "
        "but there is no new backup until this is fixed. "
        f"Please ask whoever looks after the computer policybot runs on to check that the folder {folder} exists, "
        "that policybot's user can write to it, and that its disk has room (docs/deploy.md, Nightly backups). "
        "policybot tries again every hour and will tell you here once a backup has been made.",
        tone="urgent",
    )


def working_card(settings: Settings, made: str, at: datetime) -> Card:
    return Card(
        "policybot's nightly backups work again",
        f"A backup has been made ({made}, {when(at, settings.school.tz)}). Nothing more needs doing.",
    )


Write = Callable[[Path, Path, date, datetime], tuple[Path, dict[str, Any]]]


class Nightly:
    """The nightly backup: `look()` makes tonight's when it is due; `run_forever()` looks every minute."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        now: Callable[[], datetime],
        kick: Callable[[], None],
        give_way: Callable[[], Awaitable[None]],
        write: Write = write_backup,
    ) -> None:
        self.settings = settings
        self.store = store
        self.now = now
        self.kick = kick  # delivery: a message was queued
        self.give_way = give_way  # requests being answered go first
        self.write = write  # a test may give its own
        self.folder = settings.backups.folder
        self.state: dict[str, Any] = dict(store.get(*STATE) or {}) if store.path is not None else {}
        self._tried: datetime | None = None  # the last failed try since policybot started
        self.current: asyncio.Task[None] | None = None

    @property
    def on(self) -> bool:
        return self.folder is not None and self.store.path is not None

    def due(self, now: datetime) -> date | None:
        """The school's date whose backup is due now and not made, or None."""
        if not self.on or not self.store.seq:  # nothing saved yet: nothing to back up
            return None
        assert self.folder is not None
        local = now.astimezone(self.settings.school.tz)
        if local.time() < self.settings.backups.time:
            return None
        night = local.date()
        with contextlib.suppress(OSError):  # a folder policybot may not look in: the try says so
            if (self.folder / file_name(night)).exists():
                return None
        if self._tried is not None and now - self._tried < RETRY:
            return None
        return night

    async def look(self) -> None:
        """Make tonight's backup if it is due (and record, and tell, what happened)."""
        night = self.due(self.now())
        if night is None:
            return
        self.current = asyncio.ensure_future(self._make(night))
        try:
            await asyncio.shield(self.current)  # a stop waits for it (`finish`) rather than leaving it half done
        finally:
            if self.current.done():
                self.current = None

    async def _make(self, night: date) -> None:
        assert self.folder is not None and self.store.path is not None
        started = self.now()
        try:
            path, manifest = await asyncio.to_thread(self.write, self.store.path, self.folder, night, started)
        except Exception as exc:  # whatever it was, the administrators hear of it once, and it is tried again
            self._tried = started
            reason = why(exc, self.folder)
            unexpected = not isinstance(exc, OSError | PolicybotError)
            log.error("the nightly backup into %s failed: %s", self.folder, reason, exc_info=unexpected)
            told = self.state.get("told") == night.isoformat()
            state = {**self.state, "failed_at": started.isoformat(), "why": reason, "told": night.isoformat()}
            card = None if told else failed_card(self.settings, self.folder, started, reason)
            await self._record(state, card)
            return
        self._tried = None
        try:
            removed = await asyncio.to_thread(prune, self.folder, self.settings.backups.keep)
        except OSError as exc:  # tonight's backup is made; the old ones are tried again tomorrow
            log.warning("nightly backup written to %s, but old ones could not be removed: %s", path, exc)
        else:
            log.info("nightly backup written to %s (change %s); removed: %s", path, manifest["change"], removed)
        card = working_card(self.settings, path.name, started) if self.state.get("failed_at") else None
        await self._record({"last_at": started.isoformat(), "last_file": path.name, "change": manifest["change"]}, card)

    async def _record(self, state: dict[str, Any], card: Card | None) -> None:
        """Keep what happened, and queue the administrators' message in the same commit."""
        self.state = state
        try:
            async with self.store.transaction() as tx:
                tx.put(*STATE, state)
                if card is not None:
                    queue(tx, [Outbound(role("admins"), card)], self.now())
        except StoreUnavailable as exc:  # the administrators are told about the disk itself
            log.error("could not record the nightly backup's outcome: %s", exc)
            return
        if card is not None:
            self.kick()

    def summary(self) -> dict[str, Any] | None:
        """For /healthz and `policybot status` (None when nightly backups are off)."""
        return summarise(self.folder, self.state) if self.on else None

    async def run_forever(self) -> None:
        """Look every minute; anything unexpected is logged and tried again later."""
        while True:
            try:
                if self.due(self.now()) is not None:
                    await self.give_way()
                    await self.look()
            except Exception:
                log.exception("the nightly backup could not run; trying again later")
            await asyncio.sleep(LOOK_EVERY)

    async def finish(self) -> None:
        """When policybot stops: let a backup being written finish, and its outcome be recorded."""
        if self.current is not None:
            with contextlib.suppress(Exception):
                await self.current


def summarise(folder: Path | None, s: dict[str, Any]) -> dict[str, Any]:
    """What /healthz says of the nightly backups, from what was recorded last (`scheduler/backups`)."""
    return {
        "folder": str(folder),
        "last": s.get("last_at"),
        "last_file": s.get("last_file"),
        "failed": bool(s.get("failed_at")),
        "failed_at": s.get("failed_at"),
        "why": s.get("why", ""),
    }


def last_words(summary: dict[str, Any], settings: Settings) -> list[str]:
    """The nightly backups in a few lines for a person (policybot status)."""
    tz = settings.school.tz
    last = f"last made {when(summary['last'], tz)} ({summary['last_file']})" if summary.get("last") else "none made yet"
    lines = [f"  Nightly backups into {summary['folder']}: {last}."]
    if summary.get("failed"):
        lines.append(
            f"          The last one FAILED ({when(summary['failed_at'], tz)}): {summary.get('why')}. "
            "policybot tries again every hour; see docs/deploy.md, Nightly backups."
        )
    return lines
