"""What is waiting for a person, with its buttons: `/waiting` (or `/todo`) and the home page's lists.

A button on a card that has scrolled away, or that was refused at the time ("Record the new
account" before the runners were trained), must always be reachable again. `waiting(ctx)`
is the one place that works out what waits for someone, each thing with the card it was
first sent on (the same buttons, and the same card key, so a decision made anywhere updates
this copy too). The home page (workflows/home.py) lists the same things by their lines.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.messages import Button, Card
from bot.people import fold
from bot.timefmt import day, when
from bot.workflow import Command, Context, Outcome
from workflows import lookout, mentions
from workflows.accounts import active_accounts, every_account, get_account, label
from workflows.application_decision import create_card
from workflows.disclaimer import waiting_for
from workflows.handover_cards import handover_card, offer_card
from workflows.incidents import kind_label
from workflows.incidents.cards import alert_card
from workflows.monitoring_items import ITEMS, item_card, item_line
from workflows.new_account import approval_card
from workflows.post_log import second_checks
from workflows.rota_swaps import SWAPS, swap_card

# How many things /waiting sends as cards at once; the overview lists every one.
MAX_CARDS = 15


@dataclass(frozen=True)
class Waiting:
    """One thing waiting for the person: its section and line in a list, and its card."""

    section: str
    line: str
    card: Card
    key: str | None = None  # the key of the card first sent, so updates reach this copy too


def waiting(ctx: Context) -> list[Waiting]:
    """Everything waiting for `ctx.actor`, section by section (read-only)."""
    me = ctx.actor
    tz = ctx.settings.school.tz
    out: list[Waiting] = []
    for d in ctx.drafts():
        name = d["workflow"].replace("_", " ")
        data = {"workflow": d["workflow"]}
        card = Card(
            f"Unfinished: {name}",
            f"You started this on {when(d['started_at'], tz)} and last answered on {when(d['updated_at'], tz)}. "
            "Carry on where you left off, or cancel it.",
            buttons=(
                Button(action="conversation.resume", label="Carry on", data=data, style="primary"),
                Button(action="conversation.cancel", label="Cancel it", data=data, style="danger"),
            ),
        )
        out.append(Waiting("Unfinished", f"{name} - last touched {when(d['updated_at'], tz)}", card))
    if (question := waiting_for(ctx)) is not None:
        out.append(Waiting("Personal social media", *question))
    runs = {a["id"] for a in active_accounts(ctx) if me.id in a.get("runners", ())}
    for i in sorted((i for i in ctx.find(ITEMS, status="open") if i["account"] in runs), key=lambda i: i["due_at"]):
        card = item_card(
            i,
            ctx,
            f"Waiting for a reply: {i['id']}",
            f"Please reply by {when(i['due_at'], tz)}, then press Mark replied.",
        )
        out.append(Waiting("Waiting for a reply", item_line(i, ctx), card, f"item:{i['id']}:{me.id}"))
    for s in sorted(ctx.find(SWAPS, to=me.id, status="asked"), key=lambda s: s["day"]):
        account = get_account(ctx, s["account"]) or {"name": s["account"]}
        line = f"{label(account)} on {day(s['day'])}, asked by {ctx.directory.name(s['from'])}"
        out.append(Waiting("Monitoring days you were asked to take", line, swap_card(s, ctx), f"swap:{s['id']}"))
    accounts = sorted(every_account(ctx), key=lambda a: a["id"])
    for a in accounts:
        h = a.get("handover") or {}
        if h.get("state") == "offered" and h.get("offered_to") == me.id:
            out.append(
                Waiting("Accounts you were asked to help run", label(a), offer_card(a, ctx), f"offer:{a['id']}:{me.id}")
            )
    for line, card, key in second_checks(ctx):
        out.append(Waiting("Posts waiting for a second check", line, card, key))
    if me.is_slt:
        for app in sorted(ctx.find("applications", status="submitted"), key=lambda a: a.get("number", 0)):
            out.append(
                Waiting(
                    "Applications to decide",
                    f"{app['id']} {app.get('account_name', '')}",
                    approval_card(app, ctx),
                    f"approval:{app['id']}",
                )
            )
        for inc in sorted(
            (i for i in ctx.all("incidents") if i.get("status") != "closed"), key=lambda i: i.get("number", 0)
        ):
            line = f"{inc['id']}: {kind_label(inc.get('kind', ''))}, {inc.get('urgency', '')} urgency"
            out.append(Waiting("Open incidents", line, alert_card(inc, ctx), f"incident:{inc['id']}"))
    if me.is_admin:
        for app in sorted(ctx.find("applications", status="approved"), key=lambda a: a.get("number", 0)):
            out.append(
                Waiting(
                    "Approved accounts to record",
                    f"{app['id']} {app.get('account_name', '')}",
                    create_card(app, ctx),
                    f"create:{app['id']}",
                )
            )
        for a in accounts:
            if (a.get("handover") or {}).get("state") == "open" and a.get("status") != "closed":
                out.append(
                    Waiting("Accounts to transfer or close", label(a), handover_card(a, ctx), f"handover:{a['id']}")
                )
    out += [Waiting(*w) for w in (*lookout.waiting(ctx), *mentions.waiting(ctx))]  # the weekly look-out, /log-post
    return out


def show_waiting(text: str, ctx: Context, out: Outcome) -> None:
    """/waiting: an overview of what waits for the person, then each thing with its buttons.

    `/waiting A-3` (any part of a thing's line) brings back just the things that match, so
    one can be found again among many (and is the last card, where the terminal chat
    numbers the buttons).
    """
    things = waiting(ctx)
    wanted = fold(text)
    if not things:
        out.tell(
            Card(
                "Nothing is waiting for you",
                "You have nothing to answer, decide or finish in policybot right now. "
                "Type /help to see what you can do.",
                tone="success",
            )
        )
        return
    if wanted:
        found = [w for w in things if wanted in fold(f"{w.section} {w.line} {w.card.title}")]
        if not found:
            lines = "\n".join(f"- {w.line}" for w in things)
            out.tell(
                Card(
                    f"Nothing waiting matches '{text.strip()}'",
                    f"What is waiting for you:\n{lines}\nType /waiting to see each with its buttons.",
                )
            )
            return
        for w in found[:MAX_CARDS]:
            out.tell(w.card, key=w.key)
        return
    sections: dict[str, list[str]] = {}
    for w in things:
        sections.setdefault(w.section, []).append(w.line)
    shown = things[:MAX_CARDS]
    body = (
        "1 thing needs you: it is below, with its buttons."
        if len(things) == 1
        else f"{len(things)} things need you: each is below, with its buttons."
    )
    if len(things) > len(shown):
        body = (
            f"{len(things)} things need you. The first {len(shown)} are below, with their buttons; "
            "type /waiting again when you have dealt with them to see the rest."
        )
    if len(things) > 1:
        body += (
            " To bring one back on its own, type /waiting and part of its line, like /waiting "
            + things[-1].line.split(" ")[0].rstrip(":")
            + "."
        )
    out.tell(
        Card(
            "What is waiting for you", body, fields=tuple((name, "\n".join(lines)) for name, lines in sections.items())
        )
    )
    for w in shown:
        out.tell(w.card, key=w.key)


COMMANDS = (
    Command(
        "waiting",
        "see everything waiting for you (to answer, decide or record), with its buttons",
        show_waiting,
        aliases=("todo", "to-do", "to do", "what's waiting"),
    ),
)
