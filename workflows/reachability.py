"""/unreachable: whom policybot cannot reach yet, on any front end, and why (SLT and administrators).

Each front end's delivery channel records the people it cannot reach (bot/reach.py): no
id for them in the configuration, or no chat with the bot yet. This lists them, so the
check is an ordinary command: the same role check, audit and /help entry everywhere.
"""

from __future__ import annotations

from bot.messages import Card
from bot.reach import UNREACHABLE
from bot.workflow import Command, Context, Outcome


def show_unreachable(_rest: str, ctx: Context, out: Outcome) -> None:
    rows: dict[str, list[dict[str, str]]] = {}
    for row in ctx.all(UNREACHABLE):
        rows.setdefault(row["person"], []).append(row)
    listed = [(p, row) for p in ctx.directory.people for row in sorted(rows.get(p.id, []), key=lambda r: r["platform"])]
    if not listed:
        out.tell(
            Card(
                "Everyone is reachable",
                "policybot can send messages to every member of staff on each platform it runs on.",
                tone="success",
            )
        )
        return
    fixes = dict.fromkeys(row["fix"] for _p, row in listed if row.get("fix"))
    out.tell(
        Card(
            "People policybot cannot reach yet",
            " ".join(["policybot cannot send messages to these people on the platform named beside each.", *fixes]),
            fields=tuple((p.describe(), f"{row['platform'].title()}: {row['why']}") for p, row in listed),
            tone="warning",
        )
    )


COMMANDS = (
    Command(
        name="unreachable",
        summary="see who policybot cannot reach yet, and why (SLT, admins)",
        run=show_unreachable,
        role="slt,admin",
    ),
)
