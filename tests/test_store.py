"""The store: one contract for memory and file stores, crash safety, the lock, the audit trail."""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tinydb import Query, TinyDB
from tinydb.storages import JSONStorage

from bot.delivery import Delivery
from bot.errors import DataDamaged, PolicybotError, StoreLocked, StoreUnavailable
from bot.people import Directory
from bot.priority import Priority
from bot.store import AUDIT, JOURNAL, META, Conflict, Store, StoreTuning, iter_tables, lock_folder
from bot.store.checkpoint import dump
from bot.store.repair import repair
from tests.disk import Disk

ROOT = Path(__file__).resolve().parent.parent


def killable(folder: Path, **given: Any) -> tuple[Store, int]:
    """A store opened with a lock the test holds: closing that lock without closing the store is a kill."""
    held = lock_folder(folder)
    return Store(folder, held=held, **given), held


class Burst:
    """Requests arriving all the time: a checkpoint's thread waits `patience` seconds
    for a gap between each of its pieces."""

    in_flight = 1
    patience = 0.3

    async def give_way(self) -> None:
        return None


@pytest.fixture(params=["memory", "file"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    s = Store(None if request.param == "memory" else tmp_path / "data")
    yield s
    await s.close()


async def test_contract_get_put_find_delete(store: Store) -> None:
    assert store.get("applications", "nope") is None
    async with store.transaction() as tx:
        tx.put("applications", "A-1", {"status": "submitted", "who": "eclarke"})
        tx.put("applications", "odd key/with:colons and spaces", {"status": "approved", "who": "treid"})
        assert tx.get("applications", "A-1")["status"] == "submitted"  # sees its own write
    assert store.get("applications", "A-1") == {"status": "submitted", "who": "eclarke", "id": "A-1", "version": 1}
    assert store.get("applications", "odd key/with:colons and spaces")["who"] == "treid"
    async with store.transaction() as tx:
        tx.put("applications", "A-1", {"status": "approved", "who": "eclarke"})
    assert store.get("applications", "A-1")["version"] == 2
    assert [a["id"] for a in store.find("applications", status="approved")] == ["A-1", "odd key/with:colons and spaces"]
    async with store.transaction() as tx:
        tx.delete("applications", "A-1")
    assert store.get("applications", "A-1") is None
    assert len(store.all("applications")) == 1


STATUSES = ("open", "replied", "closed", None)  # None: the record has no status field at all


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 6), st.sampled_from((*STATUSES, "delete"))), min_size=1, max_size=40),
    st.integers(1, 5),
)
def test_find_agrees_with_reading_every_record_as_records_change(
    changes: list[tuple[int, str | None]], per_tx: int
) -> None:
    """`find` looks only at the records with the value asked for (an index kept by every
    write): through changes of status, deletions and keys coming back, it finds exactly what
    reading every record finds, oldest first, inside a transaction and after reopening."""

    def scan(records: list[dict[str, Any]], status: str | None) -> list[str]:
        return [r["id"] for r in records if r.get("status") == status]

    async def run(folder: Path) -> None:
        store = Store(folder)
        store.find("items", status="open")  # the index exists before the changes, and is kept up to date
        for start in range(0, len(changes), per_tx):
            async with store.transaction() as tx:
                for n, status in changes[start : start + per_tx]:
                    if status == "delete":
                        tx.delete("items", f"IT-{n}")
                    else:
                        tx.put("items", f"IT-{n}", {"status": status} if status else {"summary": "no status"})
                for status in STATUSES:  # the transaction sees its own writes (those it changed may come last)
                    assert sorted(r["id"] for r in tx.find("items", status=status)) == sorted(
                        scan(tx.all("items"), status)
                    )
            for status in STATUSES:
                assert [r["id"] for r in store.find("items", status=status)] == scan(store.all("items"), status)
        expected = {status: scan(store.all("items"), status) for status in STATUSES}
        await store.close()
        again = Store(folder)
        assert {status: [r["id"] for r in again.find("items", status=status)] for status in STATUSES} == expected
        await again.close()

    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(run(Path(folder)))


async def test_find_by_a_list_value_or_on_a_list_field_still_finds(store: Store) -> None:
    async with store.transaction() as tx:
        tx.put("accounts", "ACC-1", {"runners": ["eclarke", "treid"], "status": "active"})
        tx.put("accounts", "ACC-2", {"runners": ["treid"], "status": ["odd"]})
    assert [a["id"] for a in store.find("accounts", runners=["treid"])] == ["ACC-2"]
    assert [a["id"] for a in store.find("accounts", status="active", runners=["eclarke", "treid"])] == ["ACC-1"]
    assert store.find("accounts", status="closed") == []


async def test_returned_records_are_copies(store: Store) -> None:
    async with store.transaction() as tx:
        tx.put("t", "k", {"list": [1]})
    store.get("t", "k")["list"].append(2)
    assert store.get("t", "k")["list"] == [1]


async def test_failed_transaction_changes_nothing(store: Store) -> None:
    with pytest.raises(RuntimeError):
        async with store.transaction() as tx:
            tx.put("t", "k", {"v": 1})
            tx.audit("eclarke", "made", "t/k")
            raise RuntimeError("boom")
    assert store.get("t", "k") is None and store.audit() == []


async def test_version_conflict_is_refused(store: Store) -> None:
    async with store.transaction() as tx:
        tx.put("t", "k", {"v": 1})
    with pytest.raises(Conflict):
        async with store.transaction() as tx:
            tx.put("t", "k", {"v": 2}, expect_version=5)
    assert store.get("t", "k")["v"] == 1


async def test_file_store_reopens_with_everything(tmp_path: Path) -> None:
    s = Store(tmp_path)
    async with s.transaction() as tx:
        tx.put("applications", "A-1", {"status": "submitted"})
        tx.audit("eclarke", "application_submitted", "applications/A-1", before=None, after="submitted")
    await s.close()
    again = Store(tmp_path)
    assert again.get("applications", "A-1")["status"] == "submitted"
    entry = again.audit()[0]
    assert (entry["actor"], entry["action"], entry["record"], entry["before"], entry["after"]) == (
        "eclarke",
        "application_submitted",
        "applications/A-1",
        None,
        "submitted",
    )
    await again.close()


async def test_second_process_is_refused_clearly(tmp_path: Path) -> None:
    s = Store(tmp_path)
    code = f"from bot.store import Store\nStore({str(tmp_path)!r})"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert run.returncode != 0 and "Another policybot is already using the data folder" in run.stderr
    with pytest.raises(StoreLocked):
        Store(tmp_path)  # also within one process
    await s.close()
    Store(tmp_path)  # free again once closed


async def test_audit_lost_in_a_crash_is_recovered_and_torn_line_dropped(tmp_path: Path) -> None:
    s, held = killable(tmp_path)
    async with s.transaction() as tx:
        tx.put("t", "a", {"v": 1})
        tx.audit("x", "first", "t/a")
    async with s.transaction() as tx:
        tx.put("t", "b", {"v": 2})
        tx.audit("x", "second", "t/b")
    os.close(held)  # the process dies here, without a clean close
    audit = tmp_path / AUDIT
    lines = audit.read_text().splitlines()
    # Simulate a crash after live.json was renamed but while the audit line was half written.
    audit.write_text(lines[0] + "\n" + lines[1][:10])
    again = Store(tmp_path)
    assert [e["action"] for e in again.audit()] == ["first", "second"]
    assert [json.loads(line)["action"] for line in audit.read_text().splitlines()] == ["first", "second"]
    await again.close()


async def test_disk_refusing_writes_changes_nothing(tmp_path: Path) -> None:
    s = Store(tmp_path / "d")
    async with s.transaction() as tx:
        tx.put("t", "k", {"v": 1})
    s.checkpoint()
    # The journal's place is taken by a folder, so the next commit cannot be written.
    (tmp_path / "d" / JOURNAL).unlink(missing_ok=True)
    (tmp_path / "d" / JOURNAL).mkdir()
    with pytest.raises(StoreUnavailable):
        async with s.transaction() as tx:
            tx.put("t", "k", {"v": 2})
            tx.put("t", "new", {"v": 3})
            tx.audit("eclarke", "changed", "t/k")
    assert s.get("t", "k")["v"] == 1 and s.get("t", "new") is None and s.audit() == []
    (tmp_path / "d" / JOURNAL).rmdir()
    async with s.transaction() as tx:  # the disk is back: carries on
        tx.put("t", "k", {"v": 4})
    await s.close()
    again = Store(tmp_path / "d")
    assert again.get("t", "k")["v"] == 4 and again.get("t", "new") is None
    await again.close()


async def test_writes_during_a_background_checkpoint_and_a_failed_one_are_kept(tmp_path: Path) -> None:
    s, held = killable(tmp_path, tuning=StoreTuning(checkpoint_every=3))
    (tmp_path / "live.json.tmp").mkdir()  # the first checkpoints cannot be written
    for i in range(10):
        async with s.transaction() as tx:
            tx.put("t", f"k{i}", {"v": i})
    await s.wait_for_checkpoint()
    assert (tmp_path / "journal.prev.jsonl").exists() and not (tmp_path / "live.json").exists()
    (tmp_path / "live.json.tmp").rmdir()  # the disk is fine again
    for i in range(10, 20):
        async with s.transaction() as tx:
            tx.put("t", f"k{i}", {"v": i})
    await s.wait_for_checkpoint()
    assert (tmp_path / "live.json").exists() and not (tmp_path / "journal.prev.jsonl").exists()
    async with s.transaction() as tx:
        tx.put("t", "k0", {"v": 100})
    os.close(held)  # no close: as if killed
    again = Store(tmp_path)
    assert sorted(d["v"] for d in again.all("t")) == [*range(1, 20), 100]
    await again.close()


async def test_a_checkpoint_asked_for_during_a_background_one_never_mixes_them(tmp_path: Path) -> None:
    # In a burst, the background checkpoint is still writing when the next one starts.
    s, held = killable(tmp_path, tuning=StoreTuning(checkpoint_every=3), gaps=Burst())
    for i in range(3):
        async with s.transaction() as tx:
            tx.put("t", f"k{i}", {"v": i})
    assert s.checkpoint_running

    async def writing() -> None:
        while not (tmp_path / "live.json.tmp").exists():
            await asyncio.sleep(0.005)

    await asyncio.wait_for(writing(), timeout=5)
    for i in range(3, 60):  # a much bigger state than the one being written in the background
        async with s.transaction() as tx:
            tx.put("t", f"k{i}", {"v": i, "text": "x" * 100})
    s.checkpoint()
    await s.wait_for_checkpoint()
    os.close(held)  # no close: as if killed
    again = Store(tmp_path)  # live.json is whole, and is the newer state
    assert sorted(d["v"] for d in again.all("t")) == list(range(60))
    await again.close()


async def test_a_checkpoint_waits_for_the_requests_being_answered(tmp_path: Path) -> None:

    priority = Priority(patience=60)
    s = Store(tmp_path, tuning=StoreTuning(checkpoint_every=3), gaps=priority)
    with priority.answering():  # a burst: Slack is waiting for an answer
        for i in range(6):
            async with s.transaction() as tx:
                tx.put("t", f"k{i}", {"v": i})
        await asyncio.sleep(0.1)
        assert not (tmp_path / "live.json").exists()  # due, but not while a request waits
        assert not (tmp_path / "journal.prev.jsonl").exists()  # not even its snapshot
    await asyncio.wait_for(s.wait_for_checkpoint(), timeout=10)  # then at once
    assert (tmp_path / "live.json").exists()
    await s.close()


async def test_checkpoint_and_journal_replay_agree(tmp_path: Path) -> None:
    s, held = killable(tmp_path)
    for i in range(5):
        async with s.transaction() as tx:
            tx.put("t", f"k{i}", {"v": i})
    s.checkpoint()
    async with s.transaction() as tx:
        tx.put("t", "k1", {"v": 10})
        tx.delete("t", "k2")
    # no close: as if the process were killed
    os.close(held)
    again = Store(tmp_path)
    assert sorted((d["id"], d["v"]) for d in again.all("t")) == [("k0", 0), ("k1", 10), ("k3", 3), ("k4", 4)]
    await again.close()


async def test_a_commit_returns_only_once_the_disk_has_it_and_commits_share_fsyncs(tmp_path: Path) -> None:
    disk = Disk()
    disk.free.clear()  # the disk has not finished until the test says so
    disk.lag = 0.01
    s = Store(tmp_path, tuning=StoreTuning(fsync=disk.fsync))
    calls = disk.calls

    async def write(i: int) -> None:
        async with s.transaction() as tx:
            tx.put("t", f"k{i}", {"v": i})

    first = asyncio.create_task(write(0))
    await asyncio.sleep(0.05)
    assert not first.done()  # written, but not on disk yet: not reported as done
    assert s.get("t", "k0") is not None  # (later turns already see it)
    others = [asyncio.create_task(write(i)) for i in range(1, 50)]
    await asyncio.sleep(0.05)
    assert not any(t.done() for t in others)
    disk.free.set()
    await asyncio.gather(first, *others)
    # Fifty commits, far fewer fsyncs: those waiting together share one.
    assert len(calls) <= 5, len(calls)
    disk.lag = 0.0
    await s.close()
    again = Store(tmp_path)
    assert len(again.all("t")) == 50
    await again.close()


async def test_put_now_writes_at_once_and_a_waiter_that_gives_up_stops_no_one(tmp_path: Path) -> None:
    disk = Disk()
    s = Store(tmp_path, tuning=StoreTuning(fsync=disk.fsync))
    async with s.transaction() as tx:
        assert s.put_now("inbox", "r0", {"v": 0}) is None  # a transaction is open: not now
        tx.put("t", "k", {"v": 1})
    disk.free.clear()  # the disk takes its time from here
    seq = s.put_now("inbox", "r1", {"v": 1})
    assert seq is not None and s.get("inbox", "r1") is not None  # written before anything is awaited
    impatient = asyncio.create_task(s.sync(seq))
    patient = asyncio.create_task(s.sync(seq))
    await asyncio.sleep(0.05)
    impatient.cancel()  # one waiter gives up (a timeout): the other still waits for the disk
    await asyncio.sleep(0.05)
    assert not patient.done()
    disk.free.set()
    await asyncio.wait_for(patient, timeout=10)
    await s.close()
    again = Store(tmp_path)
    assert again.get("inbox", "r1") is not None and again.get("inbox", "r0") is None and again.get("t", "k") is not None
    await again.close()


def test_live_json_is_written_as_json_dump_would_write_it(tmp_path: Path) -> None:

    snapshot = {
        "empty": {},
        "t": {str(i): {"text": f"caf\u00e9 \u202e {i}", "n": i, "nested": {"a": [1, None, True]}} for i in range(10)},
        "one": {"1": {"x": '\n"quoted"'}},
        "_meta": {"1": {"seq": 7}},
    }
    out = io.StringIO()
    dump(snapshot, out, chunk=3)  # pieces meet inside tables
    assert out.getvalue() == json.dumps(snapshot, separators=(",", ":"))


async def test_a_checkpoint_opens_with_plain_tinydb_read_only_and_holds_every_table_and_record(tmp_path: Path) -> None:
    """live.json is TinyDB's own format: the school's data opens with plain TinyDB, read-only
    (docs/store.md shows how)."""
    s = Store(tmp_path / "data", tuning=StoreTuning(dump_chunk=2))  # written in pieces, as a large store is
    async with s.transaction() as tx:
        for i in range(5):
            tx.put(
                "applications", f"A-{i}", {"status": "submitted", "who": "eclarke", "moderators": ["treid", "pshah"]}
            )
        tx.put(
            "incidents",
            "INC-1",
            {
                "summary": "Zo\u00eb's photo \u202e shared",
                "timeline": [{"at": "2026-12-03T08:00:00+00:00", "what": "reported"}],
            },
        )
        tx.audit("eclarke", "application_submitted", "applications/A-0")
    async with s.transaction() as tx:
        tx.delete("applications", "A-1")
        tx.put("applications", "A-2", {"status": "approved", "who": "eclarke", "moderators": []})
        tx.put("people", "eclarke", {"name": "Emma Clarke"})
    await s.close()  # checkpointed into live.json
    live = tmp_path / "data" / "live.json"
    before = live.read_bytes()

    db = TinyDB(live, storage=JSONStorage, access_mode="r")
    try:
        assert db.tables() == {*iter_tables(s), META}
        for table in iter_tables(s):
            on_disk = [{k: v for k, v in doc.items() if k != "_key"} for doc in db.table(table).all()]
            assert on_disk == s.all(table)
            assert [doc["_key"] for doc in db.table(table).all()] == [r["id"] for r in s.all(table)]
        assert db.table("applications").search(Query().status == "approved") == [
            {**s.get("applications", "A-2"), "_key": "A-2"}
        ]
        assert db.table(META).all()[0]["seq"] == s.seq
    finally:
        db.close()
    assert live.read_bytes() == before  # read-only: nothing written
    assert sorted(iter_tables(s)) == ["applications", "incidents", "people"]


async def test_a_large_store_is_checkpointed_less_often_and_reopens_whole(tmp_path: Path) -> None:
    s = Store(tmp_path, tuning=StoreTuning(checkpoint_every=10))
    async with s.transaction() as tx:  # years of records: a live.json far larger than a commit
        for i in range(300):
            tx.put("history", f"h{i}", {"note": "x" * 200})
    s.checkpoint()
    live = (tmp_path / "live.json").stat().st_size
    for i in range(40):  # four times checkpoint_every, but small: not worth rewriting live.json yet
        async with s.transaction() as tx:
            tx.put("small", f"s{i}", {"v": i})
    await asyncio.sleep(0.05)
    assert (tmp_path / "live.json").stat().st_size == live
    for i in range(200):  # the journal grows past the size of live.json: now it is rewritten
        async with s.transaction() as tx:
            tx.put("big", f"b{i}", {"note": "y" * 400})
    await s.wait_for_checkpoint()
    assert (tmp_path / "live.json").stat().st_size > live
    await s.close()
    again = Store(tmp_path)
    assert len(again.all("history")) == 300 and len(again.all("small")) == 40 and len(again.all("big")) == 200
    await again.close()


async def test_a_failed_fsync_refuses_changes_until_the_disk_works_then_carries_on_without_a_restart(
    tmp_path: Path,
) -> None:
    """After a failed fsync nobody can say what reached the disk: every change is refused and
    nothing sent. Once the disk can be written again, the store goes back to what was on disk
    before the failure (the change never reported saved is undone, and the audit trail says
    so) and carries on, without a restart; a restart later finds the same."""

    s, held = killable(tmp_path)
    async with s.transaction() as tx:
        tx.put("t", "kept", {"v": 1})
    os.close(held)  # killed: "kept" is in the journal, which the next start reads back
    disk = Disk()
    told: list[str] = []
    s = Store(tmp_path, tuning=StoreTuning(recover_every=0.0, fsync=disk.fsync), trouble=told.append)
    disk.error = OSError(5, "Input/output error")
    with pytest.raises(StoreUnavailable):
        async with s.transaction() as tx:
            tx.put(
                "outbox",
                "1",
                {"n": 1, "next_at": "2026-01-01T00:00:00+00:00", "to": "person:eclarke", "card": {"title": "Hello"}},
            )
            tx.audit("eclarke", "sent_hello", "outbox/1")
    assert told == ["Input/output error"]  # the core is told once (it tells the administrators)
    assert (tmp_path / JOURNAL).read_bytes().count(
        b"sent_hello"
    ) == 1  # (the unsaved change is in the file, as the OS shows it)
    # The disk may have lost it: nothing is sent on its strength, and nothing more is accepted.
    sent = []

    class Recording:
        name = "terminal"

        def targets(self, msg: object, directory: object) -> list[str]:
            return ["eclarke"]

        async def send(self, target: str, msg: object) -> None:
            sent.append(target)

    delivery = Delivery(s, Directory([]), lambda: datetime.now(UTC))
    delivery.add(Recording())
    with pytest.raises(StoreUnavailable):
        await delivery.flush()
    for _ in range(2):  # still failing: still refused
        with pytest.raises(StoreUnavailable):
            async with s.transaction() as tx:
                tx.put("t", "later", {"v": 2})
    assert told == ["Input/output error"]  # once, not once a refusal

    disk.error = None  # the disk works again
    async with s.transaction() as tx:  # no restart
        tx.put("t", "later", {"v": 2})
    assert told == ["Input/output error", ""]  # and told it is over
    assert s.get("outbox", "1") is None and s.get("t", "later") == {"v": 2, "id": "later", "version": 1}
    assert await delivery.flush() == 0 and sent == []  # the undone message never goes
    assert s.get("t", "kept") is not None  # what was on disk before the failure stays (here, read back at the start)
    assert [e["detail"] for e in s.audit(action="not_saved")] == [
        "sent_hello by eclarke (change 2) did not happen: the disk failed before it was saved"
    ]
    assert s.audit(action="store_recovered")
    await s.close()
    again = Store(tmp_path)  # a restart reads what the disk holds: the same
    assert again.get("t", "kept") == {"v": 1, "id": "kept", "version": 1}
    assert again.get("outbox", "1") is None and again.get("t", "later") is not None
    assert [e["action"] for e in again.audit()] == ["sent_hello", "not_saved", "store_recovered"]
    await again.close()


async def test_a_failed_fsync_is_recovered_by_the_scheduler_with_no_traffic_and_never_checkpointed(
    tmp_path: Path,
) -> None:
    disk = Disk()
    s, held = killable(tmp_path, tuning=StoreTuning(fsync=disk.fsync))
    async with s.transaction() as tx:
        tx.put("t", "kept", {"v": 1})
    disk.error = OSError(30, "Read-only file system")
    with pytest.raises(StoreUnavailable):
        async with s.transaction() as tx:
            tx.put("t", "lost", {"v": 2})
    with pytest.raises(StoreUnavailable):
        s.checkpoint()  # never a checkpoint of changes the disk may not have
    await s.recover()  # the scheduler's try, while the disk still fails: nothing changes
    assert s.get("t", "lost") is not None and not (tmp_path / "live.json").exists()
    disk.error = None
    await s.recover()
    assert s.get("t", "lost") is None and s.get("t", "kept") is not None
    async with s.transaction() as tx:
        tx.put("t", "after", {"v": 3})
    os.close(held)  # killed, no clean close
    again = Store(tmp_path)
    assert sorted(d["id"] for d in again.all("t")) == ["after", "kept"]
    await again.close()


WRITER = textwrap.dedent(
    """
    import asyncio, itertools, sys
    from bot.store import Store, StoreTuning

    async def main():
        # small: checkpoints in flight when the kill lands
        s = Store(sys.argv[1], tuning=StoreTuning(checkpoint_every=int(sys.argv[2])))
        numbers = itertools.count()

        async def writer():
            while True:
                i = next(numbers)
                async with s.transaction() as tx:
                    tx.put("items", f"i{i}", {"n": i, "text": "x" * 200})
                    tx.audit("writer", "wrote", f"items/i{i}")
                print(i, flush=True)  # acknowledged only after the commit returned
                await asyncio.sleep(0)  # as a server does between requests: background checkpoints run

        # Several at once, as turns are: their commits share fsyncs.
        await asyncio.gather(*(writer() for _ in range(int(sys.argv[3]))))

    asyncio.run(main())
    """
)


@pytest.mark.parametrize(
    ("kill_after", "checkpoint_every", "writers"),
    [(5, 2000, 1), (40, 2000, 1), (120, 2000, 1), (300, 7, 1), (700, 3, 1), (400, 2000, 16), (600, 5, 16)],
)
def test_sigkill_during_a_burst_keeps_every_acknowledged_write(
    tmp_path: Path, kill_after: int, checkpoint_every: int, writers: int
) -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(tmp_path), str(checkpoint_every), str(writers)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    acked: set[int] = set()
    try:
        assert proc.stdout is not None
        for line in proc.stdout:
            acked.add(int(line))
            if len(acked) > kill_after:
                break
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    assert len(acked) > kill_after
    s = Store(tmp_path)  # loads: no torn or mixed file
    held = {d["n"] for d in s.all("items")}
    assert acked <= held  # every acknowledged write is there
    if writers == 1:
        assert held == set(range(len(held)))  # one after another: no gap
    assert all(d["text"] == "x" * 200 for d in s.all("items"))  # and nothing half-applied
    # Each write with its own audit entry, once, in the order they were committed.
    assert sorted(e["record"] for e in s.audit()) == sorted(f"items/i{n}" for n in held)
    assert len({e["seq"] for e in s.audit()}) == len(held)
    if checkpoint_every < kill_after:
        assert (tmp_path / "live.json").exists()  # checkpoints really happened during the burst


# ---- a damaged data folder: refused, named, every byte kept; a torn last line only is dropped ----


async def _thirty_acknowledged(folder: Path) -> None:
    """30 acknowledged commits, each with its audit entry, then a kill (no checkpoint)."""
    s, held = killable(folder)
    for i in range(30):
        async with s.transaction() as tx:
            tx.put("items", f"i{i}", {"n": i, "text": "x" * 40})
            tx.audit("writer", "wrote", f"items/i{i}")
    os.close(held)  # killed: the journal holds all 30


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir() if p.name != "policybot.lock"}


@pytest.mark.parametrize("name", [JOURNAL, AUDIT])
async def test_a_damaged_byte_mid_file_refuses_to_start_naming_the_line_and_keeps_every_byte(
    tmp_path: Path, name: str
) -> None:

    await _thirty_acknowledged(tmp_path)
    file = tmp_path / name
    lines = file.read_bytes().splitlines(keepends=True)
    assert len(lines) == 30
    lines[10] = lines[10][:5] + b"\xff" + lines[10][6:]  # one damaged byte in line 11
    file.write_bytes(b"".join(lines))
    before = _files(tmp_path)
    for _ in range(2):  # and again: nothing was cut off or checkpointed over the first time
        with pytest.raises(DataDamaged) as refused:
            Store(tmp_path)
        assert (
            f"{name} line 11" in str(refused.value)
            and "check-data" in str(refused.value)
            and "repair-data" in str(refused.value)
        )
        assert _files(tmp_path) == before

    done = await repair(tmp_path, datetime(2026, 12, 3, 8, 0, tzinfo=UTC))
    assert [(a.file, a.lines) for a in done] == [(name, [11])]
    assert (tmp_path / done[0].into).read_bytes() == lines[10]  # the damaged line, byte for byte, in a file of its own
    assert stat.S_IMODE((tmp_path / done[0].into).stat().st_mode) == 0o600
    again = Store(tmp_path)
    try:
        held = {d["n"] for d in again.all("items")}
        if name == JOURNAL:
            assert held == set(range(30)) - {10}  # every change but the damaged one
        else:
            assert held == set(range(30))
        # The audit trail: every entry (one set aside with its audit line comes back from the journal), and the repair.
        assert sorted(e["record"] for e in again.audit(action="wrote")) == sorted(f"items/i{n}" for n in range(30))
        (repaired,) = again.audit(action="data_repaired")
        assert repaired["record"] == name and done[0].into in repaired["detail"] and "line 11" in repaired["detail"]
    finally:
        await again.close()


async def test_a_torn_last_line_is_the_only_one_dropped(tmp_path: Path) -> None:
    await _thirty_acknowledged(tmp_path)
    journal = tmp_path / JOURNAL
    whole = journal.read_bytes()
    journal.write_bytes(
        whole + b'{"seq":31,"writes":[["items","i30",{"n":3'
    )  # being written at the kill: nobody was told
    s = Store(tmp_path)
    assert {d["n"] for d in s.all("items")} == set(range(30))
    assert journal.read_bytes() == whole  # cut off, and only that
    await s.close()


@pytest.mark.parametrize(
    ("name", "before", "after"),
    [
        (JOURNAL, b'"i24",{', b'"i 4",{'),  # the record's key
        (JOURNAL, b'[["items"', b'[["itens"'),  # its table
        (
            JOURNAL,
            b'{"seq":25,"writes"',
            b'{"seq":95,"writes"',
        ),  # the change number: the changes after it would be skipped
        (JOURNAL, b'"n":24,', b'"n":21,'),  # a value
        (AUDIT, b'"actor":"writer"', b'"actor":"wrider"'),
        (AUDIT, b'"crc":', b'"\\rc":'),  # the checksum's own name, made into another valid one
    ],
)
async def test_a_damaged_byte_that_leaves_valid_json_is_damage_not_a_different_change(
    tmp_path: Path, name: str, before: bytes, after: bytes
) -> None:
    """Each line carries its checksum: a damaged byte that still reads as JSON is found and named, never taken as
    a different change (or a different audit entry), and nothing is changed."""
    await _thirty_acknowledged(tmp_path)
    file = tmp_path / name
    lines = file.read_bytes().splitlines(keepends=True)
    assert lines[24].count(before) == 1
    lines[24] = lines[24].replace(before, after)
    file.write_bytes(b"".join(lines))
    before_files = _files(tmp_path)
    with pytest.raises(DataDamaged) as refused:
        Store(tmp_path)
    assert [str(d) for d in refused.value.damage] == [f"{name} line 25: does not match its checksum (damaged)"]
    assert _files(tmp_path) == before_files


async def test_lines_written_before_checksums_are_read_as_before(tmp_path: Path) -> None:
    await _thirty_acknowledged(tmp_path)
    s = Store(tmp_path)
    records, audit = s.all("items"), s.audit()
    await s.close()
    await _thirty_acknowledged(tmp_path / "old")
    for name in (JOURNAL, AUDIT):  # as an earlier policybot wrote them: no checksum
        file = tmp_path / "old" / name
        file.write_bytes(re.sub(rb',"crc":\d+\}\n', b"}\n", file.read_bytes()))
        assert b'"crc"' not in file.read_bytes()
    old = Store(tmp_path / "old")
    try:
        assert old.all("items") == records
        assert [{k: v for k, v in e.items() if k != "at"} for e in old.audit()] == [
            {k: v for k, v in e.items() if k != "at"} for e in audit
        ]
    finally:
        await old.close()


async def test_a_journal_line_of_json_in_the_wrong_shape_is_damage(tmp_path: Path) -> None:

    await _thirty_acknowledged(tmp_path)
    journal = tmp_path / JOURNAL
    lines = journal.read_bytes().splitlines(keepends=True)
    lines[3] = b'{"sek":4,"writes":[]}\n'
    lines[7] = b'{"seq":8,"writes":[["items"]]}\n'
    journal.write_bytes(b"".join(lines))
    with pytest.raises(DataDamaged) as refused:
        Store(tmp_path)
    assert "line 4: has no change number" in str(refused.value) and "1 more damaged place" in str(refused.value)


async def test_a_damaged_live_json_is_refused_named_and_never_overwritten(tmp_path: Path) -> None:

    s = Store(tmp_path)
    async with s.transaction() as tx:
        tx.put("items", "i0", {"n": 0})
    await s.close()  # checkpointed into live.json
    live = tmp_path / "live.json"
    text = live.read_bytes()
    live.write_bytes(text[:20] + b"#" + text[21:])
    before = _files(tmp_path)
    with pytest.raises(DataDamaged) as refused:
        Store(tmp_path)
    assert "live.json" in str(refused.value) and "backup" in str(refused.value)
    with pytest.raises(PolicybotError, match="cannot be repaired"):
        await repair(tmp_path, datetime(2026, 12, 3, tzinfo=UTC))
    assert _files(tmp_path) == before


@settings(max_examples=40, deadline=None)
@given(st.sampled_from([JOURNAL, AUDIT]), st.integers(0, 10**6), st.binary(min_size=1, max_size=1))
def test_one_damaged_byte_anywhere_but_the_last_newline_never_loses_a_line_silently(
    name: str, where: int, byte: bytes
) -> None:
    """Whatever byte is damaged (except the newline ending the file, which makes the last line
    unfinished), policybot either opens with every acknowledged change and audit entry, or
    refuses to start naming that file, and changes nothing."""

    original = _THIRTY.setdefault("files", _make_thirty())
    with tempfile.TemporaryDirectory() as folder:
        data = Path(folder)
        for file, content in original.items():
            (data / file).write_bytes(content)
        damaged = bytearray(original[name])
        at = where % (len(damaged) - 1)
        damaged[at : at + 1] = byte
        (data / name).write_bytes(bytes(damaged))
        before = _files(data)
        try:
            s = Store(data)
        except DataDamaged as exc:
            assert name in str(exc)
            assert _files(data) == before
            return
        try:
            assert {d["id"] for d in s.all("items")} == {f"i{n}" for n in range(30)}
            assert len(s.audit()) >= 30
        finally:
            asyncio.run(s.close())


_THIRTY: dict[str, dict[str, bytes]] = {}


def _make_thirty() -> dict[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        asyncio.run(_thirty_acknowledged(Path(folder)))
        return _files(Path(folder))
