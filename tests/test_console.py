"""The terminal chat: a scripted session through the real `policybot chat` command."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

from adapters.console import ConsoleChat
from adapters.console_channel import render_card
from bot.messages import Card
from tests.harness import TestBot, chat, read_policy

ROOT = Path(__file__).resolve().parent.parent


def test_piped_session_from_application_to_register(tmp_path: Path) -> None:
    script = "\n".join(
        [
            "/policy",
            "2",  # [2] I have read and understood it: the runners have read the policy
            "/as treid",
            "/policy",
            "2",
            "/as eclarke",
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
            "/as swhitfield",
            "1",
            "/as pshah",
            "1",
            "@PenningtonY6",
            "school password manager",
            "submit",
            "/accounts",
        ]
    )
    run = chat(tmp_path, script + "\n")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "You are now Emma Clarke" in out
    assert 'a message for Sarah Whitfield: "New account application A-1: Year 6 Trips"' in out
    assert "Approved by Sarah Whitfield" in out
    assert "ACC-1: Year 6 Trips: Facebook @PenningtonY6 - active" in out
    assert out.rstrip().endswith("Goodbye.")
    assert "Traceback" not in out + run.stderr
    assert (tmp_path / "data" / "live.json").exists()

    # The data is kept: a second session sees the register.
    again = chat(tmp_path, "/accounts\n")
    assert "ACC-1" in again.stdout


def test_chat_as_someone_starts_as_them(tmp_path: Path) -> None:
    """`policybot chat --as swhitfield` starts as the headteacher, as README and --help say; a name nobody has is
    said, and the chat starts as nobody until /as names someone."""
    run = chat(tmp_path, "/training-status\n", "--as", "swhitfield")
    assert run.returncode == 0, run.stderr
    assert "You are now Sarah Whitfield (Headteacher) [SLT]" in run.stdout
    assert "You are now Emma Clarke" not in run.stdout
    assert "Only the Senior Leadership Team" not in run.stdout  # /training-status answered for SLT
    run = chat(tmp_path, "/as treid\n/whoami\n", "--as", "nobody-here")
    assert "Nobody called 'nobody-here'" in run.stdout and "You are now Tom Reid" in run.stdout
    assert "Traceback" not in run.stdout + run.stderr


def test_second_chat_on_the_same_data_is_refused_clearly(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "POLICYBOT_CONFIG"}
    first = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "chat"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
    )
    try:
        assert first.stdout is not None
        first.stdout.readline()  # started and holding the data folder
        second = chat(tmp_path, "/who\n")
        assert second.returncode == 2
        assert "Another policybot is already using the data folder" in second.stderr
        assert "Traceback" not in second.stderr
    finally:
        first.communicate("/quit\n", timeout=60)


async def test_numbers_choose_and_switching_shows_waiting_cards() -> None:
    bot = TestBot()
    await read_policy(bot.core, "eclarke", "treid")
    out = io.StringIO()
    console = ConsoleChat(bot.core, out)
    await console.start("eclarke")
    for line in (
        "/new-account",
        "2",
        "Art club",
        "Show pupils' art",
        "Parents",
        "Newsletter",
        "me and Tom Reid",
        "Emma Clarke, Tom Reid",
        "1",
        "y",
        "1",
    ):
        await console.line(line)
    text = out.getvalue()
    assert "couldn't find anyone called 'me'" in text  # re-asked with what was wrong
    assert bot.store.find("applications")[0]["platform"] == "instagram"
    await console.line("/as dokafor")
    assert "New account application A-1: Art club" in out.getvalue().split("You are now David Okafor")[1]
    await bot.close()


def test_hostile_text_is_shown_safely() -> None:
    card = Card("Report \x1b[2J\x1b[31mred", "line\u202eevil\x07 <!channel>")
    text = render_card(card)
    assert "\x1b" not in text and "\u202e" not in text and "\x07" not in text


async def test_advance_runs_the_scheduler_through_the_day_so_reminders_come_at_their_times() -> None:
    from tests.harness import add_account

    bot = TestBot()
    await add_account(bot)
    out = io.StringIO()
    console = ConsoleChat(bot.core, out)
    await console.start("pshah")
    for line in (
        "/rota-set",
        "1",
        "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid",
        "submit",
        "/as treid",
        "/log-comment",
        "1",
        "2",
        "1",
        "When is the trip back?",
        "skip",
        "no",
        "submit",
    ):
        await console.line(line)
    await console.line("/time")
    assert "It is Wed 25 Nov 2026, 10:00 (school time)." in out.getvalue()
    await console.line("/advance 1d")
    day = out.getvalue().split("(school time).")[1]
    assert (
        "-- Thu 26 Nov 2026, 07:00 --" in day
        and "-- Thu 26 Nov 2026, 08:00 --" in day
        and "-- Thu 26 Nov 2026, 10:00 --" in day
    )
    assert day.index("07:00 --") < day.index("08:00 --") < day.index("10:00 --")
    # Each reminder is a new message for the person (a notification), not a silent edit of an old card.
    assert day.index('a message for Emma Clarke: "Reply due soon: IT-1') < day.index("08:00 --")
    assert 'a message for Emma Clarke: "Reply overdue: IT-1' in day
    assert "not running" not in day  # the clock moved, but the scheduler ran all along
    assert "it is now Thu 26 Nov 2026, 10:00" in day
    await console.line("/advance 40d")
    assert "at most 31 days" in out.getvalue()
    await bot.close()
