"""Use of images: pupils "must not be on any school list of children whose images must not
be published", and "if anyone, for any reason, asks not to be filmed or photographed then
their wishes should be respected" (Use of images).

SLT and administrators keep the do-not-publish list (table `dnp`): imported from a CSV
of name and class (`policybot dnp-import`), added to and removed from in chat. Any member
of staff can ask `/photo-check NAME` and hears one of three answers for that pupil, never
the list: "do not publish"; "can't be sure, check with SLT or the office" when a listed
name is close to the one typed (Zoey/Zoe, a middle name left out) or the class given is
not the listed one; "no restriction recorded" only when no listed name is close, saying
how the name was compared. Names match whatever the case, accents or order ("zoe
o'brien" finds "O'Brien, Zoë"); if several pupils share the name, the class is asked
(3, Y3, Year 3 and 3B are read as Year 3). Every check and its answer are audited.

This module owns the list's records and its CSV import, and answers /photo-check; how a
name is compared with the list is dnp_match.py, and keeping the list in chat dnp_keeping.py.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.declarations import Reader, Record, Table, first
from bot.messages import Card
from bot.people import fold
from bot.workflow import Answers, Command, Context, FollowUp, Outcome, Step
from workflows.dnp_match import ListCheck, check_pupil, class_key, name_key

TABLE = "dnp"


def record_key(name: str, klass: str) -> str:
    return "-".join(name_key(name)) + "|" + class_key(klass)


def matches(ctx: Context, name: str) -> list[dict[str, Any]]:
    """Entries on the list for this pupil's name."""
    want = name_key(name)
    return [e for e in ctx.all(TABLE) if name_key(e["name"]) == want]


def entry(name: str, klass: str, by: str, at: str, source: str) -> dict[str, Any]:
    return {
        "name": " ".join(name.split()),
        "class": " ".join(klass.split()),
        "added_by": by,
        "added_at": at,
        "source": source,
    }


def parse_dnp_csv(text: str) -> list[tuple[str, str]]:
    """Read a CSV with a header row naming `name` and `class` columns; raise ValueError saying what to fix.

    Nothing is imported unless every row is good, so a half-read file never leaves a half list.
    """
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error as exc:
        raise ValueError(
            f"The file is not a CSV file I can read ({exc}). "
            "Save it from your spreadsheet as 'CSV UTF-8' and try again. Nothing was imported."
        ) from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ValueError(
            "The file is empty. It needs a header row with the columns name and class, then one pupil per row."
        )
    header = [fold(c) for c in rows[0]]
    aliases = {
        "name": ("name", "pupil", "pupil name", "full name", "child"),
        "class": ("class", "form", "year", "class name", "group"),
    }
    cols = {}
    for want, names in aliases.items():
        found = [i for i, h in enumerate(header) if h in names]
        if not found:
            raise ValueError(
                f"The first row must name the columns: I could not find a '{want}' column (found: "
                f"{', '.join(rows[0]) or 'nothing'}). Add a header row like: name,class"
            )
        cols[want] = found[0]
    out: list[tuple[str, str]] = []
    problems = []
    for n, row in enumerate(rows[1:], start=2):
        name = row[cols["name"]].strip() if len(row) > cols["name"] else ""
        klass = row[cols["class"]].strip() if len(row) > cols["class"] else ""
        if not name:
            problems.append(f"row {n} has no name")
        elif len(name_key(name)) < 2:
            problems.append(f"row {n} gives only one name ({name}); please give the first and last name")
        if not klass:
            problems.append(f"row {n} has no class")
        out.append((name, klass))
    if problems:
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        raise ValueError(
            "Nothing was imported. Please fix the file and try again: " + "; ".join(problems[:5]) + more + "."
        )
    if not out:
        raise ValueError("The file has a header row but no pupils. Nothing was imported.")
    return out


# ---- /photo-check -----------------------------------------------------------------


def _answer(out: Outcome, name: str, found: ListCheck, klass: str = "") -> None:
    """Tell the person the answer, and put the check and its answer on the audit trail."""
    shown = " ".join(name.split())
    in_class = f" (class {klass})" if klass else ""
    out.audit("photo_check", TABLE, detail=f"{shown}: {found.words}{in_class} ({found.basis})")
    if found.verdict == "do_not_publish":
        card = Card(
            "Do not publish",
            f"{shown}: DO NOT PUBLISH. This pupil's image must not be published on any school account. "
            "If a photo or video of them has been posted, please remove it and tell SLT.",
            tone="urgent",
        )
    elif found.verdict == "unsure":
        card = Card(
            "Can't be sure: check before publishing",
            f"{shown}{in_class}: I can't be sure this pupil's image may be published. "
            f"{found.why} Please don't publish it until you have checked with SLT or the school office.",
            tone="warning",
        )
    else:
        card = Card(
            "No restriction recorded",
            f"{shown}: no restriction recorded. {found.why} Please still check the image is appropriate, "
            "and respect anyone who asks not to be photographed.",
            tone="success",
        )
    out.tell(card, private=True)


def check_class(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """The class is given: the answer for the pupil of that name in that class."""
    name = about["name"]
    _answer(out, name, check_pupil(ctx.all(TABLE), name, answers["class"]), answers["class"])


# Asked when several pupils on the list share the name typed.
WHICH_CLASS = FollowUp(
    name="photo_check_class",
    title="Photo check",
    steps=(
        Step(
            key="class",
            prompt="There is more than one pupil with that name. Which class is the pupil in?",
            label="Class",
            max_length=50,
        ),
    ),
    then=check_class,
)


def photo_check(text: str, ctx: Context, out: Outcome) -> None:
    """/photo-check NAME: may this pupil's image be published?"""
    name = " ".join(text.split())
    if len(name_key(name)) < 2:
        out.tell(
            Card(
                "Photo check",
                "Please give the pupil's first and last name after the command: /photo-check followed by their name.",
            )
        )
        return
    found = check_pupil(ctx.all(TABLE), name)
    if found.ask_class:
        out.audit("photo_check", TABLE, detail=f"{name}: more than one pupil of that name, class asked")
        out.ask(WHICH_CLASS, about={"name": name})
        return
    _answer(out, name, found)


FOLLOW_UPS = (WHICH_CLASS,)

COMMANDS = (
    Command(
        "photo-check",
        "check whether a pupil's image may be published: /photo-check NAME",
        photo_check,
        aliases=("photo check",),
    ),
)


# ---- what the core needs from this module (collected by bot/registry.py) ---------------------


def _load(fields: tuple[str, ...], by: str, at: str) -> tuple[str, Record]:
    """A (name, class) row of an imported list (`policybot dnp-import`) as its entry."""
    name, klass = fields
    return record_key(name, klass), entry(name, klass, by, at, "csv")


def _retention(record: Record, _records: Reader) -> datetime | None:
    return first(record, "added_at")


TABLES = (Table(TABLE, retention=_retention, load=_load),)

# `policybot dnp-import FILE` reads the school's do-not-publish CSV with this.
IMPORTERS = {"dnp": parse_dnp_csv}
