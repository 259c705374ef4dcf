"""/post-check end to end in the terminal harness: ready, each "not yet", the do-not-publish list, the second check
(confirm, not yet, never by the checker), the rules for anyone, the post log, /waiting and the weekly digest."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.platforms import load_config
from bot.config import Posting
from bot.messages import Button, Inbound
from tests.harness import TestBot, add_account, button, put_disclaimer, school, text

# The answers of a post that is in order, question by question, after the account (the only one, so chosen).
DESCRIPTION = "Year 4 relay team at sports day, caption 'Well run, Year 4!' https://example.org/sports"
PUPILS = "Zoe Amos, Year 4; Sam Patel (4B)"
GOOD = {
    "description": DESCRIPTION,
    "shows_pupils": "yes",
    "pupils": PUPILS,
    "shows_others": "no",
    "consent": "yes",
    "asked_not": "nobody",
    "dignity": "yes",
    "school_account": "yes",
    "copyright": "own",
    "tone": "yes",
    "confidential": "yes",
    "personal": "yes",
}
NO_PUPILS = {**GOOD, "shows_pupils": "no", "shows_others": "no"}


def settings(second_check: str = "pupils") -> object:
    return replace(load_config(None), posting=Posting(second_check=second_check))


async def bot_with(second_check: str = "pupils", path: Path | None = None) -> TestBot:
    bot = TestBot(settings(second_check), path=path)  # type: ignore[arg-type]
    if bot.store.get("accounts", "ACC-1") is None:
        await add_account(bot)
        async with bot.store.transaction() as tx:  # /disclaimer answered: /waiting shows only what is tested here
            for p in bot.settings.people:
                put_disclaimer(tx, p.id)
    return bot


async def check(bot: TestBot, who: str = "eclarke", **answers: str) -> None:
    """`who` checks a post, answering each question asked from `answers`, then submits it."""
    await bot.say(who, "/post-check")
    for _ in range(20):
        convo = bot.store.get("conversations", f"{who}:post_check")
        if convo is None:
            return
        if convo["step"] == "_summary":
            await bot.say(who, "submit")
            continue
        await bot.say(who, answers[convo["step"]])
    raise AssertionError("the check never finished")


@pytest.mark.parametrize(("typed", "stored"), [("no", "nobody"), ("No one", "nobody"), ("yes", "someone")])
async def test_yes_or_no_typed_to_has_anyone_asked_not_to_be_photographed_is_read(typed: str, stored: str) -> None:
    """The question reads as a yes/no question: "no" means nobody has asked, "yes" that someone has."""
    bot = await bot_with("never")
    await check(bot, **{**GOOD, "asked_not": typed})
    assert only_post(bot)["answers"]["asked_not"] == stored
    await bot.close()


def only_post(bot: TestBot) -> dict:
    posts = bot.store.all("posts")
    assert len(posts) == 1
    return posts[0]


async def test_a_post_in_order_is_ready_to_post_and_kept_on_the_log() -> None:
    bot = await bot_with("never")
    await check(bot, **GOOD)
    card = bot.last("eclarke")
    assert card.title == "Ready to post: post P-1" and "ready to post on Pennington PTA" in card.body
    post = only_post(bot)
    assert post["status"] == post["outcome"] == "ready" and post["checked_by"] == "eclarke"
    assert post["description"] == DESCRIPTION and post["answers"]["consent"] == "yes"
    assert ["Consent for everyone identifiable", "Yes, for everyone (answered by Emma Clarke)"] in [
        list(r) for r in post["shown"]
    ]
    assert [p["answer"] for p in post["pupils"]] == ["no restriction recorded"] * 2
    assert not bot.outbox.cards("treid")  # nobody else is asked when the school needs no second check
    assert bot.store.audit(action="post_checked")[-1]["actor"] == "eclarke"
    await bot.close()


NOT_YET = [
    ({"consent": "no"}, "Consent not given", "consent records"),
    ({"consent": "not sure"}, "Consent not confirmed", "consent records"),
    ({"asked_not": "someone"}, "Someone asked not to be photographed", "wishes must be respected"),
    ({"asked_not": "not sure"}, "Not sure whether anyone asked", "once you have found out"),
    ({"dignity": "no"}, "Dress or dignity", "appropriately dressed"),
    ({"school_account": "no"}, "Not only through the school's account", "never a personal one"),
    ({"copyright": "3"}, "Copyright", "permission"),
    ({"copyright": "not sure"}, "Copyright", "permission"),
    ({"tone": "no"}, "Tone", "tone checklist"),
    ({"confidential": "no"}, "Confidential information", "personal details"),
    ({"personal": "no"}, "Personal opinion or gain", "no personal views"),
]


@pytest.mark.parametrize(("change", "what", "todo"), NOT_YET, ids=[w for _c, w, _t in NOT_YET])
async def test_each_thing_missing_is_not_yet_saying_what_to_do(change: dict[str, str], what: str, todo: str) -> None:
    bot = await bot_with()
    await check(bot, **{**GOOD, **change})
    card = bot.last("eclarke")
    assert card.title == "Not yet: post P-1" and "Please don't post this" in card.body
    assert len(card.fields) == 1 and card.fields[0][0].startswith(what) and todo in card.fields[0][1]
    post = only_post(bot)
    assert post["status"] == "not_yet" and post["missing"] == [list(card.fields[0])]
    assert not bot.outbox.cards("treid")  # nothing to confirm until it is in order
    await bot.close()


async def test_copyright_with_permission_records_who_and_when() -> None:
    bot = await bot_with("never")
    answers = {**GOOD, "copyright": "2", "holder": "Sarah Jones, photographer", "permission_on": "yesterday"}
    await check(bot, **answers)
    post = only_post(bot)
    assert post["status"] == "ready" and post["answers"]["permission_on"] == "2026-11-24"
    assert ["Copyright", "Permission from Sarah Jones, photographer, given Tue 24 Nov 2026"] in post["shown"]
    await bot.close()


async def test_a_pupil_on_the_do_not_publish_list_is_not_yet_without_showing_the_list() -> None:
    bot = await bot_with()
    await bot.answer_all("swhitfield", "/dnp-add", "Zoe Amos", "Year 4", "submit")
    await bot.answer_all("swhitfield", "/dnp-add", "Priya Patel", "Year 2", "submit")
    await check(bot, **GOOD)
    told = next(c for c in bot.outbox.cards("eclarke") if c.title == "The do-not-publish list")
    assert "Zoe Amos (Year 4): DO NOT PUBLISH" in told.body and "Sam Patel (4B): no restriction recorded" in told.body
    card = bot.last("eclarke")
    assert card.title == "Not yet: post P-1" and card.fields[0][0] == "Zoe Amos (Year 4): do not publish"
    assert "crop them out" in card.fields[0][1]
    shown = " ".join(text(c) for c in bot.outbox.cards("eclarke"))
    assert "Priya Patel" not in shown  # never anyone else on the list
    audited = [e["detail"] for e in bot.store.audit(action="photo_check") if e["actor"] == "eclarke"]
    assert any(d.startswith("Zoe Amos (Year 4): do not publish") for d in audited)
    assert any(d.startswith("Sam Patel (4B): no restriction recorded") for d in audited)
    assert only_post(bot)["status"] == "not_yet"
    await bot.close()


async def test_a_pupil_it_cannot_be_sure_about_means_ask_the_office() -> None:
    bot = await bot_with()
    await bot.answer_all("swhitfield", "/dnp-add", "Zoey Amos", "Year 4", "submit")
    await check(bot, **GOOD)
    told = next(c for c in bot.outbox.cards("eclarke") if c.title == "The do-not-publish list")
    assert "Zoe Amos (Year 4): can't be sure" in told.body and "Zoey" not in told.body
    card = bot.last("eclarke")
    assert card.title == "Not yet: post P-1" and card.fields[0][0] == "Zoe Amos (Year 4): can't be sure"
    assert "Ask the school office or SLT" in card.fields[0][1]
    await bot.close()


async def test_a_pupil_needs_a_first_and_last_name() -> None:
    bot = await bot_with()
    await bot.answer_all("eclarke", "/post-check", DESCRIPTION, "yes", "Zoe, Year 4")
    assert "first and last name" in bot.last("eclarke").body
    assert "pupils" not in bot.store.get("conversations", "eclarke:post_check")["answers"]
    await bot.close()


async def second_checked(bot: TestBot) -> dict:
    """Emma checks a post showing pupils; it waits for a second check."""
    await check(bot, **GOOD)
    card = bot.last("eclarke")
    assert card.title == "Waiting for a second check: post P-1"
    assert "I have sent it to: Tom Reid, Priya Shah" in card.body and "please don't post it yet" in card.body
    return only_post(bot)


async def test_a_second_person_confirms_and_the_checker_is_told() -> None:
    bot = await bot_with()
    post = await second_checked(bot)
    assert post["status"] == "waiting" and post["asked"] == ["treid", "pshah"]
    asked = bot.last("treid")
    assert asked.title.startswith("Second check: post P-1") and "Zoe Amos (Year 4): no restriction recorded" in text(
        asked
    )
    assert not bot.outbox.cards("swhitfield")  # SLT only when nobody else can
    await bot.click("treid", button(asked, "Confirm"))
    told = bot.last("eclarke")
    assert told.title == "Post P-1: ready to post" and "Tom Reid confirmed" in told.body
    post = only_post(bot)
    assert post["status"] == "ready" and post["second_check"] == "confirmed" and post["second_check_by"] == "treid"
    # Every copy of the card shows it, with no buttons left; a late click changes nothing.
    for pid in ("treid", "pshah"):
        copy = bot.last(pid)
        assert not copy.buttons and "Confirmed: ready to post, by Tom Reid" in copy.body
    await bot.click("pshah", button(asked, "Not yet"))
    assert "already had its second check: confirmed by Tom Reid" in bot.last("pshah").body
    assert only_post(bot)["second_check_by"] == "treid"
    await bot.close()


async def test_not_yet_from_the_second_person_asks_why_and_tells_the_checker() -> None:
    bot = await bot_with()
    await second_checked(bot)
    await bot.click("pshah", button(bot.last("pshah"), "Not yet"))
    assert "What is not right yet?" in bot.last("pshah").body
    await bot.say("pshah", "One child at the back is not on our consent list")
    told = bot.last("eclarke")
    assert told.title == "Post P-1: not yet" and "One child at the back is not on our consent list" in told.body
    post = only_post(bot)
    assert post["status"] == "not_yet" and post["second_check"] == "not_yet" and post["second_check_by"] == "pshah"
    assert post["second_check_reason"] == "One child at the back is not on our consent list"
    assert "Not yet, by Priya Shah" in bot.last("treid").body and not bot.last("treid").buttons
    await bot.close()


async def test_the_checker_cannot_confirm_their_own_post() -> None:
    bot = await bot_with()
    await second_checked(bot)
    card = bot.last("treid")
    await bot.click("eclarke", button(card, "Confirm"))
    refusal = bot.last("eclarke")
    assert refusal.title == "Sorry" and "You checked this post yourself" in refusal.body
    refused = bot.store.audit(action="refused", actor="eclarke")
    assert refused and refused[-1]["record"] == "posts/P-1"
    await bot.click("jbennett", button(card, "Confirm"))  # not a runner, an administrator or SLT
    assert "Only the people who run this account" in bot.last("jbennett").body
    assert bot.store.audit(action="refused", actor="jbennett")
    assert only_post(bot)["status"] == "waiting"
    await bot.close()


async def test_with_nobody_else_to_ask_slt_get_the_second_check() -> None:
    bot = await bot_with()
    await add_account(bot, "ACC-2", name="Office News", handle="@PenningtonOffice", runners=["pshah"])
    await bot.say("pshah", "/post-check")
    await bot.say("pshah", "2")  # the administrator may check any account: ACC-2
    answers = dict(GOOD)
    for _ in range(20):
        convo = bot.store.get("conversations", "pshah:post_check")
        if convo is None:
            break
        await bot.say("pshah", "submit" if convo["step"] == "_summary" else answers[convo["step"]])
    post = only_post(bot)
    assert post["account"] == "ACC-2" and post["asked"] == ["swhitfield", "dokafor"]
    assert bot.last("swhitfield").title.startswith("Second check: post P-1")
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Confirm"))
    assert bot.last("pshah").title == "Post P-1: ready to post"
    await bot.close()


async def test_second_check_never_and_always() -> None:
    never = await bot_with("never")
    await check(never, **GOOD)  # shows pupils, yet no second check
    assert only_post(never)["status"] == "ready" and not never.outbox.cards("treid")
    await never.close()
    always = await bot_with("always")
    await check(always, **NO_PUPILS)  # no pupils, yet a second check
    assert only_post(always)["status"] == "waiting" and "the school asks for it for every post" in (
        always.last("eclarke").body
    )
    assert always.last("treid").title.startswith("Second check")
    await always.close()
    pupils = await bot_with("pupils")
    await check(pupils, **NO_PUPILS)  # the default: no pupils, no second check
    assert only_post(pupils)["status"] == "ready"
    await pupils.close()


async def test_anyone_who_cannot_post_gets_the_rules_not_a_refusal() -> None:
    bot = await bot_with()
    await bot.say("jbennett", "/post-check")
    card = bot.last("jbennett")
    assert card.title == "Before you post: what the check asks" and "You don't run a school account" in card.body
    assert "Consent" in text(card) and "Copyright" in text(card) and "Engaging" in text(card)
    assert not bot.store.audit(action="refused")
    await bot.say("swhitfield", "/post-check")  # SLT run no account here: the rules too
    assert bot.last("swhitfield").title == "Before you post: what the check asks"
    await bot.say("eclarke", "/post-check rules")  # a runner asks for the rules
    assert bot.last("eclarke").title == "Before you post: what the check asks"
    assert bot.store.get("conversations", "eclarke:post_check") is None
    await bot.say("jbennett", "/help")
    assert "/post-check - check a post before it goes out on a school account (/post-check rules" in text(
        bot.last("jbennett")
    )
    await bot.close()


async def test_a_picture_sent_is_not_kept_and_the_check_says_so() -> None:
    bot = await bot_with()
    await bot.say("eclarke", "/post-check")
    await bot.send(Inbound("test", "eclarke", "file"))
    card = bot.last("eclarke")
    assert "I don't open or keep files or pictures" in card.body and "describe the post in words" in card.body
    await bot.close()


async def test_a_check_in_progress_is_offered_again_not_lost() -> None:
    bot = await bot_with()
    await bot.answer_all("eclarke", "/post-check", DESCRIPTION)
    await bot.say("eclarke", "/post-check")
    card = bot.last("eclarke")
    assert card.title == "You have a post check in progress"
    await bot.click("eclarke", button(card, "Carry on"))
    assert "Does the post show or name any pupils?" in bot.last("eclarke").body
    await bot.close()


async def test_waiting_lists_the_post_for_those_who_can_confirm_only() -> None:
    bot = await bot_with()
    await second_checked(bot)
    await bot.say("treid", "/waiting")
    assert "Posts waiting for a second check" in text(bot.outbox.cards("treid")[-2])
    assert bot.last("treid").buttons  # the card, with Confirm and Not yet
    await bot.say("swhitfield", "/waiting")
    assert any("P-1 for Pennington PTA" in text(c) for c in bot.outbox.cards("swhitfield"))
    await bot.say("eclarke", "/waiting")
    assert "Posts waiting for a second check" not in " ".join(text(c) for c in bot.outbox.cards("eclarke")[-3:])
    await bot.say("jbennett", "/waiting")
    assert bot.last("jbennett").title == "Nothing is waiting for you"
    # Confirmed from /waiting's copy: the first card sent shows it too.
    await bot.click("treid", button(bot.last("treid"), "Confirm"))
    await bot.say("treid", "/waiting")
    assert bot.last("treid").title == "Nothing is waiting for you"
    await bot.close()


async def test_slt_and_administrators_see_the_post_log_from_the_register() -> None:
    bot = await bot_with()
    await second_checked(bot)
    await bot.click("treid", button(bot.last("treid"), "Confirm"))
    await check(bot, **{**NO_PUPILS, "tone": "no"})
    await bot.say("eclarke", "/accounts")
    assert not bot.last("eclarke").buttons  # staff see the register, not the post log
    await bot.say("swhitfield", "/accounts")
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Post log ACC-1"))
    log = bot.last("swhitfield")
    assert log.title == "Post log: Pennington PTA (@PenningtonPTA)" and "2 check(s)" in log.body
    newest, oldest = log.fields
    assert newest[0] == "P-2, Wed 25 Nov 2026, 10:00: Not yet" and "Missing: Tone" in newest[1]
    assert oldest[0] == "P-1, Wed 25 Nov 2026, 10:00: Ready to post"
    assert "Checked by Emma Clarke" in oldest[1] and "Second check: confirmed by Tom Reid" in oldest[1]
    await bot.say("pshah", "/post-log ACC-1")
    assert bot.last("pshah").title == log.title
    await bot.click("jbennett", Button(action="post_log.show", label="Post log", data={"account": "ACC-1"}))
    assert bot.last("jbennett").title == "Sorry" and bot.store.audit(action="refused", actor="jbennett")
    await bot.close()


async def test_the_weekly_digest_counts_checks_and_not_yets_once_across_a_restart(tmp_path: Path) -> None:
    bot = await bot_with(path=tmp_path)
    await check(bot, **NO_PUPILS)
    await check(bot, **{**NO_PUPILS, "tone": "no"})
    await check(bot, **GOOD)  # left waiting for its second check
    await bot.close()
    monday = datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    async def digests(start: datetime) -> list[dict[str, str]]:
        """Serve started at `start`, the scheduler ticking twice: the digest lines SLT got."""
        bot = TestBot(settings(), path=tmp_path, start=start)  # type: ignore[arg-type]
        await bot.tick()
        await bot.tick()
        sent = [dict(c.fields) for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest"]
        await bot.close()
        return sent

    sent = await digests(monday)
    assert len(sent) == 1 and sent[0]["Posts checked before publishing"] == (
        "3 checked in the last 7 days; 1 'not yet' when checked. "
        "1 waiting for a second check now (/waiting shows them to whoever can confirm)."
    )
    assert await digests(monday + timedelta(minutes=30)) == []  # restarted: not sent again
    later = await digests(monday + timedelta(days=7))
    assert later[0]["Posts checked before publishing"].startswith("0 checked in the last 7 days")


async def test_with_one_account_to_post_on_it_is_chosen_already() -> None:
    bot = await school()
    await bot.say("eclarke", "/post-check")
    assert "Which account" not in bot.last("eclarke").body  # the only account is chosen for them
    assert bot.last("eclarke").body.startswith("I'll ask what the policy asks")
    await bot.close()


def test_the_post_log_exports_as_stored_and_reads_in_a_spreadsheet(tmp_path: Path) -> None:
    import asyncio
    import json

    from adapters.cli import main
    from tests.test_records_cli import config, read_csv, stored

    cfg = config(tmp_path)
    out = tmp_path / "posts.csv"
    assert main(["export", "--config", str(cfg), "--what", "posts", "--out", str(out)]) == 0
    header = out.read_bytes().decode("utf-8-sig").splitlines()[0]
    assert header.startswith("id,account,description,outcome,status,missing,checked_by,checked_at,second_check")

    async def checked() -> None:
        bot = TestBot(load_config(cfg), path=tmp_path / "data")
        await add_account(bot)
        await check(bot, **GOOD)
        await bot.click("treid", button(bot.last("treid"), "Confirm"))
        await check(bot, **{**NO_PUPILS, "description": "=HYPERLINK('x') our new library", "tone": "no"})
        await bot.close()

    asyncio.run(checked())
    assert main(["export", "--config", str(cfg), "--what", "posts", "--format", "json", "--out", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == stored(tmp_path, "posts")
    assert main(["export", "--config", str(cfg), "--what", "posts", "--out", str(out)]) == 0
    rows = read_csv(out)
    assert [(r["id"], r["outcome"], r["status"], r["checked_by"], r["second_check_by"]) for r in rows] == [
        ("P-1", "waiting", "ready", "eclarke", "treid"),
        ("P-2", "not_yet", "not_yet", "eclarke", ""),
    ]
    assert rows[1]["description"].startswith("'=HYPERLINK")  # never run as a formula
    assert rows[0]["checked_at"] == "2026-11-25 10:00"


async def test_slt_may_confirm_from_waiting_and_that_copy_shows_it_too() -> None:
    bot = await bot_with()
    await second_checked(bot)
    await bot.say("swhitfield", "/waiting P-1")
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Confirm"))
    assert only_post(bot)["second_check_by"] == "swhitfield"
    for pid in ("treid", "pshah", "swhitfield"):
        card = bot.last(pid)
        assert not card.buttons and "Confirmed: ready to post, by Sarah Whitfield" in card.body
    assert bot.last("eclarke").title == "Post P-1: ready to post"
    await bot.close()
