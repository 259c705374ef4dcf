"""The store: keyed JSON records in named tables, written crash-safely to a data folder, with an audit trail.

A commit applies a transaction's writes to the tables in memory (tables.py), writes one line
to the journal (journal.py) and its audit entries to the audit trail (audit.py), and returns
once the journal line is on disk. Now and then the whole state is checkpointed into
live.json (checkpoint.py). Opening the folder reads live.json and replays the journal after
it. docs/store.md describes the folder for the people who look after it.

All access goes through one asyncio lock; a `Transaction` holds it from its first read to
its commit, so two turns never interleave and a check-then-write is atomic.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.errors import DataDamaged, PolicybotError, StoreUnavailable
from bot.store.audit import AuditTrail, audit_problem, missing
from bot.store.checkpoint import Checkpoints, read_live
from bot.store.folder import AUDIT, JOURNAL, LIVE, PREVIOUS, lock_folder, release_folder
from bot.store.journal import Journal, journal_problem
from bot.store.lines import compact, read_lines, seal
from bot.store.tables import META, Tables, everything
from bot.store.transaction import Transaction
from bot.store.tuning import Gaps, StoreTuning

log = logging.getLogger("policybot.store")


@dataclass
class _Read:
    """What a data folder holds, read back: the tables with the journal replayed, and the rest of the state."""

    tables: Tables
    seq: int
    live_seq: int  # the state live.json holds (-1: none)
    live_size: int
    audit: list[dict[str, Any]]
    missing: list[dict[str, Any]]  # audit entries the journal holds and the audit file lost
    replayed: int  # journal lines since the last snapshot


class Store:
    """Keyed JSON records in named tables; `path=None` keeps everything in memory."""

    def __init__(
        self,
        path: Path | str | None = None,
        *,
        held: int | None = None,
        tuning: StoreTuning | None = None,
        gaps: Gaps | None = None,
        trouble: Callable[[str], None] | None = None,
    ) -> None:
        """Open the data folder at `path` (None: keep everything in memory).

        `held`: a descriptor from `lock_folder` this process already holds (the store then owns it).
        `gaps`: the requests being answered; a checkpoint waits for a gap between them.
        `trouble`: told when the store starts refusing changes, with why, and with "" once it writes again.
        """
        self.path = Path(path) if path is not None else None
        self.tuning = tuning or StoreTuning()
        self.lock = asyncio.Lock()
        self.trouble = trouble
        self._troubled = False  # a commit was refused and none has been written since
        self.refusing = ""  # why the last commit was refused, while none has been written since (for health)
        self._retry_at = 0.0  # (monotonic) when `_recover` may next try the disk
        self._lock_fd: int | None = None
        self.seq = 0
        self.commits = 0  # committed since this process opened the store (for metrics)
        self.tables = Tables()
        self.journal = Journal(self.path, self.tuning.fsync, self._refused)
        self.checkpoints = Checkpoints(self.path, self.tuning, gaps)
        self.trail = AuditTrail(self.path / AUDIT if self.path is not None else None)
        if self.path is not None:
            self._lock_fd = held if held is not None else lock_folder(self.path)
            try:
                self._install(self._read(self.path))
            except BaseException:
                self._release_lock()
                raise
        self.journal.resume(self.seq)

    # ---- opening -------------------------------------------------------------

    def _read(self, path: Path) -> _Read:
        """Read the folder back: live.json with the journal replayed over it.
        Raises DataDamaged, naming every damaged place."""
        (path / (LIVE + ".tmp")).unlink(missing_ok=True)  # an unfinished checkpoint: the old file stands
        live = path / LIVE
        data, broken = read_live(live)
        previous, current = read_lines(path / PREVIOUS, journal_problem), read_lines(path / JOURNAL, journal_problem)
        audit = read_lines(path / AUDIT, audit_problem)
        damage = ([broken] if broken else []) + previous.damage + current.damage + audit.damage
        if damage:
            # Nothing is dropped, cut off or checkpointed over: every byte stays for a person to judge.
            raise DataDamaged(path, damage)
        try:
            for lines in (previous, current, audit):
                lines.cut_torn(self.tuning.fsync)
        except OSError as exc:
            raise StoreUnavailable(
                f"policybot cannot use the data folder {path}: {exc.strerror}. Check it exists and can be written to."
            ) from None
        seq = data.get(META, {}).get("1", {}).get("seq", 0)
        live_seq, live_size = (seq, live.stat().st_size) if live.exists() else (-1, 0)
        tables = Tables(data)
        journal = previous.entries + current.entries
        for line in journal:
            if line["seq"] <= seq:
                continue  # already in live.json (a crash after a checkpoint, before the journal was emptied)
            for table, key, doc in line["writes"]:
                tables.put(table, key, doc)
            seq = line["seq"]
        return _Read(tables, seq, live_seq, live_size, audit.entries, missing(journal, audit.entries), len(journal))

    def _install(self, read: _Read) -> None:
        self.tables = read.tables
        self.seq = read.seq
        self.checkpoints.opened(read.live_seq, read.live_size)
        self.checkpoints.since = read.replayed
        self.trail.entries, self.trail.unwritten = read.audit, []
        if read.missing:
            self.trail.append(read.missing)

    async def close(self) -> None:
        """Checkpoint, then release the data folder for another process."""
        self.journal.stop_alarm()
        await self.checkpoints.wait()
        if self.journal.failed:
            with contextlib.suppress(StoreUnavailable):
                self._recover(force=True)  # a last try, so no change the disk may have lost is checkpointed
        with contextlib.suppress(StoreUnavailable):
            await self.sync()
        if self.path is not None and self._lock_fd is not None and self.checkpoints.since:
            with contextlib.suppress(StoreUnavailable):
                self.checkpoint()
        with contextlib.suppress(StoreUnavailable):
            self.journal.close()
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            release_folder(self._lock_fd)
            self._lock_fd = None

    # ---- reading (callers hold `lock`, normally through a Transaction) ------------

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """A copy of one record, or None."""
        return self.tables.get(table, key)

    def all(self, table: str) -> list[dict[str, Any]]:
        """Copies of every record in a table, oldest first."""
        return self.tables.where(table, everything)

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        """Records whose fields equal every value given, oldest first
        (the first field given is indexed: put the most selective first)."""
        return self.tables.find(table, **match)

    def where(self, table: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Copies of the records `keep` accepts."""
        return self.tables.where(table, keep)

    def keys(self, table: str, keep: Callable[[dict[str, Any]], bool] = everything, order: str = "") -> list[str]:
        """The keys of the records `keep` accepts (sorted by the field `order`, if given), copying nothing."""
        return self.tables.keys(table, keep, order)

    def count(self, table: str) -> int:
        return self.tables.count(table)

    def audit(self, **match: Any) -> list[dict[str, Any]]:
        """Audit entries matching every value given, oldest first."""
        return self.trail.find(**match)

    # ---- writing -------------------------------------------------------------

    def transaction(self) -> Transaction:
        """Start a transaction: `async with store.transaction() as tx: ...`."""
        return Transaction(self)

    def put_now(self, table: str, key: str, doc: dict[str, Any]) -> int | None:
        """Write one record at once, without waiting, if no transaction holds the store.

        Returns the seq to `sync` to for it to be on disk, or None when a transaction is
        open (use one, which queues behind it). Nothing is awaited before the write, so a
        caller that stops waiting for the disk (a timeout) has still written the record.
        """
        if self.lock.locked():
            return None
        tx = Transaction(self)
        tx.put(table, key, doc)
        return self.commit(tx)

    def commit(self, tx: Transaction) -> int:
        """Apply a transaction and write its journal line (the caller holds `lock`);
        the seq to `sync` to (0: nothing written)."""
        seq = self._apply(tx)
        if self.checkpoint_due():
            self.checkpoints.start(self._snapshot_if_due)
        return seq

    def _apply(self, tx: Transaction) -> int:
        if not tx.writes and not tx.audits:
            return 0
        if self.journal.failed and not self._recover():
            self._refused(self.journal.failed)
            raise StoreUnavailable(self.journal.failed)
        seq = self.seq + 1
        writes = [[table, key, doc] for (table, key), doc in tx.writes.items()]
        audits = [{"seq": seq, "n": n, **e} for n, e in enumerate(tx.audits)]
        lines: list[str] = []
        if self.path is not None:
            # Each audit entry is encoded once, for the journal line and the audit file both.
            lines = [compact(e) for e in audits]
            self.journal.append(seq, seal(f'{{"seq":{seq},"writes":{compact(writes)},"audit":[{",".join(lines)}]}}'))
            if self._troubled:
                self._troubled, self.refusing = False, ""
                if self.trouble is not None:
                    self.trouble("")
        for table, key, doc in writes:
            self.tables.put(table, key, doc)
        self.seq = seq
        if self.path is None:
            self.journal.held(seq)
        if audits:
            self.trail.append(audits, lines)
        self.checkpoints.since += 1
        self.commits += 1
        return seq

    async def sync(self, upto: int | None = None, within: float | None = None) -> bool:
        """Wait until every commit up to `upto` (by default, every commit so far) is on disk.

        Raises StoreUnavailable if the disk failed to keep them. With `within` (seconds), gives
        up waiting after that long and returns False: the commit is written all the same.
        """
        return await self.journal.sync(self.seq if upto is None else upto, within)

    # ---- checkpoints ---------------------------------------------------------

    def checkpoint(self) -> None:
        """Write the whole state to ``live.json`` (atomically) and empty the journal."""
        snapshot = self._snapshot()
        if snapshot is not None:
            self.checkpoints.write(snapshot)

    def checkpoint_due(self) -> bool:
        return self.path is not None and self.journal.is_open and self.checkpoints.due(self.journal.size)

    @property
    def checkpoint_running(self) -> bool:
        """A checkpoint is being taken or written in the background."""
        return self.checkpoints.running

    async def wait_for_checkpoint(self) -> None:
        """Until the checkpoint running in the background, if any, is written
        (or has failed, leaving the journal whole)."""
        await self.checkpoints.wait()

    async def _snapshot_if_due(self) -> dict[str, Any] | None:
        async with self.lock:
            return self._snapshot() if self.checkpoint_due() else None

    def _snapshot(self) -> dict[str, Any] | None:
        """The state to checkpoint, taken under the lock; later commits go to a fresh journal.

        Copying each table's dict is cheap (records are shared, never changed in place),
        so the slow part, writing live.json, can run without holding up anyone.
        """
        if self.path is None:
            return None
        if self.journal.failed:
            raise StoreUnavailable(self.journal.failed)  # never checkpoint changes the disk may not have kept
        if not self.trail.write_unwritten():
            # Those entries live only in the journal: keep it until they are written.
            raise StoreUnavailable(f"could not write the audit trail in {self.path}")
        snapshot = self.tables.snapshot()
        snapshot[META] = {"1": {"seq": self.seq, "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}}
        try:
            # The journal and the audit lines it carries must be on disk before it is set aside.
            self.journal.close()
            self.trail.make_durable(self.tuning.fsync)
            self.journal.set_aside()
        except OSError as exc:
            raise StoreUnavailable(f"could not save to {self.path}: {exc.strerror}") from None
        self.checkpoints.since = 0
        return snapshot

    # ---- a disk that refused changes -------------------------------------------

    def _refused(self, why: str) -> None:
        self.refusing = why or "the disk refused a change"
        if not self._troubled:
            self._troubled = True
            if self.trouble is not None:
                self.trouble(why)

    async def recover(self) -> None:
        """If the store is refusing changes after a failed fsync, try the disk again now
        (the scheduler calls this on each tick)."""
        if not self.journal.failed:
            return
        with contextlib.suppress(StoreUnavailable):  # still failing: the log says so, and the next try comes
            async with self.lock:
                recovered = bool(self.journal.failed) and self._recover(force=True)
            if recovered:
                await self.sync()

    def _recover(self, force: bool = False) -> bool:
        """After a failed fsync: once the disk can be written again, go back to the last state
        known to be on it, as a restart would, and carry on without one.

        The journal is cut back to what its last successful fsync covered, and everything is
        read again from the disk. The commits after that point were never reported saved
        (each person was told nothing changed): they are undone, their numbers are not used
        again, and the audit trail records that they did not happen. Tried at most every
        `recover_every` seconds (each try costs a write and an fsync), under the store's lock.
        """
        if self.path is None or (not force and time.monotonic() < self._retry_at):
            return False
        self._retry_at = time.monotonic() + self.tuning.recover_every
        if not self.checkpoints.writing.acquire(blocking=False):
            return False  # a checkpoint's thread is still writing live.json: next time
        try:
            try:
                self.journal.cut_back()
            except OSError as exc:
                log.warning("the disk still cannot be written (%s); policybot keeps refusing changes", exc.strerror)
                return False
            lo, hi = self.journal.undoing or (0, -1)
            lost = [e for e in self.trail.entries if lo <= e.get("seq", 0) <= hi]
            written = self.seq
            try:
                read = self._read(self.path)
            except (OSError, PolicybotError) as exc:
                log.error(
                    "after the disk failed, its data could not be read back (%s); policybot keeps refusing changes", exc
                )
                return False
            self._install(read)
            self.seq = max(self.seq, written)  # the undone commits' numbers are never used again
            self.journal.resume(self.seq)
        finally:
            self.checkpoints.writing.release()
        undone = "" if hi < lo else f"{lo}" if lo == hi else f"{lo} to {hi}"
        log.warning(
            "the disk can be written again: policybot is saving changes again "
            "(changes %s were not saved and are undone)",
            undone or "none",
        )
        tx = Transaction(self)
        for e in lost:
            tx.audit(
                "policybot",
                "not_saved",
                str(e.get("record")),
                detail=(
                    f"{e.get('action')} by {e.get('actor')} (change {e.get('seq')}) did not happen: "
                    "the disk failed before it was saved"
                ),
            )
        tx.audit(
            "policybot",
            "store_recovered",
            "data folder",
            detail=f"the disk can be written again; changes not saved and undone: {undone or 'none'}",
        )
        self._apply(tx)
        return True


def iter_tables(store: Store) -> Iterator[str]:
    """Names of the tables that hold records."""
    return iter(store.tables.names())
