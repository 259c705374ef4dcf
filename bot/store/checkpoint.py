"""Checkpoints: the whole state written to ``live.json`` (TinyDB's format), so the journal can start again empty.

Every `checkpoint_every` commits, once the journal has grown as large as live.json (so a
store with years of history is rewritten no more often than its size warrants), the state
is written to a new copy of live.json, fsynced, renamed over the old one, and the journal
set aside before it is dropped. A kill at any instant leaves a whole live.json (old or new)
and a journal whose last, possibly torn, line is dropped: the previous or the new state,
never a mixture. The snapshot is taken at a gap between requests; the file is written in a
thread, in pieces, giving way to requests between them.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bot.errors import StoreUnavailable
from bot.store.folder import LIVE, PREVIOUS, fsync_dir
from bot.store.lines import Damage, compact
from bot.store.tables import META
from bot.store.tuning import Gaps, StoreTuning

log = logging.getLogger("policybot.store")


def read_live(file: Path) -> tuple[dict[str, Any], Damage | None]:
    """live.json's tables, or what is wrong with it; a missing file is an empty store."""
    if not file.exists():
        return {}, None
    try:
        data = json.loads(file.read_bytes())
    except json.JSONDecodeError as exc:
        return {}, Damage(file.name, 0, f"cannot be read as JSON (damaged or cut short near byte {exc.pos:,})")
    except ValueError:
        return {}, Damage(file.name, 0, "cannot be read as text (damaged)")
    if type(data) is not dict or not all(
        type(docs) is dict and all(type(d) is dict for d in docs.values()) for docs in data.values()
    ):
        return {}, Damage(file.name, 0, "is not policybot's tables of records")
    if type(data.get(META, {}).get("1", {}).get("seq", 0)) is not int:
        return {}, Damage(file.name, 0, "has no change number")
    return data, None


def dump(
    snapshot: dict[str, Any], fh: Any, chunk: int = StoreTuning.dump_chunk, pause: Callable[[], None] = lambda: None
) -> None:
    """Write `snapshot` ({table: {doc id: record}}) as compact JSON, the text json.dump gives.

    `chunk` records at a time through the C encoder: json.dump's pure-Python encoder
    takes about three times as long in all, and encoding the whole store in one call
    would hold the interpreter (so every request) for all of it. Between pieces, `pause`
    lets requests go first.
    """
    fh.write("{")
    for t, (table, docs) in enumerate(snapshot.items()):
        fh.write(("," if t else "") + compact(table) + ":{")
        items = list(docs.items())
        for start in range(0, len(items), chunk):
            pause()
            fh.write(("," if start else "") + compact(dict(items[start : start + chunk]))[1:-1])
        fh.write("}")
    fh.write("}")


class Checkpoints:
    """When a checkpoint is due, and writing live.json: in the background after a commit, or at once."""

    def __init__(self, folder: Path | None, tuning: StoreTuning, gaps: Gaps | None) -> None:
        self.folder = folder
        self.tuning = tuning
        self.gaps = gaps
        self.since = 0  # commits since the last snapshot
        self.live_size = 0  # bytes in live.json as last written
        self.live_seq = -1  # the state live.json holds
        self.writing = threading.Lock()  # one writer of live.json at a time, and never an older state over a newer
        self._task: asyncio.Task[None] | None = None
        self.written: Callable[[float], None] = lambda _seconds: None  # told each live.json's seconds (metrics)

    def opened(self, seq: int, size: int) -> None:
        """live.json, as the folder was read: the state it holds (-1: no file) and its size."""
        self.live_seq, self.live_size = seq, size

    def due(self, journal_size: int) -> bool:
        # Writing live.json costs its whole size, so a large store (years of records) is
        # checkpointed less often: each commit's share of that cost stays the same, and
        # the journal to replay on opening stays about the size of live.json.
        if journal_size > max(self.tuning.checkpoint_bytes, self.live_size):
            return True
        return (
            self.since >= self.tuning.checkpoint_every and journal_size >= self.live_size * self.tuning.checkpoint_share
        )

    @property
    def running(self) -> bool:
        """A checkpoint is being taken or written in the background."""
        return self._task is not None and not self._task.done()

    def start(self, take: Callable[[], Awaitable[dict[str, Any] | None]]) -> None:
        """Start a checkpoint in the background, unless one is running:
        `take` returns the snapshot (None: not due any more)."""
        if not self.running:
            self._task = asyncio.create_task(self._in_background(take))

    async def wait(self) -> None:
        """Until the checkpoint running in the background (if any) is written."""
        if self._task is not None:
            await self._task

    async def _in_background(self, take: Callable[[], Awaitable[dict[str, Any] | None]]) -> None:
        """Take a snapshot at a gap between requests, then write it in a thread while everyone
        carries on, giving way to requests between its pieces."""
        try:
            if self.gaps is not None:
                await self.gaps.give_way()
            snapshot = await take()
            if snapshot is not None:
                await asyncio.to_thread(self.write, snapshot, self._pause_for_requests)
        except StoreUnavailable as exc:
            # Nothing is lost: the journal holds every change until a checkpoint succeeds.
            log.warning("checkpoint not written yet (%s); the journal keeps every change meanwhile", exc)

    def _pause_for_requests(self) -> None:
        """In a checkpoint's thread, between pieces: wait (as long as any work that can wait
        would, at most) while requests are answered."""
        waited = 0.0
        while self.gaps is not None and self.gaps.in_flight and waited < self.gaps.patience:
            time.sleep(0.005)
            waited += 0.005

    def write(self, snapshot: dict[str, Any], pause: Callable[[], None] = lambda: None) -> None:
        """Write a snapshot to live.json atomically, then drop the journal it covers."""
        with self.writing:
            seq = snapshot[META]["1"]["seq"]
            if seq <= self.live_seq:
                return
            start = time.perf_counter()
            self._write_file(snapshot, pause)
            self.live_seq = seq
            self.written(time.perf_counter() - start)

    def _write_file(self, snapshot: dict[str, Any], pause: Callable[[], None]) -> None:
        assert self.folder is not None
        fsync = self.tuning.fsync
        live = self.folder / LIVE
        tmp = self.folder / (LIVE + ".tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                dump(snapshot, fh, self.tuning.dump_chunk, pause)
                fh.flush()
                fsync(fh.fileno())
                size = fh.tell()
            tmp.replace(live)
            self.live_size = size
            fsync_dir(self.folder, fsync)
            (self.folder / PREVIOUS).unlink(missing_ok=True)
            fsync_dir(self.folder, fsync)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreUnavailable(f"could not save to {self.folder}: {exc.strerror}") from None
