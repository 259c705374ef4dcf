"""Reading typed or clicked answers for each kind of question, and showing them back."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from bot.people import Directory, fold
from bot.timefmt import day, when
from bot.workflow import Invalid, Step

YES = {"yes", "y", "yeah", "yep", "true", "1"}
NO = {"no", "n", "nope", "false", "0", "2"}  # "1 Yes, 2 No", as a yes/no question offers them
# C0 controls but tab and line feed, DEL, and every bidirectional control (Unicode's Bidi_Control:
# U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069), which can disguise what a text says.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """Drop control and direction-override characters; keep ordinary line breaks."""
    return _CONTROL.sub("", text).strip()


def split_list(text: str) -> list[str]:
    parts = re.split(r",|;|\n|\band\b|&", text)
    return [p.strip() for p in parts if p.strip()]


def parse(step: Step, raw: Any, directory: Directory, tz: ZoneInfo, now: datetime) -> Any:
    """Turn an answer into the value stored for `step`, or raise Invalid saying why."""
    if isinstance(raw, str):
        raw = clean_text(raw)
        if not raw:
            raise Invalid("I didn't get an answer there. Please type your answer, or type help.")
    kind = step.kind
    if kind == "text":
        text = str(raw)
        if len(text) > step.max_length:
            raise Invalid(f"That is {len(text)} characters; please keep it under {step.max_length}.")
        return text
    if kind == "yesno":
        word = fold(str(raw))
        if word in YES:
            return True
        if word in NO:
            return False
        raise Invalid("Please answer yes or no.")
    if kind == "choice":
        return _choice(step, str(raw))
    if kind == "multi":
        items = raw if isinstance(raw, list) else split_list(str(raw))
        values = []
        for item in items:
            value = _choice(step, str(item))
            if value not in values:
                values.append(value)
        if not values:
            raise Invalid("Please pick at least one.")
        return values
    if kind == "person":
        return _person(str(raw), directory)
    if kind == "people":
        items = raw if isinstance(raw, list) else split_list(str(raw))
        ids: list[str] = []
        for item in items:
            pid = _person(str(item), directory)
            if pid not in ids:
                ids.append(pid)
        return ids
    if kind == "date":
        return parse_date(str(raw), tz, now, step.direction or "any").isoformat()
    if kind == "datetime":
        return parse_datetime(str(raw), tz, now, step.direction or "any").isoformat()
    raise Invalid("I can't read that answer.")


def _choice(step: Step, text: str) -> str:
    want = fold(text)
    for n, c in enumerate(step.choices, start=1):
        if want in (str(n), fold(c.value), fold(c.label), *map(fold, c.typed)):
            return c.value
    starts = [c for c in step.choices if fold(c.label).startswith(want)]
    if len(starts) == 1:
        return starts[0].value
    options = "; ".join(f"{n} {c.label}" for n, c in enumerate(step.choices, start=1))
    raise Invalid(f"Please choose one of the options by number or name: {options}.")


def _person(text: str, directory: Directory) -> str:
    found = directory.match(text)
    if len(found) == 1:
        return found[0].id
    if not found:
        raise Invalid(
            f"I couldn't find anyone called {text!r} in the school's list. Check the spelling, or use their full name."
        )
    names = ", ".join(p.describe() for p in found)
    raise Invalid(f"{text!r} could be {names}. Please give their full name.")


Direction = Literal["past", "future", "any"]
# A moment typed as "now", or a few minutes ahead by a clock a little fast, still counts
# as the past; a deadline a few minutes gone still counts as now.
NOW_TOLERANCE = timedelta(minutes=5)
# A date given without a time (for a question that asks for both) is read as this time of day.
DAY_ONLY_PAST = time(9, 0)
DAY_ONLY_FUTURE = time(17, 0)  # a deadline of "Friday" means by the end of Friday's working day

_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})(?:[/.-](\d{2,4}))?$")
_TIME = re.compile(r"(\d{1,2})(?::|\.)(\d{2})\s*(am|pm)?$|(\d{1,2})\s*(am|pm)$")
_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


def date_examples(direction: Direction) -> str:
    """Dates this question accepts, as examples: only ones it would not refuse."""
    return {
        "past": "a date like 25/11/2026 or 25 Nov, or today, yesterday or a day like Monday",
        "future": "a date like 24/12 or 24 Dec 2026, or today, tomorrow or a day like Friday",
        "any": "a date like 25/11/2026 or 25 Nov 2026, or today, yesterday or tomorrow",
    }[direction]


def datetime_examples(direction: Direction) -> str:
    """Moments this question accepts, as examples: only ones it would not refuse."""
    return {
        "past": "'now', 'today 09:15', 'yesterday 18:30', 'Saturday 9am', '25/11/2026 9am' or '2h ago'",
        "future": "'today 16:00', 'tomorrow 9am', 'Friday 12:00', '24/12 9am' or 'in 2 hours'",
        "any": "'today 16:00', 'yesterday 18:30', 'tomorrow 9am' or '25/11/2026 9am'",
    }[direction]


def _weekday(name: str) -> int | None:
    name = name.removesuffix("'s").removesuffix("s") if len(name) > 3 else name
    if len(name) < 3:
        return None
    for n, day_name in enumerate(_WEEKDAYS):
        if day_name.startswith(name):
            return n
    return None


def _month(name: str) -> int | None:
    if len(name) < 3:
        return None
    for n, month_name in enumerate(_MONTHS, start=1):
        if month_name.startswith(name):
            return n
    return None


def _without_year(d: int, m: int, today: date, direction: Direction) -> date:
    """A day and month with no year: the one this question means (the latest gone, the next to come)."""
    this_year = date(today.year, m, d)
    if direction == "past" and this_year > today:
        return date(today.year - 1, m, d)
    if direction == "future" and this_year < today:
        return date(today.year + 1, m, d)
    return this_year


def _read_date(t: str, today: date, direction: Direction) -> date | None:
    """A date as typed, or None if it isn't one. Relative words resolve in the question's direction."""
    named = {"today": today, "yesterday": today - timedelta(days=1), "tomorrow": today + timedelta(days=1)}
    if t in named:
        return named[t]
    try:
        return date.fromisoformat(t)
    except ValueError:
        pass
    try:
        m = _DMY.match(t)
        if m:
            d, mth = int(m.group(1)), int(m.group(2))
            if m.group(3) is None:
                return _without_year(d, mth, today, direction)
            y = int(m.group(3))
            return date(y + 2000 if y < 100 else y, mth, d)
        # "Tue 1 Dec 2026" (as policybot writes dates), "1 December", "1st dec 2026"
        words = t.replace(",", " ").split()
        if words and _weekday(words[0]) is not None and len(words) > 1:
            words = words[1:]
        if 2 <= len(words) <= 3 and re.fullmatch(r"\d{1,2}(st|nd|rd|th)?", words[0]) and _month(words[1]):
            d, mth = int(re.sub(r"\D", "", words[0])), _month(words[1]) or 0
            if len(words) == 3:
                return date(int(words[2]), mth, d) if re.fullmatch(r"\d{4}", words[2]) else None
            return _without_year(d, mth, today, direction)
    except ValueError:
        return None
    # A day of the week: "saturday", "sat", "last sat", "next friday", "on monday"
    prefix, _, rest = t.partition(" ")
    if prefix in ("last", "next", "this", "on") and rest:
        t = rest
    else:
        prefix = ""
    n = _weekday(t)
    if n is None:
        return None
    back = today - timedelta(days=(today.weekday() - n) % 7)
    ahead = today + timedelta(days=(n - today.weekday()) % 7)
    if prefix == "last" or (direction == "past" and prefix != "next"):
        return back
    if prefix in ("next", "this") or direction == "future":
        return ahead
    if back == ahead:
        return back  # today
    raise Invalid(
        f"Do you mean {day(back)} or {day(ahead)}? Please give the date, like {ahead.day}/{ahead.month}/{ahead.year}."
    )


def _refuse_date(d: date, today: date, direction: Direction) -> None:
    if direction == "past" and d > today:
        raise Invalid(f"{day(d)} is in the future. This question needs a day that has already come: today or earlier.")
    if direction == "future" and d < today:
        raise Invalid(f"{day(d)} has already passed. This question needs today or a later day.")


def parse_date(text: str, tz: ZoneInfo, now: datetime, direction: Direction = "any") -> date:
    """A date: 'today', 'yesterday', 'tomorrow', 'Saturday', '2026-11-25', '25/11/2026', '25/11',
    '25 Nov 2026' or 'Wed 25 Nov 2026'; refused when it is not on the question's side of today."""
    today = now.astimezone(tz).date()
    found = _read_date(fold(text), today, direction)
    if found is None:
        raise Invalid(f"Please give {date_examples(direction)}.")
    _refuse_date(found, today, direction)
    return found


def parse_datetime(text: str, tz: ZoneInfo, now: datetime, direction: Direction = "any") -> datetime:
    """A moment: 'now', '2h ago', 'in 3 hours', 'yesterday 18:30', 'yesterday at 6.30pm',
    'saturday 18:30', '18:30 yesterday', '25/11/2026 9am', '14:05' (today); refused when it
    is not on the question's side of now ("past": up to now, "future": from now)."""
    t = fold(text)
    found = _read_datetime(t, tz, now, direction)
    if found is None:
        raise Invalid(f"Please give a date and time like {datetime_examples(direction)}.")
    if direction == "past" and found > now + NOW_TOLERANCE:
        raise Invalid(f"That is in the future ({when(found, tz)}). This question needs a time that has already passed.")
    if direction == "future" and found < now - NOW_TOLERANCE:
        raise Invalid(f"That has already passed ({when(found, tz)}). This question needs a time still to come.")
    return found


def _read_datetime(t: str, tz: ZoneInfo, now: datetime, direction: Direction) -> datetime | None:
    if t in ("now", "just now", "right now"):
        return now
    units = r"(m|min|mins|minutes?|h|hrs?|hours?|d|days?)"
    m = re.match(rf"^(\d+|an?)\s*{units}\s+ago$", t) or re.match(rf"^in\s+(\d+|an?)\s*{units}$", t)
    if m:
        n, unit = (1 if m.group(1) in ("a", "an") else int(m.group(1))), m.group(2)[0]
        span = {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]
        return now - span if t.endswith("ago") else now + span
    t = re.sub(r"\s+(am|pm)$", r"\1", t)
    t = re.sub(r"^(at|by)\s+|\s+(at|by)\s+", " ", t).strip()  # "yesterday at 18:30", "by 4pm"
    first, _, rest = t.partition(" ")
    if rest and _TIME.match(first) and not _TIME.match(rest):
        t = f"{rest} {first}"  # "18:30 yesterday"
    today = now.astimezone(tz).date()
    parts = t.rsplit(" ", 1)
    tm, d = None, None
    if len(parts) == 2 and _TIME.match(parts[1]):
        tm, d = _TIME.match(parts[1]), _read_date(parts[0], today, direction)
        if d is None:
            return None
    elif _TIME.match(t):
        tm, d = _TIME.match(t), today
    if tm and d:
        hour = int(tm.group(1) or tm.group(4))
        minute = int(tm.group(2) or 0)
        ampm = tm.group(3) or tm.group(5)
        if ampm == "pm" and hour < 12:
            hour += 12
        if ampm == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59:
            raise Invalid("That time doesn't look right. Please give a time like 18:30 or 6.30pm.")
        moment = datetime.combine(d, time(hour, minute), tz)
        if len(parts) == 2 and _weekday(parts[0]) is not None:
            # A bare day name is today's only if the time is on the question's side of now:
            # "Friday 12:00" asked at 5pm on a Friday is next Friday (future) or today (past).
            if direction == "future" and moment < now - NOW_TOLERANCE:
                moment = datetime.combine(d + timedelta(days=7), time(hour, minute), tz)
            elif direction == "past" and moment > now + NOW_TOLERANCE:
                moment = datetime.combine(d - timedelta(days=7), time(hour, minute), tz)
        return moment
    d = _read_date(t, today, direction)
    if d is None:
        return None
    if direction == "future":
        return (
            max(datetime.combine(d, DAY_ONLY_FUTURE, tz), now)
            if d == today
            else datetime.combine(d, DAY_ONLY_FUTURE, tz)
        )
    moment = datetime.combine(d, DAY_ONLY_PAST, tz)
    return min(moment, now) if d == today else moment


_ENDS = (".", "!", "?", "'", '"')
_FOR_EXAMPLE = re.compile(r"\(?\bfor example[:,]?\s*(.+?)\)?$", re.IGNORECASE)


def explain(step: Step, directory: Directory, me: str = "") -> str:
    """What a question wants and an example answer, made from the step itself (for `help`)."""
    opts = "; ".join(f"{n} {c.label}" for n, c in enumerate(step.choices, start=1))
    others = [p.name for p in directory.people if p.employed and p.id != me][:2] or ["Tom Reid", "Emma Clarke"]
    if step.kind == "choice":
        wants, example = (
            f"Choose one of these, by its number or its name: {opts}.",
            (f"1 (or {step.choices[0].label.split(' (')[0]})" if step.choices else "1"),
        )
    elif step.kind == "multi":
        wants, example = (
            f"Choose one or more of these, by number or name, separated by commas: {opts}.",
            "1, 2" if len(step.choices) > 1 else "1",
        )
    elif step.kind == "yesno":
        wants, example = "Answer yes or no.", "yes"
    elif step.kind == "person":
        wants, example = "Give one person's name, as it is on the school's staff list.", others[0]
    elif step.kind == "people":
        wants, example = (
            "Give people's names as they are on the school's staff list, separated by commas.",
            ", ".join(others),
        )
    elif step.kind == "date":
        wants, example = "Give a date.", "25/11/2026"
    elif step.kind == "datetime":
        wants, example = "Give a day and a time.", "25/11/2026 9am"
    else:
        limit = f" (up to {step.max_length} characters)" if step.max_length < 2000 else ""
        wants, example = f"Write your answer in your own words{limit}.", ""
    # The question's own example comes first: its `example`, or (for a written answer or a
    # date) one in its prompt or hint; the hint is added unless it was the example.
    hint = step.help
    own = step.example
    if not own and step.kind in ("text", "date", "datetime"):
        for text in (step.prompt, step.help):
            m = _FOR_EXAMPLE.search(text)
            if m:
                own = m.group(1).strip()
                hint = "" if text is step.help else hint
                break
    example = own or example
    example = example.strip()
    stop = "" if example[-1:] in _ENDS else "."
    said = f"{wants} For example: {example}{stop}" if example else wants
    return f"{said}\n{hint}" if hint else said


def show(step: Step, value: Any, directory: Directory, tz: ZoneInfo) -> str:
    """An answer as the summary shows it."""
    if value is None or value == "" or value == []:
        return "(not given)"
    if step.kind == "yesno":
        return "Yes" if value else "No"
    if step.kind == "choice":
        return next((c.label for c in step.choices if c.value == value), str(value))
    if step.kind == "multi":
        return ", ".join(next((c.label for c in step.choices if c.value == v), str(v)) for v in value)
    if step.kind == "person":
        return directory.name(value)
    if step.kind == "people":
        return ", ".join(directory.name(v) for v in value)
    if step.kind == "date":
        return day(value)
    if step.kind == "datetime":
        return when(value, tz)
    return str(value)
