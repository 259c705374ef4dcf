"""The journal (``journal.jsonl``): every commit since the last checkpoint, one JSON line each,
and the fsyncs they share.

A commit is on disk once its line is; opening the store replays the journal over live.json,
so a commit costs the size of the change, not of the whole store. Each line is written at
once, and one fsync in a background thread makes every line written so far durable: a
transaction returns only when its own line is on disk, so many turns share one fsync and
none blocks the others while it waits.

After a failed fsync nobody can say what reached the disk, so the journal refuses every
change (`failed`) until the store has gone back to what is known to be on it (`cut_back`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.errors import StoreUnavailable
from bot.store.folder import JOURNAL, PREVIOUS, fsync_dir

log = logging.getLogger("policybot.store")


def _change(write: Any) -> bool:
    return (
        type(write) is list
        and len(write) == 3
        and type(write[0]) is str
        and type(write[1]) is str
        and (write[2] is None or type(write[2]) is dict)
    )


def journal_problem(entry: Any) -> str:
    """What is wrong with a journal line's JSON ("" if nothing)."""
    if type(entry) is not dict:
        return "is not a journal entry"
    if type(entry.get("seq")) is not int:
        return "has no change number"
    writes, audits = entry.get("writes"), entry.get("audit", [])
    if type(writes) is not list or not all(_change(w) for w in writes):
        return "does not hold its changes in the journal's shape"
    if type(audits) is not list or not all(type(a) is dict for a in audits):
        return "does not hold its audit entries in the journal's shape"
    return ""


def _ignore(_seconds: float) -> None:
    pass


class Journal:
    """The journal of one data folder (or, with `folder=None`, of a memory store: every commit is kept at once)."""

    def __init__(self, folder: Path | None, fsync: Callable[[int], None], refused: Callable[[str], None]) -> None:
        """`refused` is told why, each time a change cannot be written."""
        self.folder = folder
        self._fsync = fsync
        self._refused = refused
        self._fh: Any = None
        self.size = 0  # bytes in journal.jsonl
        self.written = 0  # the last commit written
        self.durable = 0  # the last commit known to be on disk
        self.durable_bytes = 0  # how much of journal.jsonl is known to be on disk
        self.generation = 0  # moves on each time a checkpoint sets journal.jsonl aside
        self._syncing: asyncio.Future[None] | None = None
        self._waiters: list[asyncio.Future[None]] = []  # woken after each fsync
        self._alarm: asyncio.TimerHandle | None = None  # wakes them by the earliest deadline of a `sync(within=)`
        self.failed = ""  # why the disk cannot be trusted any more (a failed fsync), until it is cut back
        self._lost: list[tuple[int, int]] = []  # ranges of commits undone after a failed fsync: never reported saved
        self.undoing: tuple[int, int] | None = None  # the range the failure now being recovered from undoes
        self.fsynced: Callable[[float], None] = _ignore  # told each shared fsync's seconds (bot/metrics.py)

    @property
    def file(self) -> Path:
        assert self.folder is not None
        return self.folder / JOURNAL

    @property
    def is_open(self) -> bool:
        return self._fh is not None

    def resume(self, seq: int) -> None:
        """The folder was just read back (on opening, or after a failure): every commit up to `seq` is on disk."""
        self.written = self.durable = seq
        self.durable_bytes = self.file.stat().st_size if self.folder is not None and self.file.exists() else 0
        self.failed = ""
        self.undoing = None

    def held(self, seq: int) -> None:
        """A memory store's commit: nothing to wait for."""
        self.written = self.durable = seq

    def append(self, seq: int, line: str) -> None:
        """Write commit `seq`'s line (JSON text); durable at the next `sync`."""
        data = (line + "\n").encode("utf-8")
        if self._fh is None:
            try:
                # Unbuffered: each line is one write(2), in the file before this returns.
                self._fh = self.file.open("ab", buffering=0)
                self.size = self._fh.seek(0, os.SEEK_END)
            except OSError as exc:
                self._refused(exc.strerror or str(exc))
                raise StoreUnavailable(f"could not save to {self.folder}: {exc.strerror}") from None
        fh = self._fh
        start = self.size
        try:
            written = fh.write(data)
            if written != len(data):
                raise OSError(28, "No space left on device")
            self.size = start + written
            self.written = seq
        except OSError as exc:
            # Leave no partial line behind: the commit did not happen. The lines before it
            # may still wait for their fsync, so the journal is made durable as it closes.
            try:
                fh.truncate(start)
                fh.seek(start)
            except (OSError, ValueError):
                self.give_up(exc)  # a torn line would stay in the middle of the journal
            with contextlib.suppress(StoreUnavailable):
                self.close()
            self._refused(exc.strerror or str(exc))
            raise StoreUnavailable(f"could not save to {self.folder}: {exc.strerror}") from None

    def close(self) -> None:
        """Make every line durable, then close the file (a later commit opens a new one)."""
        fh, self._fh = self._fh, None
        if fh is None:
            return
        if (
            self.failed
        ):  # a second fsync may "succeed" with the lost pages still lost: only `cut_back` says what is on disk
            with contextlib.suppress(OSError, ValueError):
                fh.close()
            raise StoreUnavailable(self.failed)
        try:
            try:
                self._fsync(fh.fileno())
            finally:
                fh.close()
        except (OSError, ValueError) as exc:
            raise self.give_up(exc) from None
        self.durable = self.written
        self.durable_bytes = self.size

    def set_aside(self) -> None:
        """For a checkpoint, once the journal is closed: keep its lines in journal.prev.jsonl until live.json
        holds them, so later commits start a fresh journal. Raises OSError."""
        assert self.folder is not None
        journal, previous = self.folder / JOURNAL, self.folder / PREVIOUS
        if previous.exists():
            # An earlier checkpoint did not finish: keep its journal and add this one to it.
            if journal.exists():
                with previous.open("ab") as fh:
                    fh.write(journal.read_bytes())
                    fh.flush()
                    self._fsync(fh.fileno())
                journal.unlink()
        elif journal.exists():
            os.replace(journal, previous)
        self.generation += 1
        self.durable_bytes = 0
        fsync_dir(self.folder, self._fsync)

    # ---- waiting for the disk --------------------------------------------------

    async def sync(self, target: int, within: float | None = None) -> bool:
        """Wait until every commit up to `target` is on disk.

        One fsync covers every line written before it started, so turns that commit at
        the same time share it. Raises StoreUnavailable if the disk failed to keep them.
        With `within` (seconds), gives up waiting after that long and returns False: the
        commit is written all the same, and the disk has it once the fsync under way ends.
        """
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while self.durable < target or self.undone(target):
            if self.failed or self.undone(target):
                raise StoreUnavailable(
                    self.failed or f"could not save to {self.folder}: the disk failed before this change was saved"
                )
            if deadline is not None:
                if loop.time() >= deadline:
                    return False
                self._wake_by(deadline)
            # Each waiter has its own future, so one given up (a timeout) stops nobody else's wait.
            waiter = loop.create_future()
            self._waiters.append(waiter)
            if self._syncing is None:
                self._syncing = asyncio.ensure_future(self._fsync_lines())
            await waiter
        return True

    def undone(self, seq: int) -> bool:
        """True for a commit undone after a failed fsync (see `give_up`): it must never be reported saved."""
        return bool(self._lost) and any(lo <= seq <= hi for lo, hi in self._lost)

    def _wake_by(self, deadline: float) -> None:
        """Wake the waiters by `deadline`, so each can see whether its own has passed: one
        timer for everyone waiting, not one per request."""
        if self._alarm is not None and self._alarm.when() <= deadline:
            return
        if self._alarm is not None:
            self._alarm.cancel()
        self._alarm = asyncio.get_running_loop().call_at(deadline, self._ring)

    def _ring(self) -> None:
        self._alarm = None
        self._wake_waiters()

    def _wake_waiters(self) -> None:
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:  # each checks whether its commit is covered, else waits again
            if not waiter.done():
                waiter.set_result(None)

    def stop_alarm(self) -> None:
        if self._alarm is not None:
            self._alarm.cancel()

    async def _fsync_lines(self) -> None:
        upto, size, generation = self.written, self.size, self.generation
        try:
            if self._fh is not None:
                # A copy of the descriptor: a checkpoint may close the journal meanwhile.
                fd = os.dup(self._fh.fileno())
                start = time.perf_counter()
                try:
                    await asyncio.to_thread(self._fsync, fd)
                finally:
                    os.close(fd)
                self.fsynced(time.perf_counter() - start)
            # (No journal open: the checkpoint that closed it made it durable first.)
            if self.failed:
                return  # failed meanwhile: a later "success" proves nothing
            self.durable = max(self.durable, upto)
            if generation == self.generation:
                self.durable_bytes = max(self.durable_bytes, size)
        except OSError as exc:
            self.give_up(exc)
        finally:
            self._syncing = None
            self._wake_waiters()

    # ---- a disk that failed -----------------------------------------------------

    def give_up(self, exc: BaseException) -> StoreUnavailable:
        """After a failed fsync (or a line that cannot be cut off) nobody can say what reached
        the disk (Linux may drop the unwritten pages and report the error only once): refuse
        every change from now on, so nothing more is acknowledged, until the store has put
        the disk back to the last state known to be on it (`cut_back`)."""
        why = getattr(exc, "strerror", None) or str(exc)
        if not self.failed and self.written > self.durable:
            self.undoing = (self.durable + 1, self.written)
            self._lost.append(self.undoing)
        self.failed = f"could not save to {self.folder}: {why}. Nothing is saved until the disk can be written again."
        log.error(
            "the disk did not keep policybot's latest changes (%s); "
            "refusing every change until it can be written again",
            why,
        )
        self._refused(why)
        return StoreUnavailable(self.failed)

    def cut_back(self) -> None:
        """Once the disk may work again: close the journal and cut it back to what its last successful
        fsync covered, durably. Raises OSError while the disk still fails."""
        fh, self._fh = self._fh, None
        if fh is not None:
            with contextlib.suppress(OSError, ValueError):
                fh.close()
        assert self.folder is not None
        if self.file.exists():
            with self.file.open("r+b") as journal:
                if journal.seek(0, os.SEEK_END) > self.durable_bytes:  # (never longer: that would add zeros)
                    journal.truncate(self.durable_bytes)
                self._fsync(journal.fileno())
        fsync_dir(self.folder, self._fsync)
