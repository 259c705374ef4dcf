"""Training that lapses: SLT "must be satisfied that anyone running a social media account ...
has received appropriate training" (Process for creating new accounts), and staff are
"attending appropriate training" (Roles & Responsibilities), so training is renewed.

Training counts for `[records] training_valid_months` (workflows/people.py decides who is
trained on a day). This module:

- reminds the person and the administrators a month before someone's training lapses and
  on the day it has lapsed, each once (people who are leaving are not reminded; a renewed
  training stops the reminders for the old one). Administrators get one card listing
  everyone due that day, not one card per person;
- gives the weekly SLT digest a line naming each account's runners whose training has
  lapsed or lapses within the month;
- answers `/training-status` (SLT, administrators): who is trained until when, who has
  lapsed and who has never been trained;
- gives the home page a line when the person's own training lapses soon or has lapsed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from bot.messages import Card, person, role
from bot.scheduler import daily_slot
from bot.timefmt import day
from bot.workflow import Command, Context, Outcome
from workflows import accounts, people

# A lapse reminder missed while policybot was down is still sent this long after the day
# (well inside the scheduler's 90 days of remembered keys, so it is never sent twice).
CATCH_UP = timedelta(days=28)


def _runs(ctx: Context, person_id: str) -> list[str]:
    """Names of the live accounts the person runs."""
    return [a["name"] for a in accounts.active_accounts(ctx) if person_id in a.get("runners", ())]


def _admin_names(ctx: Context) -> str:
    names = [p.name for p in ctx.directory.people if p.is_admin]
    return " or ".join(names) if names else "an administrator"


def _person_card(ctx: Context, pid: str, standing: people.TrainingStanding) -> Card:
    last = standing.last or {}
    months = ctx.settings.records.training_valid_months
    runs = _runs(ctx, pid)
    accounts_note = (
        f" Everyone running a school account needs training that is up to date, and you run {', '.join(runs)}."
        if runs
        else ""
    )
    ask = (
        f" Please ask {_admin_names(ctx)} about the next session; they record it with /training, "
        "and that renews it for you."
    )
    if standing.current:
        return Card(
            "Your social media training lapses soon",
            f"Your training ({last.get('what', 'social media training')}, on {day(last['date'])}) counts until "
            f"{day(standing.lapses or ctx.today)}: the school asks everyone to renew it every {months} months."
            + accounts_note
            + ask,
            tone="warning",
        )
    return Card(
        "Your social media training has lapsed",
        f"Your training ({last.get('what', 'social media training')}, on {day(last['date'])}) lapsed on "
        f"{day(standing.lapses or ctx.today)}: it counts for {months} months. Until it is renewed, the school's "
        "records show you as untrained." + accounts_note + ask,
        tone="warning",
    )


def _state(ctx: Context, standing: people.TrainingStanding) -> str:
    """'training lapses on Tue 1 Dec 2026' or 'training lapsed on Tue 1 Dec 2026'."""
    when = day(standing.lapses or ctx.today)
    return f"training lapses on {when}" if standing.current else f"training lapsed on {when}"


def _admin_line(ctx: Context, pid: str, standing: people.TrainingStanding) -> tuple[str, str]:
    runs = _runs(ctx, pid)
    return ctx.directory.name(pid), _state(ctx, standing) + (f"; runs {', '.join(runs)}" if runs else "")


def lapse_reminders(ctx: Context) -> list[tuple[str, Outcome]]:
    """From 08:00 each day: a month before someone's training lapses, and on the day it has, tell them
    and the administrators, once each (the key names the person and the day their training lapses)."""
    if daily_slot(ctx) is None or not ctx.settings.records.training_valid_months:
        return []
    today = ctx.today
    due: list[tuple[str, str, people.TrainingStanding]] = []
    for p in ctx.directory.people:
        if people.leaving(ctx, p.id):
            continue  # leaving or left: not asked to renew
        standing = people.training_standing(ctx, p.id)
        if standing.last is None or standing.lapses is None:
            continue
        if standing.lapsing:
            kind = "soon"
        elif not standing.current and today < standing.lapses + CATCH_UP:
            kind = "lapsed"
        else:
            continue
        key = f"training-lapse:{kind}:{p.id}:{standing.lapses.isoformat()}"
        if not ctx.reminded(key):
            due.append((key, p.id, standing))
    if not due:
        return []
    reminders = []
    for key, pid, standing in due:
        out = Outcome(actor="policybot")
        out.send(person(pid), _person_card(ctx, pid, standing))
        reminders.append((key, out))
    # One card for the administrators, listing everyone due now. It goes with the first
    # person's reminder: the whole tick is one commit, so either all of these are sent and
    # remembered or none is.
    months = ctx.settings.records.training_valid_months
    reminders[0][1].send(
        role("admins"),
        Card(
            "Social media training to renew",
            f"Training counts for {months} months. Please arrange a refresher session and record it with /training "
            "(you can name several people at once); each person has been told.",
            fields=tuple(_admin_line(ctx, pid, standing) for _key, pid, standing in due),
            tone="warning",
        ),
    )
    return reminders


def lapsed_runners(ctx: Context) -> list[tuple[str, str, people.TrainingStanding]]:
    """(account name, runner id, standing) for each live account's runner whose training has lapsed
    or lapses within the month, in register order."""
    found = []
    for acc in accounts.active_accounts(ctx):
        for pid in acc.get("runners", ()):
            standing = people.training_standing(ctx, pid)
            if standing.last is not None and (standing.lapsing or not standing.current):
                found.append((acc["name"], pid, standing))
    return found


def digest_line(ctx: Context, _since: datetime) -> tuple[str, str] | None:
    """The digest's line: runners of live accounts whose training has lapsed or lapses within the month."""
    found = lapsed_runners(ctx)
    if not found:
        return None
    lines = [f"{name}: {ctx.directory.name(pid)} ({_state(ctx, st)})" for name, pid, st in found]
    return (
        "Account runners whose training has lapsed or lapses soon",
        "; ".join(lines) + ". An administrator records a refresher with /training.",
    )


def training_status(_text: str, ctx: Context, out: Outcome) -> None:
    """/training-status (SLT, administrators): who is trained until when, who has lapsed, who never was."""
    ctx.require("slt,admin", "see training records")
    months = ctx.settings.records.training_valid_months
    current, lapsing, lapsed, never = [], [], [], []
    for p in ctx.directory.people:
        if people.leaving(ctx, p.id).get("status") == "finished":
            continue  # has left the school
        st = people.training_standing(ctx, p.id)
        if st.last is None:
            never.append(p.name)
        elif not st.current:
            lapsed.append(f"{p.name}: lapsed on {day(st.lapses or ctx.today)} (trained on {day(st.last['date'])})")
        elif st.lapses is None:
            current.append(f"{p.name}: trained on {day(st.last['date'])}")
        else:
            line = f"{p.name}: until {day(st.lapses)} (trained on {day(st.last['date'])})"
            (lapsing if st.lapsing else current).append(line)
    rule = f"Training counts for {months} months." if months else "Training does not lapse at this school."
    body = (
        f"{rule} {len(current) + len(lapsing)} trained, {len(lapsed)} lapsed, {len(never)} never trained. "
        "Record a session for one or several people with /training."
    )
    fields = [
        ("Lapsed", "\n".join(lapsed)),
        ("Lapsing within a month", "\n".join(lapsing)),
        ("Never trained", "\n".join(never)),
        ("Trained", "\n".join(current)),
    ]
    out.tell(Card("Training records", body, fields=tuple((k, v) for k, v in fields if v)), private=True)


def home_line(ctx: Context) -> str | None:
    """For the person's home page: a line when their own training lapses within the month or has lapsed."""
    st = people.training_standing(ctx, ctx.actor.id)
    if st.last is None or st.lapses is None or not (st.lapsing or not st.current):
        return None
    said = f"lapses on {day(st.lapses)}" if st.current else f"lapsed on {day(st.lapses)}"
    return f"Your social media training {said}. Please ask an administrator about a refresher session."


COMMANDS = (
    Command(
        "training-status",
        "see who is trained until when, whose training has lapsed, who was never trained (SLT, admins)",
        training_status,
        role="slt,admin",
    ),
)

SCHEDULES = (lapse_reminders,)

DIGEST = (digest_line,)
