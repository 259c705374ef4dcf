"""What /post-check asks and why (the policy's "Use of images", "Tone", and copyright under "Behaviour" and
"Legal considerations"): the choices it offers, each pupil's answer from the do-not-publish list (the
three-way answer of workflows/dnp_match.py `check_pupil`, never revealing the list), what is missing
before a post may go out and what to do about it, and the card of the rules any member of staff can read.
The conversation itself is workflows/post_check.py.
"""

from __future__ import annotations

import re
from typing import Literal

from bot.messages import Card, Choice
from bot.timefmt import day
from bot.workflow import Answers, Context, Invalid, Outcome
from workflows.dnp_match import ListCheck, check_pupil, name_key
from workflows.photo_check import TABLE as DNP

MAX_PUPILS = 40
KEY_WORDS = (
    "Engaging: would someone want to read it?",
    "Conversational: written as you would say it, not as a form",
    "Informative: it says what happened or what is coming",
    "Friendly, where the platform suits it (for example Facebook)",
    "Professional: respectful, careful and fit for the school's name",
)
CONSENT = (Choice("yes", "Yes, for everyone"), Choice("no", "No"), Choice("not_sure", "Not sure"))
ASKED_NOT = (
    Choice("nobody", "Nobody has asked", typed=("no", "n", "none", "nobody", "no one")),
    Choice("someone", "Someone has asked", typed=("yes", "y")),
    Choice("not_sure", "Not sure"),
)
COPYRIGHT = (
    Choice("own", "The school's own (taken or made by staff or pupils)"),
    Choice("permission", "Someone else's, and they gave permission"),
    Choice("none", "Someone else's, no permission yet"),
    Choice("not_sure", "Not sure"),
)


# ---- pupils -------------------------------------------------------------------------------


def split_pupils(text: str) -> list[tuple[str, str]]:
    """'Zoe Amos, Year 3; Sam Patel (4B)' -> [('Zoe Amos', 'Year 3'), ('Sam Patel', '4B')]; a class may be left out."""
    out = []
    for part in re.split(r"[;\n]+", text):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(.+?)\s*\((.*)\)", part)
        name, _, klass = (m.group(1), "", m.group(2)) if m else part.partition(",")
        out.append((" ".join(name.split()), " ".join(klass.split())))
    return out


def check_pupils(value: str, _answers: Answers, _ctx: Context) -> str:
    """Each pupil's first and last name (and class, when known), kept as 'Zoe Amos (Year 3); Sam Patel'."""
    pupils = split_pupils(value)
    if not pupils:
        raise Invalid("Please give the name of each pupil, separated by semicolons.")
    short = [name for name, _ in pupils if len(name_key(name)) < 2]
    if short:
        raise Invalid(
            f"Please give each pupil's first and last name ({', '.join(short[:3])} is not enough), so I can check "
            "the do-not-publish list properly. For example: Zoe Amos, Year 3; Sam Patel, 4B"
        )
    if len(pupils) > MAX_PUPILS:
        raise Invalid(f"That is {len(pupils)} pupils; please check at most {MAX_PUPILS} in one post.")
    return "; ".join(f"{n} ({k})" if k else n for n, k in pupils)


def pupil_checks(answers: Answers, ctx: Context) -> list[tuple[str, str, ListCheck]]:
    """(name, class, the list's answer) for each pupil named."""
    if not answers.get("shows_pupils"):
        return []
    entries = ctx.all(DNP)
    found = []
    for name, klass in split_pupils(str(answers.get("pupils", ""))):
        found.append((name, klass, check_pupil(entries, name, klass or None)))
    return found


def shown_name(name: str, klass: str) -> str:
    return f"{name} ({klass})" if klass else name


def tell_pupils(answers: Answers, ctx: Context, out: Outcome) -> None:
    """Each pupil's answer at once (only to the person checking), audited as /photo-check audits it."""
    lines = []
    worst: Literal["success", "warning", "urgent"] = "success"
    for name, klass, found in pupil_checks(answers, ctx):
        out.audit(
            "photo_check", DNP, detail=f"{shown_name(name, klass)}: {found.words} ({found.basis}), in /post-check"
        )
        if found.verdict == "do_not_publish":
            lines.append(
                f"{shown_name(name, klass)}: DO NOT PUBLISH. This pupil must not be in the post or named in it."
            )
            worst = "urgent"
        elif found.verdict == "unsure":
            more = " Give their class to check again." if found.ask_class else ""
            lines.append(
                f"{shown_name(name, klass)}: can't be sure. {found.why}{more} Please ask the school office or SLT."
            )
            worst = "warning" if worst == "success" else worst
        else:
            lines.append(f"{shown_name(name, klass)}: no restriction recorded.")
    out.tell(Card("The do-not-publish list", "\n".join(lines), tone=worst), private=True)


def people_shown(a: Answers) -> bool:
    return bool(a.get("shows_pupils") or a.get("shows_others"))


# ---- the outcome -----------------------------------------------------------------------


def missing(answers: Answers, checks: list[tuple[str, str, ListCheck]]) -> list[tuple[str, str]]:
    """(what is missing, what to do) for each thing that stops the post going out yet; [] when it may."""
    out = []
    for name, klass, found in checks:
        if found.verdict == "do_not_publish":
            out.append(
                (
                    f"{shown_name(name, klass)}: do not publish",
                    "This pupil must not appear in the post or be named in it. Choose another picture or crop them "
                    "out, and take their name out.",
                )
            )
        elif found.verdict == "unsure":
            out.append(
                (
                    f"{shown_name(name, klass)}: can't be sure",
                    "Ask the school office or SLT whether this pupil's image may be published, then check again"
                    + (" with their class." if found.ask_class else "."),
                )
            )
    if people_shown(answers) and answers.get("consent") != "yes":
        out.append(
            (
                "Consent " + ("not given" if answers.get("consent") == "no" else "not confirmed"),
                "Check the consent records with the school office for everyone who can be identified, and leave "
                "out anyone without permission.",
            )
        )
    if people_shown(answers) and answers.get("asked_not") != "nobody":
        out.append(
            (
                "Someone asked not to be photographed"
                if answers.get("asked_not") == "someone"
                else "Not sure whether anyone asked not to be photographed",
                "Their wishes must be respected: leave them out of the picture and the words"
                + ("." if answers.get("asked_not") == "someone" else ", once you have found out."),
            )
        )
    if answers.get("shows_pupils") and not answers.get("dignity"):
        out.append(
            (
                "Dress or dignity",
                "Choose a picture where every pupil is appropriately dressed and nobody is made fun of.",
            )
        )
    if not answers.get("school_account"):
        out.append(
            (
                "Not only through the school's account",
                "Post it only through the school's account, never a personal one.",
            )
        )
    if answers.get("copyright") not in ("own", "permission"):
        out.append(
            (
                "Copyright",
                "Ask whoever holds the copyright for permission (and note who and when), or use the school's own.",
            )
        )
    if not answers.get("tone"):
        out.append(("Tone", "Rework the wording against the tone checklist: engaging, informative and professional."))
    if not answers.get("confidential"):
        out.append(("Confidential information", "Take out any personal details or private school matters."))
    if not answers.get("personal"):
        out.append(("Personal opinion or gain", "Keep to the school's news: no personal views, nothing for gain."))
    return out


# The yes/no questions a "yes" to which is needed, as the second checker and the post log read them.
CONFIRMED = (
    ("dignity", "pupils appropriately dressed and shown with dignity"),
    ("school_account", "only through the school's account"),
    ("tone", "the tone checklist"),
    ("confidential", "no confidential information"),
    ("personal", "no personal opinion or gain"),
)


def shown_rows(answers: Answers, ctx: Context) -> list[tuple[str, str]]:
    """The answers as a second checker and the post log read them, with who gave them."""
    by = ctx.actor.name
    rows = []
    if people_shown(answers):
        consent = next(c.label for c in CONSENT if c.value == answers["consent"])
        rows.append(("Consent for everyone identifiable", f"{consent} (answered by {by})"))
        rows.append(
            ("Asked not to be photographed", next(c.label for c in ASKED_NOT if c.value == answers["asked_not"]))
        )
    if answers.get("copyright") == "permission":
        rows.append(("Copyright", f"Permission from {answers['holder']}, given {day(answers['permission_on'])}"))
    else:
        rows.append(("Copyright", next(c.label for c in COPYRIGHT if c.value == answers["copyright"])))
    done = [text for key, text in CONFIRMED if answers.get(key)]
    rows.append(("Also confirmed", "; ".join(done) if done else "nothing else"))
    return rows


# ---- the rules, for anyone -------------------------------------------------------------------

HOW = "Type /post-check rules to see what the check asks."
RULES = (
    ("Pupils on the do-not-publish list", "Every pupil named or recognisable is checked against the school's list."),
    ("Consent", "Everyone identifiable has given permission under the school's digital and video images procedure."),
    ("Anyone who asked not to be photographed", "Their wishes are respected, whatever their reason."),
    ("Dress and dignity", "Pupils are appropriately dressed and not made fun of."),
    ("The school's account only", "Pupils' pictures go online only through a school account, never a personal one."),
    ("Copyright", "The content is the school's own, or whoever holds the copyright gave permission (who, and when)."),
    ("Tone", "Engaging, conversational, informative, friendly where the platform suits, and always professional."),
    ("Confidentiality", "No personal details or private school matters."),
    ("No personal opinion or gain", "A school account speaks for the school, never for one person."),
)


def rules_card(ctx: Context, note: str = "") -> Card:
    """What the check asks and why, in plain words, for any member of staff."""
    body = (
        "Before anything goes out on a school social media account, whoever runs it checks it with /post-check. "
        "It asks about each of these, as the social media policy does. The picture itself is never sent to me. "
        "The answer is 'Ready to post', or 'Not yet' with what to do."
    )
    if ctx.settings.posting.second_check != "never":
        which = "every post" if ctx.settings.posting.second_check == "always" else "a post that shows pupils"
        body += f" For {which}, a second person confirms it before it goes out."
    return Card("Before you post: what the check asks", f"{note}{body}", fields=RULES)
