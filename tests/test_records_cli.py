"""`policybot export`, `dnp-import` and `purge` through adapters.cli.main, and records in the terminal chat."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import stat
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.cli import _parser, main
from adapters.console import ConsoleChat
from adapters.platforms import load_config
from bot import records
from bot.store import Store
from tests.harness import APPLICATION, TestBot, button, person_record, put_person, read_policy

SAMPLE = Path(__file__).resolve().parent.parent / "bot" / "sample_school.toml"


def config(tmp_path: Path, extra: str = "") -> Path:
    """The sample school with its data in `tmp_path/data`."""
    text = SAMPLE.read_text(encoding="utf-8").replace('path = "data"', f'path = "{tmp_path / "data"}"')
    path = tmp_path / "school.toml"
    path.write_text(text + extra, encoding="utf-8")
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a byte-order mark, so spreadsheets read it as UTF-8
    return list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))


def stored(tmp_path: Path, table: str) -> list[dict]:
    """What the store holds now (opened and released again, as the bot would)."""
    store = Store(tmp_path / "data")
    try:
        return store.all(table) if table != "audit" else store.audit()
    finally:
        asyncio.run(store.close())


async def school_with_records(tmp_path: Path) -> None:
    """An account created through the engine, policy read, training recorded, an incident."""
    bot = TestBot(load_config(config(tmp_path)), path=tmp_path / "data")
    try:
        await read_policy(bot.core, "eclarke", "treid")
        await bot.answer_all("eclarke", *APPLICATION)
        await bot.say("eclarke", "submit")
        await bot.click("swhitfield", button(bot.last("swhitfield"), "Approve"))
        await bot.click("pshah", button(bot.last("pshah"), "Record the new account"))
        await bot.answer_all("pshah", "@PenningtonY6", "=1+1 in the school safe", "submit")
        await bot.say("eclarke", "/policy")
        await bot.click("eclarke", button(bot.last("eclarke"), "I have read and understood it"))
        await bot.answer_all("pshah", "/training", "Emma Clarke", "today", "Induction", "Record it")
        async with bot.store.transaction() as tx:
            tx.put(
                "incidents",
                "INC-1",
                {
                    "kind": "other",
                    "status": "closed",
                    "owner": "dokafor",
                    "reported_at": "2026-07-01T09:00:00+00:00",
                    "what": "a summer report",
                },
            )
    finally:
        await bot.close()


def test_export_round_trips_and_reads_in_a_spreadsheet(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    for what in ("accounts", "applications", "incidents", "audit", "people"):
        out = tmp_path / f"{what}.json"
        assert main(["export", "--config", cfg, "--what", what, "--format", "json", "--out", str(out)]) == 0
        exported = json.loads(out.read_text(encoding="utf-8"))
        if what == "people":
            assert {r["id"] for r in exported} >= {"eclarke", "pshah"}
            emma = next(r for r in exported if r["id"] == "eclarke")
            assert (
                emma["name"] == "Emma Clarke"
                and emma["training"][0]["what"] == "Induction"
                and emma["policy_ack"]["version"] == "2025-1"
            )
        elif what == "audit":
            assert exported == stored(tmp_path, "audit")[: len(exported)]
        else:
            assert exported == stored(tmp_path, what)  # what is exported is what is stored
    assert "Wrote" in capsys.readouterr().out

    out = tmp_path / "accounts.csv"
    assert main(["export", "--config", cfg, "--what", "accounts", "--out", str(out)]) == 0
    rows = read_csv(out)
    account = stored(tmp_path, "accounts")[0]
    assert len(rows) == 1 and next(iter(rows[0])) == "id" and rows[0]["id"] == account["id"]
    assert (
        rows[0]["handle"] == "'@PenningtonY6" and rows[0]["runners"] == "eclarke; treid"
    )  # '@' can start a formula too
    assert rows[0]["created_at"] == "2026-11-25 10:00"  # in the school's time zone
    assert rows[0]["credentials_location"] == "'=1+1 in the school safe"  # never run as a formula

    out = tmp_path / "incidents.csv"
    main(["export", "--config", cfg, "--what", "incidents", "--out", str(out)])
    assert read_csv(out)[0]["reported_at"] == "2026-07-01 10:00"  # British Summer Time

    out = tmp_path / "audit.csv"
    main(["export", "--config", cfg, "--what", "audit", "--out", str(out)])
    actions = [r["action"] for r in read_csv(out) if r["action"] != "policy_acknowledged"]
    assert actions[:2] == ["application_submitted", "application_approved"] and "training_recorded" in actions


def test_a_table_not_there_yet_exports_headers_and_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "items.csv"
    assert main(["export", "--config", str(config(tmp_path)), "--what", "items", "--out", str(out)]) == 0
    assert "no items records yet, so the file has only the header" in capsys.readouterr().out
    assert out.read_bytes().decode("utf-8-sig") == "id,account,received_at,due_at,replied_at\r\n"
    assert (
        main(["export", "--config", str(config(tmp_path)), "--what", "items", "--format", "json", "--out", str(out)])
        == 0
    )
    assert json.loads(out.read_text(encoding="utf-8")) == []


def test_subject_access_gathers_everything_about_one_person(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    out = tmp_path / "tom.json"
    assert main(["export", "--config", cfg, "--person", "tom reid", "--format", "json", "--out", str(out)]) == 0
    found = json.loads(out.read_text(encoding="utf-8"))
    assert found["configuration"]["id"] == "treid" and found["configuration"]["title"] == "Year 4 Teacher"
    assert [a["account_name"] for a in found["records"]["applications"]] == ["Year 6 Trips"]
    assert found["records"]["accounts"][0]["runners"] == ["eclarke", "treid"]
    assert (
        "incidents" not in found["records"]
    )  # nothing about him there but that he read the policy (before the application)
    assert [p["policy_ack"]["version"] for p in found["records"]["people"]] == ["2025-1"]
    assert "Tom Reid" in capsys.readouterr().out

    out = tmp_path / "emma.csv"
    assert main(["export", "--config", cfg, "--person", "Clarke Emma", "--out", str(out)]) == 0
    rows = read_csv(out)
    sources = {r["source"] for r in rows}
    assert {"configuration", "applications", "accounts", "people", "audit"} <= sources
    assert any(r["source"] == "people" and r["field"] == "training" for r in rows)
    audit = [e for e in stored(tmp_path, "audit") if e["action"] == "subject_access_export"]
    assert [e["record"] for e in audit] == ["people/treid", "people/eclarke"]

    assert main(["export", "--config", cfg, "--person", "Nobody", "--out", str(out)]) == 2
    assert "Nobody called 'Nobody' is on the staff list" in capsys.readouterr().err


def test_records_commands_refuse_clearly_while_the_bot_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    running = Store(tmp_path / "data")  # a running bot holds the data folder
    (tmp_path / "x.csv").write_text(
        "name,class\nZoe Amos,Year 3\n", encoding="utf-8"
    )  # a good file: the bot is the only problem
    try:
        for args in (
            ["export", "--what", "accounts", "--out", str(tmp_path / "a.csv")],
            ["purge", "--dry-run"],
            ["dnp-import", "--csv", str(tmp_path / "x.csv")],
        ):
            assert main([*args, "--config", str(config(tmp_path))]) == 2
            err = capsys.readouterr().err
            assert (
                "policybot is running and using the data folder" in err
                and "Stop the bot" in err
                and "Traceback" not in err
            )
        assert not (tmp_path / "a.csv").exists()
    finally:
        asyncio.run(running.close())


def test_import_dnp_from_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(config(tmp_path))
    bad = tmp_path / "bad.csv"
    bad.write_text("name,class\nZoë O'Brien,Year 3\nAmir,Oak\n", encoding="utf-8")
    assert main(["dnp-import", "--config", cfg, "--csv", str(bad)]) == 2
    assert "Nothing was imported" in capsys.readouterr().err and stored(tmp_path, "dnp") == []

    good = tmp_path / "list.csv"
    good.write_bytes(
        "\ufeffName,Class\r\nZoë O'Brien,Year 3\r\nAmir Haddad,Oak\r\n".encode()
    )  # as a spreadsheet saves it
    assert main(["dnp-import", "--config", cfg, "--csv", str(good)]) == 0
    assert "2 pupil(s) added, 0 already on it" in capsys.readouterr().out
    assert sorted(e["name"] for e in stored(tmp_path, "dnp")) == ["Amir Haddad", "Zoë O'Brien"]
    assert main(["dnp-import", "--config", cfg, "--csv", str(tmp_path / "missing.csv")]) == 2
    assert "can't find" in capsys.readouterr().err


def test_purge_deletes_exactly_what_is_past_retention(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = str(config(tmp_path, "\n[records.retention]\nitems = 30\n"))
    now = datetime.now(UTC)
    old = (now - timedelta(days=3000)).isoformat()
    recent = (now - timedelta(days=3)).isoformat()

    async def seed() -> None:
        store = Store(tmp_path / "data")
        async with store.transaction() as tx:
            tx.put("applications", "A-1", {"status": "rejected", "submitted_at": old, "decided_at": old})  # past
            tx.put("applications", "A-2", {"status": "rejected", "submitted_at": old, "decided_at": recent})  # kept
            tx.put(
                "applications", "A-3", {"status": "created", "decided_at": old, "account": "ACC-1"}
            )  # its account is live
            tx.put("applications", "A-4", {"status": "submitted", "submitted_at": old})  # still undecided
            tx.put("accounts", "ACC-1", {"status": "active", "created_at": old})  # live: never deleted
            tx.put("accounts", "ACC-2", {"status": "closed", "created_at": old, "closed_at": old})  # past
            tx.put("incidents", "INC-1", {"status": "open", "reported_at": old})  # open: never deleted
            tx.put("incidents", "INC-2", {"status": "closed", "reported_at": old, "closed_at": old})  # past
            tx.put(
                "items", "I-1", {"received_at": old, "replied_at": (now - timedelta(days=31)).isoformat()}
            )  # past 30 days
            tx.put("items", "I-2", {"received_at": old})  # still waiting for a reply
            tx.put(
                "dnp", "zoe-obrien|year3", {"name": "Zoë O'Brien", "class": "Year 3", "added_at": old}
            )  # kept until removed
            put_person(tx, "eclarke", person_record(leaving=old[:10], leaving_status="finished"))  # past
            put_person(tx, "treid", person_record(leaving=old[:10]))  # still leaving
        await store.close()

    asyncio.run(seed())
    expected = ["applications/A-1", "accounts/ACC-2", "incidents/INC-2", "items/I-1", "people/eclarke"]

    assert main(["purge", "--dry-run", "--config", cfg]) == 0
    listed = capsys.readouterr().out
    assert sorted(line.split(":")[0].strip() for line in listed.splitlines() if line.startswith("  ")) == sorted(
        expected
    )
    assert "5 record(s) are past their retention period" in listed
    assert stored(tmp_path, "applications")[0]["id"] == "A-1"  # a dry run deletes nothing

    assert main(["purge", "--config", cfg]) == 0
    assert "Deleted 5 record(s)" in capsys.readouterr().out
    left = {
        f"{t}/{r['id']}"
        for t in ("applications", "accounts", "incidents", "items", "dnp", "people")
        for r in stored(tmp_path, t)
    }
    assert left == {
        "applications/A-2",
        "applications/A-3",
        "applications/A-4",
        "accounts/ACC-1",
        "incidents/INC-1",
        "items/I-2",
        "dnp/zoe-obrien|year3",
        "people/treid",
    }
    purged = [e for e in stored(tmp_path, "audit") if e["action"] == "purged"]
    assert sorted(e["record"] for e in purged) == sorted(expected) and all(e["actor"] == "command line" for e in purged)

    assert main(["purge", "--dry-run", "--config", cfg]) == 0
    assert "0 record(s) are past their retention period. Nothing to delete." in capsys.readouterr().out


async def test_records_in_the_terminal_chat(tmp_path: Path) -> None:
    bot = TestBot()
    out = io.StringIO()
    console = ConsoleChat(bot.core, out)
    await console.start("treid")
    for line in (
        "/policy",
        "2",
        "/as pshah",
        "/training",
        "Tom Reid",
        "today",
        "Induction",
        "submit",
        "/dnp-add",
        "Zoë O'Brien",
        "Year 3",
        "submit",
        "/as jbennett",
        "/photo-check zoe obrien",
        "/as swhitfield",
        "/leaver",
        "Tom Reid",
        "18/12/2026",
        "submit",
        "/policy-status",
    ):
        await console.line(line)
    text = out.getvalue()
    assert "I have recorded that you have read and understood the social media policy (version 2025-1)" in text
    assert "Training recorded" in text and "DO NOT PUBLISH" in text
    assert "Tom Reid is recorded as leaving on Fri 18 Dec 2026" in text
    assert "6 of 7 people have not confirmed reading version 2025-1" in text
    assert bot.store.get("people", "treid")["training"][0]["what"] == "Induction"
    await bot.close()


# ---- the data folder is the store's alone ----------------------------------------------

# Every command that writes a file a person names, with the arguments it needs besides --out.
WRITERS = {
    "export": [
        ["export", "--what", "people"],
        ["export", "--what", "audit", "--format", "json"],
        ["export", "--person", "Emma Clarke"],
    ],
    "teams-package": [["teams-package"]],
    "backup": [["backup"]],
}


def test_every_command_that_writes_a_file_is_checked_here() -> None:
    """A new command with --out must join WRITERS, so the tests below cover it too."""
    sub = next(a for a in _parser()._actions if a.dest == "command")
    writing = {name for name, p in sub.choices.items() if any("--out" in a.option_strings for a in p._actions)}
    assert writing == set(WRITERS)


def data_folder_bytes(data: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(data.iterdir()) if p.is_file() and p.name != "policybot.lock"}


@pytest.mark.parametrize("args", [a for runs in WRITERS.values() for a in runs], ids=lambda a: " ".join(a))
def test_no_command_writes_into_the_data_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    data = tmp_path / "data"
    before = data_folder_bytes(data)
    assert before["audit.jsonl"].count(b"\n") > 5
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "into-data").symlink_to(data)  # a folder link into the data folder
    (tmp_path / "audit-link.jsonl").symlink_to(data / "audit.jsonl")
    os.link(data / "audit.jsonl", tmp_path / "audit-hardlink.jsonl")  # another name for the same file
    relative = os.path.relpath(data / "audit.jsonl")
    for out in (
        data / "audit.jsonl",
        data / "journal.jsonl",
        data / "live.json",
        data,
        data / "new.csv",
        tmp_path / "elsewhere" / "into-data" / "audit.jsonl",
        tmp_path / "audit-link.jsonl",
        tmp_path / "audit-hardlink.jsonl",
        relative,
    ):
        assert main([*args, "--config", cfg, "--out", str(out)]) == 2, out
        err = capsys.readouterr().err
        assert "data folder" in err and "nothing was written" in err and "Traceback" not in err, err
        assert data_folder_bytes(data) == before, out  # not one byte of the records changed
    assert not (data / "new.csv").exists()
    assert stored(tmp_path, "audit")  # and the store still opens with its audit trail


def test_an_export_is_private_and_never_written_through_a_link(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    old = tmp_path / "people.csv"
    old.write_text("an old export anyone could read\n", encoding="utf-8")
    old.chmod(0o644)
    assert main(["export", "--config", cfg, "--what", "people", "--out", str(old)]) == 0
    assert stat.S_IMODE(old.stat().st_mode) == 0o600  # only its owner can read it now
    assert any(r["id"] == "eclarke" for r in read_csv(old))

    target = tmp_path / "someone-elses.txt"
    target.write_text("theirs\n", encoding="utf-8")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert main(["export", "--config", cfg, "--what", "people", "--out", str(link)]) == 2
    assert "is a link to another file" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "theirs\n" and link.is_symlink()

    shared = tmp_path / "shared.txt"
    shared.write_text("kept\n", encoding="utf-8")
    os.link(shared, tmp_path / "hard.csv")
    assert (
        main(["export", "--config", cfg, "--what", "people", "--format", "json", "--out", str(tmp_path / "hard.csv")])
        == 0
    )
    assert shared.read_text(encoding="utf-8") == "kept\n"  # the other name still holds its own text
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]  # no temporary file left behind


# ---- every CSV cell is safe in a spreadsheet ----------------------------------------------

RISKY = st.sampled_from(["=", "+", "-", "@", "\t", "\r", "'", "''", "'=", "\n", ",", '"'])
TEXT = st.builds(lambda a, b: a + b, RISKY | st.text(max_size=3), st.text(max_size=20))
VALUE = st.recursive(
    TEXT | st.integers() | st.floats(allow_nan=False) | st.booleans() | st.none(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TEXT, inner, max_size=3),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(st.dictionaries(TEXT, VALUE, min_size=1, max_size=4), max_size=4),
    texts=st.lists(TEXT, min_size=1, max_size=5),
)
def test_no_csv_cell_can_start_a_formula(tmp_path: Path, rows: list[dict], texts: list[str]) -> None:
    """Every cell of every CSV policybot writes (each kind of export, and a subject access
    request), headers included: none starts with = + - @ tab or CR, and a text cell reads
    back as stored once its apostrophe is taken off."""

    async def run() -> list[Path]:
        store = Store(None)
        async with store.transaction() as tx:
            for n, row in enumerate(rows):
                for table in ("accounts", "applications", "incidents", "items"):
                    tx.put(table, f"R-{n}", row)
            for n, text in enumerate(texts):
                tx.put("accounts", f"T-{n}", {"handle": text, "note": f"Emma Clarke {text}"})
                tx.audit("eclarke", text, f"accounts/T-{n}", detail=text)
        settings_ = load_config(SAMPLE)
        written = []
        for what in records.exports():
            out = tmp_path / f"{what}.csv"
            records.export(store, settings_, what, "csv", out)
            written.append(out)
        out = tmp_path / "person.csv"
        records.export_person(store, settings_, "Emma Clarke", "csv", out)
        written.append(out)
        await store.close()
        return written

    for path in asyncio.run(run()):
        cells = [c for row in csv.reader(io.StringIO(path.read_bytes().decode("utf-8-sig"), newline="")) for c in row]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))], path.name
    handles = {
        r["id"]: r["handle"]
        for r in csv.DictReader(io.StringIO((tmp_path / "accounts.csv").read_bytes().decode("utf-8-sig"), newline=""))
    }
    for n, text in enumerate(texts):
        assert records.uncell(handles[f"T-{n}"]) == text


# ---- checking and repairing a data folder ------------------------------------------------


def test_check_data_and_repair_data(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(school_with_records(tmp_path))
    cfg = str(config(tmp_path))
    data = tmp_path / "data"
    assert main(["check-data", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert "Nothing is damaged." in out and "audit.jsonl:" in out and "entries" in out

    audit = data / "audit.jsonl"
    lines = audit.read_bytes().splitlines(keepends=True)
    count = len(lines)
    lines[2] = b"\x00" * (len(lines[2]) - 1) + b"\n"  # a damaged block in the middle of the audit trail
    audit.write_bytes(b"".join(lines))
    before = data_folder_bytes(data)
    assert main(["export", "--config", cfg, "--what", "audit", "--out", str(tmp_path / "a.csv")]) == 2
    err = capsys.readouterr().err
    assert "audit.jsonl line 3" in err and "policybot will not start" in err and "Traceback" not in err
    for command in (["serve"], ["chat"], ["purge", "--dry-run"]):  # nothing starts on a damaged folder
        assert main([*command, "--config", cfg]) == 2
        err = capsys.readouterr().err
        assert "audit.jsonl line 3" in err and "policybot will not start" in err and "Traceback" not in err
    assert main(["check-data", "--config", cfg]) == 1
    out = capsys.readouterr().out
    assert "audit.jsonl line 3: is not a whole line of JSON" in out and "repair-data" in out
    assert data_folder_bytes(data) == before  # checking changes nothing

    assert main(["repair-data", "--config", cfg]) == 0
    out = capsys.readouterr().out
    assert "audit.jsonl: line 3 set aside in" in out
    (aside,) = data.glob("audit.damaged-*.jsonl")
    assert aside.read_bytes() == lines[2]
    assert main(["check-data", "--config", cfg]) == 0
    assert "Nothing is damaged." in capsys.readouterr().out
    entries = stored(tmp_path, "audit")
    assert (
        len(entries) >= count
    )  # every other entry kept (the one set aside is in the journal or the damaged file), and the repair
    assert [e["action"] for e in entries].count("data_repaired") == 1
    assert main(["repair-data", "--config", cfg]) == 0
    assert "nothing was changed" in capsys.readouterr().out


def test_repair_data_refuses_while_the_bot_runs(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    running = Store(tmp_path / "data")
    try:
        assert main(["repair-data", "--config", str(config(tmp_path))]) == 2
        assert "policybot is running" in capsys.readouterr().err
    finally:
        asyncio.run(running.close())
