"""Files of JSON lines (the journal, the audit trail): how a line is encoded, and reading one back, finding damage.

Each line ends with its own checksum (``,"crc":<CRC-32 of the text before it>}``), so a damaged
byte that still leaves JSON (a key, a table name, a change number) is found, not read as a
different change. Lines written before checksums were added have none, and are read as before.
"""

from __future__ import annotations

import json
import re
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.store.tuning import os_fsync

compact = json.JSONEncoder(
    separators=(",", ":")
).encode  # json.dumps(..., separators=...) builds an encoder on every call

# The last field of a sealed line. Any other three-byte name there is "crc" damaged: no line ends so otherwise.
_SEAL = re.compile(rb',"([^"]{3})":(\d{1,10})\}\n\Z')


def seal(text: str) -> str:
    """A JSON object's text (with at least one field) with its checksum added as its last field."""
    body = text[:-1]
    return f'{body},"crc":{zlib.crc32(body.encode("utf-8"))}}}'


def _seal_holds(raw: bytes) -> bool | None:
    """Whether a whole line's checksum matches the text before it (None: the line has none)."""
    found = _SEAL.search(raw)
    if found is None:
        return None
    return found[1] == b"crc" and zlib.crc32(raw[: found.start()]) == int(found[2])


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

    def cut_torn(self, fsync: Callable[[int], None] = os_fsync) -> None:
        """Cut off an unfinished last line: a write nobody was told about (see `read_lines`)."""
        if self.torn is not None:
            with self.file.open("r+b") as fh:
                fh.truncate(self.torn)
                fsync(fh.fileno())
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
                sealed = _seal_holds(raw)
                if sealed is False or (sealed is None and type(entry) is dict and "crc" in entry):
                    what = "does not match its checksum (damaged)"
                else:
                    if sealed:
                        del entry["crc"]
                    what = problem(entry)
            if what:
                lines.damage.append(Damage(file.name, number, what))
            else:
                lines.entries.append(entry)
            lines.count += 1
            at += len(raw)
    return lines
