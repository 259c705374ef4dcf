"""Reminders and escalation for logged comments, queries and complaints (workflows/monitoring_items.py).

Whoever is on duty is reminded every morning of what is open, and again before a reply is
due; an item still open at its due time goes to SLT and the account's runners. Reminders are
derived from the records on every tick and sent under deterministic keys (see the engine's
scheduler), so a restart sends nothing twice, and a bot that was down sends what it missed
once, saying it is late.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.calendar import at_local
from bot.messages import Button, Card, person, role
from bot.scheduler import late_note
from bot.timefmt import when
from bot.workflow import Context, Outcome
from workflows.accounts import active_accounts, get_account, label
from workflows.monitoring_items import ITEMS, item_card, item_line, responsible
from workflows.rota_records import on_duty


def duty_reminders(ctx: Context) -> Iterable[tuple[str, Outcome]]:
    """Every day at the configured local time, the person on duty for each account hears what is open."""
    today = ctx.today
    scheduled = at_local(today, ctx.settings.monitoring.duty_reminder_time, ctx.settings.school.tz)
    if ctx.now < scheduled:
        return
    tz = ctx.settings.school.tz
    waiting: dict[str, list[dict[str, Any]]] = {}
    for item in ctx.find(ITEMS, status="open"):  # one pass over the items, not one per account
        waiting.setdefault(item["account"], []).append(item)
    # The same for every account: worked out once.
    day, sent_at, note = today.isoformat(), when(ctx.now, tz), late_note(scheduled, ctx)
    log_button = (Button(action="conversation.start", label="Log a comment", data={"workflow": "log_comment"}),)
    for account in active_accounts(ctx):
        key = f"duty:{account['id']}:{day}"
        if ctx.reminded(key):
            continue
        monitor = on_duty(ctx, account, today)
        if monitor is None:
            continue  # the rota's gap alert covers a day with nobody on duty
        items = sorted(waiting.get(account["id"], []), key=lambda i: i["due_at"])
        body = [
            f"You are on duty today to monitor {label(account)}: please check it for new comments, "
            "queries and complaints, and log them with /log-comment."
        ]
        body.append(
            "Open items:\n" + "\n".join(item_line(i, ctx) for i in items)
            if items
            else "Nothing is waiting for a reply."
        )
        if note:
            body.append(note)
        out = Outcome(actor="policybot")
        out.send(
            person(monitor), Card(f"Monitoring today: {label(account)}", "\n".join(body), buttons=log_button), key=key
        )
        out.audit("duty_reminder_sent", f"accounts/{account['id']}", detail=f"{day} to {monitor} at {sent_at}")
        yield key, out


def reply_reminders(ctx: Context) -> Iterable[tuple[str, Outcome]]:
    """Before an item is due, whoever should reply is reminded; at its due time, SLT and the runners hear."""
    lead = timedelta(hours=ctx.settings.monitoring.reminder_lead_hours)
    tz = ctx.settings.school.tz
    for item in ctx.find(ITEMS, status="open"):
        due = datetime.fromisoformat(item["due_at"])
        account = get_account(ctx, item["account"]) or {"id": item["account"], "name": item["account"], "runners": []}
        if ctx.now >= due:
            key = f"item-late:{item['id']}"
            if ctx.reminded(key):
                continue
            body = (
                f"No reply has been recorded and it was due {when(due, tz)}. "
                "The policy asks for a reply within 24 hours. Please reply now, then press Mark replied."
            )
            if note := late_note(due, ctx):
                body += "\n" + note
            out = Outcome(actor="policybot")
            card = item_card(item, ctx, f"Reply overdue: {item['id']} on {label(account)}", body, tone="urgent")
            # New messages (not edits of older cards), so that people are notified; keyed, so
            # "Mark replied" later updates every copy.
            out.send(role("slt"), card, key=f"item:{item['id']}:slt")
            for pid in account.get("runners", ()):
                if not ctx.directory.get(pid) or ctx.directory.get(pid).is_slt:  # type: ignore[union-attr]
                    continue
                out.send(person(pid), card, key=f"item:{item['id']}:{pid}")
            out.audit("item_escalated", f"items/{item['id']}", detail=f"due {due.isoformat()}")
            yield key, out
        elif ctx.now >= due - lead:
            key = f"item-due:{item['id']}"
            if ctx.reminded(key) or datetime.fromisoformat(item["logged_at"]) >= due - lead:
                continue  # sent already, or logged this close to its time (the logging card gave the due time)
            out = Outcome(actor="policybot")
            left = due - ctx.now
            hours = max(1, round(left.total_seconds() / 3600))
            body = f"A reply is due by {when(due, tz)} (in about {hours} hour{'s' if hours != 1 else ''})."
            if note := late_note(due - lead, ctx):
                body += "\n" + note
            for pid in responsible(item, ctx):
                out.send(
                    person(pid),
                    item_card(item, ctx, f"Reply due soon: {item['id']} on {label(account)}", body, tone="warning"),
                    key=f"item:{item['id']}:{pid}",
                )
            yield key, out


SCHEDULES = (duty_reminders, reply_reminders)
