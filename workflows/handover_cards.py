"""The cards of an account handover (workflows/account_handover.py): what the administrators see
for an account a leaver leaves short of runners, and what the person offered it sees.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.messages import Button, Card
from bot.timefmt import day
from bot.workflow import Context


def handover_card(acc: Mapping[str, Any], ctx: Context, note: str = "") -> Card:
    """What an administrator sees for an account a leaver leaves short of runners (also in /waiting)."""
    h = acc["handover"]
    remaining = [r for r in acc["runners"] if r != h["leaver"]]
    who = ", ".join(ctx.directory.name(r) for r in remaining) or "nobody"
    body = (
        f"{ctx.directory.name(h['leaver'])} is leaving on {day(h['date'])}. "
        f"{acc['platform_label']} {acc['handle']} would be left with {len(remaining)} runner(s) ({who}), "
        "and the policy asks for at least two. Please transfer it to a new runner, or close it on the platform."
    )
    if h.get("state") == "offered":
        body += f"\nWaiting for {ctx.directory.name(h['offered_to'])} to accept."
    if note:
        body = f"{note}\n\n{body}"
    data = {"account": acc["id"]}
    return Card(
        f"Account to transfer or close: {acc['name']}",
        body,
        buttons=(
            Button(action="leavers.transfer", label="Transfer to a new runner", data=data, style="primary"),
            Button(action="leavers.close", label="It is closed on the platform", data=data, style="danger"),
        ),
        tone="warning",
    )


def offer_card(acc: Mapping[str, Any], ctx: Context) -> Card:
    """What the person offered an account sees: accept it, or say they can't."""
    h = acc["handover"]
    data = {"account": acc["id"], "person": h["offered_to"]}
    return Card(
        f"Will you help run {acc['name']}?",
        f"{ctx.directory.name(h['leaver'])} is leaving, and {ctx.directory.name(h['offered_by'])} would like you "
        "to become one of the people running the school's "
        f"{acc['platform_label']} account {acc['handle']}. "
        "You would share monitoring and replies (within 24 hours) with the other runners.",
        buttons=(
            Button(action="leavers.accept", label="I accept", data=data, style="primary"),
            Button(action="leavers.decline", label="I can't take this on", data=data),
        ),
    )
