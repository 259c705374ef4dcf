"""Reading a backup archive without trusting it (`policybot restore`, bot/store/backup.py).

Nothing is extracted to disk and nothing is read blindly: members are read one by one, in
order, each only once its header shows a plain file with a name a backup holds and a size
within `Limits`; the decompressed stream as a whole is bounded as well (headers included), so
a gzip bomb is refused after at most `Limits.total` bytes. Then every file is checked against
the manifest's SHA-256.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import tarfile
import zlib
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from bot.store.backup import FORMAT, MANIFEST, Backup, BackupRefused, _allowed, _untrusted


@dataclass(frozen=True)
class Limits:
    """The most an archive may unpack to: far above any school's records (a large school's years are tens of MB),
    far below what would fill this computer's memory or disk. A restore reads no further once one is passed."""

    member: int = 512 * 1024 * 1024  # one file
    total: int = 1024 * 1024 * 1024  # every file together
    members: int = 100  # files (a backup holds 4, and the lines each repair set aside)


class _Bounded:
    """The decompressed stream, refused as soon as more comes out of it than `limit` (a gzip bomb)."""

    def __init__(self, raw: Any, limit: int) -> None:
        self.raw, self.limit, self.read_so_far = raw, limit, 0

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size if size >= 0 else self.limit + 1 - self.read_so_far)
        self.read_so_far += len(data)
        if self.read_so_far > self.limit:
            raise _TooBig
        return data


class _TooBig(Exception):
    """More came out of the archive than any backup holds."""


def read_archive(path: Path, limits: Limits) -> Backup:
    """Read and verify an archive: only the files a backup holds, plain files, each matching the manifest.

    Nothing is extracted to disk: each member is read into memory, in order, and only after its
    header says it is a plain file with an allowed name and a size within `limits`; the
    decompressed stream as a whole is bounded too (headers included), so a gzip bomb is refused
    after reading at most `limits.total` bytes.
    """
    found: dict[str, bytes] = {}
    total = 0
    try:
        with (
            gzip.open(path, "rb") as unzipped,
            tarfile.open(fileobj=_Bounded(unzipped, limits.total + 1024 * 1024), mode="r|") as tar,
        ):
            for member in tar:
                name = member.name
                if len(found) >= limits.members:
                    raise _untrusted(path, f"it holds more than {limits.members} files, far more than a backup holds")
                if not (name == MANIFEST or _allowed(name)):
                    raise _untrusted(path, f"it holds {name!r}, which policybot's backups never hold")
                if member.type not in (tarfile.REGTYPE, tarfile.AREGTYPE):
                    raise _untrusted(path, f"{name} in it is a link, a folder or a device, not a plain file")
                if name in found:
                    raise _untrusted(path, f"it holds {name} twice")
                total += member.size
                if member.size > limits.member or total > limits.total:
                    raise _untrusted(
                        path,
                        f"{name} in it is larger than policybot accepts ({member.size:,} bytes; "
                        f"at most {limits.member:,} a file and {limits.total:,} in all)",
                    )
                fh = tar.extractfile(member)
                assert fh is not None  # a plain file
                found[name] = fh.read(member.size)
    except BackupRefused:
        raise
    except _TooBig:
        raise _untrusted(path, f"it unpacks to over {limits.total:,} bytes, far more than a backup holds") from None
    except FileNotFoundError:
        raise BackupRefused(f"I can't find {path}. Check the file name and folder.") from None
    except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error):
        raise _untrusted(
            path, "it cannot be read as a .tar.gz file (damaged, cut short, or another kind of file)"
        ) from None
    if MANIFEST not in found:
        raise _untrusted(path, "it is not a policybot backup (it has no manifest.json saying what it holds)")
    try:
        manifest = json.loads(found.pop(MANIFEST))
    except ValueError:
        raise _untrusted(path, "its manifest.json cannot be read") from None
    if type(manifest) is not dict or manifest.get("format") != FORMAT:
        raise _untrusted(path, "it is not a policybot backup (its manifest.json does not say it is one)")
    try:
        listed = manifest["members"]
        assert type(listed) is dict
        datetime.fromisoformat(manifest["made_at"])
    except (KeyError, ValueError, TypeError, AssertionError):
        raise _untrusted(path, "its manifest.json is not in the shape policybot writes") from None
    for name in sorted(set(listed) | set(found)):
        if name not in found:
            raise _untrusted(path, f"{name} is listed in its manifest but missing")
        if name not in listed:
            raise _untrusted(path, f"it holds {name}, which its manifest does not list")
        if type(listed[name]) is not dict or listed[name].get("sha256") != hashlib.sha256(found[name]).hexdigest():
            raise _untrusted(path, f"{name} does not match the checksum in its manifest (changed or damaged)")
    return Backup(found, manifest)
