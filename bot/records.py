"""Records for SLT, governors and inspections: exports, subject access, retention, list import.

Used by the `policybot` command line (`export`, `import-dnp`, `purge`), which opens the
store itself, so these work on a `Store` directly rather than through a chat turn. What
each table exports, when its retention starts and how an imported list becomes records is
declared by the workflow module that owns it (`TABLES`, bot/declarations.py) and read
from the registry (`registry=`, by default every workflow policybot ships with).
Exports are readable in a spreadsheet: UTF-8 CSV with a byte-order mark and a header row,
times in the school's time zone, lists joined with "; ", anything more nested as JSON
text, and cells a spreadsheet would run as a formula prefixed with an apostrophe.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import Any

from bot import files
from bot.config import Settings
from bot.declarations import Table
from bot.people import Directory, fold
from bot.registry import Registry, default_registry
from bot.scheduler import EVENTS
from bot.store import META, Store, iter_tables

AUDIT = "audit"  # the audit trail, exported like a table
AUDIT_COLUMNS = ["at", "actor", "action", "record", "before", "after", "detail"]
CLI_ACTOR = "command line"
# Tables with nothing about people in them, left out of a subject access export.
_MACHINERY = {META, "counters", EVENTS}
# A cell starting with any of these can be run by a spreadsheet as a formula (or, with tab and
# CR, turned into one on import), whatever follows: `@cmd|' /C calc'!A0` needs no brackets.
# See https://owasp.org/www-community/attacks/CSV_Injection
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def _formula(text: str) -> bool:
    """True for text a spreadsheet could run as a formula."""
    return text.startswith(FORMULA_STARTS)


def _needs_quote(text: str) -> bool:
    return _formula(text) or (len(text) > 1 and text[0] == "'" and (_formula(text[1:]) or text[1] == "'"))


class RecordsError(Exception):
    """A problem the person at the command line can fix; the message says how."""


# ---- flattening for spreadsheets ------------------------------------------------------


_MOMENT = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}")


def cell(value: Any, tz: tzinfo | None = None) -> str:
    """A value as spreadsheet text.

    Times are shown in the school's time zone ("2026-11-25 10:00"), lists of plain values
    joined with "; ", anything more nested as JSON, and formula-like text made harmless.
    """
    if value is None:
        text = ""
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, str):
        text = value
        if tz is not None and _MOMENT.match(value):
            try:
                text = datetime.fromisoformat(value).astimezone(tz).strftime("%Y-%m-%d %H:%M")
            except ValueError:
                pass
    elif isinstance(value, int | float):
        text = str(value)
    elif isinstance(value, list | tuple) and all(not isinstance(v, dict | list | tuple) for v in value):
        return "; ".join(cell(v, tz) for v in value)
    else:
        text = json.dumps(value, ensure_ascii=False, sort_keys=True)
    if _needs_quote(text):
        text = "'" + text
    return text


def uncell(text: str) -> str:
    """Undo the apostrophe `cell` adds, giving the text as stored."""
    if len(text) > 1 and text[0] == "'" and _needs_quote(text[1:]):
        return text[1:]
    return text


def columns(rows: Iterable[dict[str, Any]]) -> list[str]:
    """Every field of every row, `id` first, then in the order first seen."""
    cols: list[str] = []
    for row in rows:
        for key in row:
            if key not in cols:
                cols.append(key)
    if "id" in cols:
        cols.remove("id")
        cols.insert(0, "id")
    return cols


def to_csv(rows: list[dict[str, Any]], tz: tzinfo | None = None, header: list[str] | None = None) -> str:
    """Rows as CSV text with a header row (`header` names the columns when there are no rows)."""
    buf = io.StringIO()
    cols = columns(rows) or header or ["id"]
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow([cell(c) for c in cols])
    for row in rows:
        writer.writerow([cell(row.get(c), tz) for c in cols])
    return buf.getvalue()


def to_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=False) + "\n"


def write_private(path: Path, text: str, *, bom: bool = False) -> None:
    """Write an export only its owner can read (exports hold personal data):
    a new file renamed over any old one, never through a link."""
    files.write_private(path, (("\ufeff" if bom else "") + text).encode("utf-8"))


# ---- exports -------------------------------------------------------------------------


def _natural(row: dict[str, Any]) -> tuple[Any, ...]:
    ident = str(row.get("id", ""))
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", ident))


def exports(registry: Registry | None = None) -> tuple[str, ...]:
    """What `export` can write: every table declared for export, and the audit trail."""
    return (*(t.name for t in (registry or default_registry()).tables.values() if t.export), AUDIT)


def people_rows(store: Store, settings: Settings, table: str) -> list[dict[str, Any]]:
    """Everyone in the configuration with what `table` stores about them (one record per person)."""
    rows = []
    stored = {r["id"]: r for r in store.all(table)}
    for p in settings.people:
        row: dict[str, Any] = {
            "id": p.id,
            "name": p.name,
            "title": p.title,
            "roles": sorted(p.roles),
            "employed": p.employed,
        }
        row.update({k: v for k, v in stored.pop(p.id, {}).items() if k != "id"})
        rows.append(row)
    for pid, record in sorted(stored.items()):
        rows.append(
            {"id": pid, "name": "(no longer in the configuration)", **{k: v for k, v in record.items() if k != "id"}}
        )
    return rows


def _exported(what: str, registry: Registry | None) -> Table | None:
    """The table `what` names (None for the audit trail); RecordsError for anything else."""
    registry = registry or default_registry()
    table = registry.tables.get(what)
    if what != AUDIT and (table is None or not table.export):
        raise RecordsError(f"I can't export {what!r}; choose one of {', '.join(exports(registry))}.")
    return table


def export_rows(store: Store, settings: Settings, what: str, registry: Registry | None = None) -> list[dict[str, Any]]:
    """The records of one kind, as exported."""
    table = _exported(what, registry)
    if table is None:
        return store.audit()
    if table.per_person:
        return people_rows(store, settings, table.name)
    return sorted(store.all(table.name), key=_natural)


def export(store: Store, settings: Settings, what: str, fmt: str, out: Path, registry: Registry | None = None) -> int:
    """Write one kind of record to `out` as CSV or JSON; return how many records."""
    table = _exported(what, registry)
    rows = export_rows(store, settings, what, registry)
    if fmt == "json":
        write_private(out, to_json(rows))
    else:
        write_private(out, to_csv(rows, settings.school.tz, list(table.columns) if table else AUDIT_COLUMNS), bom=True)
    return len(rows)


# ---- subject access ------------------------------------------------------------------


def _words(text: str) -> set[str]:
    plain = re.sub(r"['’`.]", "", fold(text))
    return set(re.sub(r"[^\w\s]", " ", plain).split())


@dataclass
class Subject:
    """Who a subject access request is about: a person id (staff) and/or a name."""

    label: str
    person_id: str
    words: set[str]

    def mentioned(self, value: Any) -> bool:
        """True if a value, or anything nested in it, refers to this subject."""
        if isinstance(value, dict):
            return any(self.mentioned(k) or self.mentioned(v) for k, v in value.items())
        if isinstance(value, list | tuple):
            return any(self.mentioned(v) for v in value)
        if not isinstance(value, str) or not value:
            return False
        if self.person_id and (value == self.person_id or self.person_id in re.split(r"[:|/\s,]+", value)):
            return True
        return bool(self.words) and self.words <= _words(value)


def find_subject(settings: Settings, name: str) -> Subject:
    found = Directory(settings.people).match(name)
    if len(found) > 1:
        raise RecordsError(
            f"{name!r} could be {', '.join(p.describe() for p in found)}. Please give their full name or id."
        )
    if found:
        p = found[0]
        return Subject(p.describe(), p.id, _words(p.name))
    words = _words(name)
    if len(words) < 2:
        raise RecordsError(
            f"Nobody called {name!r} is on the staff list. "
            "For anyone else (a pupil or parent), give their first and last name."
        )
    return Subject(name, "", words)


def subject_access(store: Store, settings: Settings, name: str) -> dict[str, Any]:
    """Everything held about one person, across every table and the audit trail."""
    subject = find_subject(settings, name)
    records: dict[str, list[dict[str, Any]]] = {}
    for table in iter_tables(store):
        if table in _MACHINERY:
            continue
        hits = [r for r in store.all(table) if subject.mentioned(r)]
        if hits:
            records[table] = sorted(hits, key=_natural)
    person = next((p for p in settings.people if p.id == subject.person_id), None)
    config = (
        {
            "id": person.id,
            "name": person.name,
            "title": person.title,
            "roles": sorted(person.roles),
            "employed": person.employed,
            "email": person.email,
        }
        if person
        else None
    )
    audit = [e for e in store.audit() if subject.mentioned(e)]
    return {"subject": subject.label, "configuration": config, "records": records, "audit": audit}


def subject_rows(found: dict[str, Any]) -> list[dict[str, Any]]:
    """A subject access export as spreadsheet rows: where, which record, which field, what."""
    rows = []
    for key, value in (found["configuration"] or {}).items():
        rows.append({"source": "configuration", "record": found["configuration"]["id"], "field": key, "value": value})
    for table, recs in found["records"].items():
        for rec in recs:
            for key, value in rec.items():
                rows.append({"source": table, "record": rec.get("id", ""), "field": key, "value": value})
    for entry in found["audit"]:
        rows.append({"source": "audit", "record": entry["seq"], "field": "entry", "value": entry})
    return rows


def export_person(store: Store, settings: Settings, name: str, fmt: str, out: Path) -> dict[str, Any]:
    found = subject_access(store, settings, name)
    if fmt == "json":
        write_private(out, to_json(found))
    else:
        write_private(
            out, to_csv(subject_rows(found), settings.school.tz, ["source", "record", "field", "value"]), bom=True
        )
    return found


# ---- retention -----------------------------------------------------------------------


@dataclass(frozen=True)
class Expiry:
    table: str
    key: str
    since: datetime
    days: int


def past_retention(store: Store, settings: Settings, now: datetime, registry: Registry | None = None) -> list[Expiry]:
    """Every record older than its kind's retention period in `[records.retention]`."""
    tables = (registry or default_registry()).tables
    due = []
    for kind, days in settings.records.retention.items():
        table = tables.get(kind)
        if days <= 0 or table is None or table.retention is None:
            continue  # kept for ever
        limit = now - timedelta(days=days)
        for record in store.all(kind):
            since = table.retention(record, store)
            if since is not None and since < limit:
                due.append(Expiry(kind, record["id"], since, days))
    return due


async def purge(store: Store, settings: Settings, now: datetime, registry: Registry | None = None) -> list[Expiry]:
    """Delete what is past retention, auditing each deletion; return what was deleted."""
    async with store.transaction() as tx:
        due = past_retention(store, settings, now, registry)
        for e in due:
            tx.delete(e.table, e.key)
            tx.audit(
                CLI_ACTOR,
                "purged",
                f"{e.table}/{e.key}",
                at=now,
                detail=f"past the {e.days}-day retention period for {e.table} (since {e.since.date().isoformat()})",
            )
    return due


# ---- importing a list ---------------------------------------------------------------------


async def import_rows(
    store: Store,
    table: str,
    rows: list[tuple[str, ...]],
    now: datetime,
    *,
    replace: bool = False,
    registry: Registry | None = None,
) -> tuple[int, int, int]:
    """Add rows of a list to `table` in one commit, each made a record by the table's declared
    `load`; `replace` clears the old list first. Returns (added, already there, removed)."""
    declared = (registry or default_registry()).tables.get(table)
    if declared is None or declared.load is None:
        raise RecordsError(f"The {table!r} records can't be imported from a list.")
    async with store.transaction() as tx:
        removed = 0
        if replace:
            for old in tx.all(table):
                tx.delete(table, old["id"])
                removed += 1
        added = skipped = 0
        for fields in rows:
            key, record = declared.load(fields, CLI_ACTOR, now.isoformat())
            if tx.get(table, key):
                skipped += 1
                continue
            tx.put(table, key, record)
            added += 1
        tx.audit(
            CLI_ACTOR,
            f"{table}_imported",
            table,
            at=now,
            detail=f"{added} added, {skipped} already on the list"
            + (f", {removed} previous entries replaced" if replace else ""),
        )
    return added, skipped, removed


async def import_dnp(
    store: Store, pupils: list[tuple[str, str]], now: datetime, *, replace: bool = False
) -> tuple[int, int, int]:
    """The command line's `dnp-import` (adapters/cli.py names it so): the do-not-publish list's rows."""
    return await import_rows(store, "dnp", list(pupils), now, replace=replace)
