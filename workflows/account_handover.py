"""Handing over an account a leaver leaves with fewer than two runners: transfer it to a new
runner (who must accept) or close it (confirmed closed on the platform). The leaver's rota days
go to the new runner, or back to the administrators for cover.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import AlreadyDecided, Expired
from bot.messages import Button, Card, person, role
from bot.timefmt import day
from bot.workflow import Answers, Context, FollowUp, Invalid, Outcome, Step
from workflows import accounts, people
from workflows.handover_cards import handover_card, offer_card
from workflows.people_status import not_ready


def unsettled(ctx: Context, pid: str) -> list[dict[str, Any]]:
    """Accounts waiting to be transferred or closed because this person is leaving."""
    return [
        a
        for a in accounts.every_account(ctx)
        if (a.get("handover") or {}).get("leaver") == pid and a.get("status") != "closed"
    ]


def strip(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A stored record without its id and version, ready to be written back."""
    return {k: v for k, v in doc.items() if k not in ("id", "version")}


# The monitoring module's rota: one record per account, {"weekly": {"mon": person id or None,
# ...}, "overrides": {"2026-12-20": person id or None}}. Without that module there is no
# rota table and nothing to hand over.
ROTA = "rota"
WEEKDAYS = {
    "mon": "Mondays",
    "tue": "Tuesdays",
    "wed": "Wednesdays",
    "thu": "Thursdays",
    "fri": "Fridays",
    "sat": "Saturdays",
    "sun": "Sundays",
}


def hand_over_rota(ctx: Context, acc_id: str, leaver: str, to: str | None, out: Outcome) -> list[str]:
    """Give the leaver's rota days on one account to `to` (None: they need cover); return them as people read them."""
    rota = ctx.get(ROTA, acc_id)
    if not rota:
        return []
    today = ctx.today.isoformat()
    weekly = dict(rota.get("weekly") or {})
    overrides = dict(rota.get("overrides") or {})
    days = [d for d in WEEKDAYS if weekly.get(d) == leaver]
    dates = sorted(d for d, p in overrides.items() if p == leaver and d >= today)  # earlier days are history
    if not days and not dates:
        return []
    for d in days:
        weekly[d] = to
    for d in dates:
        if to:
            overrides[d] = to
        else:
            overrides.pop(d)
    doc = strip(rota)
    doc.update(weekly=weekly, overrides=overrides)
    shown = [WEEKDAYS[d] for d in days] + [day(d) for d in dates]
    detail = f"{ctx.directory.name(leaver)}'s days ({', '.join(shown)}) " + (
        f"to {ctx.directory.name(to)}" if to else "need cover"
    )
    out.put(ROTA, acc_id, doc, action="rota_changed", detail=detail, expect_version=rota.get("version"))
    return shown


def _handover_account(ctx: Context, acc_id: str) -> dict[str, Any]:
    acc = accounts.get_account(ctx, acc_id)
    if acc is None:
        raise Expired("I can't find that account any more.")
    if not acc.get("handover"):
        raise AlreadyDecided(
            f"{acc['name']} has already been {'closed' if acc.get('status') == 'closed' else 'transferred'}, "
            "so nothing was changed."
        )
    return acc


def check_new_runner(value: str, _answers: Answers, ctx: Context) -> str:
    p = ctx.directory.get(value)
    if people.is_leaving(ctx, value):
        raise Invalid(
            f"{ctx.directory.name(value)} is leaving, so can't take the account on. Please choose someone else."
        )
    if p is not None and not p.employed:
        raise Invalid(
            "The account needs two members of staff; a volunteer or parent can help but not replace a member of "
            "staff. Please choose a member of staff."
        )
    problems = not_ready(ctx, [value])
    if problems and ctx.settings.records.untrained_runner == "block":
        raise Invalid(
            f"Not yet: {problems[0]}. They need to read the policy (/policy) "
            "and have their training recorded (/training) first, or choose someone else."
        )
    return value


def offer_transfer(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Offer the account to the new runner, who must accept."""
    ctx.require("admin", "transfer accounts")
    acc = _handover_account(ctx, about["account"])
    new = answers["new_runner"]
    if new in acc["runners"]:
        out.tell(
            handover_card(
                acc,
                ctx,
                f"{ctx.directory.name(new)} already runs {acc['name']}, so they can't be the new runner. "
                "Please choose someone else.",
            )
        )
        return
    doc = strip(acc)
    doc["handover"] = {**acc["handover"], "state": "offered", "offered_to": new, "offered_by": ctx.actor.id}
    out.put(
        accounts.TABLE,
        acc["id"],
        doc,
        action="account_transfer_offered",
        detail=f"to {ctx.directory.name(new)}",
        expect_version=acc["version"],
    )
    out.send(person(new), offer_card({**doc, "id": acc["id"]}, ctx), key=f"offer:{acc['id']}:{new}")
    out.tell(
        Card(
            "Transfer offered",
            f"I have asked {ctx.directory.name(new)} to accept {acc['name']}. "
            "I'll tell the administrators when they answer.",
        )
    )
    out.send(role("admins"), handover_card({**doc, "id": acc["id"]}, ctx), key=f"handover:{acc['id']}", replace=True)


def _offer(data: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    acc = _handover_account(ctx, str(data.get("account", "")))
    h = acc["handover"]
    if h.get("state") != "offered" or h.get("offered_to") != ctx.actor.id or data.get("person") != ctx.actor.id:
        raise Expired(
            "This request is no longer open (the administrators may have chosen someone else), so nothing was changed."
        )
    return acc


def accept(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    acc = _offer(data, ctx)
    h = acc["handover"]
    doc = strip(acc)
    doc["runners"] = [r for r in acc["runners"] if r != h["leaver"]] + [ctx.actor.id]
    doc["status"] = "active"
    doc.pop("handover", None)
    doc.setdefault("handovers", []).append(
        {**h, "state": "transferred", "settled_at": ctx.now.isoformat(), "to": ctx.actor.id}
    )
    out.put(
        accounts.TABLE,
        acc["id"],
        doc,
        action="account_transferred",
        after="active",
        detail=f"from {ctx.directory.name(h['leaver'])} to {ctx.actor.name}",
        expect_version=acc["version"],
    )
    days = hand_over_rota(ctx, acc["id"], h["leaver"], ctx.actor.id, out)
    rota = (
        f" You also take over {ctx.directory.name(h['leaver'])}'s monitoring days: {', '.join(days)} (see /rota)."
        if days
        else ""
    )
    out.send(
        person(ctx.actor.id),
        Card(
            f"You now help run {acc['name']}",
            f"Thank you. You are now one of the runners of {acc['platform_label']} {acc['handle']}. "
            f"Ask an administrator for the login.{rota}",
        ),
        key=f"offer:{acc['id']}:{ctx.actor.id}",
        replace=True,
    )
    done = Card(
        f"Transferred: {acc['name']}",
        f"{ctx.actor.name} accepted and now runs it with "
        f"{', '.join(ctx.directory.name(r) for r in doc['runners'] if r != ctx.actor.id)}.",
        tone="success",
    )
    out.send(role("admins"), done, key=f"handover:{acc['id']}", replace=True)
    _maybe_ready(ctx, h["leaver"], acc["id"], out)


def decline(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    acc = _offer(data, ctx)
    doc = strip(acc)
    doc["handover"] = {k: v for k, v in acc["handover"].items() if k not in ("offered_to", "offered_by")} | {
        "state": "open"
    }
    out.put(
        accounts.TABLE,
        acc["id"],
        doc,
        action="account_transfer_declined",
        detail=ctx.actor.name,
        expect_version=acc["version"],
    )
    out.send(
        person(ctx.actor.id),
        Card(
            "Thank you for letting us know",
            f"You have not been added to {acc['name']}. The administrators will ask someone else.",
        ),
        key=f"offer:{acc['id']}:{ctx.actor.id}",
        replace=True,
    )
    out.send(
        role("admins"),
        handover_card(
            {**doc, "id": acc["id"]},
            ctx,
            f"{ctx.actor.name} can't take {acc['name']} on. Please choose someone else, or close it.",
        ),
        key=f"handover:{acc['id']}",
        replace=True,
    )


def must_be_closed(value: bool, _answers: Answers, _ctx: Context) -> bool:
    if not value:
        raise Invalid(
            "Please close (or delete) the account on the platform itself first, then answer yes. "
            "If you'd rather keep it, type cancel and transfer it to a new runner instead."
        )
    return value


def record_closed(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """The administrator confirms the account is closed on the platform: the register says so."""
    ctx.require("admin", "close accounts")
    acc = _handover_account(ctx, about["account"])
    h = acc["handover"]
    doc = strip(acc)
    doc["status"] = "closed"
    doc["closed_at"] = ctx.now.isoformat()
    doc["closed_by"] = ctx.actor.id
    doc.pop("handover", None)
    doc.setdefault("handovers", []).append({**h, "state": "closed", "settled_at": ctx.now.isoformat()})
    out.put(
        accounts.TABLE,
        acc["id"],
        doc,
        action="account_closed",
        after="closed",
        detail=f"{ctx.directory.name(h['leaver'])} leaving",
        expect_version=acc["version"],
    )
    out.send(
        role("admins"),
        Card(
            f"Closed: {acc['name']}",
            f"{ctx.actor.name} confirmed {acc['platform_label']} {acc['handle']} is closed on the platform.",
            tone="success",
        ),
        key=f"handover:{acc['id']}",
        replace=True,
    )
    for r in acc["runners"]:
        if r != h["leaver"]:
            out.send(
                person(r),
                Card(
                    f"{acc['name']} has been closed",
                    f"{ctx.actor.name} closed {acc['platform_label']} {acc['handle']} because "
                    f"{ctx.directory.name(h['leaver'])} is leaving. Thank you for running it.",
                ),
            )
    _maybe_ready(ctx, h["leaver"], acc["id"], out)


def _maybe_ready(ctx: Context, leaver: str, settled: str, out: Outcome) -> None:
    left = [a for a in unsettled(ctx, leaver) if a["id"] != settled]
    if not left:
        out.send(
            role("admins"),
            Card(
                f"All of {ctx.directory.name(leaver)}'s accounts are settled",
                "Every account they ran has been transferred or closed. You can now finish their leaving.",
                buttons=(
                    Button(
                        action="leavers.finish", label="Finish this leaver", data={"person": leaver}, style="primary"
                    ),
                ),
            ),
        )


# Asked when an administrator chooses "Transfer to a new runner".
NEW_RUNNER = FollowUp(
    name="leavers_transfer",
    title="Transfer an account",
    steps=(
        Step(
            key="new_runner",
            prompt="Who should take over as a runner? They will be asked to accept.",
            kind="person",
            label="New runner",
            check=check_new_runner,
        ),
    ),
    then=offer_transfer,
    role="admin",
)

# Asked when an administrator chooses "It is closed on the platform".
CLOSED_ON_PLATFORM = FollowUp(
    name="leavers_close",
    title="Close an account",
    steps=(
        Step(
            key="closed",
            prompt="Have you closed or deleted the account on the platform itself?",
            kind="yesno",
            label="Closed on the platform",
            check=must_be_closed,
        ),
    ),
    then=record_closed,
    role="admin",
)


def transfer(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    ctx.require("admin", "transfer accounts")
    acc = _handover_account(ctx, str(data.get("account", "")))
    out.ask(NEW_RUNNER, about={"account": acc["id"]})


def close(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    ctx.require("admin", "close accounts")
    acc = _handover_account(ctx, str(data.get("account", "")))
    out.ask(CLOSED_ON_PLATFORM, about={"account": acc["id"]})


FOLLOW_UPS = (NEW_RUNNER, CLOSED_ON_PLATFORM)

ACTIONS = {
    "leavers.transfer": transfer,
    "leavers.close": close,
    "leavers.accept": accept,
    "leavers.decline": decline,
}
