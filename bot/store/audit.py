"""The audit trail (``audit.jsonl``): who did what to which record, one JSON line per entry, only ever appended.

An entry travels in its commit's (fsynced) journal line too, so the file itself is not fsynced
at each commit: an entry lost to a crash is appended again when the store next opens (see
`missing`), and a checkpoint fsyncs the file before it sets that journal aside.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.store.lines import compact, seal


def audit_problem(entry: Any) -> str:
    """What is wrong with an audit line's JSON ("" if nothing)."""
    return "" if type(entry) is dict else "is not an audit entry"


def missing(journal: list[dict[str, Any]], entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit entries journal lines carry that the audit file lacks (lost to a crash), in order."""
    have = {(e.get("seq"), e.get("n")) for e in entries}
    found = []
    for line in journal:
        for n, entry in enumerate(line.get("audit", [])):
            if (line["seq"], n) not in have:
                found.append({"seq": line["seq"], "n": n, **entry})
    return found


class AuditTrail:
    """The entries so far (in memory, for reading), appended to ``audit.jsonl`` when there is a folder."""

    def __init__(self, file: Path | None, entries: list[dict[str, Any]] | None = None) -> None:
        self.file = file
        self.entries: list[dict[str, Any]] = entries if entries is not None else []
        # Entries the file could not take: the journal holds them, and is kept until they are written.
        self.unwritten: list[dict[str, Any]] = []

    def find(self, **match: Any) -> list[dict[str, Any]]:
        """Entries matching every value given, oldest first."""
        return [dict(e) for e in self.entries if all(e.get(k) == v for k, v in match.items())]

    def append(self, entries: list[dict[str, Any]], lines: list[str] | None = None) -> None:
        """Add entries to the trail; `lines` are their JSON texts, when already encoded."""
        self.entries.extend(entries)
        if self.file is None:
            return
        try:
            # Not fsynced here: the journal line holds these entries, and a checkpoint
            # fsyncs this file before that journal is set aside.
            with self.file.open("a", encoding="utf-8") as fh:
                fh.write("".join(seal(line) + "\n" for line in lines or map(compact, entries)))
        except OSError:
            # The entries are in the journal; they are written at the next checkpoint or
            # when the store next opens, and the journal is kept until they are.
            self.unwritten.extend(entries)

    def write_unwritten(self) -> bool:
        """Try again to write the entries the file could not take; True once none is left."""
        if self.unwritten:
            pending, self.unwritten = self.unwritten, []
            self.entries = self.entries[: len(self.entries) - len(pending)]
            self.append(pending)
        return not self.unwritten

    def make_durable(self, fsync: Callable[[int], None]) -> None:
        """Put every line written so far on disk (before the journal that also holds them is set aside)."""
        if self.file is not None and self.file.exists():
            with self.file.open("ab") as fh:
                fsync(fh.fileno())
