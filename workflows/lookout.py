"""The weekly look-out for posts about the school made elsewhere (the policy's "Monitoring posts
about The School": "it is considered good practice to pro-actively monitor the Internet for
public postings about The School").

Once a week, on `[monitoring] lookout_day` at `duty_reminder_time` (school time), each person
or role in `[monitoring] lookout` is reminded to search, with the school's search terms and
where to look. One of them records "Done, nothing found", or logs what they found with
/log-post (workflows/mentions.py); either way the week is done, and everyone else's reminder
card says so. The reminder goes once per week and person (key `lookout:<look-out day>:<id>`);
if policybot was not running at its time it goes when it is back, that week, saying it is late.
Until the week is done it waits in /waiting. SLT's digest says whether last week's was done.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from bot.calendar import at_local
from bot.config import WEEKDAYS
from bot.declarations import Reader, Record, Table, moment
from bot.errors import AlreadyDecided, Expired, NotAllowed
from bot.messages import Button, Card, person
from bot.scheduler import last_tick, late_note, missed
from bot.timefmt import day, when
from bot.workflow import Context, Outcome
from workflows.leavers import gone

LOOKOUTS = "lookouts"  # one record per week that was done, keyed by the week's look-out day ("2026-11-30")
WHERE_TO_LOOK = (
    "A web search (news and reviews), local Facebook pages and groups, X, Instagram, TikTok, "
    "local news websites and parents' forums."
)


def lookout_people(ctx: Context) -> list[str]:
    """The ids of everyone `[monitoring] lookout` names ("slt", "admin" or person ids), leavers left out."""
    left = gone(ctx.tx, ctx.today.isoformat())
    found: list[str] = []
    for who in ctx.settings.monitoring.lookout:
        ids = [p.id for p in ctx.directory.members(who)] if who in ("slt", "admin") else [who]
        found += [pid for pid in ids if pid not in found and pid not in left and ctx.directory.get(pid)]
    return found


def _time(week: date, ctx: Context) -> datetime:
    return at_local(week, ctx.settings.monitoring.duty_reminder_time, ctx.settings.school.tz)


def this_week(ctx: Context) -> date:
    """The look-out day of the week now under way: the latest whose reminder time has come."""
    wanted = WEEKDAYS.index(ctx.settings.monitoring.lookout_day)
    week = ctx.today - timedelta(days=(ctx.today.weekday() - wanted) % 7)
    return week if ctx.now >= _time(week, ctx) else week - timedelta(days=7)


def key(week: date | str, pid: str) -> str:
    """The reminder's key, and its card's, for one person and week."""
    return f"lookout:{week}:{pid}"


def result_text(record: Mapping[str, Any], ctx: Context) -> str:
    """'by Priya Shah, Mon 30 Nov 2026, 09:10: nothing found' (or '2 posts logged')."""
    found = len(record.get("mentions", []))
    what = "nothing found" if not found else f"{found} post{'s' if found != 1 else ''} logged"
    return f"by {ctx.directory.name(record['done_by'])}, {when(record['done_at'], ctx.settings.school.tz)}: {what}"


def lookout_card(week: date | str, ctx: Context, note: str = "", record: Mapping[str, Any] | None = None) -> Card:
    """The week's reminder: the search terms, where to look, and its two buttons; once the week is
    done (`record`, its record in `lookouts`), who did it and what they found instead of the buttons."""
    week = date.fromisoformat(str(week))
    terms = ctx.settings.monitoring.search_terms
    fields = (
        ("Search for", "; ".join(f'"{t}"' for t in terms) if terms else f'"{ctx.settings.school.name}"'),
        ("Where to look", WHERE_TO_LOOK),
        ("Week", f"from {day(week)}"),
    )
    if record is not None:
        return Card(
            "This week's look-out: done",
            "The look-out for public posts about the school is recorded for this week. Thank you.",
            fields=(*fields, ("Done", result_text(record, ctx))),
            tone="success",
        )
    body = (
        "Please take a few minutes to search for public posts about the school made elsewhere (not on the "
        "school's own accounts): praise, questions, complaints, worries, or anything misleading or abusive. "
        "Then press a button below. Only one of the people asked needs to do it each week."
    )
    data = {"week": week.isoformat()}
    buttons = (
        Button(action="lookout.nothing", label="Done, nothing found", data=data, style="primary"),
        Button(action="lookout.found", label="Log what I found", data=data),
    )
    return Card("This week's look-out: posts about the school", body + (f"\n{note}" if note else ""), fields, buttons)


# ---- the reminder ---------------------------------------------------------------------


def reminders(ctx: Context) -> Iterable[tuple[str, Outcome]]:
    """On the look-out day, each person on the look-out hears of it once; if policybot was not
    running then, it goes when it is back, later that week, saying it is late."""
    if not ctx.settings.monitoring.lookout:
        return
    week = this_week(ctx)
    scheduled = _time(week, ctx)
    if week != ctx.today and (last_tick(ctx) is None or not missed(scheduled, ctx)):
        return  # a later day of the week: only a reminder policybot was down for goes now
    if ctx.get(LOOKOUTS, week.isoformat()) is not None:
        return  # someone did it already
    note = late_note(scheduled, ctx)
    for pid in lookout_people(ctx):
        k = key(week, pid)
        if ctx.reminded(k):
            continue
        out = Outcome(actor="policybot")
        out.send(person(pid), lookout_card(week, ctx, note), key=k)
        yield k, out


# ---- the buttons ------------------------------------------------------------------------


def _week(data: Mapping[str, Any], ctx: Context) -> date:
    """The week a button names, if the actor is on the look-out."""
    if ctx.actor.id not in lookout_people(ctx):
        raise NotAllowed(
            "Only the people the school asked to do the weekly look-out can record it. "
            "You can still log a post you found with /log-post.",
            why="not on the look-out",
        )
    try:
        week = date.fromisoformat(str(data.get("week", "")))
    except ValueError:
        raise Expired("I can't tell which week that look-out was for. Type /waiting to see this week's.") from None
    if week > ctx.today:
        raise Expired("That look-out is not due yet.")
    return week


def _done(record: dict[str, Any], ctx: Context, out: Outcome, *, before: str | None) -> None:
    """Save the week and bring every copy of its reminder up to date, so nobody does it twice."""
    out.put(
        LOOKOUTS,
        record["id"],
        record,
        action="lookout_done",
        before=before,
        after="done",
        detail=f"{len(record['mentions'])} logged",
        expect_version=record.get("version"),
    )
    for pid in sorted(p for p in {*lookout_people(ctx), ctx.actor.id} if ctx.reminded(key(record["id"], p))):
        out.send(person(pid), lookout_card(record["id"], ctx, record=record), key=key(record["id"], pid), replace=True)


def _new(week: date, ctx: Context) -> dict[str, Any]:
    return {"id": week.isoformat(), "status": "done", "done_by": ctx.actor.id, "done_at": ctx.now.isoformat()}


def nothing(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Done, nothing found: the week is recorded, and the others' cards say so."""
    week = _week(data, ctx)
    record = ctx.get(LOOKOUTS, week.isoformat())
    if record is not None:
        raise AlreadyDecided(f"This week's look-out was already recorded {result_text(record, ctx)}. Thank you.")
    record = {**_new(week, ctx), "mentions": []}
    _done(record, ctx, out, before=None)
    told = "Thank you: nothing found this week is recorded, and SLT will see it in their weekly digest."
    out.tell(Card("Look-out recorded", told, tone="success"))


def found(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Log what I found: /log-post, counted for this week's look-out when it is filed."""
    week = _week(data, ctx)
    out.begin("log_post", {"lookout": week.isoformat()})


def add_found(week: str, mention: str, ctx: Context, out: Outcome) -> None:
    """A post logged from the look-out's button: the week is done (or has one more post)."""
    record = ctx.get(LOOKOUTS, week)
    if record is None:
        _done({**_new(date.fromisoformat(week), ctx), "mentions": [mention]}, ctx, out, before=None)
    else:
        record["mentions"] = [*record.get("mentions", []), mention]
        _done(record, ctx, out, before="done")


# ---- for /waiting and the digest ------------------------------------------------------------------


def waiting(ctx: Context) -> list[tuple[str, str, Card, str]]:
    """This week's look-out while it is not done, for someone it was sent to: (section, line, card, key)."""
    week = this_week(ctx)
    k = key(week, ctx.actor.id)
    if not ctx.reminded(k) or ctx.get(LOOKOUTS, week.isoformat()) is not None:
        return []
    line = f"look-out for posts about the school, week from {day(week)}"
    return [("Weekly look-out", line, lookout_card(week, ctx), k)]


def digest_line(ctx: Context, since: datetime) -> tuple[str, str] | None:
    """Whether the last full week's look-out was done, by whom and with what."""
    week = this_week(ctx)
    if _time(week, ctx) + timedelta(days=7) > ctx.now:
        week -= timedelta(days=7)  # the week under way is not over yet
    record = ctx.get(LOOKOUTS, week.isoformat())
    if record is None and not ctx.settings.monitoring.lookout:
        return None  # the school turned the look-out off
    heading = "Look-out for posts about the school"
    if record is None:
        sent = any(ctx.reminded(key(week, pid)) for pid in lookout_people(ctx))
        return heading, f"Week from {day(week)}: not done" + ("." if sent else " (nobody was reminded that week).")
    return heading, f"Week from {day(week)}: done {result_text(record, ctx)}."


ACTIONS = {"lookout.nothing": nothing, "lookout.found": found}
SCHEDULES = (reminders,)
DIGEST = (digest_line,)


def _retention(record: Record, _records: Reader) -> datetime | None:
    """Kept from when the look-out was done."""
    return moment(record.get("done_at"))


TABLES = (
    Table(
        LOOKOUTS,
        export=True,
        columns=("id", "status", "done_by", "done_at", "mentions"),
        retention=_retention,
        named_by="week",
    ),
)
