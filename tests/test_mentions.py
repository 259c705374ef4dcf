"""Posts about the school found elsewhere: /log-post for each kind, SLT's choice, and the digest line."""

from __future__ import annotations

import asyncio
import csv
import io
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

from adapters.cli import main
from adapters.platforms import load_config
from tests.harness import SLT, TestBot, button, log_post, school, text

MONDAY = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)


async def test_praise_is_thanked_and_recorded() -> None:
    bot = await school()
    await log_post(bot, "jbennett", "praise", about="A lovely review of the nativity on the village Facebook page")
    told = bot.last("jbennett")
    assert told.title == "Logged: M-1" and "Thank you" in told.body
    m = bot.store.get("mentions", "M-1")
    assert (m["kind"], m["where"], m["logged_by"], m["status"]) == ("praise", "facebook", "jbennett", "recorded")
    assert m["about"].startswith("A lovely review") and m["next"] == "Thanked and recorded."
    assert not [c for who in SLT for c in bot.outbox.cards(who)]  # nothing for SLT to do
    assert bot.store.audit(action="mention_logged", actor="jbennett")
    await bot.close()


async def test_a_question_suggests_answering_through_the_school_account() -> None:
    bot = await school()
    await log_post(bot, "eclarke", "question", about="Someone asking on X when the Christmas fair starts")
    told = bot.last("eclarke").body
    assert "through the school's own account" in told
    assert "The school's accounts: Pennington PTA (@PenningtonPTA)." in told
    assert "don't answer from a personal account" in told
    assert bot.store.get("mentions", "M-1")["status"] == "recorded"
    await bot.close()


async def test_a_complaint_shows_the_complaints_procedure() -> None:
    bot = await school()
    await log_post(bot, "eclarke", "complaint", about="A parent unhappy about the new pick-up arrangements")
    told = bot.last("eclarke").body
    assert bot.settings.monitoring.complaints_procedure in told and "This is a complaint" in told
    assert bot.store.get("mentions", "M-1")["next"] == "Recorded; the complaints procedure was shown."
    await bot.close()


async def test_a_post_on_a_school_account_is_pointed_to_log_comment() -> None:
    bot = await school()
    await bot.answer_all("eclarke", "/log-post", "8")
    told = bot.last("eclarke")
    assert "/log-comment" in told.body and told.question is not None and told.question.key == "where"
    await bot.say("eclarke", "Somewhere else")
    assert bot.last("eclarke").question.key == "where_other"
    assert not bot.store.all("mentions")
    await bot.close()


async def test_an_abusive_post_starts_report_abuse_with_what_was_said_filled_in() -> None:
    bot = await school()
    about = "https://x.example/status/9 calling Mr Reid names"
    await log_post(bot, "eclarke", "abusive", about=about, where="x")
    m = bot.store.get("mentions", "M-1")
    assert m["kind"] == "abusive" and m["next"].startswith("Recorded; a report of abuse was started")
    asked = bot.last("eclarke")
    assert asked.question is not None and asked.question.key == "danger"  # /report-abuse's first question
    assert any("what you told me is filled in" in c.body for c in bot.outbox.cards("eclarke"))
    # Danger, kind, targets, poster, done: where, the evidence and the link are filled in already.
    await bot.answer_all("eclarke", "no", "offensive", "2", "public", "nothing")
    summary = text(bot.last("eclarke"))
    assert "Where (not a school account) X (Twitter)" in summary
    assert "What was seen A post on X (Twitter): https://x.example/status/9 calling Mr Reid names" in summary
    assert "Links https://x.example/status/9" in summary
    await bot.say("eclarke", "submit")
    incident = bot.store.find("incidents", reporter="eclarke")[-1]
    shown = str(incident)
    assert "calling Mr Reid names" in shown and "https://x.example/status/9" in shown and "M-1" in shown
    await bot.close()


async def test_a_concern_goes_to_slt_who_choose_once_and_the_logger_is_told() -> None:
    bot = await school()
    await log_post(bot, "eclarke", "concern", about="A post saying the school hides bullying")
    assert "I have sent it to SLT" in bot.last("eclarke").body
    card = bot.last("swhitfield")
    assert card.title == "Post about the school (concern): M-1" and "Emma Clarke" in text(card)
    assert bot.last("dokafor").title == card.title  # every member of SLT has a copy
    # Staff cannot choose: refused kindly, and the refusal is recorded against the post.
    await bot.click("jbennett", button(card, "Leave it"))
    assert bot.last("jbennett").title == "Sorry" and "Senior Leadership Team" in bot.last("jbennett").body
    assert [e["record"] for e in bot.store.audit(action="refused", actor="jbennett")] == ["mentions/M-1"]
    assert bot.store.get("mentions", "M-1")["decision"] is None
    await bot.click("swhitfield", button(card, "Leave it"))
    m = bot.store.get("mentions", "M-1")
    assert (m["status"], m["decision"], m["decided_by"]) == ("decided", "leave", "swhitfield")
    told = bot.last("eclarke")
    assert "decided to leave it" in told.body and "M-1" in told.title
    assert "Emma Clarke has been told" in bot.last("swhitfield").body
    # David's copy of the card is replaced: the choice shows, with no buttons left to press.
    update = [m for m in bot.outbox.messages("dokafor") if m.key == "mention:M-1"][-1]
    assert update.replace and not update.card.buttons and "Leave it: by Sarah Whitfield" in text(update.card)
    await bot.click("dokafor", button(card, "Escalate"))
    assert "already chose 'Leave it'" in bot.last("dokafor").body
    assert bot.store.get("mentions", "M-1")["decision"] == "leave"
    await bot.close()


async def test_respond_and_escalate_ask_a_short_note_that_is_recorded() -> None:
    bot = await school()
    await log_post(bot, "eclarke", "misleading", about="A local page says the school is closing")
    await log_post(bot, "treid", "concern", about="A thread worrying about the new road crossing")
    first, second = (
        c for c in bot.outbox.cards("swhitfield") if c.title.startswith("Post about the school") and c.buttons
    )
    await bot.click("swhitfield", button(first, "Respond"))
    assert "who will respond" in bot.last("swhitfield").body
    await bot.say("swhitfield", "Emma to post the facts on the school Facebook page")
    m = bot.store.get("mentions", "M-1")
    assert (m["decision"], m["note"]) == ("respond", "Emma to post the facts on the school Facebook page")
    assert "respond to it through its own account" in bot.last("eclarke").body
    assert "Emma to post" not in bot.last("eclarke").body  # SLT's note stays with SLT
    await bot.click("dokafor", button(second, "Escalate"))
    await bot.say("dokafor", "Passed to the local authority")
    m = bot.store.get("mentions", "M-2")
    assert (m["decision"], m["decided_by"], m["note"]) == ("escalate", "dokafor", "Passed to the local authority")
    assert "taking it further" in bot.last("treid").body
    await bot.say("swhitfield", "/waiting")
    assert "Posts about the school to decide" not in text(bot.last("swhitfield"))
    await bot.close()


async def test_slt_see_posts_to_decide_in_waiting() -> None:
    bot = await school()
    await log_post(bot, "eclarke", "concern", about="A post saying the school hides bullying")
    await bot.say("swhitfield", "/waiting")
    overview = next(c for c in bot.outbox.cards("swhitfield") if c.title == "What is waiting for you")
    assert "M-1: concern on Facebook" in text(overview)
    assert button(bot.last("swhitfield"), "Leave it")
    await bot.say("eclarke", "/waiting")
    assert "M-1" not in text(bot.last("eclarke"))
    await bot.close()


async def test_the_digest_counts_the_weeks_posts_by_kind_and_those_waiting_for_slt() -> None:
    bot = await school(start=datetime(2026, 11, 27, 9, 0, tzinfo=UTC))  # the Friday before
    await log_post(bot, "eclarke", "praise")
    await log_post(bot, "eclarke", "praise")
    await log_post(bot, "treid", "concern")
    bot.clock.advance(MONDAY - bot.clock.now())
    await bot.tick()
    digest = next(c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest")
    line = dict(digest.fields)["Posts about the school found elsewhere"]
    assert line == "3 logged in the last 7 days: 2 praise, 1 concern. Waiting for an SLT choice: M-3 (type /waiting)."
    await bot.close()


def test_export_offers_the_posts_found_elsewhere(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parent.parent / "bot" / "sample_school.toml"
    cfg = tmp_path / "school.toml"
    cfg.write_text(
        sample.read_text(encoding="utf-8").replace('path = "data"', f'path = "{tmp_path / "data"}"'), encoding="utf-8"
    )

    async def logged() -> None:
        bot = TestBot(load_config(cfg), path=tmp_path / "data")
        await log_post(bot, "eclarke", "question", about="Asking about the uniform shop")
        await bot.close()

    asyncio.run(logged())
    out = tmp_path / "mentions.csv"
    assert main(["export", "--config", str(cfg), "--what", "mentions", "--out", str(out)]) == 0
    rows = list(csv.DictReader(io.StringIO(out.read_bytes().decode("utf-8-sig"))))
    assert [(r["id"], r["kind"], r["logged_by"], r["where"]) for r in rows] == [
        ("M-1", "question", "eclarke", "facebook")
    ]


async def test_posts_are_kept_730_days_after_logging_unless_slt_have_not_chosen() -> None:
    from bot import records

    bot = await school()
    await log_post(bot, "eclarke", "praise")
    await log_post(bot, "eclarke", "concern")
    assert bot.settings.records.retention["mentions"] == 730
    later = bot.clock.now().replace(year=2028, month=12)
    due = records.past_retention(bot.store, bot.settings, later, bot.core.registry)
    assert [(e.table, e.key) for e in due if e.table == "mentions"] == [("mentions", "M-1")]
    settings = replace(bot.settings, records=replace(bot.settings.records, retention={"mentions": 0}))
    assert not [e for e in records.past_retention(bot.store, settings, later, bot.core.registry)]
    await bot.close()
