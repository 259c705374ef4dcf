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
`check_pupil` gives the answer to any workflow that needs it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from bot.declarations import Reader, Record, Table, first
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


# ---- is this pupil on the list? (one answer of three) --------------------------------

Verdict = Literal["do_not_publish", "no_restriction", "unsure"]
VERDICT_WORDS: dict[str, str] = {"do_not_publish": "do not publish", "no_restriction": "no restriction recorded", "unsure": "can't be sure"}

# Two spellings of one name part count as close when they differ by at most this many
# single-letter edits (a letter added, dropped, changed, or two neighbours swapped: the
# Damerau-Levenshtein distance), by the length of the longer one. Three letters or
# fewer must match exactly: Zoe/Joe, Sam/Pam, Leo/Lea are different names, not typos.
CLOSE_EDITS_FROM_4_LETTERS = 1  # Zoey/Zoe, Amoss/Amos, Mohamed/Mohammed, Kahn/Khan
CLOSE_EDITS_FROM_7_LETTERS = 2  # Muhammad/Mohammed, Stephen/Steven
# Name parts this long also count as close when their consonants agree (vowels dropped,
# doubled letters once): Mohamed and Muhammad both read "mhmd".
SKELETON_FROM_LETTERS = 5
SKELETON_MIN = 3
HOW_MATCHED = (
    "I compared the full name you typed with every name on the do-not-publish list, ignoring case, accents, punctuation and the order of the names, "
    "and looked for similar spellings and for names with a middle name added or left out"
)


@dataclass(frozen=True)
class ListCheck:
    """The answer for one pupil: do not publish, no restriction recorded, or can't be sure.

    `why` says in plain words how the answer was reached; it never names anyone on the
    list other than the pupil asked about. `ask_class` is set when several listed pupils
    share the name and their class would settle it (the verdict is "unsure" until then).
    `entries` holds the ids of the list entries that matched (never shown to the person).
    """

    verdict: Verdict
    basis: str  # a few words for the audit trail: "exact name", "similar name listed"
    why: str
    ask_class: bool = False
    entries: tuple[str, ...] = ()

    @property
    def words(self) -> str:
        return VERDICT_WORDS[self.verdict]


def edits(a: str, b: str) -> int:
    """The Damerau-Levenshtein distance (optimal string alignment) between two words."""
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        cur = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        prev2, prev = prev, cur
    return prev[len(b)]


def _skeleton(word: str) -> str:
    """The first letter, then the consonants, each run of one letter once: 'mohammed' -> 'mhmd'."""
    out = word[:1]
    for c in word[1:]:
        if c not in "aeiouy" and c != out[-1]:
            out += c
    return out


def close_words(a: str, b: str) -> bool:
    """True when two name parts could be one name mistyped or spelled another way."""
    if a == b:
        return True
    if min(len(a), len(b)) == 1:
        return a[0] == b[0]  # an initial: "Z Amos" could be Zoe Amos
    longer = max(len(a), len(b))
    if longer >= 4:
        allowed = CLOSE_EDITS_FROM_7_LETTERS if longer >= 7 else CLOSE_EDITS_FROM_4_LETTERS
        if edits(a, b) <= allowed:
            return True
    if min(len(a), len(b)) >= SKELETON_FROM_LETTERS:
        sa, sb = _skeleton(a), _skeleton(b)
        return len(sa) >= SKELETON_MIN and sa == sb
    return False


def _words(name: str) -> list[str]:
    """A name's parts in the order written (name_key without the sorting)."""
    plain = re.sub(r"['’`.]", "", fold(name))
    return re.sub(r"[-_/]", " ", plain).split()


def _spellings(words: list[str]) -> list[list[str]]:
    """The name parts, and the same with any two neighbours written as one ('Mac Donald', 'MacDonald')."""
    out = [words]
    out += [[*words[:i], words[i] + words[i + 1], *words[i + 2 :]] for i in range(len(words) - 1)]
    return out


def _covers(short: list[str], long: list[str]) -> bool:
    """Every part of `short` has its own close part in `long` (so a middle name may be missing)."""
    if len(short) < 2 or len(short) > len(long):
        return False
    free = list(long)

    def place(i: int) -> bool:
        if i == len(short):
            return True
        for j, w in enumerate(free):
            if w and close_words(short[i], w):
                free[j] = ""
                if place(i + 1):
                    return True
                free[j] = w
        return False

    return place(0)


def close_names(typed: str, listed: str) -> bool:
    """True when `typed` could be the listed pupil's name mistyped, spelled another way, or
    with a middle name added or left out. Both first and last names must be close: a
    brother or sister with the same surname, or another pupil with the same first name, is not."""
    for a in _spellings(_words(typed)):
        for b in _spellings(_words(listed)):
            if _covers(a, b) or _covers(b, a):
                return True
    return False


@dataclass(frozen=True)
class ClassName:
    """A class as compared: its year group(s), if it names any, and the rest ('B', 'oak')."""

    years: frozenset[str]
    rest: str

    def within(self, other: ClassName) -> bool:
        """True when every pupil of this class is in `other` (3B within Year 3; Year 3 within Year 3)."""
        if not self.years or not other.years:
            return not self.years and not other.years and self.rest == other.rest
        return self.years <= other.years and (self.rest == other.rest or not other.rest)

    def overlaps(self, other: ClassName) -> bool:
        """True when a pupil could be in both (Year 3 and 3B; 3A and Year 3)."""
        if not self.years or not other.years:
            return self.within(other)
        return bool(self.years & other.years) and (not self.rest or not other.rest or self.rest == other.rest)


_YEAR_WORDS = {"reception": "R", "rec": "R", "r": "R", "nursery": "N", "nur": "N", "n": "N", "foundation": "R", "fs2": "R", "fs1": "N"}


def class_name(text: str) -> ClassName:
    """'3', 'Y3', 'yr3', 'Year 3', 'year3' -> Year 3; '3B', 'Y3B', 'Year 3 B' -> Year 3, B;
    'Reception', 'R', 'RB' -> Reception; 'Nursery', 'N' -> Nursery; 'Y3/4', 'Years 3 and 4' -> both;
    anything else ('Oak', 'Class 2') is kept as written, case and spaces ignored."""
    t = fold(text)
    t = re.sub(r"\b(years?|yrs?|y)\s*(?=\d|r\b|n\b)", " ", t)
    t = re.sub(r"\b(and|&)\b", "/", t)
    t = " ".join(t.split())
    word = t.replace(" ", "")
    if word in _YEAR_WORDS:
        return ClassName(frozenset({_YEAR_WORDS[word]}), "")
    for name, year in _YEAR_WORDS.items():
        if len(name) > 1 and t.startswith(name + " "):
            return ClassName(frozenset({year}), t[len(name) :].replace(" ", ""))
    m = re.fullmatch(r"(\d{1,2}(?:\s*/\s*\d{1,2})*)\s*([a-z]{0,12})", t)
    if m:
        years = frozenset(str(int(y)) for y in re.split(r"\s*/\s*", m.group(1)))
        return ClassName(years, m.group(2))
    m = re.fullmatch(r"([rn])([a-z])", word)
    if m:
        return ClassName(frozenset({m.group(1).upper()}), m.group(2))
    return ClassName(frozenset(), word)


def check_pupil(entries: Iterable[Mapping[str, Any]], name: str, klass: str | None = None) -> ListCheck:
    """Is the pupil called `name` (in class `klass`, if known) on the do-not-publish list?

    Do not publish: a listed pupil has exactly this name (case, accents, punctuation and
    order ignored) and, if several listed pupils share it, the class given is theirs (or
    within theirs: 3B is within Year 3). Can't be sure: a listed name is close to this one,
    or the name is listed but the class given is not the listed one (classes change every
    September), or several pupils of this name are listed and no class was given.
    No restriction recorded: no listed name is close.
    """
    entries = list(entries)
    want = name_key(name)
    exact = [e for e in entries if name_key(e["name"]) == want]
    if exact:
        ids = tuple(str(e.get("id", "")) for e in exact)
        classes = {class_name(e["class"]) for e in exact}
        if klass is None:
            if len(classes) == 1:
                return ListCheck("do_not_publish", "exact name", "A pupil with exactly this name is on the do-not-publish list.", entries=ids)
            return ListCheck("unsure", "several pupils of that name, no class given", "More than one pupil with this name is on the do-not-publish list.", ask_class=True, entries=ids)
        given = class_name(klass)
        if any(given.within(c) for c in classes):
            return ListCheck("do_not_publish", "exact name and class", "A pupil with exactly this name in this class is on the do-not-publish list.", entries=ids)
        overlap = any(given.overlaps(c) for c in classes)
        return ListCheck(
            "unsure",
            "exact name, class overlaps" if overlap else "exact name, another class",
            "A pupil with exactly this name is on the do-not-publish list"
            + (", in a class that overlaps the one you gave" if overlap else ", but not in the class you gave")
            + ". Pupils change class, and lists can be out of date.",
            entries=ids,
        )
    near = [e for e in entries if close_names(name, e["name"])]
    if near:
        return ListCheck(
            "unsure",
            "similar name listed",
            "A pupil with a similar name is on the do-not-publish list, so this may be the same pupil with the name spelled differently.",
            entries=tuple(str(e.get("id", "")) for e in near),
        )
    return ListCheck("no_restriction", "no close name", HOW_MATCHED + ": none is close.")


# ---- /photo-check -----------------------------------------------------------------


def _answer(out: Outcome, name: str, found: ListCheck, klass: str = "") -> None:
    """Tell the person the answer, and put the check and its answer on the audit trail."""
    shown = " ".join(name.split())
    in_class = f" (class {klass})" if klass else ""
    out.audit("photo_check", TABLE, detail=f"{shown}: {found.words}{in_class} ({found.basis})")
    if found.verdict == "do_not_publish":
        card = Card(
            "Do not publish",
            f"{shown}: DO NOT PUBLISH. This pupil's image must not be published on any school account. If a photo or video of them has been posted, please remove it and tell SLT.",
            tone="urgent",
        )
    elif found.verdict == "unsure":
        card = Card(
            "Can't be sure: check before publishing",
            f"{shown}{in_class}: I can't be sure this pupil's image may be published. {found.why} Please don't publish it until you have checked with SLT or the school office.",
            tone="warning",
        )
    else:
        card = Card(
            "No restriction recorded",
            f"{shown}: no restriction recorded. {found.why} Please still check the image is appropriate, and respect anyone who asks not to be photographed.",
            tone="success",
        )
    out.tell(card, private=True)


def photo_check(text: str, ctx: Context, out: Outcome) -> None:
    """/photo-check NAME: may this pupil's image be published?"""
    name = " ".join(text.split())
    if len(name_key(name)) < 2:
        out.tell(Card("Photo check", "Please give the pupil's first and last name after the command: /photo-check followed by their name."))
        return
    found = check_pupil(ctx.all(TABLE), name)
    if found.ask_class:
        out.audit("photo_check", TABLE, detail=f"{name}: more than one pupil of that name, class asked")
        out.begin("photo_check_class", {"name": name})
        return
    _answer(out, name, found)


def check_class(answers: Answers, ctx: Context, out: Outcome) -> None:
    name = answers["_context"]["name"]
    _answer(out, name, check_pupil(ctx.all(TABLE), name, answers["class"]), answers["class"])


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
    same = [e for e in matches(ctx, answers["name"]) if class_name(e["class"]) == class_name(answers["class"])]
    if ctx.get(TABLE, key) or same:
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
        found = [e for e in found if class_name(e["class"]) == class_name(answers["class"])]
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
