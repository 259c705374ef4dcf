"""What a workflow module declares for the core, so that the core knows no procedure.

A module that owns records declares each table in `TABLES` (how it is exported, when its
records' retention period starts, which button field names one of them); a module whose
procedure stops someone using policybot declares a `Guard` in `GUARDS`. The registry
(bot/registry.py) collects them; the records tools (bot/records.py), the access check
(bot/access.py) and the engine read nothing else of a workflow.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from bot.config import Person

Record = dict[str, Any]


class Reader(Protocol):
    """Reading records: what a store and a transaction both offer."""

    def get(self, table: str, key: str) -> Record | None: ...

    def all(self, table: str) -> list[Record]: ...

    def find(self, table: str, **match: Any) -> list[Record]: ...

    def where(self, table: str, keep: Callable[[Record], bool]) -> list[Record]: ...


@dataclass(frozen=True)
class Table:
    """A table a workflow module owns, as the core's record tools need it."""

    name: str
    # Offered by `policybot export --what <name>`; `columns` head the CSV when there are no records yet.
    export: bool = False
    columns: tuple[str, ...] = ()
    # When a record's retention period starts, or None while it must be kept (still live);
    # the period itself is `[records.retention]` in the configuration. None: never purged.
    retention: Callable[[Record, Reader], datetime | None] | None = None
    # One record per person on the staff list, keyed by person id: an export lists everyone
    # in the configuration with what is stored about them.
    per_person: bool = False
    # The field of a button's data holding the id of one of these records ("application"),
    # so a refusal of the click is recorded against the record ("applications/A-3").
    named_by: str = ""
    # How a row of a list imported at the command line becomes a record:
    # (fields of the row, who imported it, when, ISO) -> (key, record).
    load: Callable[[tuple[str, ...], str, str], tuple[str, Record]] | None = None
    # What `policybot status` counts as waiting for someone: the records whose `status` is
    # `waiting_status`, named in `waiting` ("applications to decide"). "": not counted.
    waiting: str = ""
    waiting_status: str = ""


@dataclass(frozen=True)
class Guard:
    """A procedure's rule that stops someone on the staff list using policybot at all
    (such as someone recorded as having left the school), whatever their roles."""

    name: str
    # Raise NotAllowed (saying why and what to do) if the rule stops `person` today (an ISO date).
    check: Callable[[Reader, Person, str], None]
    # The ids of everyone the rule stops today: messages to a role no longer reach them.
    barred: Callable[[Reader, str], set[str]]


def moment(value: Any) -> datetime | None:
    """A stored date ("2026-11-25") or time ("2026-11-25T10:00:00+00:00"), or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), datetime.min.time()).astimezone()
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def first(record: Record, *names: str) -> datetime | None:
    """The first of the record's fields `names` that holds a readable date or time."""
    for name in names:
        found = moment(record.get(name))
        if found is not None:
            return found
    return None
