"""`policybot restore` reads an archive it does not trust: bounded, plain files only, a policybot backup only."""

from __future__ import annotations

import asyncio
import gzip
import io
import json
import tarfile
import zlib
from pathlib import Path

import pytest

from adapters.cli import main
from bot.store import backup
from bot.store.unpack import Limits
from tests.test_backup import archive_members, sibling_names, write_archive
from tests.test_records_cli import config, data_folder_bytes, school_with_records

MiB = 1024 * 1024


@pytest.fixture
def good(tmp_path: Path) -> dict[str, bytes]:
    """The members of a real backup of the sample school."""
    asyncio.run(school_with_records(tmp_path))
    out = tmp_path / "good.tar.gz"
    assert main(["backup", "--config", str(config(tmp_path)), "--out", str(out)]) == 0
    return archive_members(out)


def refused(path: Path, limits: Limits | None = None) -> str:
    with pytest.raises(backup.BackupRefused) as caught:
        backup.open_archive(path, limits)
    return str(caught.value)


def test_a_member_claiming_more_than_the_bound_is_refused_before_it_is_read(
    tmp_path: Path, good: dict[str, bytes], capsys: pytest.CaptureFixture[str]
) -> None:
    """A gzip bomb: a header saying live.json is 600 MB of zeros (here cut short after 1 MB: never read that far)."""
    bomb = tmp_path / "bomb.tar.gz"
    manifest = tarfile.TarInfo("manifest.json")
    manifest.size = len(good["manifest.json"])
    big = tarfile.TarInfo("live.json")
    big.size = 600 * MiB
    padding = bytes(-manifest.size % 512)
    tar_bytes = manifest.tobuf() + good["manifest.json"] + padding + big.tobuf()  # then live.json's data, below
    squeeze = zlib.compressobj(9, zlib.DEFLATED, 31)  # a gzip stream
    bomb.write_bytes(squeeze.compress(tar_bytes) + squeeze.compress(bytes(MiB)) + squeeze.flush(zlib.Z_SYNC_FLUSH))
    assert bomb.stat().st_size < 50_000
    why = refused(bomb)
    assert "live.json in it is larger than policybot accepts (629,145,600 bytes" in why and "Nothing was changed" in why

    cfg = str(config(tmp_path))
    before, names = data_folder_bytes(tmp_path / "data"), sibling_names(tmp_path)
    assert main(["restore", "--config", cfg, "--from", str(bomb), "--replace"]) == 2
    err = capsys.readouterr().err
    assert "is not a backup policybot can trust" in err and "larger than policybot accepts" in err
    assert data_folder_bytes(tmp_path / "data") == before and sibling_names(tmp_path) == names


def test_members_together_over_the_bound_are_refused(tmp_path: Path, good: dict[str, bytes]) -> None:
    path = tmp_path / "big.tar.gz"
    write_archive(path, {**good, "audit.jsonl": bytes(300_000), "live.json": bytes(300_000)})
    assert "audit.jsonl in it is larger than policybot accepts" in refused(path, Limits(member=400_000, total=500_000))
    assert "live.json in it is larger" in refused(path, Limits(member=200_000, total=10**9))


def test_a_stream_that_unpacks_past_the_bound_in_its_headers_is_refused_as_it_is_read(tmp_path: Path) -> None:
    """A header no member counts (a pax header of 2 MB) still counts towards what the archive unpacks to."""
    path = tmp_path / "pax.tar.gz"
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("manifest.json")
        info.pax_headers = {"comment": "x" * 2 * MiB}
        tar.addfile(info, io.BytesIO(b""))
    assert "it unpacks to over 1,000,000 bytes, far more than a backup holds" in refused(
        path, Limits(member=10**6, total=10**6)
    )


def test_an_archive_of_too_many_files_is_refused(tmp_path: Path, good: dict[str, bytes]) -> None:
    path = tmp_path / "many.tar.gz"
    extra = {f"journal.damaged-20260101T000000Z-{n}.jsonl": b"{}\n" for n in range(120)}
    write_archive(path, {**good, **extra})
    assert "it holds more than 100 files" in refused(path)


def test_a_member_that_is_not_a_plain_file_is_refused(tmp_path: Path, good: dict[str, bytes]) -> None:
    kinds = [tarfile.FIFOTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.DIRTYPE, tarfile.CONTTYPE, tarfile.SYMTYPE]
    for kind in [*kinds, tarfile.LNKTYPE, tarfile.GNUTYPE_SPARSE]:
        odd = tarfile.TarInfo("live.json")
        odd.type = kind
        if odd.issym() or odd.islnk():
            odd.linkname = "/etc/passwd"
        path = tmp_path / "odd.tar.gz"
        write_archive(path, {k: v for k, v in good.items() if k != "live.json"}, [odd])
        assert "live.json in it is a link, a folder or a device, not a plain file" in refused(path), kind


def test_paths_that_leave_the_folder_are_refused_and_nothing_is_written_outside(
    tmp_path: Path, good: dict[str, bytes]
) -> None:
    for name in ("../live.json", "/tmp/live.json", "data/../../live.json", "./live.json", "live.json/"):
        member = tarfile.TarInfo(name)
        member.size = 1
        path = tmp_path / "leave.tar.gz"
        write_archive(path, good, [member])
        assert "which policybot's backups never hold" in refused(path), name
    assert not (tmp_path.parent / "live.json").exists()


def test_an_archive_that_is_not_a_policybot_backup_says_so(tmp_path: Path, good: dict[str, bytes]) -> None:
    other = tmp_path / "other.tar.gz"
    manifest = json.dumps({"format": "someone-elses-backup", "members": {}, "made_at": "2026-12-01T00:00:00"})
    write_archive(other, {"manifest.json": manifest.encode()})
    assert "it is not a policybot backup (its manifest.json does not say it is one)" in refused(other)
    no_manifest = tmp_path / "none.tar.gz"
    write_archive(no_manifest, {k: v for k, v in good.items() if k != "manifest.json"})
    assert "it is not a policybot backup (it has no manifest.json" in refused(no_manifest)
    text = tmp_path / "notes.tar.gz"
    text.write_bytes(gzip.compress(b"just some notes\n" * 100))
    assert "it cannot be read as a .tar.gz file" in refused(text)
    mangled = tmp_path / "mangled.tar.gz"
    write_archive(mangled, {**good, "manifest.json": b"{not json"})
    assert "its manifest.json cannot be read" in refused(mangled)


def test_a_good_backup_within_the_bounds_is_read_whole(tmp_path: Path, good: dict[str, bytes]) -> None:
    path = tmp_path / "again.tar.gz"
    write_archive(path, good)
    read = backup.open_archive(path)
    assert read.members == {k: v for k, v in good.items() if k != "manifest.json"}
