"""Gaps in the rota: a day in the next seven with nobody on duty alerts administrators and SLT.

Once per account and day; when the day is covered later, the alert sent earlier is edited in
place to say so, so nobody reads an alert that is no longer true.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from bot.messages import Button, Card, role
from bot.timefmt import day as show_day
from bot.timefmt import when
from bot.workflow import Context, Outcome
from workflows.accounts import active_accounts, get_account, label
from workflows.rota_records import ROTA, on_duty

GAP_WINDOW_DAYS = 7

# Each gap alert sent: its account, the days it listed and the days still without anyone,
# so that a card sent earlier is brought up to date (in place) once a gap is filled, and
# nobody reads an alert that is no longer so.
GAP_ALERTS = "rota_gap_alerts"


def _gap_card(
    account: Mapping[str, Any], open_days: list[date], filled: list[date], gone: list[date], ctx: Context
) -> Card:
    """The alert as things stand now: the days still without anyone, those since covered, and
    those that went by with nobody on the rota."""
    lines = []
    if filled:
        lines.append(f"Now covered: {', '.join(show_day(d) for d in filled)}.")
    if gone:
        lines.append(f"Nobody was on the rota on: {', '.join(show_day(d) for d in gone)}.")
    if not open_days:
        every = "every day still to come" if gone else "every day listed"
        lines.append(
            f"Updated {when(ctx.now, ctx.settings.school.tz)}: the rota now has someone on duty on {every}. "
            "Nothing more is needed."
        )
        return Card(f"Filled: {label(account)} has someone monitoring on {every}", "\n".join(lines), tone="success")
    days = ", ".join(show_day(d) for d in open_days)
    return Card(
        f"Nobody is monitoring {label(account)} on {len(open_days)} day(s)",
        "\n".join(
            [
                f"Nobody is on the rota to monitor {label(account)} on: {days}.",
                *lines,
                "The policy asks for school accounts to be monitored every day, including holidays, "
                "so comments and complaints get a reply within 24 hours. "
                "An administrator can fill the gap with /rota-set.",
            ]
        ),
        buttons=(Button(action="conversation.start", label="Set the rota", data={"workflow": "rota_set"}),),
        tone="warning",
    )


def refresh_gap_alerts(
    ctx: Context, out: Outcome, account: Mapping[str, Any], rota: Mapping[str, Any] | None = None
) -> bool:
    """Bring the open gap alerts of `account` up to date with the rota (`rota` when the caller
    holds a newer one than the store): a day covered since is shown as covered, in place, on
    every copy. True if a card changed. An alert whose days have all gone by is forgotten."""
    changed = False
    for alert in ctx.find(GAP_ALERTS, account=account["id"], open=True):
        days = [date.fromisoformat(d) for d in alert["days"]]
        known = set(alert.get("filled_days", []))
        if all(d < ctx.today for d in days):
            out.delete(GAP_ALERTS, alert["id"])
            continue
        covered_now = [
            d
            for d in days
            if d >= ctx.today and d.isoformat() not in known and on_duty(ctx, account, d, rota) is not None
        ]
        if not covered_now:
            continue  # nothing new to say: days going by unfilled are not news to anyone
        changed = True
        known |= {d.isoformat() for d in covered_now}
        still = [d for d in days if d >= ctx.today and d.isoformat() not in known]
        gone = [d for d in days if d < ctx.today and d.isoformat() not in known]
        doc = {k: v for k, v in alert.items() if k not in ("id", "version")}
        doc.update(filled_days=sorted(known), open=bool(still), updated_at=ctx.now.isoformat())
        out.put(GAP_ALERTS, alert["id"], doc, expect_version=alert.get("version"))
        card = _gap_card(account, still, [d for d in days if d.isoformat() in known and d >= ctx.today], gone, ctx)
        out.send(role("admins"), card, key=alert["id"], replace=True)
        out.send(role("slt"), card, key=alert["id"], replace=True)
    return changed


def rota_gaps(ctx: Context) -> Iterable[tuple[str, Outcome]]:
    """Alert administrators and SLT to days with nobody on duty, once per account and day; bring
    earlier alerts up to date when their days have been covered since."""
    window = [ctx.today + timedelta(days=n) for n in range(GAP_WINDOW_DAYS)]
    accounts = active_accounts(ctx)
    live = {a["id"] for a in accounts}
    for alert in ctx.where(GAP_ALERTS, lambda a: a.get("open") and a["account"] not in live):
        # The account was closed: its gaps need nobody now, and the alert says so.
        account = get_account(ctx, alert["account"]) or {"id": alert["account"], "name": alert["account"]}
        out = Outcome(actor="policybot")
        out.delete(GAP_ALERTS, alert["id"])
        card = Card(
            f"Closed: {label(account)}",
            f"{label(account)} is no longer an open school account, so these days need nobody to monitor it. "
            "Nothing more is needed.",
            tone="info",
        )
        out.send(role("admins"), card, key=alert["id"], replace=True)
        out.send(role("slt"), card, key=alert["id"], replace=True)
        yield f"rota-gap-closed:{alert['id']}", out
    for account in accounts:
        rota = ctx.get(ROTA, account["id"]) or {}  # read once, not once a day
        update = Outcome(actor="policybot")
        refresh_gap_alerts(ctx, update, account, rota)
        if update.writes:
            # Keyed by the alert records' versions: one state of them is brought up to date once.
            versions = ",".join(
                f"{a['id']}@{a.get('version')}" for a in ctx.find(GAP_ALERTS, account=account["id"], open=True)
            )
            yield f"rota-gap-update:{account['id']}:{versions}", update
        empty = [d for d in window if on_duty(ctx, account, d, rota) is None]
        keys = ((f"rota-gap:{account['id']}:{d.isoformat()}", d) for d in empty)
        gaps = [(key, d) for key, d in keys if not ctx.reminded(key)]
        if not gaps:
            continue
        alert_id = f"rota-gap-alert:{account['id']}:{gaps[0][1].isoformat()}"
        card = _gap_card(account, [d for _, d in gaps], [], [], ctx)
        # One message lists every new gap; each day's key is marked so it is never repeated.
        for i, (key, _d) in enumerate(gaps):
            out = Outcome(actor="policybot")
            if i == 0:
                days = [d.isoformat() for _, d in gaps]
                out.put(
                    GAP_ALERTS,
                    alert_id,
                    {
                        "account": account["id"],
                        "days": days,
                        "filled_days": [],
                        "open": True,
                        "sent_at": ctx.now.isoformat(),
                    },
                )
                out.send(role("admins"), card, key=alert_id)
                out.send(role("slt"), card, key=alert_id)
            yield key, out


SCHEDULES = (rota_gaps,)
