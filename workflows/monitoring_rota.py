"""Monitoring (the policy's section of that name): who monitors each school account on each day.

"School accounts must be monitored regularly and frequently (preferably 7 days a week,
including during holidays)." Each registered account has a weekly pattern of who is on
duty, plus dated overrides for holidays, absence and swaps. Administrators set it in
conversation (/rota-set); anyone can see this week and next (/rota).

The rest of the rota has its own rooms: the records and who is on duty (rota_records.py),
the typed weekly pattern (rota_pattern.py), swaps between runners (rota_swaps.py) and
alerts for days with nobody on duty (rota_gaps.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from bot.errors import Expired
from bot.messages import Button, Card, Choice
from bot.timefmt import day as show_day
from bot.workflow import Answers, Command, Context, Invalid, Outcome, Step, Workflow
from workflows.accounts import active_accounts, label
from workflows.rota_gaps import refresh_gap_alerts
from workflows.rota_pattern import EXAMPLE, parse_pattern, show_pattern
from workflows.rota_records import (
    ROTA,
    account_of,
    account_value,
    find_account,
    no_open_accounts,
    on_duty,
    rota_record,
    within_a_year,
)

# ---- /rota: this week and next ----------------------------------------------------


def rota_lines(
    ctx: Context, account: Mapping[str, Any], first: date, days: int, rota: Mapping[str, Any] | None = None
) -> list[str]:
    rota = rota if rota is not None else ctx.get(ROTA, account["id"]) or {}
    overrides = rota.get("overrides") or {}
    today = ctx.today
    lines = []
    for n in range(days):
        d = first + timedelta(days=n)
        pid = on_duty(ctx, account, d, rota)
        who = ctx.directory.name(pid) if pid else "NOBODY ON DUTY - please tell an administrator"
        if pid and d.isoformat() in overrides:
            who += " (changed for this day)"
        mark = " (today)" if d == today else ""
        lines.append(f"{show_day(d)}{mark}: {who}")
    return lines


def show_rota(text: str, ctx: Context, out: Outcome) -> None:
    """Who is on duty this week and next, for every account (or the one named)."""
    accounts = active_accounts(ctx)
    if not accounts:
        out.tell(
            Card(
                "Monitoring rota",
                f"{no_open_accounts(ctx)}, so there is no rota. Apply for a new account with /new-account.",
            )
        )
        return
    if text.strip():
        try:
            accounts = [find_account(text, ctx, accounts)]
        except Invalid as problem:
            out.tell(Card("Monitoring rota", str(problem), tone="warning"))
            return
    today = ctx.today
    monday = today - timedelta(days=today.weekday())
    fields = []
    for acc in accounts:
        lines = rota_lines(ctx, acc, monday, 7)
        nxt = rota_lines(ctx, acc, monday + timedelta(days=7), 7)
        fields.append((f"{label(acc)} - this week", "\n".join(lines)))
        fields.append((f"{label(acc)} - next week", "\n".join(nxt)))
    buttons = [Button(action="conversation.start", label="Swap a day", data={"workflow": "rota_swap"})]
    if ctx.actor.is_admin:
        buttons.append(Button(action="conversation.start", label="Change the rota", data={"workflow": "rota_set"}))
    out.tell(
        Card(
            "Monitoring rota",
            "Who checks each school account for comments, queries and complaints, every day including holidays. "
            "To ask someone to take one of your days, type /swap-duty.",
            fields=tuple(fields),
            buttons=tuple(buttons),
        )
    )


# ---- /rota-set: administrators set the pattern or cover for dates -------------------


def _list_accounts(ctx: Context, accounts: list[dict[str, Any]]) -> str:
    lines = []
    for n, acc in enumerate(accounts, 1):
        rota = ctx.get(ROTA, acc["id"]) or {}
        pattern = show_pattern(rota["weekly"], ctx) if rota.get("weekly") else "no rota yet"
        runners = ", ".join(ctx.directory.name(r) for r in acc.get("runners", ()))
        lines.append(f"{n}. {label(acc)} - run by {runners}. Rota: {pattern}")
    return "\n".join(lines)


def set_start(answers: Answers, ctx: Context, out: Outcome) -> None:
    accounts = active_accounts(ctx)
    if not accounts:
        raise Expired(
            f"{no_open_accounts(ctx)}, so there is no rota to set. "
            "Accounts join the register once SLT approve an application (/new-account)."
        )
    if len(accounts) == 1:
        answers["account"] = account_value(accounts[0])
        out.tell(
            Card(
                "Monitoring rota",
                f"Setting the rota for {label(accounts[0])}, the only account in the register.\n"
                f"{_list_accounts(ctx, accounts)}",
            )
        )
        return
    out.tell(Card("Monitoring rota", "The school's accounts:\n" + _list_accounts(ctx, accounts)))


def check_account(value: str, _answers: Answers, ctx: Context) -> str:
    return account_value(find_account(value, ctx))


def check_pattern(value: str, answers: Answers, ctx: Context) -> str:
    account = account_of(answers["account"], ctx)
    return show_pattern(parse_pattern(value, account, ctx), ctx)


def check_last_day(value: str, answers: Answers, ctx: Context) -> str:
    if value and value < answers["first_day"]:
        raise Invalid(f"The last day must be on or after the first day ({show_day(answers['first_day'])}).")
    if value and date.fromisoformat(value) - date.fromisoformat(answers["first_day"]) > timedelta(days=92):
        raise Invalid("Please cover at most three months at a time, or change the weekly pattern instead.")
    return value


def check_cover(value: str, answers: Answers, ctx: Context) -> str:
    account = account_of(answers["account"], ctx)
    if value not in account.get("runners", ()):
        names = ", ".join(ctx.directory.name(r) for r in account.get("runners", ()))
        raise Invalid(
            f"{ctx.directory.name(value)} does not run {label(account)}, so can't monitor it. "
            f"Please choose one of: {names}."
        )
    return value


def save_rota(answers: Answers, ctx: Context, out: Outcome) -> None:
    """File the administrator's change and show the next two weeks."""
    ctx.require("admin", "change the monitoring rota")
    account = account_of(answers["account"], ctx)
    rota = rota_record(ctx, account["id"])
    version = rota.get("version")
    if answers["change"] == "weekly":
        rota["weekly"] = parse_pattern(answers["pattern"], account, ctx)
        detail = f"weekly pattern: {show_pattern(rota['weekly'], ctx)}"
    else:
        first = date.fromisoformat(answers["first_day"])
        last = date.fromisoformat(answers.get("last_day") or answers["first_day"])
        d = first
        while d <= last:
            rota["overrides"][d.isoformat()] = answers["cover"]
            d += timedelta(days=1)
        span = show_day(first) if first == last else f"{show_day(first)} to {show_day(last)}"
        detail = f"{span}: {ctx.directory.name(answers['cover'])}"
    rota.update(updated_by=ctx.actor.id, updated_at=ctx.now.isoformat())
    out.put(ROTA, account["id"], rota, action="rota_changed", detail=detail, expect_version=version)
    lines = rota_lines(ctx, account, ctx.today, 14, rota)
    updated = refresh_gap_alerts(ctx, out, account, rota)
    note = "\nThe gap alert sent to administrators and SLT has been updated to match." if updated else ""
    out.tell(
        Card(
            f"Rota saved: {label(account)}",
            f"Saved ({detail}). The next two weeks:\n" + "\n".join(lines) + note,
            tone="success",
        )
    )


ACCOUNT_STEP = Step(
    key="account",
    prompt="Which account? Type its number from the list, or its name.",
    label="Account",
    check=check_account,
)

WORKFLOWS = (
    Workflow(
        name="rota_set",
        command="rota-set",
        title="Set the monitoring rota",
        summary="set who monitors each school account on which days (administrators)",
        aliases=("set rota", "change rota", "set the rota"),
        role="admin",
        on_start=set_start,
        steps=(
            ACCOUNT_STEP,
            Step(
                key="change",
                prompt="What would you like to change?",
                kind="choice",
                label="What to change",
                choices=(
                    Choice("weekly", "The weekly pattern"),
                    Choice("dates", "Cover for particular dates (holidays, absence)"),
                ),
            ),
            Step(
                key="pattern",
                prompt=f"Who is on duty on which days of the week? For example: {EXAMPLE}",
                label="Weekly pattern",
                check=check_pattern,
                when=lambda a: a.get("change") == "weekly",
                help=(
                    "Separate groups with ';'. Days can be written Mon, Tuesday, Mon-Fri, weekdays, "
                    "weekends or every day. Only people who run the account can be on its rota."
                ),
            ),
            Step(
                key="first_day",
                prompt="Which is the first day of cover? (for example tomorrow, Monday, or 24/12)",
                kind="date",
                label="First day",
                check=within_a_year,
                when=lambda a: a.get("change") == "dates",
                direction="future",
            ),
            Step(
                key="last_day",
                prompt="And the last day? (type skip if it is just one day)",
                kind="date",
                label="Last day",
                check=check_last_day,
                when=lambda a: a.get("change") == "dates",
                optional=True,
                direction="future",
            ),
            Step(
                key="cover",
                prompt="Who will monitor the account on those days?",
                kind="person",
                label="On duty",
                check=check_cover,
                when=lambda a: a.get("change") == "dates",
            ),
        ),
        on_complete=save_rota,
        submit_label="Save the rota",
    ),
)

COMMANDS = (
    Command(
        "rota",
        "see who is monitoring each school account this week and next",
        show_rota,
        aliases=("monitoring rota", "who is on duty"),
    ),
)
