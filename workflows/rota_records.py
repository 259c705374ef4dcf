"""The monitoring rota's records (table `rota`): who is on duty for an account on a day.

Each account has a weekly pattern ({"mon": person id or None, ...}) and dated overrides
for holidays, absence and swaps ({"2026-12-24": person id or None}). Also: how an account
is named in a rota answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Any

from bot.errors import Expired
from bot.people import fold
from bot.workflow import Answers, Context, Invalid
from workflows.accounts import active_accounts, every_account, get_account, label

ROTA = "rota"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {
    "mon": "Monday",
    "tue": "Tuesday",
    "wed": "Wednesday",
    "thu": "Thursday",
    "fri": "Friday",
    "sat": "Saturday",
    "sun": "Sunday",
}


def account_value(account: Mapping[str, Any]) -> str:
    """How an account answer is kept: its id first, so it can be found again."""
    return f"{account['id']}: {label(account)}"


def account_of(value: str, ctx: Context) -> dict[str, Any]:
    """The account behind an answer kept by `account_value`."""
    account = get_account(ctx, value.split(":", 1)[0].strip())
    if account is None:
        raise Expired("That account is no longer in the register, so nothing was changed.")
    return account


def no_open_accounts(ctx: Context) -> str:
    """Why there is nothing to show: no accounts at all, or only closed ones (the register keeps them)."""
    closed = len(every_account(ctx))
    if not closed:
        return "There are no school accounts in the register yet"
    return (
        f"There is no open school account in the register (the {'one' if closed == 1 else closed} in it "
        f"{'is' if closed == 1 else 'are'} closed)"
    )


def find_account(text: str, ctx: Context, accounts: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """The account someone means by its number in a list, id, handle or name; Invalid if unclear."""
    accounts = active_accounts(ctx) if accounts is None else accounts
    if not accounts:
        raise Invalid(f"{no_open_accounts(ctx)}, so there is nothing to choose. Type cancel to stop.")
    want = fold(text).lstrip("@")
    if want.isdigit() and 1 <= int(want) <= len(accounts):
        return accounts[int(want) - 1]
    ident = want.split(":", 1)[0].strip()
    for acc in accounts:
        if ident == fold(acc["id"]) or want in (fold(acc.get("handle", "")).lstrip("@"), fold(acc["name"])):
            return acc
    partial = [a for a in accounts if want and (want in fold(a["name"]) or want in fold(a.get("handle", "")))]
    if len(partial) == 1:
        return partial[0]
    options = "; ".join(f"{n} {label(a)}" for n, a in enumerate(accounts, 1))
    raise Invalid(f"Please choose an account by number or name: {options}.")


def on_duty(ctx: Context, account: Mapping[str, Any], day: date, rota: Mapping[str, Any] | None = None) -> str | None:
    """The person monitoring `account` on `day`, or None when nobody is.

    `rota` is the account's rota record when the caller holds a newer one than the store.
    """
    rota = rota if rota is not None else ctx.get(ROTA, account["id"]) or {}
    pid = (rota.get("overrides") or {}).get(day.isoformat())
    if pid is None:
        pid = (rota.get("weekly") or {}).get(DAYS[day.weekday()])
    # Someone no longer running the account (or no longer on the staff list) is no cover.
    if not pid or pid not in account.get("runners", ()) or ctx.directory.get(pid) is None:
        return None
    return str(pid)


def within_a_year(value: str, _answers: Answers, ctx: Context) -> str:
    """The reader has refused days gone (the step's direction); this refuses the far future."""
    d = date.fromisoformat(value)
    if d > ctx.today + timedelta(days=366):
        raise Invalid("Please give a date within the next year.")
    return value


def rota_record(ctx: Context, account_id: str) -> dict[str, Any]:
    rota = ctx.get(ROTA, account_id)
    if rota is None:
        return {
            "account": account_id,
            "weekly": dict.fromkeys(DAYS),
            "overrides": {},
            "created_at": ctx.now.isoformat(),
        }
    # Overrides for days gone by are history, not rota.
    today = ctx.today.isoformat()
    rota["overrides"] = {d: p for d, p in (rota.get("overrides") or {}).items() if d >= today}
    return rota
