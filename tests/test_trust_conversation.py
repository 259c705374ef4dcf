"""Issue 16 (trust): every answer stored is the one given, and every message about what was sent is true."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from adapters.console import ConsoleChat
from adapters.platforms import load_config
from bot.answers import parse
from bot.people import Directory
from bot.registry import default_registry
from bot.workflow import Invalid
from tests.harness import TestBot, button, chat, read_policy


async def console_session(bot: TestBot, who: str, *lines: str) -> str:
    """Type `lines` in one terminal chat, starting as `who` (`/as NAME` switches); return what it printed."""
    out = io.StringIO()
    console = ConsoleChat(bot.core, out)
    await console.start(who)
    for line in lines:
        await console.line(line)
    return out.getvalue()


APPLY = (
    "/new-account",
    "1",
    "Year 6 Trips",
    "To share trip news",
    "Parents of Year 6",
    "Newsletter",
    "Emma Clarke, Tom Reid",
    "2",
    "yes",
    "submit",
)


# ---- 1. a typed number is a choice only of the question asked now ------------------------


def test_numbers_typed_at_free_text_questions_are_kept_as_typed_in_the_terminal_chat(tmp_path: Path) -> None:
    # The issue's own session: "1" typed as the account name and "7" as the aim were taken as
    # "facebook" and "other", choices of the first question.
    run = chat(
        tmp_path, "/new-account\n2\n1\nShare learning with parents\n7\nNewsletter\nEmma Clarke, Tom Reid\n1\n1\n"
    )
    assert run.returncode == 0, run.stderr
    assert "Traceback" not in run.stdout + run.stderr
    after_name = run.stdout.split("Emma Clarke> 1\n", 1)[1]
    assert after_name.startswith(
        "=== New school social media account - question 2"
    )  # "1" read as a name: too short, asked again
    assert "Please write a little more" in after_name.split("Emma Clarke>")[0]
    stored = json.loads((tmp_path / "data" / "live.json").read_text())
    (convo,) = stored["conversations"].values()
    assert convo["answers"]["platform"] == "instagram"  # a number at a choice question is still that choice
    assert "facebook" not in convo["answers"].values() and "other" not in convo["answers"].values()


async def test_a_number_at_the_runners_question_is_a_name_not_an_earlier_choice(bot: TestBot) -> None:
    text = await console_session(bot, "eclarke", "/new-account", "1", "Year 6", "Trips", "Parents", "Newsletter", "1")
    assert "I couldn't find anyone called '1'" in text
    assert "facebook" not in text.split("Who will run the account?")[1]


async def test_a_number_typed_for_links_in_report_abuse_is_kept_as_the_link_text(bot: TestBot) -> None:
    text = await console_session(
        bot,
        "eclarke",
        "/report-abuse",
        "2",
        "1",
        "2",
        "Pennington Mums group",
        "1",
        "1",
        "5",
        "4",
        "Someone posted a nasty comment about a teacher",
        "3",
    )
    convo = bot.store.get("conversations", "eclarke:report_abuse")
    assert convo["answers"]["links"] == "3"
    assert "Links: 3" in text and "Links: removed" not in text


async def test_a_number_at_the_reject_reason_question_does_not_click_reject_again(bot: TestBot) -> None:
    await read_policy(bot.core, "eclarke", "treid")
    text = await console_session(
        bot, "eclarke", *APPLY, "/as swhitfield", "2", "2", "Not enough staff to run it over the holidays"
    )
    after = text.split("Why is the application not approved?", 1)[1]
    assert "Please write a little more" in after  # the reason "2" is read as typed (and is too short)
    assert "Rejection recorded" in after
    assert bot.store.get("applications", "A-1")["reason"] == "Not enough staff to run it over the holidays"


async def test_a_number_still_clicks_the_buttons_of_the_card_just_shown(bot: TestBot) -> None:
    await read_policy(bot.core, "eclarke", "treid")
    await console_session(bot, "eclarke", *APPLY, "/as swhitfield", "1")  # [1] Approve on the card shown at the switch
    assert bot.store.get("applications", "A-1")["status"] == "approved"


# ---- 3. a cancel says what was already sent, and what stays -----------------------------


async def test_cancelling_after_the_999_alert_says_the_alert_and_incident_stay(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/report-abuse", "yes")
    alert = bot.last("swhitfield")
    assert alert.title == "Incident INC-1: Abuse reported online (URGENT)"
    await bot.say("eclarke", "cancel")
    said = bot.last("eclarke").body
    assert "Nothing was sent" not in said
    assert "Incident INC-1: Abuse reported online (URGENT)" in said and "to the Senior Leadership Team" in said
    assert "Kept: incident INC-1 stays open" in said
    inc = bot.store.get("incidents", "INC-1")
    assert inc["status"] == "open" and inc["answers"] == {"danger": True}
    assert any("cancelled the report" in t["what"] for t in inc["timeline"])
    assert bot.last("swhitfield").title == "INC-1: the report was cancelled before it was finished"
    assert bot.store.all("conversations") == []


async def test_cancelling_a_compromising_image_report_says_slt_were_alerted_at_the_start(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/compromising-image", "yes, done")
    await bot.say("eclarke", "cancel")
    said = bot.last("eclarke").body
    assert "Nothing was sent" not in said
    assert "Incident INC-1: Compromising image (high)" in said


async def test_cancelling_before_anything_was_sent_still_says_nothing_was_sent(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/report-abuse", "no")
    await bot.say("eclarke", "cancel")
    assert "Nothing was sent" in bot.last("eclarke").body
    assert bot.store.all("incidents") == []


async def test_help_after_an_alert_does_not_promise_that_cancelling_sends_nothing(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/compromising-image", "help")
    said = bot.last("eclarke").body
    assert "nothing will be sent" not in said
    assert "the Senior Leadership Team stays with them" in said


async def test_an_expired_draft_that_alerted_slt_does_not_say_nothing_was_sent(bot: TestBot) -> None:
    from datetime import timedelta

    await bot.answer_all("eclarke", "/report-abuse", "yes")
    bot.clock.advance(timedelta(days=30))
    await bot.tick()
    expired = next(c for c in bot.outbox.cards("eclarke") if c.title == "Your unfinished draft has expired")
    assert "Nothing was sent" not in expired.body and "Incident INC-1" in expired.body


# ---- 4. "I need help" reaches SLT ------------------------------------------------------------


async def test_i_need_help_alerts_slt_naming_the_step(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/compromising-image", "yes, done")
    before = len(bot.outbox.cards("dokafor"))
    await bot.say("eclarke", "I can't, I need help")
    new = bot.outbox.cards("dokafor")[before:]
    assert [c.title for c in new] == [
        "Incident INC-1: Compromising image (URGENT)",
        "INC-1: Emma Clarke needs help now",
    ]  # the alert card updated, and the ask
    new = new[1:]
    assert "Step 2 (Removed from 'Recently deleted')" in new[0].body
    private = [m for m in bot.outbox.messages("dokafor") if m.card.title == new[0].title]
    assert private[0].private  # who is stuck on what reaches SLT members only, never a shared channel
    reply = next(c for c in bot.outbox.cards("eclarke") if c.title == "SLT will help")
    assert "I have told the Senior Leadership Team (INC-1)" in reply.body
    inc = bot.store.get("incidents", "INC-1")
    assert inc["urgency"] == "urgent" and any("asked for help" in t["what"] for t in inc["timeline"])
    await bot.click("dokafor", button(new[0], "Show details"))
    assert "INC-1" in bot.last("dokafor").title


async def test_asking_for_help_twice_with_one_step_tells_slt_once_and_says_so(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/compromising-image", "I can't, I need help", "back", "I can't, I need help")
    assert [c.title for c in bot.outbox.cards("dokafor")].count("INC-1: Emma Clarke needs help now") == 1
    assert "I told SLT you need help with this step at" in bot.last("eclarke").body or any(
        "I told SLT you need help with this step at" in c.body for c in bot.outbox.cards("eclarke")
    )


# ---- 10. the question count never changes under the person ------------------------------


def _totals(bot: TestBot, who: str) -> list[tuple[int, int | None]]:
    """(question number, total or None) of each question card `who` was sent, in order."""
    import re

    found = []
    for card in bot.outbox.cards(who):
        m = re.search(r"question (\d+)(?: of (\d+))?$", card.title)
        if m and card.question is not None:
            found.append((int(m.group(1)), int(m.group(2)) if m.group(2) else None))
    return found


async def test_report_abuse_never_shows_a_total_that_later_changes(bot: TestBot) -> None:
    await bot.answer_all(
        "eclarke",
        "/report-abuse",
        "no",
        "Somewhere else",
        "Pennington Mums group",
        "Offensive",
        "A member of staff",
        "I don't know",
        "Nothing yet",
    )
    seen = _totals(bot, "eclarke")
    totals = [t for _n, t in seen if t is not None]
    assert totals and len(set(totals)) == 1, seen  # once a total is shown, it is the real one
    assert [n for n, _t in seen] == list(range(1, len(seen) + 1))
    assert seen[0][1] is None  # the first answers still decide how many questions there are


async def test_rota_set_up_counts_honestly(bot: TestBot) -> None:
    from tests.harness import add_account

    await add_account(bot)
    await bot.answer_all("pshah", "/rota-set", "The weekly pattern")
    seen = _totals(bot, "pshah")
    assert seen == [(1, None), (2, 2)]  # not "2 of 2" then "3 of 3": the only account is chosen for them


async def test_a_form_with_no_conditional_questions_shows_its_total_from_the_start(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/pupil-contact", "Instagram")
    assert _totals(bot, "eclarke") == [(1, 8), (2, 8)]


# ---- 11. smaller: skip, help, the records behind "everyone has read the policy" ------------------


async def test_skip_is_refused_kindly_at_a_required_question(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/new-account", "Instagram", "skip")
    card = bot.last("eclarke")
    assert card.question is not None and card.question.key == "account_name"
    assert "this question is needed, so it can't be skipped" in card.body
    assert "skip" not in bot.store.get("conversations", "eclarke:new_account")["answers"].values()


async def test_skip_still_works_at_an_optional_question(bot: TestBot) -> None:
    await bot.answer_all(
        "eclarke",
        "/report-abuse",
        "no",
        "1",
        "Pennington Mums group",
        "1",
        "1",
        "5",
        "4",
        "Someone posted a nasty comment about a teacher",
        "skip",
    )
    assert "check your answers" in bot.last("eclarke").title
    assert ("Links", "(not given)") in bot.last("eclarke").fields


async def test_help_says_what_each_question_wants_with_an_example(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/new-account", "help")
    said = bot.last("eclarke").body
    assert (
        "Choose one of these, by its number or its name: 1 Facebook; 2 Instagram" in said
        and "For example: 1 (or Facebook)" in said
    )
    await bot.answer_all("eclarke", "Instagram", "help")
    said = bot.last("eclarke").body
    assert "Write your answer in your own words (up to 100 characters). For example: Pennington Year 6 Trips." in said
    assert "This question is needed" in said
    await bot.answer_all("eclarke", "Art club", "Show art", "Parents", "Newsletter", "help")
    assert (
        "separated by commas. For example: Sarah Whitfield, David Okafor." in bot.last("eclarke").body
    )  # names from the school's own list


async def test_yes_everyone_has_read_the_policy_is_refused_when_the_records_say_not(strict: TestBot) -> None:
    bot = strict
    await bot.answer_all(
        "eclarke",
        "/new-account",
        "Instagram",
        "Art club",
        "Show pupils' art",
        "Parents",
        "Newsletter",
        "Emma Clarke, Tom Reid",
        "open",
        "yes",
    )
    card = bot.last("eclarke")
    assert card.question is not None and card.question.key == "all_read_policy"
    assert (
        "Our records show that you and Tom Reid have not yet confirmed reading" in card.body and "/policy" in card.body
    )
    await read_policy(bot.core, "eclarke")
    await bot.say("eclarke", "yes")
    assert "Our records show that Tom Reid has not yet confirmed reading" in bot.last("eclarke").body
    await read_policy(bot.core, "treid")
    await bot.say("eclarke", "yes")
    assert ("Everyone named has read the policy", "Yes") in bot.last("eclarke").fields


# ---- 11. the terminal chat: its clock is kept, and Ctrl-C ends it cleanly ---------------------


def test_the_simulated_clock_is_kept_with_the_data_and_said_at_start(tmp_path: Path) -> None:
    first = chat(tmp_path, "/advance 1d\n")
    assert "The chat's clock says" in first.stdout and "the real time" in first.stdout
    again = chat(tmp_path, "/time\n")
    assert "/advance moved it on by 1 day in earlier chats" in again.stdout and "Type /time reset" in again.stdout
    moved = again.stdout.split("It is ")[1].split(" (school time)")[0]
    reset = chat(tmp_path, "/time reset\n/time\n")
    assert "The clock is back to the real time" in reset.stdout
    assert moved not in reset.stdout.split("back to the real time")[1]  # a day earlier now
    assert "the real time;" in chat(tmp_path, "/time\n").stdout


def test_ctrl_c_at_the_prompt_ends_the_chat_at_once_and_keeps_everything(tmp_path: Path) -> None:
    import os
    import pty
    import signal
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "POLICYBOT_CONFIG"}
    keyboard, terminal = pty.openpty()  # typed at a real terminal, as a teacher would
    proc = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "chat"],
        stdin=terminal,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    os.close(terminal)
    assert proc.stdout is not None
    try:
        os.write(keyboard, b"/new-account\n2\n")  # and the terminal stays open: the chat waits at its prompt
        seen = ""
        while "What would you like the account to be called?" not in seen:
            line = proc.stdout.readline()
            assert line, seen
            seen += line
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0  # before: nothing until Enter was pressed
        rest = proc.stdout.read()
        assert "Goodbye. (Ctrl-C: everything so far is saved" in rest
        assert "Traceback" not in rest + (proc.stderr.read() if proc.stderr else "")
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate()
        os.close(keyboard)
    carry_on = chat(tmp_path, "/new-account\n")
    assert "kept your answers" in carry_on.stdout and "What would you like the account to be called?" in carry_on.stdout


async def test_a_form_that_comes_too_late_is_closed_not_left_refusing_every_answer(bot: TestBot) -> None:
    from tests.harness import APPLICATION

    await read_policy(bot.core, "eclarke", "treid")
    await bot.answer_all("eclarke", *APPLICATION, "submit")
    card = bot.last("swhitfield")
    await bot.click("swhitfield", button(card, "Reject"))  # asked for a reason...
    await bot.click("dokafor", button(card, "Approve"))  # ...while another member of SLT approves
    await bot.say("swhitfield", "Not enough staff")
    said = bot.last("swhitfield").body
    assert (
        "already approved by David Okafor" in said
        and "so nothing was changed" in said
        and "I have closed this form" in said
    )
    assert bot.store.get("applications", "A-1")["status"] == "approved"
    assert bot.store.get("conversations", "swhitfield:new_account_reject") is None
    await bot.say("swhitfield", "hello")
    assert "already approved" not in bot.last("swhitfield").body


# ---- a choice question that reads as a yes/no question understands yes and no --------------------------------

AUXILIARIES = ("has", "have", "is", "are", "does", "do", "did", "was", "were", "can", "should", "will")
# Where "no" is deliberately not guessed: "Have you deleted it?" answered "no" could mean "not yet" or "I can't",
# and "I can't" alerts SLT; the person is shown the two answers instead.
NOT_GUESSED = {("compromising_image", "deleted"), ("compromising_image", "recently_deleted")}


def test_a_choice_question_asked_as_yes_or_no_reads_typed_yes_and_no() -> None:
    """A teacher answers "Has anyone asked not to be photographed?" with "no": it is read as the one answer that
    means no, never refused as unknown and never taken as another answer."""

    settings = load_config(None)
    directory = Directory(settings.people)
    checked = 0
    for wf in default_registry().workflows.values():
        for step in wf.steps:
            if step.kind != "choice" or not isinstance(step.prompt, str) or (wf.name, step.key) in NOT_GUESSED:
                continue
            question = step.prompt.rsplit("?", 1)[0].replace("!", ".").split(".")[-1].split()
            if not question or question[0].lower() not in AUXILIARIES or ", or " in " ".join(question):
                continue  # not a yes/no question ("Will the account be open, or private/closed?")
            checked += 1
            for typed in ("yes", "no"):
                try:
                    value = parse(step, typed, directory, ZoneInfo("Europe/London"), datetime(2026, 12, 3, tzinfo=UTC))
                except Invalid:
                    raise AssertionError(f"{wf.name}.{step.key}: {typed!r} is refused at {step.prompt!r}") from None
                label = next(c.label for c in step.choices if c.value == value).lower()
                negative = label.split()[0].strip(",") in ("no", "not", "nobody", "none")
                assert negative == (typed == "no"), f"{wf.name}.{step.key}: {typed!r} read as {label!r}"
    assert checked >= 3
