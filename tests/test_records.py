"""People and records: policy acknowledgement, training, leavers, the do-not-publish check, exports and retention."""

from __future__ import annotations

import asyncio
import csv
import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from adapters.cli import main
from bot.store import Store
from tests.harness import TestBot, add_account, button, school, set_weekly, text


async def test_policy_summary_full_text_and_acknowledgement_with_version() -> None:
    bot = await school()
    await bot.say("eclarke", "/policy")
    card = bot.last("eclarke")
    assert "version 2025-1" in card.body and "Who it applies to" in text(card)
    await bot.click("eclarke", button(card, "Show the full policy"))
    full = " ".join(text(c) for c in bot.outbox.cards("eclarke"))
    assert "Pennington" in full and "Monitoring" in full and len(full) > 5000
    await bot.click("eclarke", button(card, "I have read"))
    assert "version 2025-1" in bot.last("eclarke").body
    assert bot.store.get("people", "eclarke")["policy_ack"]["version"] == "2025-1"
    acks = [(e["action"], e["record"], e["detail"]) for e in bot.store.audit(actor="eclarke")]
    assert acks == [
        ("policy_acknowledged", "people/eclarke", "version 2025-1")
    ]  # the one thing Emma did: confirm this version
    await bot.say("eclarke", "/policy-status")
    assert bot.last("eclarke").title == "Sorry"  # staff can't see who has not read it
    await bot.say("swhitfield", "/policy-status")
    status = text(bot.last("swhitfield"))
    assert "Tom Reid" in status and "Emma Clarke (Year 6 Teacher) read the policy" in status
    await bot.close()


async def test_a_new_policy_version_asks_everyone_again_and_reminds_weekly(tmp_path: Path) -> None:
    bot = await school(tmp_path / "data")
    await bot.say("eclarke", "/policy")
    await bot.click("eclarke", button(bot.last("eclarke"), "I have read"))
    await bot.close()
    settings = bot.settings
    newer = replace(settings, school=replace(settings.school, policy_version="2026-1"))
    again = TestBot(newer, tmp_path / "data", start=datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # a Monday
    await again.tick()
    asked = [c for c in again.outbox.cards("eclarke") if "2026-1" in text(c)]
    assert asked, "everyone is asked to read the new version"
    reminders = len(again.outbox.cards("treid"))
    await again.tick()
    again.clock.advance(timedelta(days=1))
    await again.tick()
    assert len(again.outbox.cards("treid")) == reminders  # once a week, not every tick or day
    again.clock.advance(timedelta(days=6))  # the next Monday
    await again.tick()
    assert len(again.outbox.cards("treid")) == reminders + 1
    await again.close()


async def test_training_is_recorded_by_administrators_and_shown_on_the_register() -> None:
    bot = await school()
    await bot.say("treid", "/training")
    assert bot.last("treid").title == "Sorry"
    assert bot.store.audit(action="refused", actor="treid")
    await bot.answer_all("pshah", "/training", "Tom Reid", "today", "Policy induction with the DSL", "submit")
    assert "Policy induction" in bot.last("treid").body
    assert bot.store.get("people", "treid")["training"][0]["date"] == "2026-11-25"
    await bot.answer_all("pshah", "/training", "Tom Reid", "tomorrow")
    assert "future" in bot.last("pshah").body
    await bot.say("swhitfield", "/accounts")
    assert "Tom Reid - has not confirmed reading the current policy; trained on Wed 25 Nov 2026" in text(
        bot.last("swhitfield")
    )
    await bot.close()


async def test_a_leaver_is_reminded_of_confidentiality_and_their_account_is_transferred() -> None:
    bot = await school()
    await set_weekly(bot)  # Emma on weekdays, Tom at weekends
    await bot.say("eclarke", "/leaver")
    assert bot.last("eclarke").title == "Sorry"  # only SLT or administrators
    await bot.answer_all("swhitfield", "/leaver", "Emma Clarke", "18/12/2026", "submit")
    told = bot.last("eclarke")
    assert "confidentiality" in told.title.lower() and "even after you leave" in told.body
    handover = next(c for c in bot.outbox.cards("pshah") if c.title.startswith("Account to transfer"))
    assert "at least two" in handover.body
    assert (
        bot.store.get("rota", "ACC-1")["weekly"]["mon"] == "eclarke"
    )  # still hers until someone takes the account over
    # Until it is settled, administrators are reminded daily (once a day).
    bot.clock.advance(timedelta(days=1))
    await bot.tick()
    await bot.tick()
    assert len([c for c in bot.outbox.cards("pshah") if "daily reminder" in c.body]) == 1
    await bot.click("pshah", button(handover, "Transfer"))
    await bot.say("pshah", "Jo Bennett")
    ask = bot.last("jbennett")
    await bot.click("treid", button(ask, "I accept"))
    assert "jbennett" not in bot.store.get("accounts", "ACC-1")["runners"]  # only the person asked can accept
    await bot.click("jbennett", button(ask, "I accept"))
    account = bot.store.get("accounts", "ACC-1")
    assert account["runners"] == ["treid", "jbennett"] and account["status"] == "active"
    assert (
        bot.store.get("rota", "ACC-1")["weekly"]["mon"] == "jbennett"
    )  # the new runner takes over her monitoring days
    assert "settled" in bot.last("pshah").title
    bot.clock.advance(timedelta(days=1))
    await bot.tick()
    assert len([c for c in bot.outbox.cards("pshah") if "daily reminder" in c.body]) == 1  # no more reminders
    await bot.close()


async def test_a_leavers_account_can_be_closed_instead() -> None:
    bot = await school()
    await bot.answer_all("swhitfield", "/leaver", "Tom Reid", "18/12/2026", "submit")
    handover = next(c for c in bot.outbox.cards("pshah") if c.title.startswith("Account to transfer"))
    await bot.click("pshah", button(handover, "It is closed"))
    await bot.say("pshah", "no")
    assert bot.store.get("accounts", "ACC-1")["status"] != "closed"  # it must really be closed on the platform
    await bot.say("pshah", "yes")
    assert bot.store.get("accounts", "ACC-1")["status"] == "closed"
    closed = [(e["actor"], e["record"], e["before"], e["after"]) for e in bot.store.audit(action="account_closed")]
    assert closed == [("pshah", "accounts/ACC-1", "transferring", "closed")]
    await bot.close()


async def test_photo_check_matches_names_loosely_and_never_shows_the_list() -> None:
    bot = await school()
    await bot.answer_all("eclarke", "/dnp-add")
    assert bot.last("eclarke").title == "Sorry"
    await bot.answer_all("pshah", "/dnp-add", "Zoë Ámos", "Year 3", "submit")
    await bot.answer_all("swhitfield", "/dnp-add", "Amos Zoe", "Year 5", "submit")
    await bot.answer_all("pshah", "/dnp-add", "Priya Patel", "Oak", "submit")
    await bot.say("jbennett", "/photo-check priya PATEL")
    assert "DO NOT PUBLISH" in bot.last("jbennett").body
    await bot.say("jbennett", "/photo-check zoe amos")
    assert "Which class" in bot.last("jbennett").body  # two pupils of that name
    await bot.say("jbennett", "year 5")
    assert "DO NOT PUBLISH" in bot.last("jbennett").body
    await bot.say("jbennett", "/photo-check Sam Smith")
    answer = bot.last("jbennett")
    assert "no restriction recorded" in answer.body and "Patel" not in text(answer) and "Amos" not in text(answer)
    await bot.say("jbennett", "/dnp-list")
    assert bot.last("jbennett").title == "Sorry"
    assert len(bot.store.audit(action="photo_check")) == 4 and all(
        e["actor"] == "jbennett" for e in bot.store.audit(action="photo_check")
    )
    await bot.say("swhitfield", "/dnp-list")
    assert "Priya Patel" in text(bot.last("swhitfield"))
    await bot.close()


async def test_slt_get_a_weekly_digest() -> None:
    bot = await school(start=datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # Monday
    await bot.answer_all("eclarke", "/log-comment", "1", "query", "parent", "Is the disco on?", "skip", "no", "submit")
    await bot.tick()
    digest = [c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest"]
    assert len(digest) == 1
    shown = text(digest[-1])
    assert "Pennington PTA" in shown  # an account with fewer than two trained runners
    await bot.tick()
    assert len([c for c in bot.outbox.cards("swhitfield") if c.title == digest[-1].title]) == 1
    await bot.close()


async def test_a_workflow_module_adds_its_own_line_to_the_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """A module declaring DIGEST puts its heading and text in the Monday digest; None leaves it out."""
    import types

    import workflows

    extra = types.ModuleType("extra")
    extra.DIGEST = (  # type: ignore[attr-defined]
        lambda ctx, since: ("Checks before posting", f"3 since {since.date().isoformat()}"),
        lambda ctx, since: None,
    )
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    async def digest_fields() -> tuple[tuple[str, str], ...]:
        bot = await school(start=monday)
        await bot.tick()
        await bot.close()
        return next(c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest").fields

    shipped = await digest_fields()
    monkeypatch.setattr(workflows, "MODULES", (*workflows.MODULES, extra))
    assert await digest_fields() == (*shipped, ("Checks before posting", "3 since 2026-11-23"))


# ---- the command line -------------------------------------------------------------------


async def test_the_digest_counts_the_weeks_replies_in_any_time_zone_and_no_older_ones() -> None:
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    bot = await school(start=monday)
    since = monday - timedelta(days=7)
    far_west = timezone(timedelta(hours=-12))  # a reply an hour into the week, dated the day before there

    def item(replied: datetime | None, due: datetime) -> dict[str, object]:
        return {
            "account": "ACC-1",
            "kind": "query",
            "source": "parent",
            "summary": "Is the disco on?",
            "status": "replied" if replied else "open",
            "received_at": (due - timedelta(hours=24)).isoformat(),
            "logged_at": (due - timedelta(hours=24)).isoformat(),
            "due_at": due.isoformat(),
            "replied_at": replied.isoformat() if replied else None,
        }

    async with bot.store.transaction() as tx:
        tx.put(
            "items", "IT-1", item(monday - timedelta(days=30), monday - timedelta(days=31))
        )  # a month ago: not this week
        tx.put("items", "IT-2", item(since - timedelta(hours=1), since))  # just before the week began
        tx.put("items", "IT-3", item(monday - timedelta(days=2), monday - timedelta(days=1)))  # on time
        tx.put("items", "IT-4", item(monday - timedelta(days=6), monday - timedelta(days=6, hours=2)))  # late
        tx.put("items", "IT-5", item((since + timedelta(hours=1)).astimezone(far_west), since + timedelta(days=1)))
        tx.put("items", "IT-6", item(None, monday - timedelta(hours=3)))  # still waiting, overdue
    await bot.tick()
    digest = next(c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest")
    assert "3 replied to in the last 7 days, 1 of them after the 24-hour deadline; 1 waiting and overdue now." in text(
        digest
    )
    await bot.close()


@pytest.fixture
def school_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from importlib import resources

    monkeypatch.delenv("POLICYBOT_CONFIG", raising=False)
    sample = resources.files("bot").joinpath("sample_school.toml").read_text(encoding="utf-8")
    sample = sample.replace('path = "data"', f'path = "{tmp_path / "data"}"')
    assert str(tmp_path / "data") in sample
    config = tmp_path / "school.toml"
    config.write_text(sample, encoding="utf-8")
    return config


async def _seed(config: Path) -> None:
    from adapters.platforms import load_config

    bot = TestBot(load_config(config), load_config(config).storage_path)
    await add_account(bot)
    await add_account(
        bot,
        "ACC-2",
        name="Old Trip",
        handle="@OldTrip",
        status="closed",
        closed_at="2019-07-01T09:00:00+00:00",
        runners=["eclarke"],
    )
    async with bot.store.transaction() as tx:
        tx.audit("eclarke", "account_created", "accounts/ACC-1")
    await bot.close()


def test_exports_for_slt_open_in_a_spreadsheet(school_files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    asyncio.run(_seed(school_files))
    out = school_files.parent / "accounts.csv"
    assert (
        main(["export", "--config", str(school_files), "--what", "accounts", "--format", "csv", "--out", str(out)]) == 0
    )
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # a BOM, so Excel reads UTF-8
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [r["id"] for r in rows] == ["ACC-1", "ACC-2"] and rows[0]["name"] == "Pennington PTA"
    assert "keep it safe" in capsys.readouterr().out
    audit = school_files.parent / "audit.json"
    assert (
        main(["export", "--config", str(school_files), "--what", "audit", "--format", "json", "--out", str(audit)]) == 0
    )
    assert any(e["action"] == "account_created" for e in json.loads(audit.read_text(encoding="utf-8")))
    person = school_files.parent / "emma.json"
    assert (
        main(
            [
                "export",
                "--config",
                str(school_files),
                "--person",
                "Emma Clarke",
                "--format",
                "json",
                "--out",
                str(person),
            ]
        )
        == 0
    )
    found = json.loads(person.read_text(encoding="utf-8"))
    assert found["configuration"]["id"] == "eclarke" and {r["id"] for r in found["records"]["accounts"]} == {
        "ACC-1",
        "ACC-2",
    }
    assert main(["export", "--config", str(school_files), "--out", str(person)]) == 2  # neither --what nor --person
    assert "--what" in capsys.readouterr().err


def test_export_refuses_clearly_while_the_bot_is_running(
    school_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.platforms import load_config

    running = Store(load_config(school_files).storage_path)
    try:
        assert (
            main(
                [
                    "export",
                    "--config",
                    str(school_files),
                    "--what",
                    "people",
                    "--out",
                    str(school_files.parent / "p.csv"),
                ]
            )
            == 2
        )
        assert "policybot is running and using the data folder" in capsys.readouterr().err
    finally:
        asyncio.run(running.close())


def test_dnp_import_checks_every_row_before_adding_any(school_files: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = school_files.parent / "bad.csv"
    bad.write_text("name,class\nZoe Amos,Year 3\nCher,Year 4\n,Year 5\n", encoding="utf-8")
    assert main(["dnp-import", "--config", str(school_files), "--csv", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "row 3" in err and "row 4" in err and "Nothing was imported" in err
    good = school_files.parent / "good.csv"
    good.write_text("\ufeffName,Class\nZoë Amos,Year 3\nSam Jones,Oak\n", encoding="utf-8")
    assert main(["dnp-import", "--config", str(school_files), "--csv", str(good)]) == 0
    assert "2 pupil(s) added" in capsys.readouterr().out
    from adapters.platforms import load_config

    store = Store(load_config(school_files).storage_path)
    try:
        assert len(store.all("dnp")) == 2 and store.audit(action="dnp_imported")
    finally:
        asyncio.run(store.close())


def test_purge_lists_then_deletes_what_is_past_retention_and_audits_it(
    school_files: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_seed(school_files))
    assert main(["purge", "--config", str(school_files), "--dry-run"]) == 0
    listed = capsys.readouterr().out
    assert (
        "  accounts/ACC-2: past the 2190-day retention period" in listed and "ACC-1" not in listed
    )  # a live account is never purged
    assert main(["purge", "--config", str(school_files)]) == 0
    assert "deleted accounts/ACC-2" in capsys.readouterr().out
    from adapters.platforms import load_config

    store = Store(load_config(school_files).storage_path)
    try:
        assert store.get("accounts", "ACC-2") is None and store.get("accounts", "ACC-1") is not None
        assert store.audit(action="purged", record="accounts/ACC-2")
    finally:
        asyncio.run(store.close())
