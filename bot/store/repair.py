"""Checking a data folder (`policybot check-data`) and setting its damaged lines aside (`policybot repair-data`).

policybot refuses to start on a damaged data folder rather than guess (store.py): these
say what is damaged, and, when a person asks, move each damaged line of the journal or the
audit trail into a file of its own in the data folder (``journal.damaged-<time>.jsonl``),
keep every other line, and record the repair in the audit trail. live.json is one JSON
document, not lines: it cannot be repaired that way, only restored from a backup.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot import files
from bot.errors import PolicybotError
from bot.store.audit import audit_problem
from bot.store.checkpoint import read_live
from bot.store.folder import AUDIT, JOURNAL, LIVE, PREVIOUS, fsync_dir, lock_folder
from bot.store.journal import journal_problem
from bot.store.lines import Damage, Lines, read_lines
from bot.store.store import Store
from bot.store.tables import META

ACTOR = "command line"


@dataclass
class Report:
    """What a data folder holds, and what is damaged in it."""

    folder: Path
    damage: list[Damage]
    summary: list[str]  # one line per file: what it holds
    unfinished: list[str]  # files whose last line was being written when policybot stopped (dropped at the next start)
    lines: dict[str, Lines]  # the line files, by name


def check(folder: Path) -> Report:
    """Read every file of the data folder and say what is damaged; changes nothing."""
    data, broken = read_live(folder / LIVE)
    damage = [broken] if broken else []
    summary = []
    if (folder / LIVE).exists() and not broken:
        records = sum(len(docs) for name, docs in data.items() if name != META)
        seq = data.get(META, {}).get("1", {}).get("seq", 0)
        tables = len(data) - (META in data)
        summary.append(
            f"{LIVE}: {records:,} record{'s' * (records != 1)} in {tables} table{'s' * (tables != 1)}, "
            f"as of change {seq:,}"
        )
    lines = {}
    for name, problem, noun in (
        (PREVIOUS, journal_problem, "changes"),
        (JOURNAL, journal_problem, "changes"),
        (AUDIT, audit_problem, "entries"),
    ):
        found = read_lines(folder / name, problem)
        lines[name] = found
        damage += found.damage
        if (folder / name).exists():
            bad = f", {len(found.damage)} of them damaged" if found.damage else ""
            summary.append(f"{name}: {found.count:,} {noun}{bad}")
    unfinished = [name for name, found in lines.items() if found.torn is not None]
    return Report(folder, damage, summary, unfinished, lines)


@dataclass(frozen=True)
class SetAside:
    """Lines moved out of one file by a repair."""

    file: str
    lines: list[int]
    into: str


async def repair(folder: Path, now: datetime) -> list[SetAside]:
    """Set every damaged line of the journal and the audit trail aside, keep everything else, and audit the repair.

    The folder must not be in use (raises StoreLocked). A damaged live.json is refused
    and nothing is changed. Each file's damaged lines go, byte for byte, into a new
    file beside it (written and on disk before the file itself is replaced without them).
    """
    held = lock_folder(folder)
    try:
        report = check(folder)
        live = [d for d in report.damage if d.file == LIVE]
        if live:
            raise PolicybotError(
                f"{folder / LIVE} is damaged ({live[0].what}). "
                "It holds every record as of its last checkpoint and cannot be repaired "
                "line by line, so nothing has been changed. "
                "Restore the data folder from your backup (see docs/reliability.md)."
            )
        done = [_set_aside(report.lines[name], now) for name in (PREVIOUS, JOURNAL, AUDIT) if report.lines[name].damage]
    except BaseException:
        with contextlib.suppress(OSError):
            os.close(held)
        raise
    store = Store(folder, held=held)  # it opens now; from here the store holds the lock
    try:
        if done:
            async with store.transaction() as tx:
                for aside in done:
                    where = ", ".join(map(str, aside.lines))
                    tx.audit(
                        ACTOR,
                        "data_repaired",
                        aside.file,
                        at=now,
                        detail=(
                            f"damaged line{'s' if len(aside.lines) > 1 else ''} {where} set aside in {aside.into}; "
                            "every other line kept"
                        ),
                    )
    finally:
        await store.close()
    return done


def _set_aside(found: Lines, now: datetime) -> SetAside:
    """Move `found`'s damaged lines into a file of their own; rewrite the file with every other line."""
    path = found.file
    damaged = {d.line for d in found.damage}
    keep, aside = [], []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, 1):
            (aside if number in damaged else keep).append(raw)
    stem = path.name.removesuffix(".jsonl")
    stamp_id = now.strftime("%Y%m%dT%H%M%SZ")  # a file name, not a message
    into = path.with_name(f"{stem}.damaged-{stamp_id}.jsonl")
    n = 1
    while into.exists():
        n += 1
        into = path.with_name(f"{stem}.damaged-{stamp_id}-{n}.jsonl")
    files.write_private(into, b"".join(raw if raw.endswith(b"\n") else raw + b"\n" for raw in aside))
    mode = path.stat().st_mode & 0o777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(b"".join(keep))
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_dir(path.parent)
    return SetAside(path.name, sorted(damaged), into.name)
