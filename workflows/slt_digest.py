"""The weekly SLT digest: what SLT need to be satisfied the policy is working (Roles &
Responsibilities: SLT develop and implement the policy; Monitoring: replies within 24 hours;
Process for creating new accounts: runners have read the policy and been trained).

Every Monday morning SLT get: comments, queries and complaints handled in the last week
and how many were late, open incidents (numbers only), accounts with fewer than two
trained runners, and staff who have not confirmed reading the current policy.

Any other workflow module adds its own lines by declaring `DIGEST`: functions
(ctx, since) -> (heading, text), or None when it has nothing to say this week.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from bot.messages import Card, role
from bot.scheduler import weekly_slot
from bot.timefmt import day
from bot.workflow import Context, Outcome
from workflows import accounts, people
from workflows.policy_acknowledgement import not_acknowledged

CLOSED_INCIDENT = ("closed", "resolved")

# A module's line in the digest: (ctx, start of the week) -> (heading, text), or None to leave it out.
DigestLine = Callable[[Context, datetime], tuple[str, str] | None]


def declared_lines(ctx: Context, since: datetime) -> list[tuple[str, str]]:
    """The lines every workflow module declares in `DIGEST`, in the order of `workflows.MODULES`."""
    import workflows  # here, not at the top: workflows/__init__.py imports this module

    lines = []
    for module in workflows.MODULES:
        line: DigestLine
        for line in getattr(module, "DIGEST", ()):
            field = line(ctx, since)
            if field is not None:
                lines.append(field)
    return lines


def _time(record: dict[str, Any], *names: str) -> datetime | None:
    for name in names:
        value = record.get(name)
        if isinstance(value, str) and value:
            try:
                return datetime.fromisoformat(value)
            except ValueError:
                continue
    return None


def item_counts(ctx: Context, since: datetime) -> tuple[int, int, int]:
    """(handled in the week, of which late, still waiting and overdue now) from the `items` table."""
    handled = late = overdue = 0
    # Reading a time costs more than the rest of an item, so a reply dated two days or more
    # before `since` (whatever its time zone) is passed over on its date alone.
    long_before = (since - timedelta(days=2)).date().isoformat()

    def counted(item: dict[str, Any]) -> bool:  # replied in the week, or still waiting: not a year of history
        stamp = item.get("replied_at")
        if isinstance(stamp, str) and stamp[:4].isdigit() and stamp[:10] < long_before:
            return False
        replied = _time(item, "replied_at", "handled_at", "answered_at")
        return replied is None or replied >= since

    for item in ctx.where("items", counted):
        replied = _time(item, "replied_at", "handled_at", "answered_at")
        due = _time(item, "due_at", "reply_due", "reply_by")
        if replied is not None:
            if replied >= since:
                handled += 1
                if due is not None and replied > due:
                    late += 1
        elif due is not None and due < ctx.now:
            overdue += 1
    return handled, late, overdue


def thin_accounts(ctx: Context) -> list[str]:
    """Active accounts with fewer than two runners who are trained and have read the current policy."""
    thin = []
    checked: dict[str, bool] = {}  # each person's records read once, however many accounts they run

    def is_ready(pid: str) -> bool:
        if pid not in checked:
            checked[pid] = people.trained(ctx, pid) and people.acknowledged(ctx, pid)
        return checked[pid]

    for acc in accounts.every_account(ctx):
        if acc.get("status") == "closed":
            continue
        ready = [r for r in acc.get("runners", []) if is_ready(r)]
        if len(ready) < 2:
            thin.append(f"{acc.get('name', acc['id'])} ({len(ready)} of {len(acc.get('runners', []))})")
    return thin


def digest_card(ctx: Context) -> Card:
    since = ctx.now - timedelta(days=7)
    handled, late, overdue = item_counts(ctx, since)
    incidents = [i for i in ctx.all("incidents") if i.get("status") not in CLOSED_INCIDENT]
    thin = thin_accounts(ctx)
    missing = [ctx.directory.name(p) for p in not_acknowledged(ctx)]
    fields = (
        (
            "Comments, queries and complaints",
            f"{handled} replied to in the last 7 days, {late} of them after the 24-hour deadline; "
            f"{overdue} waiting and overdue now.",
        ),
        (
            "Open incidents",
            f"{len(incidents)} open"
            + (": " + ", ".join(str(i["id"]) for i in incidents[:20]) if incidents else "")
            + (". Type /incidents for details." if incidents else "."),
        ),
        (
            "Accounts with fewer than two trained runners",
            "; ".join(thin)
            if thin
            else "None: every account has at least two runners who are trained and have read the policy.",
        ),
        (
            "Not yet confirmed reading the policy",
            ", ".join(missing) if missing else "Everyone has confirmed the current version.",
        ),
        *declared_lines(ctx, since),
    )
    return Card("Weekly social media digest", f"The week to {day(ctx.today)}.", fields=fields)


def weekly_digest(ctx: Context) -> list[tuple[str, Outcome]]:
    slot = weekly_slot(ctx)
    key = f"slt-digest:{slot}"
    if slot is None or ctx.reminded(key):
        return []  # not Monday morning, or sent already: the digest is not worked out again every tick
    out = Outcome(actor="policybot")
    out.send(role("slt"), digest_card(ctx))
    return [(key, out)]


SCHEDULES = (weekly_digest,)
