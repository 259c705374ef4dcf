"""A person's home page (Slack's App Home tab): what is waiting for them, in one place.

Everyone: their unfinished forms, their applications, the accounts they monitor today and
the items on those accounts waiting for a reply. SLT also: applications waiting for a
decision and open incidents (type, number and urgency only, as in the SLT channel).
Read-only: building it changes nothing.
"""

from __future__ import annotations

from bot.messages import Button, Card
from bot.timefmt import when
from bot.workflow import Context


def home_card(ctx: Context) -> Card:
    """The home page for `ctx.actor`."""
    from workflows.incidents import kind_label
    from workflows.monitoring_items import ITEMS, item_line
    from workflows.monitoring_rota import on_duty
    from workflows.new_account import active_accounts, label

    me = ctx.actor
    tz = ctx.settings.school.tz
    fields: list[tuple[str, str]] = []
    drafts = ctx.find("conversations", person=me.id)
    if drafts:
        fields.append(("Unfinished", "\n".join(f"{d['workflow'].replace('_', ' ')} - last touched {when(d['updated_at'], tz)}" for d in drafts)))
    mine = sorted(ctx.find("applications", applicant=me.id), key=lambda a: a.get("submitted_at", ""))
    if mine:
        fields.append(("Your applications", "\n".join(f"{a['id']} {a.get('account_name', '')}: {a['status']}" for a in mine[-5:])))
    today = ctx.today
    duty = [a for a in active_accounts(ctx) if on_duty(ctx, a, today) == me.id]
    fields.append(("Monitoring today", "\n".join(label(a) for a in duty) if duty else "You are not on the rota today."))
    runs = {a["id"] for a in active_accounts(ctx) if me.id in a.get("runners", ())}
    items = sorted((i for i in ctx.find(ITEMS, status="open") if i["account"] in runs), key=lambda i: i["due_at"])
    if items:
        fields.append(("Waiting for a reply", "\n".join(item_line(i, ctx) for i in items[:10])))
    if me.is_slt:
        waiting = ctx.find("applications", status="submitted")
        fields.append(("Applications to decide", "\n".join(f"{a['id']} {a.get('account_name', '')}" for a in waiting) if waiting else "None."))
        incidents = sorted((i for i in ctx.all("incidents") if i.get("status") != "closed"), key=lambda i: i["id"])
        fields.append(("Open incidents", "\n".join(f"{i['id']}: {kind_label(i.get('kind', ''))}, {i.get('urgency', '')} urgency" for i in incidents) if incidents else "None."))
    updated = f"Updated {when(ctx.now, tz)}. Type /policybot in any channel, or write to me in Messages, to start something."
    return Card(f"Hello {me.name.split()[0]}", updated, fields=tuple(fields), buttons=(Button("conversation.start", "Log a comment", {"workflow": "log_comment"}),))


HOME = home_card
