"""Files policybot's commands write for people (exports, a platform's app package):
never in the data folder, never through a link, private.

The data folder is the store's alone: a command that wrote one of its files (an export
given ``--out data/audit.jsonl``) would destroy the records it holds. Every path a command
writes is checked here first, with symbolic links followed. A file is written as a new
file beside its target and renamed over it, so a reader never sees half of it, an
existing file's looser permissions are not kept, and a hard link to another file is
replaced rather than written through.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from bot.errors import PolicybotError


class WriteRefused(PolicybotError):
    """A command was asked to write somewhere it must not; the message says what to do instead."""


def check_outside(path: Path, data_folder: Path) -> None:
    """Refuse `path` if it is the data folder, inside it, or another name for one of its files.

    Symbolic links are followed (on the path and on the folder), so a link into the data
    folder is refused as the folder itself would be.
    """
    target = Path(os.path.realpath(path))
    home = Path(os.path.realpath(data_folder))
    inside = target == home or home in target.parents
    if not inside and target.exists():
        # A hard link made elsewhere to one of the store's files is the same file.
        with contextlib.suppress(OSError):
            mine = os.stat(target)
            for entry in os.scandir(home):
                seen = entry.stat(follow_symlinks=False)
                if (seen.st_dev, seen.st_ino) == (mine.st_dev, mine.st_ino):
                    inside = True
                    break
    if inside:
        raise WriteRefused(
            f"{path} is in policybot's data folder ({data_folder}), where only policybot keeps its records: "
            "writing there could destroy them, "
            "so nothing was written. Give a file somewhere else, for example in your home folder."
        )


def write_private(path: Path, data: bytes, mode: int = 0o600) -> None:
    """Write `data` to `path` as a new file (by default only its owner can read it), renamed over any old one.

    A symbolic link at `path` is refused rather than followed: the file would land
    wherever the link points.
    """
    if path.is_symlink():
        raise WriteRefused(
            f"{path} is a link to another file, so nothing was written "
            "(the file would have gone wherever the link points). Give the path of an ordinary file."
        )
    if path.is_dir():
        raise WriteRefused(f"{path} is a folder. Give a file name, for example {path / 'export.csv'}.")
    folder = path.parent
    try:
        fd, tmp = tempfile.mkstemp(
            prefix=f".{path.name}.", suffix=".tmp", dir=folder
        )  # created 0600, never through a link
    except OSError as exc:
        raise WriteRefused(
            f"I couldn't write {path}: {exc.strerror}. Check the folder {folder} exists and you can write to it."
        ) from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if mode != 0o600:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise WriteRefused(
            f"I couldn't write {path}: {exc.strerror}. Check the folder exists and you can write to it."
        ) from None
