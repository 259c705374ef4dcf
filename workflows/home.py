"""A person's home page (a chat platform's home tab): what is waiting for them, in one place.

Everyone: their applications, the accounts they monitor today, and what is waiting for them
as /waiting lists it (workflows/waiting.py: unfinished forms, items waiting for a reply,
requests to take a day or an account; SLT: applications to decide and open incidents, type,
number and urgency only; administrators: approved accounts to record and accounts to hand over).
Read-only: building it changes nothing.
"""

from __future__ import annotations

from bot.messages import Button, Card
from bot.timefmt import when
from bot.workflow import Context
from workflows.accounts import active_accounts, label
from workflows.rota_records import on_duty
from workflows.training_expiry import home_line
from workflows.waiting import waiting


def home_card(ctx: Context) -> Card:
    """The home page for `ctx.actor`: what is waiting for them (the same list as /waiting), their applications
    and duty.
    """
    me = ctx.actor
    tz = ctx.settings.school.tz
    sections: dict[str, list[str]] = {}
    for w in waiting(ctx):
        sections.setdefault(w.section, []).append(w.line)
    fields: list[tuple[str, str]] = []
    if "Unfinished" in sections:
        fields.append(("Unfinished", "\n".join(sections.pop("Unfinished"))))
    mine = sorted(ctx.find("applications", applicant=me.id), key=lambda a: a.get("submitted_at", ""))
    if mine:
        fields.append(
            ("Your applications", "\n".join(f"{a['id']} {a.get('account_name', '')}: {a['status']}" for a in mine[-5:]))
        )
    today = ctx.today
    duty = [a for a in active_accounts(ctx) if on_duty(ctx, a, today) == me.id]
    fields.append(("Monitoring today", "\n".join(label(a) for a in duty) if duty else "You are not on the rota today."))
    training = home_line(ctx)  # only when their own training lapses within the month or has lapsed
    if training:
        fields.append(("Your training", training))
    if me.is_slt:  # SLT always see these two, "None." included
        sections.setdefault("Applications to decide", [])
        sections.setdefault("Open incidents", [])
    for name, lines in sections.items():
        fields.append(
            (
                name,
                "\n".join(lines[:10]) + (f"\n... and {len(lines) - 10} more (type /waiting)" if len(lines) > 10 else "")
                if lines
                else "None.",
            )
        )
    updated = (
        f"Updated {when(ctx.now, tz)}. Type /waiting to see each of these with its buttons. "
        "Type /policybot in any channel, or write to me in Messages, to start something."
    )
    return Card(
        f"Hello {me.name.split()[0]}",
        updated,
        fields=tuple(fields),
        buttons=(Button(action="conversation.start", label="Log a comment", data={"workflow": "log_comment"}),),
    )


HOME = home_card
