"""`policybot export`, `dnp-import` and `purge` through adapters.cli.main, and records in the terminal chat."""

from __future__ import annotations

import asyncio
import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.cli import main
from adapters.console import ConsoleChat
from bot.config import load_config
from bot.store import Store
from tests.harness import APPLICATION, TestBot, button, read_policy

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
            tx.put("incidents", "INC-1", {"kind": "other", "status": "closed", "owner": "dokafor", "reported_at": "2026-07-01T09:00:00+00:00", "what": "a summer report"})
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
            assert emma["name"] == "Emma Clarke" and emma["training"][0]["what"] == "Induction" and emma["policy_ack"]["version"] == "2025-1"
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
    assert rows[0]["handle"] == "@PenningtonY6" and rows[0]["runners"] == "eclarke; treid"
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
    assert main(["export", "--config", str(config(tmp_path)), "--what", "items", "--format", "json", "--out", str(out)]) == 0
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
    assert "incidents" not in found["records"]  # nothing about him there but that he read the policy (before the application)
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
    (tmp_path / "x.csv").write_text("name,class\nZoe Amos,Year 3\n", encoding="utf-8")  # a good file: the bot is the only problem
    try:
        for args in (["export", "--what", "accounts", "--out", str(tmp_path / "a.csv")], ["purge", "--dry-run"], ["dnp-import", "--csv", str(tmp_path / "x.csv")]):
            assert main([*args, "--config", str(config(tmp_path))]) == 2
            err = capsys.readouterr().err
            assert "policybot is running and using the data folder" in err and "Stop the bot" in err and "Traceback" not in err
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
    good.write_bytes("\ufeffName,Class\r\nZoë O'Brien,Year 3\r\nAmir Haddad,Oak\r\n".encode())  # as a spreadsheet saves it
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
            tx.put("applications", "A-3", {"status": "created", "decided_at": old, "account": "ACC-1"})  # its account is live
            tx.put("applications", "A-4", {"status": "submitted", "submitted_at": old})  # still undecided
            tx.put("accounts", "ACC-1", {"status": "active", "created_at": old})  # live: never deleted
            tx.put("accounts", "ACC-2", {"status": "closed", "created_at": old, "closed_at": old})  # past
            tx.put("incidents", "INC-1", {"status": "open", "reported_at": old})  # open: never deleted
            tx.put("incidents", "INC-2", {"status": "closed", "reported_at": old, "closed_at": old})  # past
            tx.put("items", "I-1", {"received_at": old, "replied_at": (now - timedelta(days=31)).isoformat()})  # past 30 days
            tx.put("items", "I-2", {"received_at": old})  # still waiting for a reply
            tx.put("dnp", "zoe-obrien|year3", {"name": "Zoë O'Brien", "class": "Year 3", "added_at": old})  # kept until removed
            tx.put("people", "eclarke", {"leaving": {"date": old[:10], "status": "finished"}})  # past
            tx.put("people", "treid", {"leaving": {"date": old[:10], "status": "open"}})  # still leaving
        await store.close()

    asyncio.run(seed())
    expected = ["applications/A-1", "accounts/ACC-2", "incidents/INC-2", "items/I-1", "people/eclarke"]

    assert main(["purge", "--dry-run", "--config", cfg]) == 0
    listed = capsys.readouterr().out
    assert sorted(line.split(":")[0].strip() for line in listed.splitlines() if line.startswith("  ")) == sorted(expected)
    assert "5 record(s) are past their retention period" in listed
    assert stored(tmp_path, "applications")[0]["id"] == "A-1"  # a dry run deletes nothing

    assert main(["purge", "--config", cfg]) == 0
    assert "Deleted 5 record(s)" in capsys.readouterr().out
    left = {f"{t}/{r['id']}" for t in ("applications", "accounts", "incidents", "items", "dnp", "people") for r in stored(tmp_path, t)}
    assert left == {"applications/A-2", "applications/A-3", "applications/A-4", "accounts/ACC-1", "incidents/INC-1", "items/I-2", "dnp/zoe-obrien|year3", "people/treid"}
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
