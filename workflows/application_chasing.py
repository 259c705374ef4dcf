"""Applications that wait: the register is only as good as its queue (the policy's "Process for creating new
accounts": "Following consideration by the SLT an application will be approved or rejected", and the
administrator "creates the account following SLT approval").

Counted in the school's working days (weekends and the bank holidays of `[school] nation` are not counted),
from the morning reminder time (`[monitoring] duty_reminder_time`) of each working day:

- an application SLT have not decided within `[accounts] decide_within_days` working days is sent to SLT
  again, as the approval card with its buttons, saying how long it has waited; after twice that it also goes
  to the headteacher by name (`[school] headteacher`), once, or SLT are told plainly that nobody else could be;
- an approved application an administrator has not recorded is sent to the administrators again, with its
  button, each working day after the approval until it is recorded.

Every copy has the card's own key (`approval:A-3`, `create:A-3`), so a decision or a recording made from any
copy updates them all (`application_decision._decide`, `account_setup.record_account`). Each chase is written
on the application's `history` (and the audit trail) and shown on the SLT card; the applicant is told of the
first reminder to SLT, of the headteacher's escalation and of the first reminder to the administrators, never
daily, and never once they have left the school. A decided, recorded or withdrawn application is not chased:
only "submitted" and "approved" ones are. One key per application and working day makes each chase happen
once, whatever the ticks and restarts.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any

from bot.calendar import is_working_day
from bot.messages import Card, person, role
from bot.timefmt import day
from bot.workflow import Context, Outcome
from workflows.application_decision import create_card
from workflows.leavers import left_on
from workflows.new_account import approval_card

SYSTEM = "policybot"
TABLE = "applications"


def working_days_between(start: date, end: date, nation: str = "ENG") -> int:
    """The working days after `start` and before `end` (neither counted): the full working days waited."""
    count, d = 0, start + timedelta(days=1)
    while d < end:
        count += is_working_day(d, nation)
        d += timedelta(days=1)
    return count


def local_day(stamp: str, ctx: Context) -> date:
    """The school's date of a stored time."""
    return datetime.fromisoformat(stamp).astimezone(ctx.settings.school.tz).date()


def chase_day(ctx: Context) -> date | None:
    """Today, on a working day from the morning reminder time; None at any other time (nothing is chased)."""
    now = ctx.local_now
    if not is_working_day(now.date(), ctx.settings.school.nation):
        return None
    return now.date() if now.time() >= ctx.settings.monitoring.duty_reminder_time else None


def chases(app: Mapping[str, Any], to: str) -> list[dict[str, Any]]:
    """The application's history entries of reminders to `to` ("slt", "headteacher", "admins")."""
    return [h for h in app.get("history", ()) if h.get("to") == to]


def headteacher(ctx: Context, today: date) -> str:
    """The headteacher's person id, or "" when none is named or they have left."""
    head = ctx.settings.school.headteacher
    if not head or ctx.directory.get(head) is None or left_on(ctx.get("people", head), today.isoformat()):
        return ""
    return head


def applicant_left(app: Mapping[str, Any], ctx: Context, today: date) -> str:
    """The applicant's last day if they have left the school, else ""."""
    return left_on(ctx.get("people", app["applicant"]), today.isoformat())


def _record(app: dict[str, Any], out: Outcome, ctx: Context, entries: list[dict[str, Any]]) -> None:
    """Add the chase to the application's history and the audit trail."""
    app["history"] = [*app.get("history", ()), *entries]
    out.put(
        TABLE,
        app["id"],
        {k: v for k, v in app.items() if k not in ("id", "version")},
        action="application_chased",
        before=app["status"],
        after=app["status"],
        detail="; ".join(e["note"] for e in entries),
        expect_version=app["version"],
    )


def _days(n: int) -> str:
    return "1 working day" if n == 1 else f"{n} working days"


def chase_slt(app: dict[str, Any], waited: int, today: date, ctx: Context) -> Outcome:
    """The day's reminder to SLT of an undecided application, the headteacher's escalation when due,
    and a word to the applicant when it is news to them."""
    out = Outcome(actor=SYSTEM)
    limit = ctx.settings.accounts.decide_within_days
    now = ctx.now.isoformat()
    first = not chases(app, "slt")
    head = headteacher(ctx, today)
    # Once: to the headteacher by name, or (none named) SLT are told nobody else could be; a headteacher
    # named later still gets it.
    escalate = waited >= 2 * limit and not chases(app, "headteacher") and bool(head or not chases(app, "nobody"))
    entries = [{"at": now, "to": "slt", "note": f"Sent to SLT again after {_days(waited)} without a decision"}]
    if escalate:
        note = (
            f"Sent to the headteacher, {ctx.directory.name(head)}, after {_days(waited)}"
            if head
            else f"Not sent to a headteacher after {_days(waited)}: no headteacher is named in policybot's settings"
        )
        entries.append({"at": now, "to": "headteacher" if head else "nobody", "who": head, "note": note})
    gone = applicant_left(app, ctx, today)
    _record(app, out, ctx, entries)

    sent = day(local_day(app["submitted_at"], ctx))
    lines = [
        f"This application was sent to SLT on {sent} and has waited {_days(waited)} for a decision "
        f"(the school asks for one within {_days(limit)}). Please approve it, or reject it with a reason "
        "for the applicant. Whoever decides first, every copy of this card shows it."
    ]
    told = chases(app, "headteacher")
    if told:
        lines.append(f"The headteacher, {ctx.directory.name(told[0]['who'])}, has been sent it too.")
    elif waited >= 2 * limit:
        lines.append(
            "It would now go to the headteacher as well, but no headteacher is named in policybot's settings "
            "([school] headteacher), so nobody else has been told. Please decide it, or ask your IT person to "
            "name the headteacher."
        )
    if gone:
        lines.append(
            f"The applicant, {ctx.directory.name(app['applicant'])}, left the school on {day(gone)}, so they are "
            "not being told about this. If the account is no longer wanted, please reject it and say so."
        )
    base = approval_card(app, ctx)
    out.send(
        role("slt"),
        replace(
            base,
            title=f"Still to decide: application {app['id']}: {app['account_name']}",
            body="\n".join(lines),
            tone="warning",
        ),
        key=f"approval:{app['id']}",
    )
    if escalate and head:
        out.send(
            person(head),
            replace(
                base,
                title=f"For the headteacher: application {app['id']}: {app['account_name']}",
                body=f"This application has waited {_days(waited)} for an SLT decision (the school asks for one "
                f"within {_days(limit)}), so it now comes to you by name as headteacher. Please approve it, "
                "reject it with a reason for the applicant, or ask a colleague in SLT to decide it today.",
                tone="warning",
            ),
            key=f"approval:{app['id']}",
        )
    if gone or not (first or escalate):
        return out
    if escalate:
        also = (
            f"I have also sent it to the headteacher, {ctx.directory.name(head)}, by name."
            if head
            else "I have reminded SLT again. If you would like to, you could mention it to a member of SLT."
        )
        body = f"Your application for '{app['account_name']}' has now waited {_days(waited)} for SLT. {also} "
    else:
        body = (
            f"Your application for '{app['account_name']}' has waited {_days(waited)} for SLT, so I have "
            "reminded them today. I'll keep reminding them each working day until they decide. "
        )
    out.send(
        person(app["applicant"]),
        Card(
            f"Application {app['id']}: SLT reminded",
            body + "You don't need to do anything; I'll tell you their decision. "
            "Type /my-applications to see where it is.",
        ),
    )
    return out


def chase_admins(app: dict[str, Any], today: date, ctx: Context) -> Outcome:
    """The day's reminder to the administrators of an approved application not yet recorded."""
    out = Outcome(actor=SYSTEM)
    approved = day(local_day(app["decided_at"], ctx))
    first = not chases(app, "admins")
    _record(
        app,
        out,
        ctx,
        [
            {
                "at": ctx.now.isoformat(),
                "to": "admins",
                "note": f"Sent to the administrators again (approved {approved})",
            }
        ],
    )
    base = create_card(app, ctx)
    out.send(
        role("admins"),
        replace(
            base,
            title=f"Still to create: {app['account_name']}",
            body=f"A daily reminder: SLT approved application {app['id']} on {approved} and the account is not "
            f"recorded yet. {base.body}",
            tone="warning",
        ),
        key=f"create:{app['id']}",
    )
    if first and not applicant_left(app, ctx, today):
        out.send(
            person(app["applicant"]),
            Card(
                f"Application {app['id']}: administrators reminded",
                f"SLT approved your application for '{app['account_name']}' on {approved}, and the account has "
                "not been recorded yet, so I have reminded the administrators today. I'll remind them each "
                "working day and tell you when it is ready. Type /my-applications to see where it is.",
            ),
        )
    return out


def chase_applications(ctx: Context) -> Iterable[tuple[str, Outcome]]:
    """Each working day from the morning reminder time: every application waiting too long, once."""
    today = chase_day(ctx)
    if today is None:
        return
    nation = ctx.settings.school.nation
    limit = ctx.settings.accounts.decide_within_days
    for app in sorted(ctx.find(TABLE, status="submitted"), key=lambda a: a.get("number", 0)):
        key = f"application-chase:{app['id']}:{today.isoformat()}"
        if ctx.reminded(key) or not app.get("submitted_at"):
            continue  # (one without a time, as an import might leave it, cannot be counted)
        waited = working_days_between(local_day(app["submitted_at"], ctx), today, nation)
        if waited >= limit:
            yield key, chase_slt(app, waited, today, ctx)
    for app in sorted(ctx.find(TABLE, status="approved"), key=lambda a: a.get("number", 0)):
        key = f"application-create-chase:{app['id']}:{today.isoformat()}"
        if ctx.reminded(key) or not app.get("decided_at"):
            continue
        if local_day(app["decided_at"], ctx) < today:
            yield key, chase_admins(app, today, ctx)


def waiting_line(ctx: Context, _since: datetime) -> tuple[str, str] | None:
    """The weekly SLT digest's line: applications past their time for a decision, and approved ones not recorded."""
    today, nation = ctx.today, ctx.settings.school.nation
    limit = ctx.settings.accounts.decide_within_days
    late = [
        f"{a['id']} {a.get('account_name', '')} ({_days(n)})"
        for a in sorted(ctx.find(TABLE, status="submitted"), key=lambda a: a.get("number", 0))
        if (n := working_days_between(local_day(a["submitted_at"], ctx), today, nation)) >= limit
    ]
    unrecorded = [
        f"{a['id']} {a.get('account_name', '')} (approved {day(local_day(a['decided_at'], ctx))})"
        for a in sorted(ctx.find(TABLE, status="approved"), key=lambda a: a.get("number", 0))
        if a.get("decided_at") and local_day(a["decided_at"], ctx) < today
    ]
    if not late and not unrecorded:
        return None
    parts = []
    if late:
        parts.append(f"Waiting longer than {_days(limit)} for SLT to decide: " + ", ".join(late) + ".")
    if unrecorded:
        parts.append("Approved, not yet recorded by an administrator: " + ", ".join(unrecorded) + ".")
    return "Applications waiting", " ".join(parts) + " Type /waiting to decide or record them."


SCHEDULES = (chase_applications,)
DIGEST = (waiting_line,)
