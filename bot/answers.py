"""Reading typed or clicked answers for each kind of question, and showing them back."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.people import Directory, fold
from bot.timefmt import day, when
from bot.workflow import Invalid, Step

YES = {"yes", "y", "yeah", "yep", "true", "1"}
NO = {"no", "n", "nope", "false", "0", "2"}  # "1 Yes, 2 No", as a yes/no question offers them
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\u202a-\u202e\u2066-\u2069]")


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
        return parse_date(str(raw), tz, now).isoformat()
    if kind == "datetime":
        return parse_datetime(str(raw), tz, now).isoformat()
    raise Invalid("I can't read that answer.")


def _choice(step: Step, text: str) -> str:
    want = fold(text)
    for n, c in enumerate(step.choices, start=1):
        if want in (str(n), fold(c.value), fold(c.label)):
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
        raise Invalid(f"I couldn't find anyone called {text!r} in the school's list. Check the spelling, or use their full name.")
    names = ", ".join(p.describe() for p in found)
    raise Invalid(f"{text!r} could be {names}. Please give their full name.")


_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})$")
_TIME = re.compile(r"(\d{1,2})(?::|\.)(\d{2})\s*(am|pm)?$|(\d{1,2})\s*(am|pm)$")


def parse_date(text: str, tz: ZoneInfo, now: datetime) -> date:
    """A date: 'today', 'yesterday', 'tomorrow', '2026-11-25' or '25/11/2026'."""
    t = fold(text)
    today = now.astimezone(tz).date()
    named = {"today": today, "yesterday": today - timedelta(days=1), "tomorrow": today + timedelta(days=1)}
    if t in named:
        return named[t]
    try:
        return date.fromisoformat(t)
    except ValueError:
        pass
    m = _DMY.match(t)
    if m:
        d, mth, y = (int(x) for x in m.groups())
        y = y + 2000 if y < 100 else y
        try:
            return date(y, mth, d)
        except ValueError:
            pass
    raise Invalid("Please give a date like 25/11/2026, or today, yesterday or tomorrow.")


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def _past_day(text: str, tz: ZoneInfo, now: datetime) -> date:
    """A date as parse_date reads it, or a day name ('saturday', 'last sat'): the latest such day up to today.

    Only for moments in the past (when something arrived or happened).
    """
    name = text.removeprefix("last ").removeprefix("on ").strip()
    if len(name) >= 3:
        for n, day_name in enumerate(_WEEKDAYS):
            if day_name.startswith(name) or name == day_name + "s":
                today = now.astimezone(tz).date()
                return today - timedelta(days=(today.weekday() - n) % 7)
    return parse_date(text, tz, now)


def parse_datetime(text: str, tz: ZoneInfo, now: datetime) -> datetime:
    """A past or present moment: 'now', '2h ago', 'yesterday 18:30', 'yesterday at 6.30pm',
    'saturday 18:30', '18:30 yesterday', '25/11/2026 9am', '14:05' (today)."""
    t = fold(text)
    if t in ("now", "just now"):
        return now
    m = re.match(r"^(\d+|an?)\s*(m|min|mins|minutes?|h|hrs?|hours?|d|days?)\s+ago$", t)
    if m:
        n, unit = (1 if m.group(1) in ("a", "an") else int(m.group(1))), m.group(2)[0]
        return now - {"m": timedelta(minutes=n), "h": timedelta(hours=n), "d": timedelta(days=n)}[unit]
    t = re.sub(r"\s+(am|pm)$", r"\1", t)
    t = re.sub(r"^at\s+|\s+at\s+", " ", t).strip()  # "yesterday at 18:30", "at 14:05"
    first, _, rest = t.partition(" ")
    if rest and _TIME.match(first) and not _TIME.match(rest):
        t = f"{rest} {first}"  # "18:30 yesterday"
    parts = t.rsplit(" ", 1)
    tm = None
    if len(parts) == 2 and _TIME.match(parts[1]):
        tm, d = _TIME.match(parts[1]), _past_day(parts[0], tz, now)
    elif _TIME.match(t):
        tm, d = _TIME.match(t), now.astimezone(tz).date()
    if tm:
        hour = int(tm.group(1) or tm.group(4))
        minute = int(tm.group(2) or 0)
        ampm = tm.group(3) or tm.group(5)
        if ampm == "pm" and hour < 12:
            hour += 12
        if ampm == "am" and hour == 12:
            hour = 0
        if hour > 23 or minute > 59:
            raise Invalid("That time doesn't look right. Please give a time like 18:30 or 6.30pm.")
        return datetime.combine(d, time(hour, minute), tz)
    try:
        d = parse_date(t, tz, now)
        return datetime.combine(d, time(9, 0), tz)
    except Invalid:
        pass
    raise Invalid("Please give a date and time like 'yesterday 18:30', 'Saturday 9am', '25/11/2026 9am', '2h ago' or 'now'.")


_ENDS = (".", "!", "?", "'", '"')
_FOR_EXAMPLE = re.compile(r"\(?\bfor example[:,]?\s*(.+?)\)?$", re.IGNORECASE)


def explain(step: Step, directory: Directory, me: str = "") -> str:
    """What a question wants and an example answer, made from the step itself (for `help`)."""
    opts = "; ".join(f"{n} {c.label}" for n, c in enumerate(step.choices, start=1))
    others = [p.name for p in directory.people if p.employed and p.id != me][:2] or ["Tom Reid", "Emma Clarke"]
    if step.kind == "choice":
        wants, example = f"Choose one of these, by its number or its name: {opts}.", (f"1 (or {step.choices[0].label.split(' (')[0]})" if step.choices else "1")
    elif step.kind == "multi":
        wants, example = f"Choose one or more of these, by number or name, separated by commas: {opts}.", "1, 2" if len(step.choices) > 1 else "1"
    elif step.kind == "yesno":
        wants, example = "Answer yes or no.", "yes"
    elif step.kind == "person":
        wants, example = "Give one person's name, as it is on the school's staff list.", others[0]
    elif step.kind == "people":
        wants, example = "Give people's names as they are on the school's staff list, separated by commas.", ", ".join(others)
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
