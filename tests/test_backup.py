"""`policybot backup` while the store is being written, and `policybot restore`: consistent, verified, safe."""

from __future__ import annotations

import asyncio
import io
import os
import stat
import sys
import tarfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from adapters.cli import main
from bot.store import JOURNAL, LIVE, PREVIOUS, Store, StoreTuning, backup
from tests.test_records_cli import config, data_folder_bytes, school_with_records

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 12, 3, 9, 0, tzinfo=UTC)


def state(store: Store) -> dict[str, dict[str, Any]]:
    """Every table's records by key (empty tables left out: a table whose records were all deleted is no table)."""
    return {t: {d["_key"]: d for d in docs.values()} for t, docs in store.tables.snapshot().items() if docs}


async def restored_state(tmp_path: Path, taken: backup.Backup, name: str) -> tuple[dict, list]:
    """Write `taken` as an archive, restore it into a fresh folder, and read that store back."""
    archive = tmp_path / f"{name}.tar.gz"
    archive.write_bytes(backup.archive(taken))
    folder = tmp_path / name
    done = await backup.restore(archive, folder, NOW)
    assert not done.report.damage and done.aside is None
    store = Store(folder)
    try:
        return state(store), store.audit()
    finally:
        await store.close()


async def change(store: Store, i: int) -> None:
    """One commit of a burst: records added, changed and deleted across tables, with audit entries."""
    async with store.transaction() as tx:
        tx.put("items", f"I-{i % 17}", {"n": i, "text": "x" * (i % 50)})
        tx.put("applications", f"A-{i}", {"status": "submitted", "n": i})
        if i % 3 == 0:
            tx.delete("applications", f"A-{i - 2}")
        tx.audit("pshah", "changed", f"items/I-{i % 17}", detail=f"change {i}")


async def test_a_backup_during_a_burst_restores_the_store_exactly_as_at_its_last_change(tmp_path: Path) -> None:
    """Backups taken in a thread while commits and checkpoints (every 5 commits) go on in the loop."""
    data = tmp_path / "data"
    store = Store(data, tuning=StoreTuning(checkpoint_every=5, checkpoint_share=0.0))
    await change(store, -1)
    states: dict[int, tuple[dict, list]] = {store.seq: (state(store), store.audit())}
    done = asyncio.Event()

    async def burst() -> None:
        for i in range(400):
            await change(store, i)
            states[store.seq] = (state(store), store.audit())
            if i % 4 == 0:
                await asyncio.sleep(0)  # let a background checkpoint's snapshot be taken
        done.set()

    writer = asyncio.create_task(burst())
    taken = []
    while not done.is_set():
        taken.append(await asyncio.to_thread(backup.take, data, NOW))
    await writer
    await store.close()
    assert len(taken) >= 2 and len({b.manifest["change"] for b in taken}) >= 2, "backups were not taken mid-burst"
    for n, copy in enumerate(taken):
        at = copy.manifest["change"]
        assert await restored_state(tmp_path, copy, f"r{n}") == states[at], f"backup {n} (change {at})"
        assert copy.manifest["audit_entries"] == len(states[at][1])
        assert copy.manifest["records"] == sum(len(t) for t in states[at][0].values())


async def test_the_backup_command_copies_a_store_another_process_is_writing(tmp_path: Path) -> None:
    """`policybot backup` run as its own process (as from cron) while this one holds the lock and commits."""
    cfg = config(tmp_path)
    data = tmp_path / "data"
    store = Store(data, tuning=StoreTuning(checkpoint_every=5, checkpoint_share=0.0))
    await change(store, -1)
    states: dict[int, tuple[dict, list]] = {store.seq: (state(store), store.audit())}
    stop = asyncio.Event()

    async def burst() -> None:
        i = 0
        while not stop.is_set():
            await change(store, i)
            states[store.seq] = (state(store), store.audit())
            i += 1
            await asyncio.sleep(0.002)

    writer = asyncio.create_task(burst())
    env = {k: v for k, v in os.environ.items() if k != "POLICYBOT_CONFIG"}
    try:
        for n in range(2):
            out = tmp_path / f"cli{n}.tar.gz"
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "adapters.cli", "backup", "--config", str(cfg), "--out", str(out),
                cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
            )  # fmt: skip
            said, err = await proc.communicate()
            assert proc.returncode == 0, err.decode()
            assert b"records in" in said and b"audit entries" in said
    finally:
        stop.set()
        await writer
        await store.close()
    assert len(states) > 20  # the store was being written all along
    for n in range(2):
        taken = backup.open_archive(tmp_path / f"cli{n}.tar.gz")
        at = taken.manifest["change"]
        assert await restored_state(tmp_path, taken, f"cli-restored{n}") == states[at], f"backup {n} (change {at})"


@pytest.mark.parametrize("moment", [LIVE, PREVIOUS, JOURNAL])
async def test_a_checkpoint_between_the_files_being_read_is_never_a_mixture(tmp_path: Path, moment: str) -> None:
    """A checkpoint (journal set aside, live.json replaced, old journal removed) just after one file was read."""
    data = tmp_path / "data"
    store = Store(data)
    for i in range(10):
        await change(store, i)
    store.checkpoint()
    for i in range(10, 20):
        await change(store, i)
    await store.sync()
    states = {store.seq: state(store)}
    reads: list[str] = []

    def checkpoint_now(name: str) -> None:
        reads.append(name)
        if name == moment and len(reads) <= 3:  # in the first copy only
            for key in ("X-1", "X-2"):
                store.put_now("items", key, {"n": key})
                states[store.seq] = state(store)
                store.checkpoint()  # the changes so far move from journal.jsonl into live.json
            store.put_now("items", "X-3", {"n": 3})  # and a fresh journal starts
            states[store.seq] = state(store)

    copy = backup.take(data, NOW, between=checkpoint_now)
    assert (await restored_state(tmp_path, copy, "restored"))[0] == states[copy.manifest["change"]]
    assert copy.manifest["change"] == store.seq
    await store.close()


def archive_members(path: Path) -> dict[str, bytes]:
    with tarfile.open(path, "r:gz") as tar:
        return {m.name: tar.extractfile(m).read() for m in tar}  # type: ignore[union-attr]


def write_archive(path: Path, members: dict[str, bytes], extra: list[tarfile.TarInfo] = ()) -> None:  # type: ignore[assignment]
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"x" * info.size) if info.isfile() else None)


def sibling_names(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in tmp_path.iterdir())


def test_backup_then_restore_over_a_folder_moves_the_old_one_aside(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    data = tmp_path / "data"
    out = tmp_path / "backups" / "school.tar.gz"
    out.parent.mkdir()
    assert main(["backup", "--config", cfg, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    members = archive_members(out)
    assert set(members) == {"manifest.json", "live.json", "journal.jsonl", "audit.jsonl"}
    audit = members["audit.jsonl"].count(b"\n")
    assert f"{audit} audit entries" in said and "records in" in said and "up to change" in said, said
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    before = asyncio.run(_read(data))

    asyncio.run(_more_changes(data))  # a change after the backup, which the restore undoes
    old = data_folder_bytes(data)
    assert main(["restore", "--config", cfg, "--from", str(out)]) == 2  # not over records without --replace
    assert "already holds records" in capsys.readouterr().err and data_folder_bytes(data) == old

    assert main(["restore", "--config", cfg, "--from", str(out), "--replace"]) == 0
    said = capsys.readouterr().out
    aside = [p for p in tmp_path.iterdir() if p.name.startswith("data.before-restore-")]
    assert len(aside) == 1 and str(aside[0]) in said and "nothing is damaged" in said, said
    assert data_folder_bytes(aside[0]) == old  # the old folder kept, byte for byte
    assert asyncio.run(_read(data)) == before
    assert main(["check-data", "--config", cfg]) == 0
    assert "Nothing is damaged." in capsys.readouterr().out


async def _read(folder: Path) -> tuple[dict, list]:
    store = Store(folder)
    try:
        return state(store), store.audit()
    finally:
        await store.close()


async def _more_changes(folder: Path) -> None:
    store = Store(folder)
    await change(store, 1)
    await store.close()


def test_restore_into_a_new_folder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(school_with_records(tmp_path))
    out = tmp_path / "b.tar.gz"
    assert main(["backup", "--config", str(config(tmp_path)), "--out", str(out)]) == 0
    elsewhere = tmp_path / "new-server"
    elsewhere.mkdir()
    cfg = str(config(elsewhere))
    assert main(["restore", "--config", cfg, "--from", str(out)]) == 0
    assert asyncio.run(_read(elsewhere / "data")) == asyncio.run(_read(tmp_path / "data"))
    assert main(["check-data", "--config", cfg]) == 0


def test_restore_is_refused_while_policybot_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    out = tmp_path / "b.tar.gz"
    assert main(["backup", "--config", cfg, "--out", str(out)]) == 0
    running = Store(tmp_path / "data")  # holds the folder's lock, as serve does
    try:
        before, names = data_folder_bytes(tmp_path / "data"), sibling_names(tmp_path)
        assert main(["restore", "--config", cfg, "--from", str(out), "--replace"]) == 2
        err = capsys.readouterr().err
        assert "policybot is running" in err and "Nothing was changed" in err, err
        assert data_folder_bytes(tmp_path / "data") == before and sibling_names(tmp_path) == names
    finally:
        asyncio.run(running.close())


def _tampered(tmp_path: Path, good: dict[str, bytes]) -> dict[str, Path]:
    made = {}

    def variant(name: str, members: dict[str, bytes], extra: list[tarfile.TarInfo] = []) -> None:  # noqa: B006
        made[name] = tmp_path / f"{name}.tar.gz"
        write_archive(made[name], members, extra)

    audit = bytearray(good["audit.jsonl"])
    audit[len(audit) // 2] ^= 0x01
    variant("changed-byte", {**good, "audit.jsonl": bytes(audit)})
    variant("extra-member", {**good, "journal.damaged-20260101T000000Z.jsonl": b"{}\n"})
    variant("unknown-name", {**good, "notes.txt": b"hello\n"})
    traversal = tarfile.TarInfo("../evil.json")
    traversal.size = 1
    variant("path-traversal", good, [traversal])
    absolute = tarfile.TarInfo(str(tmp_path / "evil-absolute.json"))
    absolute.size = 1
    variant("absolute-path", good, [absolute])
    link = tarfile.TarInfo("live.json")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    variant("symlink-member", {k: v for k, v in good.items() if k != "live.json"}, [link])
    hard = tarfile.TarInfo("live.json")
    hard.type, hard.linkname = tarfile.LNKTYPE, "audit.jsonl"
    variant("hardlink-member", {k: v for k, v in good.items() if k != "live.json"}, [hard])
    variant("no-manifest", {k: v for k, v in good.items() if k != "manifest.json"})
    raw = bytearray((tmp_path / "good.tar.gz").read_bytes())
    raw[len(raw) // 2] ^= 0xFF
    made["flipped-byte"] = tmp_path / "flipped-byte.tar.gz"
    made["flipped-byte"].write_bytes(bytes(raw))
    return made


def test_a_tampered_archive_is_refused_and_changes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    good = tmp_path / "good.tar.gz"
    assert main(["backup", "--config", cfg, "--out", str(good)]) == 0
    capsys.readouterr()
    data = tmp_path / "data"
    asyncio.run(_more_changes(data))
    (tmp_path / "new-server").mkdir()
    fresh = str(config(tmp_path / "new-server"))  # a data folder not made yet
    for name, bad in _tampered(tmp_path, archive_members(good)).items():
        before, names = data_folder_bytes(data), sibling_names(tmp_path)
        for where in (cfg, fresh):
            assert main(["restore", "--config", where, "--from", str(bad), "--replace"]) == 2, name
            err = capsys.readouterr().err
            assert "is not a backup policybot can trust" in err and "Nothing was changed" in err, (name, err)
            assert "Traceback" not in err
            assert data_folder_bytes(data) == before and sibling_names(tmp_path) == names, name
            assert sibling_names(tmp_path / "new-server") == ["school.toml"], name
    assert not (tmp_path / "evil.json").exists() and not (tmp_path / "evil-absolute.json").exists()
    assert main(["restore", "--config", cfg, "--from", str(good), "--replace"]) == 0  # the untouched one is fine


def test_backup_out_is_private_and_never_through_a_link(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    old = tmp_path / "b.tar.gz"
    old.write_text("an old file anyone could read\n", encoding="utf-8")
    old.chmod(0o644)
    assert main(["backup", "--config", cfg, "--out", str(old)]) == 0
    assert stat.S_IMODE(old.stat().st_mode) == 0o600 and "manifest.json" in archive_members(old)
    target = tmp_path / "someone-elses.txt"
    target.write_text("theirs\n", encoding="utf-8")
    link = tmp_path / "link.tar.gz"
    link.symlink_to(target)
    capsys.readouterr()
    assert main(["backup", "--config", cfg, "--out", str(link)]) == 2
    assert "is a link to another file" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "theirs\n" and link.is_symlink()


def test_backup_of_a_damaged_folder_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(school_with_records(tmp_path))
    audit = tmp_path / "data" / "audit.jsonl"
    lines = audit.read_bytes().split(b"\n")
    lines[1] = b"\x00" * len(lines[1])
    audit.write_bytes(b"\n".join(lines))
    out = tmp_path / "b.tar.gz"
    assert main(["backup", "--config", str(config(tmp_path)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "is damaged" in err and "audit.jsonl line 2" in err and "check-data" in err, err
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]
    assert not os.path.exists(tmp_path / "data" / "b.tar.gz")


def test_lines_a_repair_set_aside_are_backed_up_and_restored(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    aside = tmp_path / "data" / "audit.damaged-20261203T081500Z.jsonl"
    aside.write_bytes(b"\x00\x01 what a repair set aside\n")
    out = tmp_path / "b.tar.gz"
    assert main(["backup", "--config", cfg, "--out", str(out)]) == 0
    assert archive_members(out)[aside.name] == aside.read_bytes()
    elsewhere = tmp_path / "new-server"
    elsewhere.mkdir()
    assert main(["restore", "--config", str(config(elsewhere)), "--from", str(out)]) == 0
    assert (elsewhere / "data" / aside.name).read_bytes() == aside.read_bytes()
