"""The school's account register (table `accounts`): reading it, naming an account, and `/accounts`.

The register is filled by the new-account procedure (workflows/new_account/) and changed by
leavers (transfer, close); monitoring, incidents and the home page read it. This module owns
the table's name and the helpers every other module reads it through.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.declarations import Reader, Record, Table, first
from bot.messages import Button, Card
from bot.workflow import Command, Context, Outcome
from workflows.people_status import runner_line

TABLE = "accounts"
LIVE = ("active", "transferring")  # one being handed over to a new runner is still the school's


def get_account(ctx: Context, account_id: str) -> dict[str, Any] | None:
    """The account with this id, or None (an id from an old message, or a record since removed)."""
    return ctx.get(TABLE, account_id)


def every_account(ctx: Context) -> list[dict[str, Any]]:
    """Every account in the register, closed ones included (the register keeps them)."""
    return ctx.all(TABLE)


def active_accounts(ctx: Context) -> list[dict[str, Any]]:
    """Accounts in the register that are live (active, or being transferred to a new runner), in register order."""
    accounts = [a for a in ctx.all(TABLE) if a.get("status", "active") in LIVE]
    return sorted(accounts, key=lambda a: (a.get("created_at", ""), a["id"]))


def label(account: Mapping[str, Any]) -> str:
    """'Year 6 Trips (@PenningtonY6)'."""
    handle = account.get("handle", "")
    return f"{account['name']} ({handle})" if handle else str(account["name"])


def list_accounts(_text: str, ctx: Context, out: Outcome) -> None:
    """The school's account register. Where the login is kept is shown to SLT and admins only."""
    accounts = sorted(ctx.all(TABLE), key=lambda a: a.get("created_at", ""))
    if not accounts:
        out.tell(
            Card(
                "School account register",
                "There are no school accounts in the register yet. Apply for one with /new-account.",
            )
        )
        return
    trusted = ctx.actor.is_slt or ctx.actor.is_admin
    fields = []
    for acc in accounts:
        lines = [
            f"{acc['platform_label']} {acc['handle']} - {acc['status']}",
            "Run by: " + "; ".join(runner_line(ctx, r) for r in acc["runners"]),
        ]
        if trusted:
            lines.append(f"Login kept: {acc['credentials_location']}")
        fields.append((f"{acc['id']}: {acc['name']}", "\n".join(lines)))
    # SLT and administrators open an account's post log (workflows/post_log.py) from here.
    logs = tuple(
        Button(action="post_log.show", label=f"Post log {acc['id']}", data={"account": acc["id"]})
        for acc in accounts[:20]
        if trusted
    )
    out.tell(Card("School account register", f"{len(accounts)} account(s).", fields=tuple(fields), buttons=logs))


COMMANDS = (Command(name="accounts", summary="see the school's account register", run=list_accounts),)


# ---- what the core needs from this module (collected by bot/registry.py) ---------------------


def _retention(record: Record, _records: Reader) -> datetime | None:
    return first(record, "closed_at") if record.get("status") == "closed" else None


TABLES = (
    Table(
        TABLE,
        export=True,
        columns=("id", "name", "platform_label", "handle", "runners", "status", "created_at"),
        retention=_retention,
        named_by="account",
    ),
)
