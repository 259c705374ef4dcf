"""The store: tables of JSON records in TinyDB, written crash-safely, with an audit trail.

Layout of the data directory:
- ``live.json`` -- a TinyDB file with every table. Each commit writes a new copy
  beside it, fsyncs it and renames it over the old one, so a kill at any instant
  leaves either the previous or the new state, never a torn file.
- ``audit.jsonl`` -- the append-only audit trail, one fsynced JSON line per entry.
  The entries of a commit travel inside ``live.json`` too, so an audit line lost to a
  crash between the two writes is appended again when the store next opens.
- ``policybot.lock`` -- held with ``flock`` while a process uses the directory.

All access goes through one asyncio lock; a `Transaction` holds it from its first
read to its commit, so two turns never interleave and a check-then-write is atomic.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import fcntl
import json
import os
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document

from bot.errors import StoreLocked, StoreUnavailable

LIVE = "live.json"
AUDIT = "audit.jsonl"
LOCK = "policybot.lock"
META = "_meta"


class Conflict(Exception):
    """A record changed since it was read (its version moved on)."""


class _HeldStorage(Storage):
    """TinyDB storage that keeps the data in memory and writes only when told to."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def read(self) -> dict[str, Any]:
        return self.data

    def write(self, data: dict[str, Any]) -> None:
        self.data = data


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Store:
    """Keyed JSON records in named tables; `path=None` keeps everything in memory."""

    def __init__(self, path: Path | str | None = None) -> None:
        path = Path(path) if path is not None else None
        self.path = path
        self.lock = asyncio.Lock()
        self._lock_fd: int | None = None
        self._audit: list[dict[str, Any]] = []
        self._index: dict[str, dict[str, int]] = {}
        data: dict[str, Any] = {}
        if path is not None:
            self._take_lock(path)
            data = self._load(path)
        self.db = TinyDB(storage=_HeldStorage, data=data)
        self._build_index()

    # ---- opening -------------------------------------------------------------

    def _take_lock(self, path: Path) -> None:
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
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._lock_fd = fd

    def _load(self, path: Path) -> dict[str, Any]:
        live = path / LIVE
        (path / (LIVE + ".tmp")).unlink(missing_ok=True)  # an unfinished commit: the old file stands
        data: dict[str, Any] = {}
        if live.exists():
            try:
                data = json.loads(live.read_text(encoding="utf-8"))
            except (ValueError, UnicodeDecodeError):
                raise StoreUnavailable(f"The data file {live} is damaged and cannot be read. Restore it from your backup.") from None
        self._audit = self._load_audit(path / AUDIT)
        meta = data.get(META, {}).get("1", {})
        last = self._audit[-1]["seq"] if self._audit else 0
        missing = [e for e in meta.get("pending_audit", []) if e["seq"] > last]
        if missing:
            self._append_audit(missing)
        return data

    def _load_audit(self, file: Path) -> list[dict[str, Any]]:
        if not file.exists():
            return []
        entries = []
        good = 0
        with file.open("rb") as fh:
            for line in fh:
                try:
                    entries.append(json.loads(line))
                except ValueError:
                    break  # a line torn by a crash: everything before it stands
                good += len(line)
        if good != file.stat().st_size:
            with file.open("r+b") as fh:
                fh.truncate(good)
                os.fsync(fh.fileno())
        return entries

    def _build_index(self) -> None:
        self._index = {}
        for name in self.db.tables():
            table = self.db.table(name, cache_size=0)
            self._index[name] = {doc["_key"]: doc.doc_id for doc in table.all() if "_key" in doc}

    async def close(self) -> None:
        """Release the data folder for another process."""
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
        return self.db.table(table, cache_size=0).get(doc_id=doc_id)

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        """A copy of one record, or None."""
        doc = self._raw(table, key)
        return _public(doc) if doc is not None else None

    def all(self, table: str) -> list[dict[str, Any]]:
        """Copies of every record in a table, oldest first."""
        if table not in self._index:
            return []
        return [_public(d) for d in self.db.table(table, cache_size=0).all()]

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        """Records whose fields equal every value given."""
        return [d for d in self.all(table) if all(d.get(k) == v for k, v in match.items())]

    def audit(self, **match: Any) -> list[dict[str, Any]]:
        """Audit entries matching every value given, oldest first."""
        return [dict(e) for e in self._audit if all(e.get(k) == v for k, v in match.items())]

    # ---- writing -------------------------------------------------------------

    def transaction(self) -> Transaction:
        """Start a transaction: `async with store.transaction() as tx: ...`."""
        return Transaction(self)

    def _commit(self, tx: Transaction) -> None:
        if not tx.writes and not tx.audits:
            return
        undo: list[tuple[str, str, dict[str, Any] | None]] = []
        meta_table = self.db.table(META, cache_size=0)
        old_meta = meta_table.get(doc_id=1)
        seq = (old_meta or {}).get("seq", 0)
        entries = []
        for entry in tx.audits:
            seq += 1
            entries.append({"seq": seq, **entry})
        try:
            for (table, key), doc in tx.writes.items():
                undo.append((table, key, self._raw(table, key)))
                self._apply(table, key, doc)
            meta_table.upsert(Document({"seq": seq, "pending_audit": entries}, doc_id=1))
            self._persist()
        except Exception:
            for table, key, before in reversed(undo):
                self._apply(table, key, before)
            if old_meta is None:
                meta_table.remove(doc_ids=[1])
            else:
                meta_table.upsert(Document(old_meta, doc_id=1))
            raise
        if entries:
            self._append_audit(entries)

    def _apply(self, table: str, key: str, doc: dict[str, Any] | None) -> None:
        t = self.db.table(table, cache_size=0)
        index = self._index.setdefault(table, {})
        doc_id = index.get(key)
        if doc is None:
            if doc_id is not None:
                t.remove(doc_ids=[doc_id])
                del index[key]
            return
        if doc_id is None:
            doc_id = t.insert({**doc, "_key": key})
            index[key] = doc_id
        else:
            t.upsert(Document({**doc, "_key": key}, doc_id=doc_id))

    def _persist(self) -> None:
        if self.path is None:
            return
        data = self.db.storage.read()  # type: ignore[attr-defined]
        live = self.path / LIVE
        tmp = self.path / (LIVE + ".tmp")
        try:
            with tmp.open("w", encoding="utf-8") as fh:
                json.dump(data, fh, separators=(",", ":"))
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, live)
            _fsync_dir(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise StoreUnavailable(f"could not save to {self.path}: {exc.strerror}") from None

    def _append_audit(self, entries: list[dict[str, Any]]) -> None:
        self._audit.extend(entries)
        if self.path is None:
            return
        try:
            with (self.path / AUDIT).open("a", encoding="utf-8") as fh:
                for e in entries:
                    fh.write(json.dumps(e, separators=(",", ":")) + "\n")
                fh.flush()
                os.fsync(fh.fileno())
        except OSError:
            # The entries are kept in live.json and appended when the store next opens.
            pass


def _public(doc: dict[str, Any]) -> dict[str, Any]:
    out = copy.deepcopy(dict(doc))
    out.pop("_key", None)
    return out


class Transaction:
    """Reads that see this transaction's own writes, and one atomic commit at the end.

    Leaving the block normally commits every `put`, `delete` and `audit` together;
    an exception discards them all. Holding the store's lock throughout means a
    record read here cannot change before the commit.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.writes: dict[tuple[str, str], dict[str, Any] | None] = {}
        self.audits: list[dict[str, Any]] = []

    async def __aenter__(self) -> Transaction:
        await self.store.lock.acquire()
        return self

    async def __aexit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self.store._commit(self)
        finally:
            self.store.lock.release()

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        if (table, key) in self.writes:
            doc = self.writes[(table, key)]
            return copy.deepcopy(doc) if doc is not None else None
        return self.store.get(table, key)

    def all(self, table: str) -> list[dict[str, Any]]:
        found = {d["id"]: d for d in self.store.all(table)}
        for (t, key), doc in self.writes.items():
            if t == table:
                if doc is None:
                    found.pop(key, None)
                else:
                    found[key] = copy.deepcopy(doc)
        return list(found.values())

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        return [d for d in self.all(table) if all(d.get(k) == v for k, v in match.items())]

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

    def next_id(self, counter: str) -> int:
        """The next number of a counter (applications, incidents...), starting at 1."""
        doc = self.get("counters", counter) or {"value": 0}
        value = int(doc["value"]) + 1
        self.put("counters", counter, {"value": value})
        return value

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
    return (t for t in sorted(store.db.tables()) if t != META)
