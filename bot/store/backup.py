"""Backups of the data folder taken while policybot runs (`policybot backup`), and restoring one (`policybot restore`).

A backup never takes the store's lock, so `serve` carries on. It relies on how the store
writes (docs/store.md): live.json is only ever replaced whole by a rename, and the journal
and audit trail only ever grow by whole lines. It reads live.json, then journal.prev.jsonl,
then journal.jsonl (keeping each file open, so its inode cannot be reused), and then looks
again: if a checkpoint renamed or replaced any of them meanwhile (its changes could then be
in a file already read, or in none), it starts again. What it keeps is live.json plus every
whole journal line: the store exactly as of the last of those changes. The audit trail is
cut to that change, and entries the journal holds but the file had not been given yet are
added, as the store does when it opens.

The archive (.tar.gz) holds those files and manifest.json: what was copied and each file's
SHA-256. A restore checks every member against it before anything is changed.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import PolicybotError
from bot.store.audit import missing
from bot.store.folder import AUDIT, JOURNAL, LIVE, LOCK, PREVIOUS, fsync_dir, lock_folder, release_folder
from bot.store.journal import journal_problem
from bot.store.lines import compact, read_lines, seal
from bot.store.repair import Report, check
from bot.store.store import Store
from bot.store.tables import META, Tables

if TYPE_CHECKING:
    from bot.store.unpack import Limits

MANIFEST = "manifest.json"
FORMAT = "policybot-backup"
# Lines a repair set aside (repair.py): kept with the audit trail, so backed up too.
DAMAGED = re.compile(r"(journal|audit)\.damaged-\d{8}T\d{6}Z(-\d+)?\.jsonl")
TRIES = 50


class BackupRefused(PolicybotError):
    """A backup could not be taken, or an archive cannot be trusted; the message says why and what to do."""


def _allowed(name: str) -> bool:
    return name in (LIVE, JOURNAL, AUDIT) or DAMAGED.fullmatch(name) is not None


@dataclass
class Backup:
    """A consistent copy of a data folder: its files' bytes and the manifest describing them."""

    members: dict[str, bytes]
    manifest: dict[str, Any]


def _whole_lines(data: bytes) -> bytes:
    """Up to the last complete line: a line being written as it was read is not a change anyone was told of."""
    return data[: data.rfind(b"\n") + 1]


def _read_once(folder: Path, between: Callable[[str], None]) -> dict[str, bytes] | None:
    """live.json and the journal's whole lines as of one instant, or None if a checkpoint moved them meanwhile."""
    read: dict[str, bytes] = {}
    seen: dict[str, tuple[int, int, int] | None] = {}
    with contextlib.ExitStack() as stack:
        for name in (LIVE, PREVIOUS, JOURNAL):
            try:
                fh = stack.enter_context((folder / name).open("rb"))
            except FileNotFoundError:
                read[name], seen[name] = b"", None
            else:
                read[name] = fh.read()
                st = os.fstat(fh.fileno())
                seen[name] = (st.st_dev, st.st_ino, len(read[name]))
            between(name)
        for name in (LIVE, PREVIOUS, JOURNAL):
            try:
                st = os.stat(folder / name)
                now: tuple[int, int, int] | None = (st.st_dev, st.st_ino, st.st_size)
            except FileNotFoundError:
                now = None
            was = seen[name]
            if name == JOURNAL and was is None:
                continue  # a commit since started a fresh journal: its changes are after this copy
            if (was is None) != (now is None) or (was and now and was[:2] != now[:2]):
                return None  # renamed, replaced, created or removed by a checkpoint while being read
            if name == PREVIOUS and was and now and was[2] != now[2]:
                return None  # a failed checkpoint's journal had this one's added to it
    read[JOURNAL] = _whole_lines(read[PREVIOUS]) + _whole_lines(read[JOURNAL])
    del read[PREVIOUS]
    if seen[LIVE] is None:
        del read[LIVE]  # no checkpoint yet: every change is in the journal
    return read


def _at(entry: dict[str, Any]) -> datetime | None:
    with contextlib.suppress(TypeError, ValueError):
        at = datetime.fromisoformat(entry["at"])
        return at if at.tzinfo else at.replace(tzinfo=UTC)
    return None


def take(folder: Path, now: datetime, between: Callable[[str], None] = lambda name: None) -> Backup:
    """Copy the data folder consistently, without its lock (policybot may be running).

    `between` is called after each file is read (tests use it to checkpoint at that instant).
    Raises BackupRefused if the folder is missing or damaged.
    """
    if not any((folder / name).exists() for name in (LIVE, PREVIOUS, JOURNAL, AUDIT)):
        raise BackupRefused(f"There are no records in {folder} to back up. Check [storage] path in the configuration.")
    for attempt in range(TRIES):
        read = _read_once(folder, between)
        if read is not None:
            break
        time.sleep(0.01 * attempt)  # a checkpoint is being written: let it finish
    else:
        raise BackupRefused(f"policybot kept rewriting {folder} while it was being copied. Try again in a minute.")
    read[AUDIT] = _whole_lines((folder / AUDIT).read_bytes()) if (folder / AUDIT).exists() else b""
    for path in sorted(folder.iterdir()):
        if DAMAGED.fullmatch(path.name) and path.is_file() and not path.is_symlink():
            read[path.name] = path.read_bytes()  # written once by a repair, never changed

    with tempfile.TemporaryDirectory(prefix="policybot-backup-") as tmp:
        staged = Path(tmp)
        for name in (LIVE, JOURNAL):
            if name in read:
                (staged / name).write_bytes(read[name])
        journal = read_lines(staged / JOURNAL, journal_problem).entries
        data: Any = {}
        with contextlib.suppress(ValueError):  # check() below says if it cannot be read
            data = json.loads(read.get(LIVE, b"{}"))
        live_seq = data.get(META, {}).get("1", {}).get("seq", 0) if type(data) is dict else 0
        seq = max([live_seq if type(live_seq) is int else 0, *(line["seq"] for line in journal)])
        # The audit trail as of that change: later entries belong to changes this copy does not hold.
        kept, entries = [], []
        for raw in read[AUDIT].splitlines(keepends=True):
            with contextlib.suppress(ValueError):
                entry = json.loads(raw)
                if type(entry) is dict and type(entry.get("seq")) is int and entry["seq"] > seq:
                    continue
                entries.append(entry)
            kept.append(raw)
        lost = missing(journal, entries)
        kept += [(seal(compact(e)) + "\n").encode("utf-8") for e in lost]
        read[AUDIT] = b"".join(kept)
        (staged / AUDIT).write_bytes(read[AUDIT])
        report = check(staged)
    if report.damage:
        where = "; ".join(map(str, report.damage))
        raise BackupRefused(
            f"The data folder {folder} is damaged ({where}), so no backup was written. "
            "Run policybot check-data to see what to do (docs/reliability.md)."
        )
    tables = Tables(data if type(data) is dict else {})
    for line in journal:
        if line["seq"] > live_seq:
            for table, key, doc in line["writes"]:
                tables.put(table, key, doc)
    counts = {name: tables.count(name) for name in tables.names() if name != META and tables.count(name)}
    audit = report.lines[AUDIT].entries
    times = [t for t in (_at(e) for e in audit) if t is not None]
    saved_at = data.get(META, {}).get("1", {}).get("saved_at") if type(data) is dict else None
    last = max(times).isoformat(timespec="seconds") if times else saved_at
    manifest = {
        "format": FORMAT,
        "version": 1,
        "made_at": now.isoformat(timespec="seconds"),
        "data_folder": str(folder),
        "change": seq,
        "last_change_at": last,
        "records": sum(counts.values()),
        "tables": counts,
        "audit_entries": len(audit),
        "members": {name: {"bytes": len(b), "sha256": hashlib.sha256(b).hexdigest()} for name, b in read.items()},
    }
    return Backup(read, manifest)


def archive(backup: Backup) -> bytes:
    """The backup as a .tar.gz: manifest.json first, then each file, all plain files readable by their owner only."""
    out = io.BytesIO()
    made = datetime.fromisoformat(backup.manifest["made_at"]).timestamp()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in [(MANIFEST, json.dumps(backup.manifest, indent=1).encode()), *backup.members.items()]:
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, int(made)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _untrusted(path: Path, why: str) -> BackupRefused:
    return BackupRefused(
        f"{path} is not a backup policybot can trust: {why}. Nothing was changed. "
        "Use another backup (an older one, or the copy kept off this server)."
    )


def open_archive(path: Path, limits: Limits | None = None) -> Backup:
    """Read and verify an archive (bot/store/unpack.py): only the files a backup holds, each matching the manifest."""
    from bot.store.unpack import Limits, read_archive  # it builds on this module's Backup and refusals

    return read_archive(path, limits or Limits())


@dataclass
class Restored:
    """What a restore did: where the old folder went (if anywhere), and the check of the restored one."""

    backup: Backup
    aside: Path | None
    records: int
    tables: int
    audit_entries: int
    report: Report


def _write_new(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())


def _free(path: Path) -> Path:
    n, free = 1, path
    while free.exists() or free.is_symlink():
        n += 1
        free = path.with_name(f"{path.name}-{n}")
    return free


async def restore(source: Path, folder: Path, now: datetime, replace: bool = False) -> Restored:
    """Put a verified backup in place as the data folder. Raises StoreLocked while policybot runs.

    A folder holding anything but its lock file is refused unless `replace`: then it is moved
    aside (never deleted) first. The files are written beside the folder and moved into place.
    """
    backup = open_archive(source)  # nothing is touched before the archive is known to be whole
    held = lock_folder(folder) if folder.is_dir() else None
    stamp_id = now.strftime("%Y%m%dT%H%M%SZ")  # a folder name, not a message
    staging: Path | None = None
    aside = None
    after = " The data folder was not changed."  # what a failure from here leaves, for the message
    try:
        present = [p.name for p in folder.iterdir() if p.name != LOCK] if held is not None else []
        if present and not replace:
            raise BackupRefused(
                f"The data folder {folder} already holds records ({', '.join(sorted(present)[:4])}), "
                "so nothing was changed. "
                "To put the backup in their place, run this again with --replace: the folder is moved aside first, "
                "not deleted."
            )
        folder.parent.mkdir(parents=True, exist_ok=True)
        staging = _free(folder.with_name(f".{folder.name}.restoring-{stamp_id}"))
        staging.mkdir(mode=0o700)
        for name, data in backup.members.items():
            _write_new(staging / name, data)
        fsync_dir(staging)
        staged = check(staging)
        if staged.damage:
            raise _untrusted(source, f"its files are damaged ({'; '.join(map(str, staged.damage))})")
        if present:
            aside = _free(folder.with_name(f"{folder.name}.before-restore-{stamp_id}"))
            folder.rename(aside)
            after = f" The data folder that was there is now {aside}: move it back to {folder} to carry on as before."
            staging.rename(folder)
            after = f" The data folder that was there is kept at {aside}."
        elif held is not None:  # an empty folder (or only its lock): fill it
            after = f" {folder} may hold part of the backup: run this again with --replace."
            for name in backup.members:
                (staging / name).rename(folder / name)
            staging.rmdir()
        else:
            staging.rename(folder)
        staging = None
        fsync_dir(folder.parent)
    except OSError as exc:
        raise BackupRefused(
            f"I couldn't restore into {folder}: {exc.strerror or exc}.{after} "
            f"Check there is room on the disk and that you can write to {folder.parent}."
        ) from None
    finally:
        if held is not None:
            release_folder(held)
        if staging is not None:  # our own half-made copy, never the school's data
            with contextlib.suppress(OSError):
                for p in staging.iterdir():
                    p.unlink()
                staging.rmdir()
    store = Store(folder)  # the store opens on it, as `serve` would
    try:
        counts = [store.count(t) for t in store.tables.names() if t != META]
        records, tables, audit = sum(counts), sum(1 for c in counts if c), len(store.audit())
    finally:
        await store.close()
    return Restored(backup, aside, records, tables, audit, check(folder))
