"""/swap-duty: a runner asks another runner of the same account to take one of their days.

The colleague accepts or declines with a button; accepting changes the rota for that date
only, and only while the day is still the asker's.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date
from typing import Any

from bot.errors import AlreadyDecided, Expired, NotAllowed
from bot.messages import Button, Card, person
from bot.timefmt import day as show_day
from bot.timefmt import when
from bot.workflow import Answers, Context, Invalid, Outcome, Step, Workflow
from workflows.accounts import active_accounts, get_account, label
from workflows.rota_records import ROTA, account_of, account_value, find_account, on_duty, rota_record, within_a_year

SWAPS = "swaps"


def swap_start(answers: Answers, ctx: Context, out: Outcome) -> None:
    mine = [a for a in active_accounts(ctx) if ctx.actor.id in a.get("runners", ())]
    if not mine:
        raise Expired("You don't run any school accounts in the register, so you have no monitoring days to swap.")
    if len(mine) == 1:
        answers["account"] = account_value(mine[0])


def check_my_account(value: str, _answers: Answers, ctx: Context) -> str:
    mine = [a for a in active_accounts(ctx) if ctx.actor.id in a.get("runners", ())]
    if not mine:
        raise Invalid("You don't run any school accounts, so you have no monitoring days to swap. Type cancel to stop.")
    return account_value(find_account(value, ctx, mine))


def check_my_day(value: str, answers: Answers, ctx: Context) -> str:
    value = within_a_year(value, answers, ctx)
    account = account_of(answers["account"], ctx)
    who = on_duty(ctx, account, date.fromisoformat(value))
    if who != ctx.actor.id:
        now_on = ctx.directory.name(who) if who else "nobody"
        raise Invalid(
            f"You are not on duty for {label(account)} on {show_day(value)} ({now_on} is). "
            "Please give one of your own days; type /rota to see them."
        )
    return value


def check_colleague(value: str, answers: Answers, ctx: Context) -> str:
    account = account_of(answers["account"], ctx)
    if value == ctx.actor.id:
        raise Invalid("Please choose someone else who runs the account.")
    if value not in account.get("runners", ()):
        others = ", ".join(ctx.directory.name(r) for r in account["runners"] if r != ctx.actor.id)
        raise Invalid(f"{ctx.directory.name(value)} doesn't run {label(account)}. Please choose one of: {others}.")
    return value


def swap_card(swap: Mapping[str, Any], ctx: Context, outcome: str = "") -> Card:
    account = get_account(ctx, swap["account"]) or {"name": swap["account"], "id": swap["account"]}
    title = f"Can you monitor {label(account)} on {show_day(swap['day'])}?"
    if outcome:
        return Card(title, outcome)
    data = {"swap": swap["id"]}
    return Card(
        title,
        f"{ctx.directory.name(swap['from'])} is on duty that day and asks if you can take it instead. "
        "If you accept, the rota will show you on duty that day and you'll get the morning reminder.",
        fields=(("Account", label(account)), ("Day", show_day(swap["day"]))),
        buttons=(
            Button(action="monitoring_rota.swap_accept", label="Accept", data=data, style="primary"),
            Button(action="monitoring_rota.swap_decline", label="Decline", data=data),
        ),
    )


def request_swap(answers: Answers, ctx: Context, out: Outcome) -> None:
    account = account_of(answers["account"], ctx)
    number = ctx.next_id("swaps")
    swap = {
        "account": account["id"],
        "day": answers["day"],
        "from": ctx.actor.id,
        "to": answers["to"],
        "status": "asked",
        "asked_at": ctx.now.isoformat(),
        "decided_at": None,
    }
    swap_id = f"S-{number}"
    swap["id"] = swap_id
    out.put(SWAPS, swap_id, swap, action="swap_asked", after="asked", detail=f"{account['id']} {answers['day']}")
    out.send(person(answers["to"]), swap_card(swap, ctx), key=f"swap:{swap_id}")
    out.tell(
        Card(
            "Swap request sent",
            f"I've asked {ctx.directory.name(answers['to'])} to monitor {label(account)} on "
            f"{show_day(answers['day'])}. You stay on duty unless they accept; I'll tell you their answer.",
        )
    )


def _open_swap(data: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    swap = ctx.get(SWAPS, str(data.get("swap", "")))
    if swap is None:
        raise Expired("I can't find that swap request any more.")
    if swap["to"] != ctx.actor.id:
        raise NotAllowed(f"This swap request was sent to {ctx.directory.name(swap['to'])}, so only they can answer it.")
    if swap["status"] != "asked":
        raise AlreadyDecided(
            f"You already {swap['status']} this request on {when(swap['decided_at'], ctx.settings.school.tz)}, "
            "so nothing was changed."
        )
    if swap["day"] < ctx.today.isoformat():
        raise Expired(f"{show_day(swap['day'])} has already passed, so this request no longer applies.")
    return swap


def swap_accept(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """The colleague takes the day: the rota changes for that date only."""
    swap = _open_swap(data, ctx)
    account = get_account(ctx, swap["account"])
    if account is None or ctx.actor.id not in account.get("runners", ()):
        raise Expired("You no longer run that account, so you can't take this day. Nothing was changed.")
    if on_duty(ctx, account, date.fromisoformat(swap["day"])) != swap["from"]:
        raise Expired(
            f"The rota for {show_day(swap['day'])} has changed since {ctx.directory.name(swap['from'])} asked, "
            "so nothing was changed. Type /rota to see it."
        )
    rota = rota_record(ctx, account["id"])
    version = rota.get("version")
    rota["overrides"][swap["day"]] = ctx.actor.id
    rota.update(updated_by=ctx.actor.id, updated_at=ctx.now.isoformat())
    out.put(
        ROTA,
        account["id"],
        rota,
        action="rota_changed",
        detail=f"swap {swap['id']}: {swap['day']} to {ctx.actor.id}",
        expect_version=version,
    )
    swap.update(status="accepted", decided_at=ctx.now.isoformat())
    out.put(
        SWAPS,
        swap["id"],
        swap,
        action="swap_accepted",
        before="asked",
        after="accepted",
        expect_version=swap["version"],
    )
    done = (
        f"You accepted on {when(ctx.now, ctx.settings.school.tz)}: you are on duty for {label(account)} on "
        f"{show_day(swap['day'])}."
    )
    out.send(person(ctx.actor.id), swap_card(swap, ctx, done), key=f"swap:{swap['id']}", replace=True)
    out.send(
        person(swap["from"]),
        Card(
            "Swap accepted",
            f"{ctx.actor.name} will monitor {label(account)} on {show_day(swap['day'])} instead of you. "
            "The rota has been updated.",
            tone="success",
        ),
    )


def swap_decline(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """The colleague can't: the requester stays on duty and is told."""
    swap = _open_swap(data, ctx)
    swap.update(status="declined", decided_at=ctx.now.isoformat())
    out.put(
        SWAPS,
        swap["id"],
        swap,
        action="swap_declined",
        before="asked",
        after="declined",
        expect_version=swap["version"],
    )
    account = get_account(ctx, swap["account"]) or {"name": swap["account"], "id": swap["account"]}
    out.send(
        person(ctx.actor.id),
        swap_card(swap, ctx, f"You declined on {when(ctx.now, ctx.settings.school.tz)}. Nothing changed."),
        key=f"swap:{swap['id']}",
        replace=True,
    )
    out.send(
        person(swap["from"]),
        Card(
            "Swap declined",
            f"{ctx.actor.name} can't monitor {label(account)} on {show_day(swap['day'])}, "
            "so you are still on duty that day. "
            "You could ask someone else with /swap-duty, or ask an administrator to arrange cover.",
        ),
    )


WORKFLOWS = (
    Workflow(
        name="rota_swap",
        command="swap-duty",
        title="Swap a monitoring day",
        summary="ask someone who runs the same account to take one of your monitoring days",
        aliases=("swap", "swap a day", "swap duty", "rota swap"),
        on_start=swap_start,
        steps=(
            Step(
                key="account", prompt="Which account? Type its number or name.", label="Account", check=check_my_account
            ),
            Step(
                key="day",
                prompt="Which of your days would you like someone to take? (for example tomorrow, Saturday, or 28/11)",
                kind="date",
                label="Day",
                check=check_my_day,
                direction="future",
            ),
            Step(
                key="to",
                prompt="Who would you like to ask? They must also run the account.",
                kind="person",
                label="Ask",
                check=check_colleague,
            ),
        ),
        on_complete=request_swap,
        submit_label="Send the request",
    ),
)

ACTIONS = {
    "monitoring_rota.swap_accept": swap_accept,
    "monitoring_rota.swap_decline": swap_decline,
}
