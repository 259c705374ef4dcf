"""The weekly rota pattern as people type it: "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid".

`parse_pattern` reads it into who is on duty each day of the week (only people who run the
account); `show_pattern` writes a pattern back in the same form.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.people import fold
from bot.workflow import Context, Invalid
from workflows.accounts import label
from workflows.rota_records import DAY_NAMES, DAYS

_GROUPS = {
    "everyday": DAYS,
    "daily": DAYS,
    "weekdays": DAYS[:5],
    "weekday": DAYS[:5],
    "weekends": DAYS[5:],
    "weekend": DAYS[5:],
}
EXAMPLE = "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid"


def _day_of(token: str) -> str | None:
    for d in DAYS:
        full = DAY_NAMES[d].lower()
        if token in (d, full, full + "s") or (len(token) >= 3 and full.startswith(token)):
            return d
    return None


def parse_days(text: str) -> list[str]:
    """'Mon-Fri', 'weekends', 'every day', 'Sat and Sun', 'tue, thu' -> day codes."""
    t = fold(text).replace("every day", "everyday").replace("all week", "everyday")
    t = re.sub(r"\s*(?:-|–|\bto\b)\s*", "-", t)
    found: list[str] = []
    for token in (x for x in re.split(r"[,\s&/+]+|\band\b", t) if x):
        if token in _GROUPS:
            days = list(_GROUPS[token])
        elif "-" in token:
            start, _, end = token.partition("-")
            a, b = _day_of(start), _day_of(end)
            if a is None or b is None:
                raise Invalid(f"I couldn't read the days {token!r}. Write them like Mon-Fri, weekends or every day.")
            i, days = DAYS.index(a), []
            while True:
                days.append(DAYS[i])
                if DAYS[i] == b:
                    break
                i = (i + 1) % 7
        else:
            one = _day_of(token)
            if one is None:
                raise Invalid(
                    f"I couldn't read the day {token!r}. Write days like Mon, Tuesday, Mon-Fri, weekends or every day."
                )
            days = [one]
        found += [d for d in days if d not in found]
    return found


def runner_named(text: str, account: Mapping[str, Any], ctx: Context) -> str:
    matches = ctx.directory.match(text)
    runners = [p for p in matches if p.id in account.get("runners", ())]
    if len(runners) == 1:
        return runners[0].id
    names = ", ".join(ctx.directory.name(r) for r in account.get("runners", ()))
    if matches and not runners:
        raise Invalid(
            f"{matches[0].name} does not run {label(account)}, so can't monitor it. The people who run it are: {names}."
        )
    if len(runners) > 1:
        raise Invalid(f"{text!r} could be more than one person. Please use their full name ({names}).")
    raise Invalid(f"I couldn't find {text!r}. The people who run {label(account)} are: {names}.")


def parse_pattern(text: str, account: Mapping[str, Any], ctx: Context) -> dict[str, str | None]:
    """'Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid' -> who is on duty each day of the week."""
    pattern: dict[str, str | None] = dict.fromkeys(DAYS)
    chunks = [c.strip() for c in re.split(r"[;\n]", text) if c.strip()]
    if not chunks:
        raise Invalid(f"Please say who is on duty on which days, like: {EXAMPLE}")
    for chunk in chunks:
        days_part, colon, name = chunk.partition(":")
        if not colon:
            raise Invalid(f"Please put a colon between the days and the name, like: {EXAMPLE}")
        days = parse_days(days_part)
        pid = None if fold(name) in ("nobody", "no one", "none", "-") else runner_named(name.strip(), account, ctx)
        for d in days:
            pattern[d] = pid
    return pattern


def show_pattern(pattern: Mapping[str, str | None], ctx: Context) -> str:
    """The pattern written compactly, in the same form people type it."""
    parts: list[str] = []
    i = 0
    while i < 7:
        j = i
        while j + 1 < 7 and pattern.get(DAYS[j + 1]) == pattern.get(DAYS[i]):
            j += 1
        days = DAYS[i].capitalize() if i == j else f"{DAYS[i].capitalize()}-{DAYS[j].capitalize()}"
        pid = pattern.get(DAYS[i])
        parts.append(f"{days}: {ctx.directory.name(pid) if pid else 'nobody'}")
        i = j + 1
    return "; ".join(parts)
