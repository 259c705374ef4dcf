"""Use of images: pupils "must not be on any school list of children whose images must not
be published", and "if anyone, for any reason, asks not to be filmed or photographed then
their wishes should be respected" (Use of images).

SLT and administrators keep the do-not-publish list (table `dnp`): imported from a CSV
of name and class (`policybot dnp-import`), added to and removed from in chat. Any member
of staff can ask `/photo-check NAME` and hears only "do not publish" or "no restriction
recorded" for that pupil -- never the list. Names match whatever the case, accents or
order ("zoe o'brien" finds "O'Brien, Zoë"); if several pupils share the name, the class
is asked. Every check is audited.
"""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from bot.messages import Card
from bot.people import fold
from bot.workflow import Answers, Command, Context, Invalid, Outcome, Step, Workflow

TABLE = "dnp"


def name_key(name: str) -> tuple[str, ...]:
    """A name as a sorted tuple of plain words: case, accents, punctuation and order ignored."""
    plain = fold(name)
    plain = re.sub(r"['’`.]", "", plain)
    plain = re.sub(r"[-_/]", " ", plain)
    return tuple(sorted(plain.split()))


def class_key(text: str) -> str:
    """A class as compared: 'Year 6 ', 'year6' and 'Y6' stay distinct, case and spaces ignored."""
    return fold(text).replace(" ", "")


def record_key(name: str, klass: str) -> str:
    return "-".join(name_key(name)) + "|" + class_key(klass)


def matches(ctx: Context, name: str) -> list[dict[str, Any]]:
    """Entries on the list for this pupil's name."""
    want = name_key(name)
    return [e for e in ctx.all(TABLE) if name_key(e["name"]) == want]


def entry(name: str, klass: str, by: str, at: str, source: str) -> dict[str, Any]:
    return {"name": " ".join(name.split()), "class": " ".join(klass.split()), "added_by": by, "added_at": at, "source": source}


def parse_dnp_csv(text: str) -> list[tuple[str, str]]:
    """Read a CSV with a header row naming `name` and `class` columns; raise ValueError saying what to fix.

    Nothing is imported unless every row is good, so a half-read file never leaves a half list.
    """
    try:
        rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"), newline="")))
    except csv.Error as exc:
        raise ValueError(f"The file is not a CSV file I can read ({exc}). Save it from your spreadsheet as 'CSV UTF-8' and try again. Nothing was imported.") from None
    rows = [r for r in rows if any(c.strip() for c in r)]
    if not rows:
        raise ValueError("The file is empty. It needs a header row with the columns name and class, then one pupil per row.")
    header = [fold(c) for c in rows[0]]
    aliases = {"name": ("name", "pupil", "pupil name", "full name", "child"), "class": ("class", "form", "year", "class name", "group")}
    cols = {}
    for want, names in aliases.items():
        found = [i for i, h in enumerate(header) if h in names]
        if not found:
            raise ValueError(f"The first row must name the columns: I could not find a '{want}' column (found: {', '.join(rows[0]) or 'nothing'}). Add a header row like: name,class")
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
        raise ValueError("Nothing was imported. Please fix the file and try again: " + "; ".join(problems[:5]) + more + ".")
    if not out:
        raise ValueError("The file has a header row but no pupils. Nothing was imported.")
    return out


# ---- /photo-check -----------------------------------------------------------------


def _verdict(ctx: Context, out: Outcome, name: str, found: bool, how: str) -> None:
    shown = " ".join(name.split())
    out.audit("photo_check", TABLE, detail=f"{shown}: {'do not publish' if found else 'no restriction recorded'}{how}")
    if found:
        out.tell(
            Card(
                "Do not publish",
                f"{shown}: DO NOT PUBLISH. This pupil's image must not be published on any school account. If a photo or video of them has been posted, please remove it and tell SLT.",
                tone="urgent",
            ),
            private=True,
        )
    else:
        out.tell(
            Card(
                "No restriction recorded",
                f"{shown}: no restriction recorded. Please still check the image is appropriate, and respect anyone who asks not to be photographed.",
                tone="success",
            ),
            private=True,
        )


def photo_check(text: str, ctx: Context, out: Outcome) -> None:
    """/photo-check NAME: may this pupil's image be published?"""
    name = " ".join(text.split())
    if len(name_key(name)) < 2:
        out.tell(Card("Photo check", "Please give the pupil's first and last name after the command: /photo-check followed by their name."))
        return
    found = matches(ctx, name)
    if len({class_key(e["class"]) for e in found}) > 1:
        out.audit("photo_check", TABLE, detail=f"{name}: more than one pupil of that name, class asked")
        out.begin("photo_check_class", {"name": name})
        return
    _verdict(ctx, out, name, bool(found), "")


def check_class(answers: Answers, ctx: Context, out: Outcome) -> None:
    name = answers["_context"]["name"]
    klass = class_key(answers["class"])
    found = [e for e in matches(ctx, name) if class_key(e["class"]) == klass]
    _verdict(ctx, out, name, bool(found), f" (class {answers['class']})")


# ---- keeping the list -------------------------------------------------------------


def full_name(value: str, _answers: Answers, _ctx: Context) -> str:
    if len(name_key(value)) < 2:
        raise Invalid("Please give the pupil's first and last name.")
    return " ".join(value.split())


def start_keeper(_answers: Answers, ctx: Context, _out: Outcome) -> None:
    ctx.require("slt,admin", "change the do-not-publish list")


def add_entry(answers: Answers, ctx: Context, out: Outcome) -> None:
    ctx.require("slt,admin", "change the do-not-publish list")
    key = record_key(answers["name"], answers["class"])
    if ctx.get(TABLE, key):
        out.tell(Card("Already on the list", f"{answers['name']} ({answers['class']}) is already on the do-not-publish list. Nothing was changed."))
        return
    out.put(TABLE, key, entry(answers["name"], answers["class"], ctx.actor.id, ctx.now.isoformat(), "chat"), action="dnp_added", detail=answers["class"])
    out.tell(
        Card("Added to the do-not-publish list", f"{answers['name']} ({answers['class']}) is now on the list. Staff checking with /photo-check will be told not to publish.", tone="success"),
        private=True,
    )


def remove_entry(answers: Answers, ctx: Context, out: Outcome) -> None:
    ctx.require("slt,admin", "change the do-not-publish list")
    name = answers.get("name") or answers["_context"]["name"]
    found = matches(ctx, name)
    if answers.get("class"):
        found = [e for e in found if class_key(e["class"]) == class_key(answers["class"])]
    if not found:
        out.tell(Card("Not on the list", f"Nobody called {name}{' in ' + answers['class'] if answers.get('class') else ''} is on the do-not-publish list, so nothing was changed."), private=True)
        return
    if len(found) > 1:
        classes = ", ".join(sorted(e["class"] for e in found))
        out.tell(Card("Which class?", f"There is more than one {name} on the list ({classes})."), private=True)
        out.begin("dnp_remove_class", {"name": name})
        return
    e = found[0]
    out.delete(TABLE, e["id"], action="dnp_removed", detail=e["class"])
    out.tell(Card("Removed from the do-not-publish list", f"{e['name']} ({e['class']}) is no longer on the list.", tone="success"), private=True)


def list_entries(_text: str, ctx: Context, out: Outcome) -> None:
    """/dnp-list (SLT, admins): the whole list, privately."""
    ctx.require("slt,admin", "see the do-not-publish list")
    entries = sorted(ctx.all(TABLE), key=lambda e: (class_key(e["class"]), name_key(e["name"])))
    out.audit("dnp_list_viewed", TABLE, detail=f"{len(entries)} entries")
    if not entries:
        out.tell(Card("Do-not-publish list", "The list is empty. Add a pupil with /dnp-add, or import a CSV with: policybot dnp-import --csv FILE"), private=True)
        return
    lines = [f"{e['name']} ({e['class']})" for e in entries]
    out.tell(Card("Do-not-publish list (confidential)", f"{len(entries)} pupil(s):\n" + "\n".join(lines)), private=True)


WORKFLOWS = (
    Workflow(
        name="photo_check_class",
        title="Photo check",
        steps=(Step("class", "There is more than one pupil with that name. Which class is the pupil in?", label="Class", max_length=50),),
        on_complete=check_class,
        confirm=False,
    ),
    Workflow(
        name="dnp_add",
        command="dnp-add",
        role="slt,admin",
        title="Add to the do-not-publish list",
        summary="add a pupil to the do-not-publish list (SLT, administrators)",
        steps=(
            Step("name", "What is the pupil's full name?", label="Pupil", check=full_name, max_length=100),
            Step("class", "Which class are they in? (for example Year 3 or Oak)", label="Class", max_length=50),
        ),
        on_complete=add_entry,
        submit_label="Add to the list",
        on_start=start_keeper,
    ),
    Workflow(
        name="dnp_remove",
        command="dnp-remove",
        role="slt,admin",
        title="Remove from the do-not-publish list",
        summary="take a pupil off the do-not-publish list (SLT, administrators)",
        steps=(Step("name", "What is the pupil's full name?", label="Pupil", check=full_name, max_length=100),),
        on_complete=remove_entry,
        submit_label="Remove from the list",
        on_start=start_keeper,
    ),
    Workflow(
        name="dnp_remove_class",
        title="Remove from the do-not-publish list",
        steps=(Step("class", "Which class is the pupil in?", label="Class", max_length=50),),
        on_complete=remove_entry,
        confirm=False,
    ),
)

COMMANDS = (
    Command("photo-check", "check whether a pupil's image may be published: /photo-check NAME", photo_check, aliases=("photo check",)),
    Command("dnp-list", "see the do-not-publish list (SLT, administrators)", list_entries, role="slt,admin"),
)
