"""A front end's own records: the few tables it keeps for itself, and nothing else of the store.

A front end keeps things only it understands: how to reach a person later (a platform's
conversation reference), the copies of a card it sent (to update them), the full text of a
shortened message. `Core.records(platform, tables)` hands it an `OwnRecords` that reads and
writes those tables only; anything else raises, so a front end cannot reach the outbox, the
conversations or the school's records around the core. In a transaction it may also say
whom it cannot reach (bot/reach.py) and queue a message for people (the outbox), in the
same commit as its own change.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import datetime
from typing import Any

from bot import reach
from bot.engine import queue
from bot.messages import Outbound
from bot.store import Store, Transaction

# The core's own tables, which no front end may declare as its own.
CORE_TABLES = frozenset(
    {
        "outbox",
        "inbox",
        "events",
        "conversations",
        "scheduler",
        "reminders",
        "counters",
        "undelivered",
        "people",
        reach.UNREACHABLE,
    }
)


class NotItsTable(Exception):
    """A front end asked for a table it did not declare, or declared one of the core's (a bug in the front end)."""


class _Tables:
    def __init__(self, platform: str, tables: Iterable[str]) -> None:
        self.platform = platform
        self.tables = frozenset(tables)
        theirs = sorted(t for t in self.tables if t in CORE_TABLES or t.startswith("_"))
        if theirs:
            raise NotItsTable(f"the {platform} front end cannot keep the core's tables as its own: {theirs}")

    def _check(self, table: str) -> str:
        if table not in self.tables:
            raise NotItsTable(f"the {self.platform} front end keeps only {sorted(self.tables)}, not {table!r}")
        return table


class OwnTransaction(_Tables):
    """One commit of a front end's own changes (see `OwnRecords.transaction`)."""

    def __init__(self, platform: str, tables: Iterable[str], tx: Transaction, now: datetime) -> None:
        super().__init__(platform, tables)
        self._tx = tx
        self._now = now

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        return self._tx.get(self._check(table), key)

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        return self._tx.find(self._check(table), **match)

    def put(self, table: str, key: str, doc: dict[str, Any]) -> None:
        self._tx.put(self._check(table), key, doc)

    def delete(self, table: str, key: str) -> None:
        self._tx.delete(self._check(table), key)

    def cannot_reach(self, person_id: str, why: str, fix: str = "") -> None:
        """This front end cannot reach `person_id` yet (listed by /unreachable)."""
        reach.cannot_reach(self._tx, self.platform, person_id, why, fix)

    def can_reach(self, person_id: str) -> None:
        reach.can_reach(self._tx, self.platform, person_id)

    def cannot_reach_only(self, people: dict[str, tuple[str, str]]) -> None:
        """This front end cannot reach exactly `people` ({person id: (why, fix)}), and reaches everyone else."""
        reach.only(self._tx, self.platform, people)

    def send(self, messages: list[Outbound]) -> None:
        """Queue messages in the outbox, delivered on every front end as any other message."""
        queue(self._tx, messages, self._now)


class OwnRecords(_Tables):
    """What `Core.records` gives a front end: its own tables, read at once or changed in a transaction."""

    def __init__(self, platform: str, tables: Iterable[str], store: Store, now: Callable[[], datetime]) -> None:
        super().__init__(platform, tables)
        self._store = store
        self._now = now

    def get(self, table: str, key: str) -> dict[str, Any] | None:
        return self._store.get(self._check(table), key)

    def find(self, table: str, **match: Any) -> list[dict[str, Any]]:
        return self._store.find(self._check(table), **match)

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[OwnTransaction]:
        """Change the front end's own records, all or nothing (as `Store.transaction`)."""
        async with self._store.transaction() as tx:
            yield OwnTransaction(self.platform, self.tables, tx, self._now())
