"""Transaction: reads that see their own writes, and one atomic commit at the end."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from bot.store.tables import clone, everything, matching

if TYPE_CHECKING:  # the store makes transactions; a transaction commits through its store
    from bot.store.store import Store


class Conflict(Exception):
    """A record changed since it was read (its version moved on)."""


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
                seq = store.commit(self)
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
        return self.where(table, everything)

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        return self._overlay(table, self.store.find(table, **match), matching(match))

    def where(self, table: str, keep: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """The records `keep` accepts, including this transaction's own writes."""
        return self._overlay(table, self.store.where(table, keep), keep)

    def _overlay(
        self, table: str, stored: list[dict[str, Any]], keep: Callable[[dict[str, Any]], bool]
    ) -> list[dict[str, Any]]:
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
