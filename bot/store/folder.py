"""The data folder: the names of its files, the lock that keeps it to one process, and making a rename durable."""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Callable
from pathlib import Path

from bot.errors import StoreLocked, StoreUnavailable
from bot.store.tuning import os_fsync

LIVE = "live.json"  # every table, as of the last checkpoint (TinyDB's format)
JOURNAL = "journal.jsonl"  # every commit since that checkpoint, one JSON line each
PREVIOUS = "journal.prev.jsonl"  # the journal up to a checkpoint in progress; deleted once live.json holds it
AUDIT = "audit.jsonl"  # the audit trail, one JSON line per entry
LOCK = "policybot.lock"  # held with flock while a process uses the folder


def lock_folder(path: Path) -> int:
    """Take the data folder for this process (creating it if need be); the descriptor holds the lock.

    Raises StoreLocked while another policybot uses it.
    """
    try:
        path.mkdir(parents=True, exist_ok=True)
        fd = os.open(path / LOCK, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StoreUnavailable(
            f"policybot cannot use the data folder {path}: {exc.strerror}. Check it exists and can be written to."
        ) from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise StoreLocked(
            f"Another policybot is already using the data folder {path}. "
            "Stop that one first, or give this one a different [storage] path."
        ) from None
    with contextlib.suppress(OSError):
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
    return fd


def release_folder(fd: int) -> None:
    """Let another process use the data folder."""
    with contextlib.suppress(OSError):
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


def fsync_dir(path: Path, fsync: Callable[[int], None] = os_fsync) -> None:
    """Make the renames and new files in a folder durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        fsync(fd)
    finally:
        os.close(fd)
