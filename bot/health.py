"""Health: whether each part a school relies on works, for /healthz and `policybot status`.

Each part is judged from what the core already keeps in memory (no pass over the records):
the store knows whether it refuses changes, the core when the scheduler last ran, the
outbox its oldest message, and a front end that keeps a connection open (a WebSocket)
reports it up and down through a `Link`. The limits are `HealthLimits`, given to
`Core` (a test gives its own).

`waiting_in(folder)` counts what is waiting from a data folder's files, read only, without
the folder's lock: for `policybot status` while `policybot serve` holds it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from bot.declarations import Table
from bot.store.checkpoint import read_live
from bot.store.folder import JOURNAL, LIVE, PREVIOUS
from bot.store.journal import journal_problem
from bot.store.lines import read_lines
from bot.store.tables import META, Tables


@dataclass(frozen=True)
class HealthLimits:
    """How long each part may be behind before policybot counts as broken."""

    tick: timedelta = timedelta(minutes=5)  # since the scheduler last ran (it runs every 30 seconds)
    outbox: timedelta = timedelta(minutes=15)  # the oldest message still waiting to be delivered
    link: timedelta = timedelta(minutes=1)  # a connection a front end keeps open (a WebSocket), down


class Link:
    """A connection a front end keeps open: it says when it is up and when it is down (`Core.link`)."""

    def __init__(self, name: str, now: Callable[[], datetime]) -> None:
        self.name = name
        self._now = now
        self.connected = False
        self.since = now()  # when it last went up or down (down: since it was made, until it first connects)

    def up(self) -> None:
        """The connection is open."""
        if not self.connected:
            self.connected, self.since = True, self._now()

    def down(self) -> None:
        """The connection is closed (policybot is reconnecting)."""
        if self.connected:
            self.connected, self.since = False, self._now()


@dataclass(frozen=True)
class Part:
    """One part's state, in words for a person: `ok` False means something a school relies on is broken."""

    name: str
    ok: bool
    state: str


@dataclass(frozen=True)
class Health:
    """Every part's state at one moment, and the counts of what is waiting."""

    parts: list[Part]
    counts: dict[str, int] = field(default_factory=dict)
    backups: dict[str, Any] | None = None  # the nightly backups (bot/nightly.py); a failed one is not broken

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.parts)

    def to_dict(self) -> dict[str, Any]:
        """As /healthz answers it."""
        return {
            "status": "ok" if self.ok else "broken",
            "broken": [p.name for p in self.parts if not p.ok],
            "parts": {p.name: {"ok": p.ok, "state": p.state} for p in self.parts},
            **self.counts,
            **({"backups": self.backups} if self.backups is not None else {}),
        }


def ago(delta: timedelta) -> str:
    """A time span in plain words: '40 seconds', '6 minutes', '3 hours'."""
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 120:
        return f"{seconds} seconds"
    if seconds < 2 * 3600:
        return f"{seconds // 60} minutes"
    return f"{seconds // 3600} hours"


def store_part(refusing: str) -> Part:
    """`refusing`: why the store refuses changes ("" when it saves)."""
    if refusing:
        return Part("store", False, f"refusing to save changes: {refusing}")
    return Part("store", True, "saving changes")


def scheduler_part(now: datetime, last: datetime | None, started: datetime, limit: timedelta) -> Part:
    """The scheduler last ran at `last` (None: not since policybot started at `started`)."""
    since = last or started
    late = now - since > limit
    if last is None:
        return Part("scheduler", not late, f"has not run since policybot started {ago(now - started)} ago")
    return Part("scheduler", not late, f"last ran {ago(now - last)} ago")


def delivery_part(now: datetime, waiting: int, oldest: datetime | None, limit: timedelta) -> Part:
    """`waiting` messages in the outbox, the oldest one (not waiting for someone unreachable) written at `oldest`."""
    if oldest is None:
        return Part("delivery", True, f"{waiting} message(s) waiting" if waiting else "nothing waiting")
    age = now - oldest
    return Part("delivery", age <= limit, f"{waiting} message(s) waiting, the oldest for {ago(age)}")


def link_part(now: datetime, link: Link, limit: timedelta) -> Part:
    if link.connected:
        return Part(link.name, True, f"connected for {ago(now - link.since)}")
    return Part(link.name, now - link.since <= limit, f"not connected for {ago(now - link.since)}")


def waiting_in(folder: Path, declared: Iterable[Table], tries: int = 3) -> dict[str, int]:
    """Count what is waiting from the data folder's files, changing nothing and taking no lock.

    `declared`: the workflows' tables; each that names what it counts as `waiting` is counted.
    Read as the store reads them when it opens (live.json, then the journal replayed over it);
    a line being written is left out. Raises ValueError when the files are damaged, or were
    changed by a checkpoint while being read, `tries` times over.
    """
    for _ in range(tries):
        tables = read_folder(folder)
        if tables is not None:
            counts = {t.waiting: len(tables.find(t.name, status=t.waiting_status)) for t in declared if t.waiting}
            counts["undelivered messages"] = tables.count("outbox")
            return counts
    raise ValueError(f"the data folder {folder} kept changing while it was being read")


def read_folder(folder: Path) -> Tables | None:
    """The tables as the store would open them, or None when a checkpoint moved the files meanwhile (read again)."""
    before = _files(folder)
    try:
        data, broken = read_live(folder / LIVE)
        previous = read_lines(folder / PREVIOUS, journal_problem)
        current = read_lines(folder / JOURNAL, journal_problem)
    except FileNotFoundError:  # set aside or deleted between looking and opening
        return None
    if _files(folder) != before:
        return None
    if broken or previous.damage or current.damage:
        raise ValueError(f"the data folder {folder} is damaged: run policybot check-data")
    seq = data.get(META, {}).get("1", {}).get("seq", 0)
    tables = Tables(data)
    for line in previous.entries + current.entries:
        if line["seq"] > seq:
            for table, key, doc in line["writes"]:
                tables.put(table, key, doc)
            seq = line["seq"]
    return tables


def _files(folder: Path) -> tuple[Any, ...]:
    """What a checkpoint changes: live.json and journal.prev.jsonl replaced or written, the journal moved aside.
    (Lines appended to the journal meanwhile are later changes: reading them or not leaves no gap.)"""
    return (*_identity(folder / LIVE), *_identity(folder / PREVIOUS), _identity(folder / JOURNAL)[0])


def _identity(file: Path) -> tuple[int, int] | tuple[None, None]:
    try:
        st = file.stat()
    except FileNotFoundError:
        return None, None
    return st.st_ino, st.st_mtime_ns
