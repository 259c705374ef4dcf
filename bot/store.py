"""The store: tables of JSON records in TinyDB, written crash-safely, with an audit trail.

Layout of the data directory:
- ``live.json`` -- a TinyDB file with every table, as of its last checkpoint.
- ``journal.jsonl`` -- every commit since that checkpoint, one JSON line each.
  A commit is on disk once its line is; opening the store replays the journal over
  ``live.json``, so a commit costs the size of the change, not of the whole store.
  Commits are grouped: each is written at once, and one fsync in a background thread
  makes every line written so far durable; a transaction returns only when its own line
  is on disk, so many turns share one fsync and none blocks the others while it waits.
  Every 2,000 commits, once the journal has grown as large as ``live.json`` (so a
  store with years of history is rewritten no more often than its size warrants), the
  state is checkpointed: written to a new copy of
  ``live.json``, fsynced, renamed over the old one, and the journal emptied. A kill at
  any instant leaves a whole ``live.json`` (old or new) and a journal whose last,
  possibly torn, line is dropped: the previous or the new state, never a mixture.
- ``audit.jsonl`` -- the append-only audit trail, one JSON line per entry. Audit
  entries travel in the (fsynced) journal line of their commit too, so an entry lost to
  a crash is appended again when the store next opens; a checkpoint fsyncs this file
  before it sets the journal aside.
- ``policybot.lock`` -- held with ``flock`` while a process uses the directory.

TinyDB reads the data through a storage that keeps it in memory; writes go to the same
TinyDB layout (``{table: {doc_id: document}}``) directly, with a key index per table,
because TinyDB's own update path copies a whole table on every write.

All access goes through one asyncio lock; a `Transaction` holds it from its first
read to its commit, so two turns never interleave and a check-then-write is atomic.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fcntl
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from tinydb import TinyDB
from tinydb.storages import Storage

from bot.errors import DataDamaged, PolicybotError, StoreLocked, StoreUnavailable

LIVE = "live.json"
JOURNAL = "journal.jsonl"
# The journal up to a checkpoint in progress; deleted once live.json holds it.
PREVIOUS = "journal.prev.jsonl"
log = logging.getLogger("policybot.store")
AUDIT = "audit.jsonl"
LOCK = "policybot.lock"
META = "_meta"
CHECKPOINT_EVERY = 2000  # commits, and at least CHECKPOINT_SHARE of live.json's size in journal lines
CHECKPOINT_SHARE = 1.0
CHECKPOINT_BYTES = 8 * 1024 * 1024  # or this much journal (or live.json's size, if larger) whatever the count
DUMP_CHUNK = 500  # records encoded at a time when live.json is written
RECOVER_EVERY = 5.0  # seconds between tries of a disk that failed an fsync


class Requests(Protocol):
    """Requests being answered (bot/priority.py's Priority): a checkpoint gives way to them."""

    in_flight: int
    patience: float  # seconds work that can wait gives way, at most, at each step

    async def give_way(self) -> None: ...


class Conflict(Exception):
    """A record changed since it was read (its version moved on)."""


class _HeldStorage(Storage):
    """TinyDB storage that keeps the data in memory; the store persists it."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def read(self) -> dict[str, Any]:
        return self.data

    def write(self, data: dict[str, Any]) -> None:
        self.data = data


_compact = json.JSONEncoder(separators=(",", ":")).encode  # json.dumps(..., separators=...) builds an encoder on every call


def _dump(snapshot: dict[str, Any], fh: Any, pause: Callable[[], None] = lambda: None) -> None:
    """Write `snapshot` ({table: {doc id: record}}) as compact JSON, the text json.dump gives.

    A few hundred records at a time through the C encoder: json.dump's pure-Python encoder
    takes about three times as long in all, and encoding the whole store in one call
    would hold the interpreter (so every request) for all of it. Between pieces, `pause`
    lets requests go first.
    """
    fh.write("{")
    for t, (table, docs) in enumerate(snapshot.items()):
        fh.write(("," if t else "") + _compact(table) + ":{")
        items = list(docs.items())
        for start in range(0, len(items), DUMP_CHUNK):
            pause()
            fh.write(("," if start else "") + _compact(dict(items[start : start + DUMP_CHUNK]))[1:-1])
        fh.write("}")
    fh.write("}")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@dataclass(frozen=True)
class Damage:
    """One damaged place in the data folder: which file, which line (0: the whole file), what is wrong."""

    file: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.file}{f' line {self.line}' if self.line else ''}: {self.what}"


@dataclass
class Lines:
    """What a file of JSON lines (the journal, the audit trail) holds."""

    file: Path
    entries: list[dict[str, Any]] = field(default_factory=list)
    damage: list[Damage] = field(default_factory=list)
    count: int = 0  # whole lines, damaged ones included
    torn: int | None = None  # where an unfinished last line starts (bytes), if there is one

    def cut_torn(self) -> None:
        """Cut off an unfinished last line: a write nobody was told about (see `read_lines`)."""
        if self.torn is not None:
            with self.file.open("r+b") as fh:
                fh.truncate(self.torn)
                os.fsync(fh.fileno())
            self.torn = None


def read_lines(file: Path, problem: Callable[[Any], str]) -> Lines:
    """Read a file of JSON lines without changing it: its good entries, and every damaged line.

    Each line is written whole, newline included, in one write, and nobody is told a change
    is saved until its line is on disk; so a last line with no newline, at the very end, is
    one that was being written when policybot stopped (a crash, a power cut), which nobody
    was told about: it is noted in `torn`, for the caller to cut off. Any other line that
    is not JSON, or that `problem` finds fault with, is damage (a disk error, a hand edit):
    it is listed with its line number, and nothing after it is dropped.
    """
    lines = Lines(file)
    if not file.exists():
        return lines
    at = 0
    with file.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            if not raw.endswith(b"\n"):
                lines.torn = at
                break
            try:
                entry = json.loads(raw)
            except ValueError:  # UnicodeDecodeError too
                what = "is not a whole line of JSON (damaged or cut short)"
            else:
                what = problem(entry)
            if what:
                lines.damage.append(Damage(file.name, number, what))
            else:
                lines.entries.append(entry)
            lines.count += 1
            at += len(raw)
    return lines


def _change(write: Any) -> bool:
    return type(write) is list and len(write) == 3 and type(write[0]) is str and type(write[1]) is str and (write[2] is None or type(write[2]) is dict)


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


def audit_problem(entry: Any) -> str:
    """What is wrong with an audit line's JSON ("" if nothing)."""
    return "" if type(entry) is dict else "is not an audit entry"


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
    if type(data) is not dict or not all(type(docs) is dict and all(type(d) is dict for d in docs.values()) for docs in data.values()):
        return {}, Damage(file.name, 0, "is not policybot's tables of records")
    if type(data.get(META, {}).get("1", {}).get("seq", 0)) is not int:
        return {}, Damage(file.name, 0, "has no change number")
    return data, None


def lock_folder(path: Path) -> int:
    """Take the data folder for this process (creating it if need be); the descriptor holds the lock.

    Raises StoreLocked while another policybot uses it.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreUnavailable(f"policybot cannot use the data folder {path}: {exc.strerror}. Check it exists and can be written to.") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(f"Another policybot is already using the data folder {path}. Stop that one first, or give this one a different [storage] path.") from None
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    return fd


def _everything(_doc: dict[str, Any]) -> bool:
    return True


def _matching(match: dict[str, Any]) -> Callable[[dict[str, Any]], bool]:
    """Accepts records whose fields equal every value in `match`."""
    if len(match) == 1:  # the usual case, tested on every record of a table: no generator per record
        ((field, value),) = match.items()
        return lambda doc: doc.get(field) == value
    fields, values = tuple(match), tuple(match.values())
    return lambda doc: tuple(doc.get(f) for f in fields) == values


class Store:
    """Keyed JSON records in named tables; `path=None` keeps everything in memory."""

    def __init__(self, path: Path | str | None = None, *, held: int | None = None) -> None:
        """Open the data folder at `path` (None: keep everything in memory).

        `held`: a descriptor from `lock_folder` this process already holds (the store then owns it).
        """
        self.path = Path(path) if path is not None else None
        self.lock = asyncio.Lock()
        self._lock_fd: int | None = None
        self._audit: list[dict[str, Any]] = []
        self._index: dict[str, dict[str, str]] = {}
        # {table: {field: {value: {doc_id: None}}}}: built by the first `find` on that field,
        # then kept up to date by every write, so finding the few open items among years
        # of closed ones does not read them all.
        self._by_field: dict[str, dict[str, dict[Any, dict[str, None]]]] = {}
        self._next_doc: dict[str, int] = {}
        self._journal: Any = None
        self._journal_size = 0
        self._live_size = 0  # bytes in live.json as last written
        self._live_lock = threading.Lock()
        self._live_seq = -1  # the state live.json holds
        self._audit_unwritten: list[dict[str, Any]] = []
        self._since_checkpoint = 0
        self._checkpoint_task: asyncio.Task[None] | None = None
        self.seq = 0
        self._durable = 0  # the last commit known to be on disk
        self._syncing: asyncio.Future[None] | None = None
        self._sync_waiters: list[asyncio.Future[None]] = []  # woken after each fsync
        self._alarm: asyncio.TimerHandle | None = None  # wakes them by the earliest deadline of a `sync(within=)`
        self.requests: Requests | None = None  # set by the core: checkpoints give way to requests
        self._failed = ""  # why the disk cannot be trusted any more (a failed fsync), until `_recover` succeeds
        self._durable_bytes = 0  # how much of journal.jsonl is known to be on disk
        self._journal_generation = 0  # moves on each time a checkpoint sets journal.jsonl aside
        self._lost: list[tuple[int, int]] = []  # ranges of commits undone after a failed fsync: never reported saved
        self._undoing: tuple[int, int] | None = None  # the range the failure now being recovered from undoes
        self._retry_at = 0.0  # (monotonic) when `_recover` may next try the disk
        self._troubled = False  # a commit was refused and none has been written since
        # Told (by the core) when the store starts refusing changes, with why, and with "" once it writes again.
        self.trouble: Callable[[str], None] | None = None
        data: dict[str, Any] = {}
        if self.path is not None:
            if held is None:
                self._take_lock(self.path)
            else:
                self._lock_fd = held
            try:
                data = self._load(self.path)
            except BaseException:
                self._release_lock()
                raise
        self._durable = self.seq
        if self.path is not None and (self.path / JOURNAL).exists():
            self._durable_bytes = (self.path / JOURNAL).stat().st_size  # what opening read back is on disk
        self.db = TinyDB(storage=_HeldStorage, data=data)
        self.data: dict[str, Any] = self.db.storage.read()  # type: ignore[attr-defined]

    # ---- opening -------------------------------------------------------------

    def _take_lock(self, path: Path) -> None:
        self._lock_fd = lock_folder(path)

    def _load(self, path: Path) -> dict[str, Any]:
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
                lines.cut_torn()
        except OSError as exc:
            raise StoreUnavailable(f"policybot cannot use the data folder {path}: {exc.strerror}. Check it exists and can be written to.") from None
        self.seq = data.get(META, {}).get("1", {}).get("seq", 0)
        self._live_seq = self.seq if live.exists() else -1
        self._live_size = live.stat().st_size if live.exists() else 0
        self._rebuild_index(data)
        journal = previous.entries + current.entries
        self._audit = audit.entries
        have = {(e.get("seq"), e.get("n")) for e in self._audit}
        missing = []
        for line in journal:
            for n, entry in enumerate(line.get("audit", [])):
                if (line["seq"], n) not in have:
                    missing.append({"seq": line["seq"], "n": n, **entry})
            if line["seq"] <= self.seq:
                continue  # already in live.json (a crash after a checkpoint, before the journal was emptied)
            for table, key, doc in line["writes"]:
                self._put_raw(data, table, key, doc)
            self.seq = line["seq"]
        self._since_checkpoint = len(journal)
        if missing:
            self._append_audit(missing)
        return data

    def _rebuild_index(self, data: dict[str, Any]) -> None:
        self._index = {}
        self._by_field = {}
        self._next_doc = {}
        for name, docs in data.items():
            if name == META:
                continue
            self._index[name] = {doc["_key"]: doc_id for doc_id, doc in docs.items() if "_key" in doc}
            self._next_doc[name] = max((int(i) for i in docs), default=0) + 1

    async def close(self) -> None:
        """Checkpoint, then release the data folder for another process."""
        if self._alarm is not None:
            self._alarm.cancel()
        if self._checkpoint_task is not None:
            await self._checkpoint_task
        if self._failed:
            with contextlib.suppress(StoreUnavailable):
                self._recover(force=True)  # a last try, so no change the disk may have lost is checkpointed
        with contextlib.suppress(StoreUnavailable):
            await self.sync()
        if self.path is not None and self._lock_fd is not None and self._since_checkpoint:
            with contextlib.suppress(StoreUnavailable):
                self.checkpoint()
        with contextlib.suppress(StoreUnavailable):
            self._close_journal()
        self._release_lock()

    def _release_lock(self) -> None:
        if self._lock_fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._lock_fd, fcntl.LOCK_UN)
                os.close(self._lock_fd)
            self._lock_fd = None

    # ---- reading (callers hold `lock`, normally through a Transaction) ------------

    def _raw(self, table: str, key: str) -> dict[str, Any] | None:
        doc_id = self._index.get(table, {}).get(key)
        if doc_id is None:
            return None
        return self.data[table][doc_id]

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """A copy of one record, or None."""
        doc = self._raw(table, key)
        return _public(doc) if doc is not None else None

    def all(self, table: str) -> list[dict[str, Any]]:
        """Copies of every record in a table, oldest first."""
        return self.where(table, _everything)

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        """Records whose fields equal every value given, oldest first.

        The first field given is indexed (from the first `find` on it), so only the records
        with that value are looked at: put the most selective field first.
        """
        if not match or table == META:
            return self.where(table, _matching(match))
        field, value = next(iter(match.items()))
        try:
            ids = self._field_index(table, field).get(value, {})
        except TypeError:  # a value that cannot be a dict key (a list): look at every record
            return self.where(table, _matching(match))
        docs = self.data.get(table, {})
        keep = _matching(match)
        found = [docs[i] for i in sorted(ids, key=int)]
        return [_public(d) for d in found if keep(d)]

    def _field_index(self, table: str, field: str) -> dict[Any, dict[str, None]]:
        fields = self._by_field.setdefault(table, {})
        index = fields.get(field)
        if index is None:
            index = fields[field] = {}
            for doc_id, doc in self.data.get(table, {}).items():
                _index_add(index, doc.get(field), doc_id)
        return index

    def where(self, table: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Copies of the records `keep` accepts; only those are copied, so a scan of a long table stays cheap."""
        docs = self.data.get(table, {}) if table != META else {}
        return [_public(d) for d in docs.values() if keep(d)]

    def keys(self, table: str, keep: Callable[[dict[str, Any]], bool] = _everything, order: str = "") -> list[str]:
        """The keys of the records `keep` accepts (sorted by the field `order`, if given), copying nothing."""
        docs = self.data.get(table, {}) if table != META else {}
        found = [d for d in docs.values() if keep(d)]
        if order:
            found.sort(key=lambda d: d[order])
        return [d["_key"] for d in found]

    def count(self, table: str) -> int:
        return len(self._index.get(table, {}))

    def audit(self, **match: Any) -> list[dict[str, Any]]:
        """Audit entries matching every value given, oldest first."""
        return [dict(e) for e in self._audit if all(e.get(k) == v for k, v in match.items())]

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
        seq = self._commit(tx)
        self._checkpoint_if_due()
        return seq

    def _commit(self, tx: Transaction) -> int:
        """Apply a transaction and write its journal line; the seq to `sync` to (0: nothing written)."""
        if not tx.writes and not tx.audits:
            return 0
        if self._failed and not self._recover():
            self._refused(self._failed)
            raise StoreUnavailable(self._failed)
        seq = self.seq + 1
        writes = [[table, key, doc] for (table, key), doc in tx.writes.items()]
        audits = [{"seq": seq, "n": n, **e} for n, e in enumerate(tx.audits)]
        lines: list[str] = []
        if self.path is not None:
            # Each audit entry is encoded once, for the journal line and the audit file both.
            lines = [_compact(e) for e in audits]
            self._journal_append(f'{{"seq":{seq},"writes":{_compact(writes)},"audit":[{",".join(lines)}]}}')
            if self._troubled:
                self._troubled = False
                if self.trouble is not None:
                    self.trouble("")
        for table, key, doc in writes:
            self._put_raw(self.data, table, key, doc)
        self.seq = seq
        if self.path is None:
            self._durable = seq
        if audits:
            self._append_audit(audits, lines)
        self._since_checkpoint += 1
        return seq

    async def sync(self, upto: int | None = None, within: float | None = None) -> bool:
        """Wait until every commit up to `upto` (by default, every commit so far) is on disk.

        One fsync covers every line written before it started, so turns that commit at
        the same time share it. Raises StoreUnavailable if the disk failed to keep them.
        With `within` (seconds), gives up waiting after that long and returns False: the
        commit is written all the same, and the disk has it once the fsync under way ends.
        """
        target = self.seq if upto is None else upto
        loop = asyncio.get_running_loop()
        deadline = None if within is None else loop.time() + within
        while self._durable < target or self._undone(target):
            if self._failed or self._undone(target):
                raise StoreUnavailable(self._failed or f"could not save to {self.path}: the disk failed before this change was saved")
            if deadline is not None:
                if loop.time() >= deadline:
                    return False
                self._wake_by(deadline)
            # Each waiter has its own future, so one given up (a timeout) stops nobody else's wait.
            waiter = loop.create_future()
            self._sync_waiters.append(waiter)
            if self._syncing is None:
                self._syncing = asyncio.ensure_future(self._fsync_journal())
            await waiter
        return True

    def _undone(self, seq: int) -> bool:
        """True for a commit undone after a failed fsync (see `_recover`): it must never be reported saved."""
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
        waiters, self._sync_waiters = self._sync_waiters, []
        for waiter in waiters:  # each checks whether its commit is covered, else waits again
            if not waiter.done():
                waiter.set_result(None)

    async def _fsync_journal(self) -> None:
        upto, size, generation = self.seq, self._journal_size, self._journal_generation
        try:
            if self._journal is not None:
                # A copy of the descriptor: a checkpoint may close the journal meanwhile.
                fd = os.dup(self._journal.fileno())
                try:
                    await asyncio.to_thread(os.fsync, fd)
                finally:
                    os.close(fd)
            # (No journal open: the checkpoint that closed it made it durable first.)
            if self._failed:
                return  # failed meanwhile: a later "success" proves nothing
            self._durable = max(self._durable, upto)
            if generation == self._journal_generation:
                self._durable_bytes = max(self._durable_bytes, size)
        except OSError as exc:
            self._give_up(exc)
        finally:
            self._syncing = None
            self._wake_waiters()

    def _give_up(self, exc: BaseException) -> StoreUnavailable:
        """After a failed fsync (or a line that cannot be cut off) nobody can say what reached
        the disk (Linux may drop the unwritten pages and report the error only once): refuse
        every change from now on, so nothing more is acknowledged, until `_recover` has put
        the disk back to the last state known to be on it."""
        why = getattr(exc, "strerror", None) or str(exc)
        if not self._failed and self.seq > self._durable:
            self._undoing = (self._durable + 1, self.seq)
            self._lost.append(self._undoing)
        self._failed = f"could not save to {self.path}: {why}. Nothing is saved until the disk can be written again."
        log.error("the disk did not keep policybot's latest changes (%s); refusing every change until it can be written again", why)
        self._refused(why)
        return StoreUnavailable(self._failed)

    def _refused(self, why: str) -> None:
        if not self._troubled:
            self._troubled = True
            if self.trouble is not None:
                self.trouble(why)

    async def recover(self) -> None:
        """If the store is refusing changes after a failed fsync, try the disk again now (the scheduler calls this on each tick)."""
        if not self._failed:
            return
        with contextlib.suppress(StoreUnavailable):  # still failing: the log says so, and the next try comes
            async with self.lock:
                recovered = bool(self._failed) and self._recover(force=True)
            if recovered:
                await self.sync()

    def _recover(self, force: bool = False) -> bool:
        """After a failed fsync: once the disk can be written again, go back to the last state
        known to be on it, as a restart would, and carry on without one.

        The journal is cut back to what its last successful fsync covered, and everything is
        read again from the disk. The commits after that point were never reported saved
        (each person was told nothing changed): they are undone, their numbers are not used
        again, and the audit trail records that they did not happen. Tried at most every
        RECOVER_EVERY seconds (each try costs a write and an fsync), under the store's lock.
        """
        if self.path is None or (not force and time.monotonic() < self._retry_at):
            return False
        self._retry_at = time.monotonic() + RECOVER_EVERY
        if not self._live_lock.acquire(blocking=False):
            return False  # a checkpoint's thread is still writing live.json: next time
        try:
            journal, self._journal = self._journal, None
            if journal is not None:
                with contextlib.suppress(OSError, ValueError):
                    journal.close()
            try:
                if (self.path / JOURNAL).exists():
                    with (self.path / JOURNAL).open("r+b") as fh:
                        if fh.seek(0, os.SEEK_END) > self._durable_bytes:  # (never longer: that would add zeros)
                            fh.truncate(self._durable_bytes)
                        os.fsync(fh.fileno())
                _fsync_dir(self.path)
            except OSError as exc:
                log.warning("the disk still cannot be written (%s); policybot keeps refusing changes", exc.strerror)
                return False
            lo, hi = self._undoing or (0, -1)
            lost = [e for e in self._audit if lo <= e.get("seq", 0) <= hi]
            written = self.seq
            kept = (self.seq, self._index, self._by_field, self._next_doc, self._audit, self._live_seq, self._live_size, self._since_checkpoint, self._audit_unwritten)
            self._audit_unwritten = []  # entries not yet in audit.jsonl are in the journal, or undone
            try:
                data = self._load(self.path)
            except (OSError, PolicybotError) as exc:
                (self.seq, self._index, self._by_field, self._next_doc, self._audit, self._live_seq, self._live_size, self._since_checkpoint, self._audit_unwritten) = kept
                log.error("after the disk failed, its data could not be read back (%s); policybot keeps refusing changes", exc)
                return False
            self.data.clear()
            self.data.update(data)
            self.seq = max(self.seq, written)  # the undone commits' numbers are never used again
            self._durable = self.seq
            self._durable_bytes = (self.path / JOURNAL).stat().st_size if (self.path / JOURNAL).exists() else 0
            self._failed = ""
            self._undoing = None
        finally:
            self._live_lock.release()
        undone = "" if hi < lo else f"{lo}" if lo == hi else f"{lo} to {hi}"
        log.warning("the disk can be written again: policybot is saving changes again (changes %s were not saved and are undone)", undone or "none")
        tx = Transaction(self)
        for e in lost:
            tx.audit("policybot", "not_saved", str(e.get("record")), detail=f"{e.get('action')} by {e.get('actor')} (change {e.get('seq')}) did not happen: the disk failed before it was saved")
        tx.audit("policybot", "store_recovered", "data folder", detail=f"the disk can be written again; changes not saved and undone: {undone or 'none'}")
        self._commit(tx)
        return True

    def _checkpoint_if_due(self) -> None:
        """After a commit: start a checkpoint in the background if one is due and none is running."""
        running = self._checkpoint_task is not None and not self._checkpoint_task.done()
        if self.checkpoint_due() and not running:
            self._checkpoint_task = asyncio.create_task(self._checkpoint_in_background())

    def checkpoint_due(self) -> bool:
        if self.path is None or self._journal is None:
            return False
        # Writing live.json costs its whole size, so a large store (years of records) is
        # checkpointed less often: each commit's share of that cost stays the same, and
        # the journal to replay on opening stays about the size of live.json.
        if self._journal_size > max(CHECKPOINT_BYTES, self._live_size):
            return True
        return self._since_checkpoint >= CHECKPOINT_EVERY and self._journal_size >= self._live_size * CHECKPOINT_SHARE

    def _put_raw(self, data: dict[str, Any], table: str, key: str, doc: dict[str, Any] | None) -> None:
        docs = data.setdefault(table, {})
        index = self._index.setdefault(table, {})
        doc_id = index.get(key)
        fields = self._by_field.get(table)
        if fields and doc_id is not None:
            old = docs.get(doc_id, {})
            for field, by_value in fields.items():
                _index_remove(by_value, old.get(field), doc_id)
        if doc is None:
            if doc_id is not None:
                docs.pop(doc_id, None)
                del index[key]
            return
        if doc_id is None:
            n = self._next_doc.get(table, 1)
            self._next_doc[table] = n + 1
            doc_id = str(n)
            index[key] = doc_id
        # A copy, so nothing the caller still holds can change a stored record; records
        # are replaced, never changed in place, which lets a checkpoint write a snapshot.
        stored = clone(doc)  # a new dict: the key is added to it without a second copy
        stored["_key"] = key
        docs[doc_id] = stored
        if fields:
            for field, by_value in fields.items():
                _index_add(by_value, doc.get(field), doc_id)

    def _journal_append(self, line: str) -> None:
        """Write one commit's line (JSON text) to the journal."""
        assert self.path is not None
        data = (line + "\n").encode("utf-8")
        if self._journal is None:
            try:
                # Unbuffered: each line is one write(2), in the file before this returns.
                self._journal = (self.path / JOURNAL).open("ab", buffering=0)
                self._journal_size = self._journal.seek(0, os.SEEK_END)
            except OSError as exc:
                self._refused(exc.strerror or str(exc))
                raise StoreUnavailable(f"could not save to {self.path}: {exc.strerror}") from None
        journal = self._journal
        start = self._journal_size
        try:
            written = journal.write(data)  # durable at the next `sync`
            if written != len(data):
                raise OSError(28, "No space left on device")
            self._journal_size = start + written
        except OSError as exc:
            # Leave no partial line behind: the commit did not happen. The lines before it
            # may still wait for their fsync, so the journal is made durable as it closes.
            try:
                journal.truncate(start)
                journal.seek(start)
            except (OSError, ValueError):
                self._give_up(exc)  # a torn line would stay in the middle of the journal
            with contextlib.suppress(StoreUnavailable):
                self._close_journal()
            self._refused(exc.strerror or str(exc))
            raise StoreUnavailable(f"could not save to {self.path}: {exc.strerror}") from None

    def _close_journal(self) -> None:
        """Make every journal line durable, then close the file (a later commit opens a new one)."""
        journal, self._journal = self._journal, None
        if journal is None:
            return
        if self._failed:  # a second fsync may "succeed" with the lost pages still lost: only `_recover` says what is on disk
            with contextlib.suppress(OSError, ValueError):
                journal.close()
            raise StoreUnavailable(self._failed)
        try:
            try:
                os.fsync(journal.fileno())
            finally:
                journal.close()
        except (OSError, ValueError) as exc:
            raise self._give_up(exc) from None
        self._durable = self.seq
        self._durable_bytes = self._journal_size

    def checkpoint(self) -> None:
        """Write the whole state to ``live.json`` (atomically) and empty the journal."""
        snapshot = self._snapshot()
        if snapshot is not None:
            self._write_live(snapshot)

    def _snapshot(self) -> dict[str, Any] | None:
        """The state to checkpoint, taken under the lock; later commits go to a fresh journal.

        Copying each table's dict is cheap (records are shared, never changed in place),
        so the slow part, writing live.json, can run without holding up anyone.
        """
        if self.path is None:
            return None
        if self._failed:
            raise StoreUnavailable(self._failed)  # never checkpoint changes the disk may not have kept
        if self._audit_unwritten:
            # Those entries live only in the journal: keep it until they are written.
            pending, self._audit_unwritten = self._audit_unwritten, []
            self._audit = self._audit[: len(self._audit) - len(pending)]
            self._append_audit(pending)
            if self._audit_unwritten:
                raise StoreUnavailable(f"could not write the audit trail in {self.path}")
        snapshot = {table: dict(docs) for table, docs in self.data.items() if table != META}
        snapshot[META] = {"1": {"seq": self.seq, "saved_at": datetime.now(UTC).isoformat(timespec="seconds")}}
        journal, previous = self.path / JOURNAL, self.path / PREVIOUS
        try:
            # The journal and the audit lines it carries must be on disk before it is set aside.
            self._close_journal()
            if (self.path / AUDIT).exists():
                with (self.path / AUDIT).open("ab") as fh:
                    os.fsync(fh.fileno())
            if previous.exists():
                # An earlier checkpoint did not finish: keep its journal and add this one to it.
                if journal.exists():
                    with previous.open("ab") as fh:
                        fh.write(journal.read_bytes())
                        fh.flush()
                        os.fsync(fh.fileno())
                    journal.unlink()
            elif journal.exists():
                os.replace(journal, previous)
            self._journal_generation += 1
            self._durable_bytes = 0
            _fsync_dir(self.path)
        except OSError as exc:
            raise StoreUnavailable(f"could not save to {self.path}: {exc.strerror}") from None
        self._since_checkpoint = 0
        return snapshot

    def _pause_for_requests(self) -> None:
        """In a checkpoint's thread, between pieces: wait (as long as any work that can wait
        would, at most) while requests are answered."""
        waited = 0.0
        while self.requests is not None and self.requests.in_flight and waited < self.requests.patience:
            time.sleep(0.005)
            waited += 0.005

    def _write_live(self, snapshot: dict[str, Any], pause: Callable[[], None] = lambda: None) -> None:
        """Write a snapshot to live.json atomically, then drop the journal it covers."""
        assert self.path is not None
        with self._live_lock:  # one writer of live.json at a time, and never an older state over a newer
            seq = snapshot[META]["1"]["seq"]
            if seq <= self._live_seq:
                return
            self._write_live_file(snapshot, pause)
            self._live_seq = seq

    def _write_live_file(self, snapshot: dict[str, Any], pause: Callable[[], None]) -> None:
        assert self.path is not None
        live = self.path / LIVE
        tmp = self.path / (LIVE + ".tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                _dump(snapshot, fh, pause)
                fh.flush()
                os.fsync(fh.fileno())
                size = fh.tell()
            os.replace(tmp, live)
            self._live_size = size
            _fsync_dir(self.path)
            (self.path / PREVIOUS).unlink(missing_ok=True)
            _fsync_dir(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreUnavailable(f"could not save to {self.path}: {exc.strerror}") from None

    async def _checkpoint_in_background(self) -> None:
        """Take a snapshot at a gap between requests (under the lock), then write it in a
        thread while everyone carries on, giving way to requests between its pieces."""
        try:
            if self.requests is not None:
                await self.requests.give_way()
            async with self.lock:
                snapshot = self._snapshot() if self.checkpoint_due() else None
            if snapshot is not None:
                await asyncio.to_thread(self._write_live, snapshot, self._pause_for_requests)
        except StoreUnavailable as exc:
            # Nothing is lost: the journal holds every change until a checkpoint succeeds.
            log.warning("checkpoint not written yet (%s); the journal keeps every change meanwhile", exc)

    def _append_audit(self, entries: list[dict[str, Any]], lines: list[str] | None = None) -> None:
        """Add entries to the audit trail; `lines` are their JSON texts, when already encoded."""
        self._audit.extend(entries)
        if self.path is None:
            return
        try:
            # Not fsynced here: the journal line holds these entries, and a checkpoint
            # fsyncs this file before that journal is set aside.
            with (self.path / AUDIT).open("a", encoding="utf-8") as fh:
                fh.write("".join(line + "\n" for line in lines or map(_compact, entries)))
        except OSError:
            # The entries are in the journal; they are written at the next checkpoint or
            # when the store next opens, and the journal is kept until they are.
            self._audit_unwritten.extend(entries)


_SCALARS = frozenset({str, int, float, bool, type(None)})


def clone(value: Any) -> Any:
    """A deep copy of JSON-like data (dicts, lists, scalars), several times faster than copy.deepcopy.

    Scalars inside a dict or list are taken as they are, without a call each: most of a
    record is scalars, and this runs for every record read.
    """
    kind = type(value)
    if kind is dict:
        return {k: v if type(v) in _SCALARS else clone(v) for k, v in value.items()}
    if kind is list:
        return [v if type(v) in _SCALARS else clone(v) for v in value]
    if kind in _SCALARS:
        return value
    # Subclasses (an OrderedDict, a str enum...), and anything else.
    if isinstance(value, dict):
        return {k: clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clone(v) for v in value]
    if isinstance(value, (str, int, float, bool)):
        return value
    return copy.deepcopy(value)


def _index_add(by_value: dict[Any, dict[str, None]], value: Any, doc_id: str) -> None:
    with contextlib.suppress(TypeError):  # a list or dict value is never what a `find` asks for
        by_value.setdefault(value, {})[doc_id] = None


def _index_remove(by_value: dict[Any, dict[str, None]], value: Any, doc_id: str) -> None:
    with contextlib.suppress(TypeError):
        ids = by_value.get(value)
        if ids is not None:
            ids.pop(doc_id, None)
            if not ids:
                del by_value[value]


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    out = clone(doc)
    out.pop("_key", None)
    return out


class Transaction:
    """Reads that see this transaction's own writes, and one atomic commit at the end.

    Leaving the block normally commits every `put`, `delete` and `audit` together;
    an exception discards them all. Holding the store's lock throughout means a
    record read here cannot change before the commit. Leaving the block then waits,
    outside the lock, until the commit is on disk: a caller cancelled during that wait
    (a timeout) has still committed, so it must not treat the change as not made.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writes: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.audits: list[dict[str, Any]] = []

    async def __aenter__(self) -> Transaction:
        await self.store.lock.acquire()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        store = self.store
        seq = 0
        try:
            if exc_type is None:
                seq = store._commit(self)
                store._checkpoint_if_due()
        finally:
            store.lock.release()
        if seq:
            # Outside the lock: others commit meanwhile and share the same fsync.
            await store.sync(seq)

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        if (table, key) in self.writes:
            doc = self.writes[(table, key)]
            return clone(doc) if doc is not None else None
        return self.store.get(table, key)

    def all(self, table: str) -> list[dict[str, Any]]:
        return self.where(table, _everything)

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        return self._overlay(table, self.store.find(table, **match), _matching(match))

    def where(self, table: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The records `keep` accepts, including this transaction's own writes."""
        return self._overlay(table, self.store.where(table, keep), keep)

    def _overlay(self, table: str, stored: list[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """`stored` (what the store holds) with this transaction's own writes in place."""
        rows = {d["id"]: d for d in stored}
        for (t, key), doc in self.writes.items():
            if t == table:
                if doc is None or not keep(doc):
                    rows.pop(key, None)
                else:
                    rows[key] = clone(doc)
        return list(rows.values())

    def put(self, table: str, key: str, doc: dict[str, Any], *, expect_version: int | None = None) -> dict[str, Any]:
        """Write a record; it gains `id` and a `version` one above the stored one."""
        current = self.get(table, key)
        version = (current or {}).get("version", 0)
        if expect_version is not None and version != expect_version:
            raise Conflict(f"{table}/{key} is at version {version}, not {expect_version}")
        doc = {**doc, "id": key, "version": version + 1}
        self.writes[(table, key)] = doc
        return doc

    def delete(self, table: str, key: str) -> None:
        self.writes[(table, key)] = None

    def next_id(self, counter: str, count: int = 1) -> int:
        """The next number of a counter (applications, incidents...), starting at 1.

        With `count`, takes that many numbers at once and returns the first of them.
        """
        doc = self.get("counters", counter) or {"value": 0}
        first = int(doc["value"]) + 1
        self.put("counters", counter, {"value": first + count - 1})
        return first

    def audit(
        self,
        actor: str,
        action: str,
        record: str,
        *,
        before: str | None = None,
        after: str | None = None,
        at: datetime | None = None,
        detail: str = "",
    ) -> None:
        """Append an audit entry: who did what to which record, when, status before/after."""
        self.audits.append(
            {
                "at": (at or datetime.now(UTC)).isoformat(timespec="seconds"),
                "actor": actor,
                "action": action,
                "record": record,
                "before": before,
                "after": after,
                "detail": detail,
            }
        )


def iter_tables(store: Store) -> Iterator[str]:
    """Names of the tables that hold records."""
    return (t for t in sorted(store.data) if t != META)
