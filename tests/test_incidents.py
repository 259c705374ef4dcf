"""Incidents end to end through the engine: reporting, SLT handling, privacy and chasing."""

from __future__ import annotations

import io
import logging
import tomllib
from datetime import timedelta
from importlib import resources
from pathlib import Path

import pytest

from adapters.console import ConsoleChat
from adapters.platforms import load_config, parse_config
from bot.clock import Clock
from bot.core import Core
from bot.errors import ConfigError
from bot.messages import Card, Inbound
from bot.store import Store, iter_tables
from tests.harness import EVIDENCE, SLT, START, TestBot, add_account, button, report_abuse
from tests.harness import text as text_of


def cards_to(bot: TestBot, who: str) -> list[Card]:
    return bot.outbox.cards(who)


async def test_immediate_danger_alerts_slt_before_the_next_question(bot: TestBot) -> None:
    await bot.say("eclarke", "/report-abuse")
    assert "immediate danger" in bot.last("eclarke").body
    mark = len(bot.outbox.sent)
    await bot.say("eclarke", "yes")
    after = [(target, m.card) for target, m in bot.outbox.sent[mark:]]
    told_999 = next(i for i, (t, c) in enumerate(after) if t == "eclarke" and "999" in c.title)
    alert = next(i for i, (t, c) in enumerate(after) if t == "swhitfield" and c.title.startswith("Incident INC-1"))
    question = next(i for i, (t, c) in enumerate(after) if t == "eclarke" and "question 2" in c.title)
    assert told_999 < question and alert < question
    assert any(t == "dokafor" and c.title.startswith("Incident INC-1") for t, c in after[:question])
    card = after[alert][1]
    assert card.tone == "urgent" and "URGENT" in card.title and "Abuse" in card.title
    inc = bot.store.get("incidents", "INC-1")
    assert inc["urgency"] == "urgent" and inc["report_complete"] is False

    # The rest of the report lands on the same incident, and SLT hear when it is complete.
    await bot.answer_all(
        "eclarke",
        "1",
        "A local community Facebook group",
        "threatening",
        "pupil",
        "unknown",
        "nothing",
        EVIDENCE,
        "skip",
        "submit",
    )
    inc = bot.store.get("incidents", "INC-1")
    assert inc["report_complete"] is True and inc["urgency"] == "urgent"
    assert ("Where", "Somewhere else (a personal account, a group chat, another site)") in [
        tuple(d) for d in inc["details"]
    ]
    assert len(bot.store.all("incidents")) == 1
    assert "now complete" in bot.last("swhitfield").title
    assert "INC-1" in bot.last("eclarke").title


async def test_report_on_a_school_account_offers_wording_and_files_an_incident(bot: TestBot) -> None:
    await add_account(bot)
    await bot.answer_all("eclarke", "/report-abuse", "no")
    where = bot.last("eclarke").question
    assert where is not None and where.choices[0].value == "ACC-1" and "@PenningtonPTA" in where.choices[0].label
    await bot.answer_all("eclarke", "1", "other", "Spam links", "school", "public", "blocked, removed")
    assert "told them" in bot.last("eclarke").question.choices[0].label  # type: ignore[union-attr]
    await bot.say("eclarke", "not yet")
    wording = [c for c in cards_to(bot, "eclarke") if c.title == "Suggested wording for the audience"]
    assert wording and "removed a comment" in wording[0].body and "blocked an account" in wording[0].body
    assert bot.store.all("incidents") == []  # nothing is alerted until it is sent, when nobody is in danger
    await bot.answer_all("eclarke", EVIDENCE, "skip")
    summary = bot.last("eclarke")
    assert ("Where", "Facebook @PenningtonPTA (Pennington PTA)") in summary.fields
    await bot.say("eclarke", "submit")
    inc = bot.store.get("incidents", "INC-1")
    assert inc["status"] == "open" and inc["urgency"] == "normal" and inc["answers"]["where"] == "ACC-1"
    assert inc["answers"]["told_audience"] == "not_yet"
    alert = bot.last("dokafor")
    assert alert.title == "Incident INC-1: Abuse reported online (normal)"
    assert [b.label for b in alert.buttons] == ["Show details of INC-1", "Take ownership"]


async def test_the_slt_alert_carries_only_type_number_and_urgency(bot: TestBot) -> None:
    await report_abuse(bot)
    for who in SLT:
        shared = [m for m in bot.outbox.messages(who) if m.card.title.startswith("Incident INC-1")]
        assert shared
        for msg in shared:
            words = text_of(msg.card)
            assert not msg.card.fields
            for secret in ("Emma", "Clarke", "Year 5", "sports day", "facebook.example", "Bullying", "parent"):
                assert secret not in words
            assert msg.to.kind == "role"


async def test_details_are_private_and_each_viewing_is_on_the_timeline(bot: TestBot) -> None:
    inc_id = await report_abuse(bot)
    await bot.click("dokafor", button(bot.last("dokafor"), "Show details"))
    msg = bot.outbox.messages("dokafor")[-1]
    assert msg.private and msg.to.kind == "person" and msg.to.id == "dokafor"
    fields = dict(msg.card.fields)
    assert fields["What was seen"] == EVIDENCE and fields["Reported by"].startswith("Emma Clarke")
    assert fields["Targets"] == "A pupil, A member of staff"
    assert not any("Year 5" in text_of(c) for c in cards_to(bot, "swhitfield"))  # only the one who asked sees it
    timeline = bot.store.get("incidents", inc_id)["timeline"]
    assert timeline[-1]["what"] == "Details viewed by David Okafor" and timeline[-1]["by"] == "dokafor"
    assert bot.store.audit(action="incident_viewed", actor="dokafor", record=f"incidents/{inc_id}")


async def test_non_slt_can_neither_read_nor_act_and_is_audited(bot: TestBot) -> None:
    inc_id = await report_abuse(bot)
    alert = bot.last("swhitfield")
    before = bot.store.get("incidents", inc_id)
    await bot.click("swhitfield", button(alert, "Show details"))
    details = bot.last("swhitfield")
    for who in ("treid", "eclarke", "pshah"):  # another teacher, the reporter, an administrator
        for label in ("Show details", "Take ownership", "Initial assessment", "Add a note", "Close"):
            await bot.click(who, button(details if label != "Show details" else alert, label))
            reply = bot.last(who)
            assert "Only the Senior Leadership Team" in reply.body and EVIDENCE not in text_of(reply)
        await bot.say(who, "/incidents")
        assert "Only the Senior Leadership Team" in bot.last(who).body
        refused = bot.store.audit(action="refused", actor=who)
        assert len(refused) == 6
        assert sum(e["record"] == f"incidents/{inc_id}" for e in refused) == 5
    after = bot.store.get("incidents", inc_id)
    assert after["owner"] is None and after["notes"] == [] and after["status"] == "open"
    assert after["version"] == before["version"] + 1  # only swhitfield's viewing changed it
    assert bot.store.all("conversations") == []  # no follow-up question was started for them
    for who in ("treid", "pshah"):
        assert not any(EVIDENCE in text_of(c) for c in cards_to(bot, who))


async def test_full_cycle_timeline_is_complete(bot: TestBot) -> None:
    inc_id = await report_abuse(bot)
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Take ownership"))
    assert "Sarah Whitfield" in bot.last("eclarke").body  # the reporter knows who has it
    bot.clock.advance(timedelta(minutes=10))
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Show details"))
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Initial assessment"))
    await bot.answer_all(
        "swhitfield", "high", "platform, parents", "Parent posted about a pupil; ask for removal and meet.", "submit"
    )
    assert "ask them to remove the post" in bot.last("swhitfield").body
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Show details"))
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Add a note"))
    await bot.say("swhitfield", "Met the parent; post removed.")
    await bot.click("dokafor", button(bot.last("dokafor"), "Show details"))
    await bot.click("dokafor", button(bot.last("dokafor"), "Close"))
    await bot.answer_all(
        "dokafor",
        "Post removed, apology given, behaviour policy followed for the pupil.",
        "Thank you: it has been dealt with.",
        "submit",
    )
    assert bot.store.get("incidents", inc_id)["status"] == "closed"
    await bot.click("dokafor", button(bot.last("dokafor"), "Show details"))
    await bot.click("dokafor", button(bot.last("dokafor"), "Reopen"))
    await bot.say("dokafor", "The post has reappeared.")

    inc = bot.store.get("incidents", inc_id)
    assert inc["status"] == "open" and inc["owner"] == "swhitfield"
    steps = [(t["by"], t["what"].split(":")[0].split(".")[0]) for t in inc["timeline"]]
    assert steps == [
        ("eclarke", "Reported by Emma Clarke"),
        ("policybot", "SLT alerted (high)"),  # bullying of a pupil
        ("swhitfield", "Ownership taken by Sarah Whitfield"),
        ("swhitfield", "Details viewed by Sarah Whitfield"),
        ("swhitfield", "Initial assessment by Sarah Whitfield"),
        ("swhitfield", "Details viewed by Sarah Whitfield"),
        ("swhitfield", "Note added by Sarah Whitfield"),
        ("dokafor", "Details viewed by David Okafor"),
        ("dokafor", "Closed by David Okafor"),
        ("dokafor", "Details viewed by David Okafor"),
        ("dokafor", "Reopened by David Okafor"),
    ]
    assert all(t["at"] for t in inc["timeline"])
    assert inc["timeline"][3]["at"] > inc["timeline"][2]["at"]
    assert "The post has reappeared." in inc["timeline"][-1]["what"]
    assert inc["assessment"]["severity"] == "high" and inc["assessment"]["involve"] == ["platform", "parents"]
    actions = [e["action"] for e in bot.store.audit(record=f"incidents/{inc_id}")]
    assert actions == [
        "incident_reported",
        "incident_owned",
        "incident_viewed",
        "incident_assessed",
        "incident_viewed",
        "incident_note_added",
        "incident_viewed",
        "incident_closed",
        "incident_viewed",
        "incident_reopened",
    ]
    assert "open again" in bot.last("eclarke").title


async def test_reporter_sees_status_never_slt_notes(bot: TestBot) -> None:
    inc_id = await report_abuse(bot)
    await bot.say("eclarke", "/my-reports")
    assert "waiting for someone" in bot.last("eclarke").fields[0][1]
    await bot.click("dokafor", button(bot.last("dokafor"), "Show details"))
    await bot.click("dokafor", button(bot.last("dokafor"), "Initial assessment"))
    await bot.answer_all("dokafor", "medium", "behaviour", "CONFIDENTIAL-ASSESSMENT about the child", "submit")
    await bot.click("dokafor", button(bot.last("dokafor"), "Show details"))
    await bot.click("dokafor", button(bot.last("dokafor"), "Add a note"))
    await bot.say("dokafor", "CONFIDENTIAL-NOTE: spoke to the family")
    await bot.say("eclarke", "/my-reports")
    status = bot.last("eclarke")
    assert (
        status.fields[0][0] == f"{inc_id}: Abuse reported online"
        and "being handled by David Okafor" in status.fields[0][1]
    )
    await bot.click("dokafor", button(bot.last("dokafor"), "Show details"))
    await bot.click("dokafor", button(bot.last("dokafor"), "Close"))
    await bot.answer_all("dokafor", "CONFIDENTIAL-OUTCOME: sanctions", "Thank you, it has been dealt with.", "submit")
    await bot.say("eclarke", "/my-reports")
    status = bot.last("eclarke")
    assert "closed on" in status.fields[0][1] and "Thank you, it has been dealt with." in status.fields[0][1]
    for card in cards_to(bot, "eclarke"):
        assert "CONFIDENTIAL" not in text_of(card)
    await bot.say("treid", "/my-reports")
    assert "haven't reported anything" in bot.last("treid").body  # nobody sees another's reports


async def test_a_file_sent_during_compromising_image_leaves_only_a_flag(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    bot = TestBot(path=tmp_path / "data")
    try:
        await bot.say("eclarke", "/compromising-image")
        sent = [(t, c.title) for t, m in bot.outbox.sent for c in [m.card]]
        alert = next(
            i
            for i, (t, title) in enumerate(sent)
            if t == "swhitfield" and title.startswith("Incident INC-1: Compromising image")
        )
        first_question = next(i for i, (t, title) in enumerate(sent) if t == "eclarke" and "question 1" in title)
        assert alert < first_question
        await bot.say("eclarke", "done")
        await bot.send(
            Inbound(
                "test",
                "eclarke",
                "file",
                text="IMG_2041.jpg",
                data={
                    "name": "IMG_2041.jpg",
                    "url": "https://files.example.invalid/IMG_2041.jpg",
                    "content": "iVBORw0KGgoFAKEPNGDATA",
                },
            )
        )
        reply = bot.last("eclarke")
        assert reply.title == "Please delete that message too"
        await bot.answer_all("eclarke", "done", "none", "no", "personal", "today 09:40", "submit")
        inc = bot.store.get("incidents", "INC-1")
        assert inc["files_sent"] == 1 and inc["report_complete"] and inc["urgency"] == "high"
        assert any("sent a file" in t["what"] for t in inc["timeline"])
        await bot.click("swhitfield", button(bot.last("swhitfield"), "Show details"))
        assert "1 file(s)" in dict(bot.last("swhitfield").fields)["Files"]
    finally:
        await bot.close()
    on_disk = "".join(
        p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "data").iterdir() if p.is_file()
    )
    everywhere = (
        on_disk + repr({t: bot.store.all(t) for t in iter_tables(bot.store)}) + repr(bot.store.audit()) + caplog.text
    )
    for trace in ("IMG_2041", "files.example", "iVBORw0KGgo", "FAKEPNG"):
        assert trace not in everywhere


async def test_compromising_image_checklist_and_help_raise_urgency(bot: TestBot) -> None:
    await bot.say("eclarke", "/compromising-image")
    assert "SLT have been alerted (INC-1)" in [c.title for c in cards_to(bot, "eclarke")]
    await bot.answer_all(
        "eclarke", "done", "2", "done", "yes", "Sent to my partner by mistake", "school", "yesterday 15:00"
    )
    assert any(c.title == "Ask for it to be deleted" for c in cards_to(bot, "eclarke"))
    assert any(c.title == "SLT will help" for c in cards_to(bot, "eclarke"))
    # SLT can already see the answers so far, before the person submits.
    await bot.click("dokafor", button(bot.last("dokafor"), "Show details"))
    fields = dict(bot.last("dokafor").fields)
    assert fields["Shared with"] == "Sent to my partner by mistake" and "has not finished" in fields["Status"]
    await bot.say("eclarke", "submit")
    inc = bot.store.get("incidents", "INC-1")
    assert inc["urgency"] == "urgent" and inc["answers"]["device"] == "school"


async def test_cancelled_compromising_image_keeps_its_incident_when_restarted(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/compromising-image", "done", "cancel")
    alerts = len([c for c in cards_to(bot, "swhitfield") if c.title.startswith("Incident")])
    await bot.say("eclarke", "/compromising-image")
    assert "Carrying on with INC-1" in [c.title for c in cards_to(bot, "eclarke")]
    assert len(bot.store.all("incidents")) == 1
    assert len([c for c in cards_to(bot, "swhitfield") if c.title.startswith("Incident")]) == alerts


async def test_media_enquiry_says_do_not_respond_and_alerts_slt(bot: TestBot) -> None:
    await bot.say("treid", "/media-enquiry")
    assert "don't respond" in cards_to(bot, "treid")[0].body
    await bot.answer_all(
        "treid",
        "Westmorland Gazette",
        "Sam Hart, 01234 000000",
        "phone",
        "Asked about a parent's post on our page",
        "today 16:00",
        "no",
        "submit",
    )
    inc = bot.store.get("incidents", "INC-1")
    assert inc["kind"] == "media_enquiry" and inc["urgency"] == "urgent"  # the deadline is today
    assert bot.last("swhitfield").title.startswith("Incident INC-1: Journalist contact (URGENT)")
    assert "passed your enquiry to the headteacher" in bot.last("treid").body


async def test_pupil_contact_reminds_not_to_engage_and_informs_slt(bot: TestBot) -> None:
    await bot.say("jbennett", "/pupil-contact")
    assert "must not follow or engage" in cards_to(bot, "jbennett")[0].body
    await bot.answer_all(
        "jbennett", "instagram", "former", "A. Pupil, left Year 6 in July", "follow", "yesterday 19:00", "yes"
    )
    assert bot.last("jbennett").title.startswith("A pupil contacted you") and any(
        c.title == "Please undo it now" for c in cards_to(bot, "jbennett")
    )
    await bot.answer_all("jbennett", "blocked", "skip", "submit")
    inc = bot.store.get("incidents", "INC-1")
    assert inc["kind"] == "pupil_contact" and inc["urgency"] == "high"
    assert "A. Pupil" not in text_of(bot.last("dokafor"))


async def test_unowned_incident_is_chased_once_per_interval_until_owned(bot: TestBot) -> None:
    await add_account(bot)
    await bot.answer_all(
        "eclarke", "/report-abuse", "no", "1", "copyright", "school", "public", "reported", EVIDENCE, "skip", "submit"
    )
    assert bot.store.get("incidents", "INC-1")["urgency"] == "normal"

    def reminders(who: str = "swhitfield") -> list[Card]:
        return [c for c in cards_to(bot, who) if c.title.startswith("Still needs an owner")]

    bot.clock.advance(timedelta(hours=3, minutes=59))
    await bot.tick()
    assert reminders() == []
    bot.clock.advance(timedelta(minutes=1))
    await bot.tick()
    await bot.tick()
    assert len(reminders()) == 1 and len(reminders("dokafor")) == 1
    assert "Emma" not in text_of(reminders()[0])
    bot.clock.advance(timedelta(hours=2))
    await bot.tick()
    assert len(reminders()) == 1
    bot.clock.advance(timedelta(hours=2))
    await bot.tick()
    assert len(reminders()) == 2
    await bot.click("dokafor", button(reminders("dokafor")[-1], "Take ownership"))
    bot.clock.advance(timedelta(hours=12))
    await bot.tick()
    assert len(reminders()) == 2
    chased = [t for t in bot.store.get("incidents", "INC-1")["timeline"] if t["what"].startswith("SLT reminded")]
    assert len(chased) == 2 and all(t["by"] == "policybot" for t in chased)


async def test_urgent_incident_is_chased_within_the_hour(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/report-abuse", "yes")
    bot.clock.advance(timedelta(minutes=30))
    await bot.tick()
    chased = [c for c in cards_to(bot, "dokafor") if c.title.startswith("Still needs an owner: INC-1 (URGENT)")]
    assert len(chased) == 1 and chased[0].tone == "urgent"


async def test_incidents_list_for_slt_and_stale_clicks(bot: TestBot) -> None:
    await report_abuse(bot)
    await bot.answer_all("treid", "/report-abuse", "yes")
    bot.clock.advance(timedelta(hours=2))
    await bot.say("swhitfield", "/incidents")
    listing = bot.last("swhitfield")
    assert [f[0] for f in listing.fields] == [
        "INC-2: Abuse reported online",
        "INC-1: Abuse reported online",
    ]  # urgent first
    assert listing.fields[0][1] == "URGENT - owner: NO OWNER - reported 2 h ago"
    await bot.click("swhitfield", button(listing, "Show details of INC-1"))
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Close"))
    await bot.answer_all("swhitfield", "Resolved with the family.", "skip", "submit")
    own = button(bot.last("dokafor"), "Show details")  # the alert now says it is closed
    await bot.click("dokafor", own)
    await bot.say("swhitfield", "/incidents")
    assert [f[0] for f in bot.last("swhitfield").fields] == ["INC-2: Abuse reported online"]
    await bot.say("swhitfield", "/incidents closed")
    assert [f[0] for f in bot.last("swhitfield").fields] == ["INC-1: Abuse reported online"]
    await bot.send(
        Inbound(
            "test", "dokafor", "action", action="incidents.own", data={"incident": "INC-1", "record": "incidents/INC-1"}
        )
    )
    assert "was closed by Sarah Whitfield" in bot.last("dokafor").body


async def test_report_abuse_in_the_terminal_chat() -> None:
    core = Core(load_config(None), Store(None), Clock(START))
    out = io.StringIO()
    script = "\n".join(
        [
            "/report-abuse",
            "1",  # yes, someone is in immediate danger
            "1",  # somewhere else (no school accounts yet)
            "A parents' WhatsApp group",
            "5",  # threatening
            "1",  # a pupil
            "5",  # unknown
            "4",  # nothing yet
            "A message threatening to wait for a Year 3 pupil after school today.",
            "skip",
            "1",  # Send to SLT
            "/my-reports",
            "/as dokafor",
            "1",  # Show details on the alert
            "/as treid",
            "/incidents",
        ]
    )
    chat = ConsoleChat(core, out)
    try:
        await chat.run(io.StringIO(script + "\n"))
    finally:
        await core.close()
    text = out.getvalue()
    assert "!!! === Call 999 now ===" in text
    assert (
        text.index("Call 999 now")
        < text.index('a message for Sarah Whitfield: "Incident INC-1')
        < text.index("question 2")
    )
    assert "Thank you: your report is INC-1" in text
    assert "you haven't finished" not in text and "waiting for someone to take it on" in text
    assert "INC-1: Abuse reported online (private to you)" in text and "Year 3 pupil after school" in text
    assert "Details viewed by David Okafor" in text
    assert "Only the Senior Leadership Team can use /incidents" in text
    assert text.rstrip().endswith("Goodbye.")


def test_incident_reminder_settings_are_read_and_checked() -> None:
    base = tomllib.loads(resources.files("bot").joinpath("sample_school.toml").read_text(encoding="utf-8"))
    settings = parse_config({**base, "incidents": {"urgent_reminder_minutes": 15, "reminder_hours": 8}}, "school.toml")
    assert (
        settings.incidents.urgent_reminder_minutes == 15
        and settings.incidents.reminder_hours == 8
        and settings.incidents.high_reminder_hours == 2
    )
    with pytest.raises(ConfigError, match=r"school.toml: incidents.urgent_reminder_minutes: expected 60 or less"):
        parse_config({**base, "incidents": {"urgent_reminder_minutes": 120}}, "school.toml")
    with pytest.raises(ConfigError, match=r"incidents.remind_hours: unknown key"):
        parse_config({**base, "incidents": {"remind_hours": 3}}, "school.toml")
    with pytest.raises(ConfigError, match=r"incidents.reminder_hours: expected a number"):
        parse_config({**base, "incidents": {"reminder_hours": "four"}}, "school.toml")


def test_the_example_config_section_parses() -> None:
    base = tomllib.loads(resources.files("bot").joinpath("sample_school.toml").read_text(encoding="utf-8"))
    example = tomllib.loads((Path(__file__).parent.parent / "config.example.toml").read_text(encoding="utf-8"))
    settings = parse_config({**base, "incidents": example["incidents"]}, "config.example.toml")
    assert settings.incidents.urgent_reminder_minutes == 30


async def test_a_second_owner_must_take_over_explicitly(bot: TestBot) -> None:
    inc_id = await report_abuse(bot)
    own = button(bot.last("swhitfield"), "Take ownership")
    await bot.click("swhitfield", own)
    await bot.click("dokafor", own)  # a late click on the same alert
    assert "Sarah Whitfield took ownership" in bot.last("dokafor").body
    assert bot.store.get("incidents", inc_id)["owner"] == "swhitfield"
    await bot.click("dokafor", button(bot.outbox.messages("dokafor")[0].card, "Show details"))
    await bot.click("dokafor", button(bot.last("dokafor"), "Take over from Sarah Whitfield"))
    inc = bot.store.get("incidents", inc_id)
    assert (
        inc["owner"] == "dokafor"
        and inc["timeline"][-1]["what"] == "Ownership taken over from Sarah Whitfield by David Okafor"
    )
    assert f"{inc_id} has a new owner" in [c.title for c in cards_to(bot, "swhitfield")]
    assert "David Okafor" in bot.last("eclarke").body
