"""Monitoring (the policy's section of that name): who monitors each school account on each day.

"School accounts must be monitored regularly and frequently (preferably 7 days a week,
including during holidays)." Each registered account has a weekly pattern of who is on
duty, plus dated overrides for holidays, absence and swaps. Administrators set it in
conversation (/rota-set); anyone can see this week and next (/rota); a runner can ask
another runner of the same account to take a day (/swap-duty), who accepts or declines
with a button. A day in the next seven with nobody on duty alerts the administrators
and SLT, once per account and day; when the day is covered later, that alert is edited
in place to say so, so nobody reads an alert that is no longer true.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from bot.errors import AlreadyDecided, Expired, NotAllowed
from bot.messages import Button, Card, Choice, person, role
from bot.people import fold
from bot.timefmt import day as show_day
from bot.timefmt import when
from bot.workflow import Answers, Command, Context, Invalid, Outcome, Step, Workflow
from workflows.accounts import active_accounts, every_account, get_account, label

ROTA = "rota"
SWAPS = "swaps"
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_NAMES = {"mon": "Monday", "tue": "Tuesday", "wed": "Wednesday", "thu": "Thursday", "fri": "Friday", "sat": "Saturday", "sun": "Sunday"}
GAP_WINDOW_DAYS = 7
# A reminder sent more than this after its time says it is late and why.
LATE_AFTER = timedelta(minutes=15)


# ---- reading the records -------------------------------------------------------


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
    return f"There is no open school account in the register (the {'one' if closed == 1 else closed} in it {'is' if closed == 1 else 'are'} closed)"


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


def missed(scheduled: datetime, ctx: Context) -> bool:
    """True when the scheduler did not run between `scheduled` and now: policybot was down.

    During a tick the engine's stored "last_tick" is the previous tick. With none stored
    (a new store) policybot has never run, so anything scheduled earlier was missed.
    """
    last = (ctx.get("scheduler", "last_tick") or {}).get("at")
    return last is None or datetime.fromisoformat(last) < scheduled


def late_note(scheduled: datetime, ctx: Context) -> str:
    """'' when on time; else a line saying the reminder is late and why.

    A reminder that only became due later (an item logged after its time, a rota set
    after the morning reminder) is not late: the scheduler was running at its time.
    """
    if ctx.now - scheduled <= LATE_AFTER or not missed(scheduled, ctx):
        return ""
    return f"This reminder is late because policybot was not running at {when(scheduled, ctx.settings.school.tz)}. Sorry for the delay."


# ---- the weekly pattern, as people type it ----------------------------------------

_GROUPS = {
    "everyday": DAYS,
    "daily": DAYS,
    "weekdays": DAYS[:5],
    "weekday": DAYS[:5],
    "weekends": DAYS[5:],
    "weekend": DAYS[5:],
}
_EXAMPLE = "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid"


def _day_of(token: str) -> str | None:
    for d in DAYS:
        full = DAY_NAMES[d].lower()
        if token in (d, full, full + "s") or (len(token) >= 3 and full.startswith(token)):
            return d
    return None


def parse_days(text: str) -> list[str]:
    """'Mon-Fri', 'weekends', 'every day', 'Sat and Sun', 'tue, thu' -> day codes."""
    t = fold(text).replace("every day", "everyday").replace("all week", "everyday")
    t = re.sub(r"\s*(?:-|–|\bto\b)\s*", "-", t)
    found: list[str] = []
    for token in (x for x in re.split(r"[,\s&/+]+|\band\b", t) if x):
        if token in _GROUPS:
            days = list(_GROUPS[token])
        elif "-" in token:
            start, _, end = token.partition("-")
            a, b = _day_of(start), _day_of(end)
            if a is None or b is None:
                raise Invalid(f"I couldn't read the days {token!r}. Write them like Mon-Fri, weekends or every day.")
            i, days = DAYS.index(a), []
            while True:
                days.append(DAYS[i])
                if DAYS[i] == b:
                    break
                i = (i + 1) % 7
        else:
            one = _day_of(token)
            if one is None:
                raise Invalid(f"I couldn't read the day {token!r}. Write days like Mon, Tuesday, Mon-Fri, weekends or every day.")
            days = [one]
        found += [d for d in days if d not in found]
    return found


def _runner(text: str, account: Mapping[str, Any], ctx: Context) -> str:
    matches = ctx.directory.match(text)
    runners = [p for p in matches if p.id in account.get("runners", ())]
    if len(runners) == 1:
        return runners[0].id
    names = ", ".join(ctx.directory.name(r) for r in account.get("runners", ()))
    if matches and not runners:
        raise Invalid(f"{matches[0].name} does not run {label(account)}, so can't monitor it. The people who run it are: {names}.")
    if len(runners) > 1:
        raise Invalid(f"{text!r} could be more than one person. Please use their full name ({names}).")
    raise Invalid(f"I couldn't find {text!r}. The people who run {label(account)} are: {names}.")


def parse_pattern(text: str, account: Mapping[str, Any], ctx: Context) -> dict[str, str | None]:
    """'Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid' -> who is on duty each day of the week."""
    pattern: dict[str, str | None] = dict.fromkeys(DAYS)
    chunks = [c.strip() for c in re.split(r"[;\n]", text) if c.strip()]
    if not chunks:
        raise Invalid(f"Please say who is on duty on which days, like: {_EXAMPLE}")
    for chunk in chunks:
        days_part, colon, name = chunk.partition(":")
        if not colon:
            raise Invalid(f"Please put a colon between the days and the name, like: {_EXAMPLE}")
        days = parse_days(days_part)
        pid = None if fold(name) in ("nobody", "no one", "none", "-") else _runner(name.strip(), account, ctx)
        for d in days:
            pattern[d] = pid
    return pattern


def show_pattern(pattern: Mapping[str, str | None], ctx: Context) -> str:
    """The pattern written compactly, in the same form people type it."""
    parts: list[str] = []
    i = 0
    while i < 7:
        j = i
        while j + 1 < 7 and pattern.get(DAYS[j + 1]) == pattern.get(DAYS[i]):
            j += 1
        days = DAYS[i].capitalize() if i == j else f"{DAYS[i].capitalize()}-{DAYS[j].capitalize()}"
        pid = pattern.get(DAYS[i])
        parts.append(f"{days}: {ctx.directory.name(pid) if pid else 'nobody'}")
        i = j + 1
    return "; ".join(parts)


# ---- /rota: this week and next ----------------------------------------------------


def rota_lines(ctx: Context, account: Mapping[str, Any], first: date, days: int, rota: Mapping[str, Any] | None = None) -> list[str]:
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
        out.tell(Card("Monitoring rota", f"{no_open_accounts(ctx)}, so there is no rota. Apply for a new account with /new-account."))
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
    buttons = [Button("conversation.start", "Swap a day", {"workflow": "rota_swap"})]
    if ctx.actor.is_admin:
        buttons.append(Button("conversation.start", "Change the rota", {"workflow": "rota_set"}))
    out.tell(
        Card(
            "Monitoring rota",
            "Who checks each school account for comments, queries and complaints, every day including holidays. To ask someone to take one of your days, type /swap-duty.",
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
        raise Expired(f"{no_open_accounts(ctx)}, so there is no rota to set. Accounts join the register once SLT approve an application (/new-account).")
    if len(accounts) == 1:
        answers["account"] = account_value(accounts[0])
        out.tell(Card("Monitoring rota", f"Setting the rota for {label(accounts[0])}, the only account in the register.\n{_list_accounts(ctx, accounts)}"))
        return
    out.tell(Card("Monitoring rota", "The school's accounts:\n" + _list_accounts(ctx, accounts)))


def check_account(value: str, _answers: Answers, ctx: Context) -> str:
    return account_value(find_account(value, ctx))


def check_pattern(value: str, answers: Answers, ctx: Context) -> str:
    account = account_of(answers["account"], ctx)
    return show_pattern(parse_pattern(value, account, ctx), ctx)


def within_a_year(value: str, _answers: Answers, ctx: Context) -> str:
    """The reader has refused days gone (the step's direction); this refuses the far future."""
    d = date.fromisoformat(value)
    if d > ctx.today + timedelta(days=366):
        raise Invalid("Please give a date within the next year.")
    return value


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
        raise Invalid(f"{ctx.directory.name(value)} does not run {label(account)}, so can't monitor it. Please choose one of: {names}.")
    return value


def _rota_record(ctx: Context, account_id: str) -> dict[str, Any]:
    rota = ctx.get(ROTA, account_id)
    if rota is None:
        return {"account": account_id, "weekly": dict.fromkeys(DAYS), "overrides": {}, "created_at": ctx.now.isoformat()}
    # Overrides for days gone by are history, not rota.
    today = ctx.today.isoformat()
    rota["overrides"] = {d: p for d, p in (rota.get("overrides") or {}).items() if d >= today}
    return rota


def save_rota(answers: Answers, ctx: Context, out: Outcome) -> None:
    """File the administrator's change and show the next two weeks."""
    ctx.require("admin", "change the monitoring rota")
    account = account_of(answers["account"], ctx)
    rota = _rota_record(ctx, account["id"])
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
    out.tell(Card(f"Rota saved: {label(account)}", f"Saved ({detail}). The next two weeks:\n" + "\n".join(lines) + note, tone="success"))


# ---- /swap-duty: a runner asks another runner to take a day -----------------------


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
        raise Invalid(f"You are not on duty for {label(account)} on {show_day(value)} ({now_on} is). Please give one of your own days; type /rota to see them.")
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
        f"{ctx.directory.name(swap['from'])} is on duty that day and asks if you can take it instead. If you accept, the rota will show you on duty that day and you'll get the morning reminder.",
        fields=(("Account", label(account)), ("Day", show_day(swap["day"]))),
        buttons=(Button("monitoring_rota.swap_accept", "Accept", data, "primary"), Button("monitoring_rota.swap_decline", "Decline", data)),
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
            f"I've asked {ctx.directory.name(answers['to'])} to monitor {label(account)} on {show_day(answers['day'])}. You stay on duty unless they accept; I'll tell you their answer.",
        )
    )


def _open_swap(data: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    swap = ctx.get(SWAPS, str(data.get("swap", "")))
    if swap is None:
        raise Expired("I can't find that swap request any more.")
    if swap["to"] != ctx.actor.id:
        raise NotAllowed(f"This swap request was sent to {ctx.directory.name(swap['to'])}, so only they can answer it.")
    if swap["status"] != "asked":
        raise AlreadyDecided(f"You already {swap['status']} this request on {when(swap['decided_at'], ctx.settings.school.tz)}, so nothing was changed.")
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
        raise Expired(f"The rota for {show_day(swap['day'])} has changed since {ctx.directory.name(swap['from'])} asked, so nothing was changed. Type /rota to see it.")
    rota = _rota_record(ctx, account["id"])
    version = rota.get("version")
    rota["overrides"][swap["day"]] = ctx.actor.id
    rota.update(updated_by=ctx.actor.id, updated_at=ctx.now.isoformat())
    out.put(ROTA, account["id"], rota, action="rota_changed", detail=f"swap {swap['id']}: {swap['day']} to {ctx.actor.id}", expect_version=version)
    swap.update(status="accepted", decided_at=ctx.now.isoformat())
    out.put(SWAPS, swap["id"], swap, action="swap_accepted", before="asked", after="accepted", expect_version=swap["version"])
    done = f"You accepted on {when(ctx.now, ctx.settings.school.tz)}: you are on duty for {label(account)} on {show_day(swap['day'])}."
    out.send(person(ctx.actor.id), swap_card(swap, ctx, done), key=f"swap:{swap['id']}", replace=True)
    out.send(
        person(swap["from"]),
        Card("Swap accepted", f"{ctx.actor.name} will monitor {label(account)} on {show_day(swap['day'])} instead of you. The rota has been updated.", tone="success"),
    )


def swap_decline(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """The colleague can't: the requester stays on duty and is told."""
    swap = _open_swap(data, ctx)
    swap.update(status="declined", decided_at=ctx.now.isoformat())
    out.put(SWAPS, swap["id"], swap, action="swap_declined", before="asked", after="declined", expect_version=swap["version"])
    account = get_account(ctx, swap["account"]) or {"name": swap["account"], "id": swap["account"]}
    out.send(person(ctx.actor.id), swap_card(swap, ctx, f"You declined on {when(ctx.now, ctx.settings.school.tz)}. Nothing changed."), key=f"swap:{swap['id']}", replace=True)
    out.send(
        person(swap["from"]),
        Card(
            "Swap declined",
            f"{ctx.actor.name} can't monitor {label(account)} on {show_day(swap['day'])}, so you are still on duty that day. "
            "You could ask someone else with /swap-duty, or ask an administrator to arrange cover.",
        ),
    )


# ---- the scheduler: gaps in the next seven days -------------------------------------

# Each gap alert sent: its account, the days it listed and the days still without anyone,
# so that a card sent earlier is brought up to date (in place) once a gap is filled, and
# nobody reads an alert that is no longer so.
GAP_ALERTS = "rota_gap_alerts"


def _gap_card(account: Mapping[str, Any], open_days: list[date], filled: list[date], gone: list[date], ctx: Context) -> Card:
    """The alert as things stand now: the days still without anyone, those since covered, and
    those that went by with nobody on the rota."""
    lines = []
    if filled:
        lines.append(f"Now covered: {', '.join(show_day(d) for d in filled)}.")
    if gone:
        lines.append(f"Nobody was on the rota on: {', '.join(show_day(d) for d in gone)}.")
    if not open_days:
        every = "every day still to come" if gone else "every day listed"
        lines.append(f"Updated {when(ctx.now, ctx.settings.school.tz)}: the rota now has someone on duty on {every}. Nothing more is needed.")
        return Card(f"Filled: {label(account)} has someone monitoring on {every}", "\n".join(lines), tone="success")
    days = ", ".join(show_day(d) for d in open_days)
    return Card(
        f"Nobody is monitoring {label(account)} on {len(open_days)} day(s)",
        "\n".join(
            [
                f"Nobody is on the rota to monitor {label(account)} on: {days}.",
                *lines,
                "The policy asks for school accounts to be monitored every day, including holidays, so comments and complaints get a reply within 24 hours. "
                "An administrator can fill the gap with /rota-set.",
            ]
        ),
        buttons=(Button("conversation.start", "Set the rota", {"workflow": "rota_set"}),),
        tone="warning",
    )


def refresh_gap_alerts(ctx: Context, out: Outcome, account: Mapping[str, Any], rota: Mapping[str, Any] | None = None) -> bool:
    """Bring the open gap alerts of `account` up to date with the rota (`rota` when the caller
    holds a newer one than the store): a day covered since is shown as covered, in place, on
    every copy. True if a card changed. An alert whose days have all gone by is forgotten."""
    changed = False
    for alert in ctx.find(GAP_ALERTS, account=account["id"], open=True):
        days = [date.fromisoformat(d) for d in alert["days"]]
        known = set(alert.get("filled_days", []))
        if all(d < ctx.today for d in days):
            out.delete(GAP_ALERTS, alert["id"])
            continue
        covered_now = [d for d in days if d >= ctx.today and d.isoformat() not in known and on_duty(ctx, account, d, rota) is not None]
        if not covered_now:
            continue  # nothing new to say: days going by unfilled are not news to anyone
        changed = True
        known |= {d.isoformat() for d in covered_now}
        still = [d for d in days if d >= ctx.today and d.isoformat() not in known]
        gone = [d for d in days if d < ctx.today and d.isoformat() not in known]
        doc = {k: v for k, v in alert.items() if k not in ("id", "version")}
        doc.update(filled_days=sorted(known), open=bool(still), updated_at=ctx.now.isoformat())
        out.put(GAP_ALERTS, alert["id"], doc, expect_version=alert.get("version"))
        card = _gap_card(account, still, [d for d in days if d.isoformat() in known and d >= ctx.today], gone, ctx)
        out.send(role("admins"), card, key=alert["id"], replace=True)
        out.send(role("slt"), card, key=alert["id"], replace=True)
    return changed


def rota_gaps(ctx: Context) -> Iterable[tuple[str, Outcome]]:
    """Alert administrators and SLT to days with nobody on duty, once per account and day; bring
    earlier alerts up to date when their days have been covered since."""
    window = [ctx.today + timedelta(days=n) for n in range(GAP_WINDOW_DAYS)]
    accounts = active_accounts(ctx)
    live = {a["id"] for a in accounts}
    for alert in ctx.where(GAP_ALERTS, lambda a: a.get("open") and a["account"] not in live):
        # The account was closed: its gaps need nobody now, and the alert says so.
        account = get_account(ctx, alert["account"]) or {"id": alert["account"], "name": alert["account"]}
        out = Outcome(actor="policybot")
        out.delete(GAP_ALERTS, alert["id"])
        card = Card(f"Closed: {label(account)}", f"{label(account)} is no longer an open school account, so these days need nobody to monitor it. Nothing more is needed.", tone="info")
        out.send(role("admins"), card, key=alert["id"], replace=True)
        out.send(role("slt"), card, key=alert["id"], replace=True)
        yield f"rota-gap-closed:{alert['id']}", out
    for account in accounts:
        rota = ctx.get(ROTA, account["id"]) or {}  # read once, not once a day
        update = Outcome(actor="policybot")
        refresh_gap_alerts(ctx, update, account, rota)
        if update.writes:
            # Keyed by the alert records' versions: one state of them is brought up to date once.
            versions = ",".join(f"{a['id']}@{a.get('version')}" for a in ctx.find(GAP_ALERTS, account=account["id"], open=True))
            yield f"rota-gap-update:{account['id']}:{versions}", update
        empty = [d for d in window if on_duty(ctx, account, d, rota) is None]
        keys = ((f"rota-gap:{account['id']}:{d.isoformat()}", d) for d in empty)
        gaps = [(key, d) for key, d in keys if not ctx.reminded(key)]
        if not gaps:
            continue
        alert_id = f"rota-gap-alert:{account['id']}:{gaps[0][1].isoformat()}"
        card = _gap_card(account, [d for _, d in gaps], [], [], ctx)
        # One message lists every new gap; each day's key is marked so it is never repeated.
        for i, (key, _d) in enumerate(gaps):
            out = Outcome(actor="policybot")
            if i == 0:
                days = [d.isoformat() for _, d in gaps]
                out.put(GAP_ALERTS, alert_id, {"account": account["id"], "days": days, "filled_days": [], "open": True, "sent_at": ctx.now.isoformat()})
                out.send(role("admins"), card, key=alert_id)
                out.send(role("slt"), card, key=alert_id)
            yield key, out


ACCOUNT_STEP = Step("account", "Which account? Type its number from the list, or its name.", label="Account", check=check_account)

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
                "change",
                "What would you like to change?",
                "choice",
                "What to change",
                (Choice("weekly", "The weekly pattern"), Choice("dates", "Cover for particular dates (holidays, absence)")),
            ),
            Step(
                "pattern",
                f"Who is on duty on which days of the week? For example: {_EXAMPLE}",
                label="Weekly pattern",
                check=check_pattern,
                when=lambda a: a.get("change") == "weekly",
                help="Separate groups with ';'. Days can be written Mon, Tuesday, Mon-Fri, weekdays, weekends or every day. Only people who run the account can be on its rota.",
            ),
            Step(
                "first_day",
                "Which is the first day of cover? (for example tomorrow, Monday, or 24/12)",
                "date",
                "First day",
                check=within_a_year,
                when=lambda a: a.get("change") == "dates",
                direction="future",
            ),
            Step(
                "last_day",
                "And the last day? (type skip if it is just one day)",
                "date",
                "Last day",
                check=check_last_day,
                when=lambda a: a.get("change") == "dates",
                optional=True,
                direction="future",
            ),
            Step("cover", "Who will monitor the account on those days?", "person", "On duty", check=check_cover, when=lambda a: a.get("change") == "dates"),
        ),
        on_complete=save_rota,
        submit_label="Save the rota",
    ),
    Workflow(
        name="rota_swap",
        command="swap-duty",
        title="Swap a monitoring day",
        summary="ask someone who runs the same account to take one of your monitoring days",
        aliases=("swap", "swap a day", "swap duty", "rota swap"),
        on_start=swap_start,
        steps=(
            Step("account", "Which account? Type its number or name.", label="Account", check=check_my_account),
            Step("day", "Which of your days would you like someone to take? (for example tomorrow, Saturday, or 28/11)", "date", "Day", check=check_my_day, direction="future"),
            Step("to", "Who would you like to ask? They must also run the account.", "person", "Ask", check=check_colleague),
        ),
        on_complete=request_swap,
        submit_label="Send the request",
    ),
)

COMMANDS = (Command("rota", "see who is monitoring each school account this week and next", show_rota, aliases=("monitoring rota", "who is on duty")),)

ACTIONS = {
    "monitoring_rota.swap_accept": swap_accept,
    "monitoring_rota.swap_decline": swap_decline,
}

SCHEDULES = (rota_gaps,)
