"""Personal accounts that name the school ("Personal use": where a personal account associates
itself with the school, "it must be made clear that the member of staff is not communicating on
behalf of The School with an appropriate disclaimer"; Roles & Responsibilities: staff "adding an
appropriate disclaimer to personal accounts when naming The School").

Each member of staff says whether they have a personal social media account that names or
associates itself with the school and, if so, that it carries a disclaimer (the card offers
wording to copy). Nobody is asked which accounts they have. One record per person in
`disclaimers`, with the policy version and the date:

    {"answer": "none" | "has" | "will_add", "policy_version": "2025-1", "at": "<UTC ISO time>",
     "date": "2026-11-25"}

"will_add" ("I will add it now") is not an all-clear: it is reminded on the next working day
to confirm (or on Monday, if that comes first) and each Monday after, and counted as not done.
Everyone employed by the school with no leaving recorded is asked by a card on a working day
from 08:00: once, again when `[school] policy_version` changes, and again
`[records] disclaimer_every_months` after their last answer (0: only on a version change).
Anyone not done is reminded on Mondays (the reminders: workflows/disclaimer_reminders.py).
/policy-status, the weekly digest and `policybot export --what disclaimers` show the answers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime, timedelta
from typing import Any

from bot.calendar import months_after, next_working_day
from bot.declarations import Reader, Record, Table, moment
from bot.errors import Expired, NotAllowed
from bot.messages import Button, Card
from bot.timefmt import day
from bot.workflow import Command, Context, Outcome
from workflows import people

TABLE = "disclaimers"
NONE, HAS, WILL_ADD = "none", "has", "will_add"
ANSWERS = (NONE, HAS, WILL_ADD)
LABELS = {
    NONE: "No personal account names the school",
    HAS: "Yes, and it has the disclaimer",
    WILL_ADD: "Yes, I will add it now",
}
CONFIRM_LABELS = {HAS: "It has the disclaimer now", NONE: "No personal account names the school now"}
# How the answers read in a list for SLT.
SAID = {NONE: "no personal account names the school", HAS: "has the disclaimer", WILL_ADD: "will add it"}
ACTION = "disclaimer.answer"
CONFIRM_TITLE = "Has the disclaimer been added?"

QUESTION = (
    "The school's social media policy (Personal use) asks that any personal social media account that names "
    "the school, or says you work here, makes clear you are not speaking for the school. A short line in the "
    "account's bio or profile is enough: you can copy the wording below. Accounts that never mention the school "
    "are outside the policy, and you do not need to tell me which accounts you have.\n\n"
    "Do you have a personal account that names or associates itself with the school?"
)


def wording(ctx: Context) -> str:
    """The suggested disclaimer: short and plain, to copy into a bio or profile."""
    return f"Views are my own and not those of {ctx.settings.school.name}."


def answer_of(ctx: Context, pid: str) -> dict[str, Any]:
    """The person's last answer ({"answer", "policy_version", "at", "date"}), or {}."""
    return ctx.get(TABLE, pid) or {}


def asked(ctx: Context, pid: str) -> bool:
    """Whether the person is asked: employed by the school (not a volunteer) and no leaving recorded."""
    p = ctx.directory.get(pid)
    return p is not None and p.employed and not people.leaving(ctx, pid)


def staff(ctx: Context) -> list[str]:
    """The ids of everyone who is asked, in the configuration's order."""
    return [p.id for p in ctx.directory.people if asked(ctx, p.id)]


def asked_again_on(ctx: Context, record: dict[str, Any]) -> date | None:
    """When an answer lapses (`disclaimer_every_months` after it), or None when only a new version asks again."""
    months = ctx.settings.records.disclaimer_every_months
    if not months or not record.get("date"):
        return None
    return months_after(date.fromisoformat(record["date"]), months)


def why_ask(ctx: Context, pid: str) -> str | None:
    """Why the person must answer now: "first", "version" (the policy changed), the ISO date their answer
    lapsed; or None while their answer stands."""
    record = answer_of(ctx, pid)
    if record.get("answer") not in ANSWERS:
        return "first"
    if record.get("policy_version") != ctx.settings.school.policy_version:
        return "version"
    again = asked_again_on(ctx, record)
    if again is not None and ctx.today >= again:
        return again.isoformat()
    return None


def done(ctx: Context, pid: str) -> bool:
    """True when the person's answer stands and is an all-clear ("none" or "has"; "will add" is not)."""
    return why_ask(ctx, pid) is None and answer_of(ctx, pid).get("answer") in (NONE, HAS)


def not_answered(ctx: Context) -> list[str]:
    """Staff who have not answered for the current policy version and period."""
    return [pid for pid in staff(ctx) if why_ask(ctx, pid) is not None]


def will_add(ctx: Context) -> list[str]:
    """Staff who said they would add the disclaimer and have not yet confirmed it."""
    return [pid for pid in staff(ctx) if why_ask(ctx, pid) is None and answer_of(ctx, pid).get("answer") == WILL_ADD]


# ---- the cards ------------------------------------------------------------------------------


def _buttons(ctx: Context, pid: str, labels: Mapping[str, str]) -> tuple[Button, ...]:
    version = ctx.settings.school.policy_version
    return tuple(
        Button(
            action=ACTION,
            label=label,
            data={"disclaimer": pid, "answer": value, "policy_version": version},
            style="primary" if value == HAS else None,
        )
        for value, label in labels.items()
    )


def _wording_field(ctx: Context) -> tuple[str, str]:
    return ("Suggested wording to copy", wording(ctx))


def ask_card(ctx: Context, pid: str, note: str = "") -> Card:
    """The question, with the three answers."""
    return Card(
        "Personal social media accounts",
        f"{note}\n\n{QUESTION}" if note else QUESTION,
        fields=(_wording_field(ctx),),
        buttons=_buttons(ctx, pid, LABELS),
    )


def confirm_card(ctx: Context, pid: str, note: str = "") -> Card:
    """For someone who said they would add the disclaimer: has it been added?"""
    record = answer_of(ctx, pid)
    said = f"On {day(record['date'])} you said" if record.get("date") else "You said"
    body = (
        f"{said} you would add a disclaimer to your personal account that names the school, making clear you do "
        "not speak for the school. Once it is there, please confirm below."
    )
    return Card(
        CONFIRM_TITLE,
        f"{note}\n\n{body}" if note else body,
        fields=(_wording_field(ctx),),
        buttons=_buttons(ctx, pid, CONFIRM_LABELS),
    )


def card_for(ctx: Context, pid: str, note: str = "") -> Card:
    """The question the person needs now: the three answers, or the confirmation after "will add"."""
    if why_ask(ctx, pid) is None and answer_of(ctx, pid).get("answer") == WILL_ADD:
        return confirm_card(ctx, pid, note)
    return ask_card(ctx, pid, note)


def ask_note(ctx: Context, pid: str, why: str) -> str:
    record = answer_of(ctx, pid)
    version = ctx.settings.school.policy_version
    if why == "first":
        return "A question for every member of staff about personal social media."
    if why == "version":
        return (
            f"The school's social media policy has been updated (now version {version}), so please answer this again."
        )
    return (
        f"You last answered this on {day(record['date'])}, and the school asks again from time to time. "
        "Has anything changed?"
    )


# ---- answering --------------------------------------------------------------------------------


def confirm_day(answered: date, nation: str) -> date | None:
    """The day someone who said "will add" on `answered` is reminded to confirm: the next working day,
    or None when a Monday comes first (the Monday reminder does it)."""
    d = next_working_day(answered, nation)
    monday = answered + timedelta(days=7 - answered.weekday())
    return None if monday <= d else d


def _next_reminder(ctx: Context) -> str:
    """When someone who has just said "will add" is reminded, as a person reads it."""
    on = confirm_day(ctx.today, ctx.settings.school.nation)
    if on is None:
        on = ctx.today + timedelta(days=7 - ctx.today.weekday())
    return day(on)


def _again(ctx: Context) -> str:
    months = ctx.settings.records.disclaimer_every_months
    if not months:
        return "I will ask again when the policy changes."
    return f"I will ask again on {day(months_after(ctx.today, months))}, or sooner if the policy changes."


def answer(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """A click on one of the answers: recorded for the person it was asked of, if that is who clicked."""
    pid = str(data.get("disclaimer", ""))
    value = str(data.get("answer", ""))
    if pid and pid != ctx.actor.id:
        raise NotAllowed(
            "That question was asked of someone else: only they can answer for their own personal accounts. "
            "Type /disclaimer to give your own answer.",
            why=f"answer for {pid}",
        )
    if not pid or value not in ANSWERS:
        raise Expired("That button is from an older message and no longer works. Type /disclaimer to answer.")
    version = ctx.settings.school.policy_version
    if str(data.get("policy_version", "")) != version:
        note = (
            f"The policy has changed since that message was sent (it is now version {version}), so I have not "
            "recorded that answer. Please answer again below."
        )
        out.tell(ask_card(ctx, pid, note), ephemeral=True)
        return
    record = answer_of(ctx, pid)
    if why_ask(ctx, pid) is None and record.get("answer") == value:
        again = confirm_card(ctx, pid) if value == WILL_ADD else None
        out.tell(
            Card(
                "Already recorded",
                f"You told me that on {day(record['date'])} ({SAID[value]}), so nothing has changed.",
                buttons=again.buttons if again else (),
            ),
            ephemeral=True,
        )
        return
    out.put(
        TABLE,
        pid,
        {"answer": value, "policy_version": version, "at": ctx.now.isoformat(), "date": ctx.today.isoformat()},
        action="disclaimer_answered",
        before=record.get("answer"),
        after=value,
        detail=f"version {version}",
        expect_version=record.get("version"),
    )
    if value == NONE:
        out.tell(
            Card(
                "Thank you",
                "I have recorded that no personal account of yours names or associates itself with the school "
                f"(policy version {version}). If that changes, add a disclaimer and type /disclaimer to update "
                f"your answer. {_again(ctx)}",
                tone="success",
            )
        )
    elif value == HAS:
        out.tell(
            Card(
                "Thank you",
                "I have recorded that your personal account that names the school makes clear you do not speak "
                f"for the school (policy version {version}). {_again(ctx)}",
                tone="success",
            )
        )
    else:
        out.tell(
            Card(
                "Thank you: please add it now",
                "Copy the wording below into the bio or profile of each personal account that names the school. "
                f"When it is there, press '{CONFIRM_LABELS[HAS]}' (here, or type /disclaimer). Until then this "
                f"is not done, and I will remind you on {_next_reminder(ctx)}.",
                fields=(_wording_field(ctx),),
                buttons=_buttons(ctx, pid, CONFIRM_LABELS),
            )
        )


def show(_text: str, ctx: Context, out: Outcome) -> None:
    """/disclaimer: the question (with the person's last answer, if it stands), or the confirmation."""
    me = ctx.actor.id
    record = answer_of(ctx, me)
    if why_ask(ctx, me) is None and record.get("answer") in (NONE, HAS):
        note = (
            f"Your answer from {day(record['date'])}: {SAID[record['answer']]} (policy version "
            f"{record['policy_version']}). If that has changed, choose again below."
        )
        out.tell(ask_card(ctx, me, note))
        return
    out.tell(card_for(ctx, me))


# ---- for SLT and for the person ----------------------------------------------------------------


def _names(ctx: Context, pids: list[str]) -> str:
    return ", ".join(ctx.directory.name(p) for p in pids)


def status_text(ctx: Context) -> str:
    """For /policy-status and the digest: who has not answered, and who said they would add it."""
    version = ctx.settings.school.policy_version
    missing, adding = not_answered(ctx), will_add(ctx)
    if not missing and not adding:
        return f"Every member of staff has answered for version {version}."
    parts = []
    if missing:
        parts.append(
            f"{len(missing)} of {len(staff(ctx))} staff have not answered for version {version}: "
            + _names(ctx, missing)
        )
    if adding:
        parts.append(f"said they would add the disclaimer and have not yet confirmed it: {_names(ctx, adding)}")
    text = "; ".join(parts)
    return text[0].upper() + text[1:] + ". They are reminded every Monday."


def digest_line(ctx: Context, _since: datetime) -> tuple[str, str]:
    return "Disclaimers on personal accounts (/disclaimer)", status_text(ctx)


def waiting_for(ctx: Context) -> tuple[str, Card] | None:
    """For /waiting: (line, card) while the person has a question to answer here, else None."""
    me = ctx.actor.id
    if not asked(ctx, me) or done(ctx, me):
        return None
    if why_ask(ctx, me) is None:
        return "Confirm the disclaimer is on your personal account", confirm_card(ctx, me)
    return "Say whether a personal account of yours names the school", ask_card(ctx, me)


# ---- what the core needs from this module (collected by bot/registry.py) ---------------------


def _retention(record: Record, records: Reader) -> datetime | None:
    """From the person's leaving, once it is finished (as their people record)."""
    leaving = (records.get(people.TABLE, str(record.get("id", ""))) or {}).get("leaving") or {}
    return moment(leaving.get("date")) if leaving.get("status") == "finished" else None


COMMANDS = (
    Command(
        "disclaimer",
        "say whether a personal social media account of yours names the school, and that it has a disclaimer",
        show,
        aliases=("personal account", "personal accounts"),
    ),
)

ACTIONS = {ACTION: answer}

DIGEST = (digest_line,)

TABLES = (
    Table(
        TABLE,
        export=True,
        columns=("id", "name", "title", "roles", "employed", "answer", "policy_version", "at", "date"),
        retention=_retention,
        per_person=True,
        named_by="disclaimer",
    ),
)
