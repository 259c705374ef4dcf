"""Dates and times (issue 16, items 9 and 11): one reader, each question's direction, one way of writing a date."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.answers import parse_date, parse_datetime
from bot.registry import default_registry
from bot.workflow import Invalid
from tests.harness import TestBot, add_account

LONDON = ZoneInfo("Europe/London")
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)  # Wednesday 10:00 in London


def date_steps() -> list[tuple[str, object]]:
    registry = default_registry()
    return [
        (f"{wf.name}.{s.key}", s)
        for wf in registry.workflows.values()
        for s in wf.steps
        if s.kind in ("date", "datetime")
    ]


def test_every_date_question_declares_whether_it_is_about_the_past_or_the_future() -> None:
    steps = date_steps()
    assert len(steps) >= 9
    directions = ("past", "future", "any")
    undeclared = [name for name, s in steps if s.direction not in directions]  # type: ignore[attr-defined]
    assert not undeclared, f"date questions without a direction: {undeclared}"
    directions = {name: s.direction for name, s in steps}  # type: ignore[attr-defined]
    assert directions["compromising_image.taken_at"] == "past" and directions["media_enquiry.deadline"] == "future"
    assert (
        directions["training.date"] == "past"
        and directions["rota_swap.day"] == "future"
        and directions["log_comment.received"] == "past"
    )


def _examples(prompt: str) -> list[str]:
    """The example answers a question's prompt offers: '(for example: today 10:15, yesterday 14:30, 2h ago)'."""
    m = re.search(r"\(for example:? ([^)]*)\)", prompt)
    if m is None:
        return []
    text = m.group(1).split(";")[0]
    return [e.strip() for e in re.split(r",|\bor\b", text) if e.strip()]


@pytest.mark.parametrize("name", [n for n, _ in date_steps()])
def test_every_example_a_date_question_gives_is_accepted(name: str) -> None:
    step = dict(date_steps())[name]
    reader = parse_date if step.kind == "date" else parse_datetime  # type: ignore[attr-defined]
    examples = _examples(step.prompt)  # type: ignore[attr-defined]
    for hour in (0, 6, 9, 12, 17, 23):  # an example must hold at any time of day
        now = datetime(2027, 1, 15, hour, 0, tzinfo=UTC)
        for example in examples:
            reader(example, LONDON, now, step.direction)  # type: ignore[attr-defined,operator]


@pytest.mark.parametrize(
    ("typed", "direction", "expected"),
    [
        ("saturday", "future", date(2026, 11, 28)),
        ("Saturday", "past", date(2026, 11, 21)),
        ("sat", "future", date(2026, 11, 28)),
        ("next friday", "future", date(2026, 11, 27)),
        ("last friday", "past", date(2026, 11, 20)),
        ("wednesday", "any", date(2026, 11, 25)),  # today
        ("tomorrow", "future", date(2026, 11, 26)),
        ("yesterday", "past", date(2026, 11, 24)),
        ("28/11", "future", date(2026, 11, 28)),
        ("20/11", "past", date(2026, 11, 20)),
        ("20/11", "future", date(2027, 11, 20)),
        ("24/12/2026", "future", date(2026, 12, 24)),
        ("2026-12-24", "any", date(2026, 12, 24)),
        ("Tue 1 Dec 2026", "future", date(2026, 12, 1)),  # as policybot writes dates
        ("1 December", "future", date(2026, 12, 1)),
        ("1st Dec 2026", "any", date(2026, 12, 1)),
    ],
)
def test_one_date_reader_reads_days_as_staff_type_them(typed: str, direction: str, expected: date) -> None:
    assert parse_date(typed, LONDON, NOW, direction) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "direction", "says"),
    [
        ("tomorrow", "past", "Thu 26 Nov 2026 is in the future"),
        ("yesterday", "future", "Tue 24 Nov 2026 has already passed"),
        ("1/1/2027", "past", "in the future"),
        ("last monday", "future", "has already passed"),
        ("saturday", "any", "Do you mean Sat 21 Nov 2026 or Sat 28 Nov 2026?"),
        ("the 5th", "any", "Please give a date like"),
    ],
)
def test_a_date_on_the_wrong_side_of_today_is_refused_plainly(typed: str, direction: str, says: str) -> None:
    with pytest.raises(Invalid) as refused:
        parse_date(typed, LONDON, NOW, direction)  # type: ignore[arg-type]
    assert says in str(refused.value)


def test_the_readers_own_hints_offer_only_what_it_accepts() -> None:
    for direction, refused in (("past", "tomorrow"), ("future", "yesterday")):
        with pytest.raises(Invalid) as problem:
            parse_date("soon", LONDON, NOW, direction)  # type: ignore[arg-type]
        assert refused not in str(problem.value)
        with pytest.raises(Invalid) as problem:
            parse_datetime("soon", LONDON, NOW, direction)  # type: ignore[arg-type]
        assert refused not in str(problem.value) and ("ago" in str(problem.value)) == (direction == "past")


@pytest.mark.parametrize(
    ("typed", "direction", "ok"),
    [
        ("tomorrow 9am", "past", False),
        ("yesterday 10:00", "future", False),
        ("in 2 hours", "future", True),
        ("in 2 hours", "past", False),
        ("2h ago", "future", False),
        ("now", "past", True),
        ("today 10:04", "past", True),  # a clock a little fast is still now
        ("today 16:00", "future", True),
        ("Friday 12:00", "future", True),
        ("Friday 12:00", "past", True),  # last Friday
        ("2026-11-24 14:05", "past", True),  # as a Teams date and time picker sends it
        ("Wednesday 09:00", "future", True),  # today is Wednesday and 09:00 has gone: next Wednesday
        ("Wednesday 18:30", "past", True),  # and 18:30 has not come: last Wednesday
    ],
)
def test_a_moment_on_the_wrong_side_of_now_is_refused(typed: str, direction: str, ok: bool) -> None:
    if ok:
        parse_datetime(typed, LONDON, NOW, direction)  # type: ignore[arg-type]
    else:
        with pytest.raises(Invalid, match=r"in the future|already passed"):
            parse_datetime(typed, LONDON, NOW, direction)  # type: ignore[arg-type]


# ---- through the conversations ------------------------------------------------------------


async def test_a_compromising_picture_cannot_have_been_taken_tomorrow(bot: TestBot) -> None:
    await bot.answer_all("eclarke", "/compromising-image", "done", "done", "none", "no", "personal", "tomorrow 9am")
    refusal = bot.last("eclarke")
    assert "That is in the future (Thu 26 Nov 2026, 09:00)" in refusal.body and "when was it taken?" in refusal.body
    await bot.say("eclarke", "today 09:30")
    assert "check your answers" in bot.last("eclarke").title


async def test_a_journalists_deadline_cannot_be_yesterday(bot: TestBot) -> None:
    await bot.answer_all(
        "treid", "/media-enquiry", "Westmorland Gazette", "Sam Hart", "phone", "Asked about a post", "yesterday 10:00"
    )
    refusal = bot.last("treid")
    assert (
        "That has already passed (Tue 24 Nov 2026, 10:00)" in refusal.body
        and "When do they want a reply by?" in refusal.body
    )
    await bot.say("treid", "tomorrow 9am")
    assert "Have you said anything" in bot.last("treid").body


async def test_training_hints_only_at_what_it_accepts(bot: TestBot) -> None:
    await bot.answer_all("pshah", "/training", "Tom Reid")
    assert "tomorrow" not in bot.last("pshah").body
    await bot.say("pshah", "next week sometime")
    assert "tomorrow" not in bot.last("pshah").body and "Please give a date" in bot.last("pshah").body
    await bot.say("pshah", "tomorrow")
    assert "Thu 26 Nov 2026 is in the future" in bot.last("pshah").body


async def test_swap_duty_reads_saturday_as_log_comment_does(bot: TestBot) -> None:
    await add_account(bot)
    await bot.answer_all("pshah", "/rota-set", "1", "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid", "submit")
    await bot.answer_all("treid", "/swap-duty", "Saturday")
    assert "Who would you like to ask?" in bot.last("treid").body
    await bot.answer_all("treid", "Emma Clarke", "submit")
    assert bot.store.get("swaps", "S-1")["day"] == "2026-11-28"
    await bot.answer_all(
        "eclarke", "/log-comment", "1", "comment", "public", "Nice post", "Saturday 18:30", "no", "submit"
    )
    assert bot.store.get("items", "IT-1")["received_at"].startswith("2026-11-21T18:30")


# ---- one way of writing a date for people: 'Tue 1 Dec 2026' ------------------------------

ROOT = Path(__file__).resolve().parent.parent
# A date written for a person some other way than bot.timefmt: strftime codes, or an ISO
# date dropped into a message. Audit details, keys and exports are stored data and stay ISO.
_OTHER_FORMATS = re.compile(r"\{[^{}]*:%[a-zA-Z]|strftime\(|\{[\w.()\[\]'\"]*\.isoformat\(\)\}")


def test_no_message_writes_a_date_any_other_way() -> None:
    found = []
    for folder in ("workflows", "adapters", "bot"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path.name in ("timefmt.py", "records.py"):  # the one formatter; exports stay ISO
                continue
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if _OTHER_FORMATS.search(line) and not re.search(
                    r"\bdetail=|\b\w*(key|keys|_id) ?=", line
                ):  # audit details, keys and ids are data
                    found.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert not found, "\n".join(found)


_ISO_OR_PADDED = re.compile(r"\b\d{4}-\d{2}-\d{2}\b|\b(Mon|Tue|Wed|Thu|Fri|Sat|Sun) 0\d ")


async def test_a_leaver_and_the_digest_read_dates_as_tue_1_dec_2026() -> None:
    bot = TestBot(start=datetime(2026, 11, 30, 9, 0, tzinfo=UTC))  # Monday
    await add_account(bot)
    await bot.answer_all("swhitfield", "/leaver", "Jo Bennett", "27/11/2026", "submit")
    await bot.say("jbennett", "/help")
    refused = bot.last("jbennett").body
    assert "left the school on Fri 27 Nov 2026" in refused
    await bot.tick()
    digest = next(c for c in bot.outbox.cards("swhitfield") if c.title == "Weekly social media digest")
    assert "The week to Mon 30 Nov 2026." in digest.body
    for who in ("swhitfield", "jbennett", "pshah"):
        for card in bot.outbox.cards(who):
            shown = " ".join([card.title, card.body, *(f"{a} {b}" for a, b in card.fields)])
            assert not _ISO_OR_PADDED.search(shown), shown
    await bot.close()


def test_a_day_name_with_a_time_lands_on_the_questions_side_of_now() -> None:
    assert parse_datetime("Wednesday 09:00", LONDON, NOW, "future") == datetime(2026, 12, 2, 9, 0, tzinfo=LONDON)
    assert parse_datetime("Wednesday 18:30", LONDON, NOW, "past") == datetime(2026, 11, 18, 18, 30, tzinfo=LONDON)
    assert parse_datetime("Wednesday 11:00", LONDON, NOW, "future") == datetime(2026, 11, 25, 11, 0, tzinfo=LONDON)


@given(
    offset=st.integers(min_value=-400 * 24 * 60, max_value=400 * 24 * 60),
    direction=st.sampled_from(["past", "future", "any"]),
)
@settings(max_examples=150)
def test_any_moment_is_accepted_exactly_when_it_is_on_the_questions_side(offset: int, direction: str) -> None:
    moment = (NOW + timedelta(minutes=offset)).astimezone(LONDON)
    typed = f"{moment:%Y-%m-%d %H:%M}"  # as a Teams picker sends it
    right_side = direction == "any" or (direction == "past" and offset <= 5) or (direction == "future" and offset >= -5)
    if right_side:
        found = parse_datetime(typed, LONDON, NOW, direction)  # type: ignore[arg-type]
        # As the school's clock reads it (an hour that happens twice in October reads the same).
        assert found.astimezone(LONDON).replace(tzinfo=None) == moment.replace(tzinfo=None, second=0, microsecond=0)
    else:
        with pytest.raises(Invalid, match=r"in the future|already passed"):
            parse_datetime(typed, LONDON, NOW, direction)  # type: ignore[arg-type]


@given(
    day_name=st.sampled_from(["monday", "Tue", "wed", "Thursday", "fri", "Saturday", "sun"]),
    direction=st.sampled_from(["past", "future"]),
)
@settings(max_examples=30)
def test_a_day_name_is_the_nearest_such_day_on_the_questions_side(day_name: str, direction: str) -> None:
    found = parse_date(day_name, LONDON, NOW, direction)  # type: ignore[arg-type]
    today = NOW.astimezone(LONDON).date()
    assert f"{found:%a}".lower() == day_name[:3].lower()
    assert (0 <= (today - found).days < 7) if direction == "past" else (0 <= (found - today).days < 7)
