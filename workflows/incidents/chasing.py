"""Chasing: an open incident that nobody owns is brought back to SLT once per interval
(`[incidents]` in the configuration: minutes when urgent, hours otherwise) until one of them takes it.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.messages import Button, Card, role
from bot.workflow import Context, Outcome
from workflows.incidents import SYSTEM, TABLE, URGENCY, kind_label
from workflows.incidents.cards import age, data_of, show_button
from workflows.incidents.record import log, save


def interval(urgency: str, ctx: Context) -> timedelta:
    """How often SLT are reminded about an incident nobody has taken."""
    conf = ctx.settings.incidents
    if urgency == "urgent":
        return timedelta(minutes=conf.urgent_reminder_minutes)
    if urgency == "high":
        return timedelta(hours=conf.high_reminder_hours)
    return timedelta(hours=conf.reminder_hours)


def chase_unowned(ctx: Context) -> Iterable[tuple[str, Outcome]]:
    """Remind SLT once per interval about each open incident that nobody owns."""
    for inc in ctx.all(TABLE):
        if inc["status"] != "open" or inc.get("owner"):
            continue
        n = int((ctx.now - datetime.fromisoformat(inc["alerted_at"])) / interval(inc["urgency"], ctx))
        if n < 1:
            continue
        out = Outcome(actor=SYSTEM)
        waited = age(inc["alerted_at"], ctx.now)
        log(inc, ctx, f"SLT reminded: nobody has taken ownership after {waited}", by=SYSTEM)
        save(out, inc, "incident_chased", before="open")
        out.send(
            role("slt"),
            Card(
                f"Still needs an owner: {inc['id']} ({URGENCY[inc['urgency']]})",
                f"{kind_label(inc['kind'])}, reported {waited} ago, and nobody has taken it yet. "
                "Please can one of you take ownership?",
                buttons=(
                    show_button(inc),
                    Button(action="incidents.own", label="Take ownership", data=data_of(inc), style="primary"),
                ),
                tone="urgent" if inc["urgency"] == "urgent" else "warning",
            ),
        )
        yield f"incident-unowned:{inc['id']}:{inc['alerted_at']}:{n}", out


SCHEDULES = (chase_unowned,)
