"""Is this pupil on the do-not-publish list? One answer of three, with how it was reached.

Names match whatever the case, accents or order ("zoe o'brien" finds "O'Brien, Zoë"); a
listed name close to the one typed (Zoey/Zoe, a middle name left out) or a class that is not
the listed one gives "can't be sure", never a false all-clear. `check_pupil` gives the answer
to any workflow that needs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from bot.people import fold


def name_key(name: str) -> tuple[str, ...]:
    """A name as a sorted tuple of plain words: case, accents, punctuation and order ignored."""
    plain = fold(name)
    plain = re.sub(r"['’`.]", "", plain)
    plain = re.sub(r"[-_/]", " ", plain)
    return tuple(sorted(plain.split()))


def class_key(text: str) -> str:
    """A class as compared: 'Year 6 ', 'year6' and 'Y6' stay distinct, case and spaces ignored."""
    return fold(text).replace(" ", "")


Verdict = Literal["do_not_publish", "no_restriction", "unsure"]
VERDICT_WORDS: dict[str, str] = {
    "do_not_publish": "do not publish",
    "no_restriction": "no restriction recorded",
    "unsure": "can't be sure",
}

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
    "I compared the full name you typed with every name on the do-not-publish list, ignoring case, accents, "
    "punctuation and the order of the names, "
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


_YEAR_WORDS = {
    "reception": "R",
    "rec": "R",
    "r": "R",
    "nursery": "N",
    "nur": "N",
    "n": "N",
    "foundation": "R",
    "fs2": "R",
    "fs1": "N",
}


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
                return ListCheck(
                    "do_not_publish",
                    "exact name",
                    "A pupil with exactly this name is on the do-not-publish list.",
                    entries=ids,
                )
            return ListCheck(
                "unsure",
                "several pupils of that name, no class given",
                "More than one pupil with this name is on the do-not-publish list.",
                ask_class=True,
                entries=ids,
            )
        given = class_name(klass)
        if any(given.within(c) for c in classes):
            return ListCheck(
                "do_not_publish",
                "exact name and class",
                "A pupil with exactly this name in this class is on the do-not-publish list.",
                entries=ids,
            )
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
            "A pupil with a similar name is on the do-not-publish list, "
            "so this may be the same pupil with the name spelled differently.",
            entries=tuple(str(e.get("id", "")) for e in near),
        )
    return ListCheck("no_restriction", "no close name", HOW_MATCHED + ": none is close.")
