"""The scheduler: each tick, whatever is due now is worked out from the stored records and
sent, each reminder once only.

A schedule (a workflow module's `SCHEDULES`, and the conversation machine's nudges and
expiry) returns (key, outcome) pairs for what is due; a key already in `reminders` is
skipped, so a restart neither loses nor repeats a reminder, and a bot that was down
catches up on its next tick. The scheduler's own record, `scheduler`, holds when it last
ran, so a reminder can say whether it is late because policybot was not running.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from bot import outbox
from bot.config import Person, Settings
from bot.messages import Outbound
from bot.people import Directory
from bot.store import Store
from bot.timefmt import when
from bot.workflow import REMINDERS, Context, Schedule

SCHEDULER = "scheduler"
EVENTS = "events"  # platform event ids already handled (a retry is ignored), forgotten after EVENTS_KEEP
EVENTS_KEEP = timedelta(days=2)
# A sent reminder's key is kept this long, then forgotten (once a day), so years of daily
# reminders do not pile up in the store. Every key that names a day or a week is long past
# by then; one whose cause still stands (a comment still without a reply, a policy still
# unread after three months) is sent once more, which is what SLT would want.
REMINDER_KEEP_DAYS = 90
SYSTEM = Person(id="policybot", name="policybot")
# A reminder sent more than this after its time says it is late and why.
LATE_AFTER = timedelta(minutes=15)


class Scheduler:
    """Runs the ticks: every schedule, in one transaction per tick.

    `schedules` are the conversation machine's and the workflow modules'; `begin` starts a
    conversation an outcome begins (`Conversations.begin`).
    """

    def __init__(
        self, settings: Settings, store: Store, directory: Directory, schedules: Sequence[Schedule], begin: outbox.Begin
    ) -> None:
        self.settings = settings
        self.store = store
        self.directory = directory
        self.schedules = schedules
        self.begin = begin
        self.reminded = 0  # reminders sent since this process started (for metrics)

    async def tick(self, now: datetime) -> list[Outbound]:
        """Send whatever is due now, each reminder once only (keys in `reminders`)."""
        sent: list[Outbound] = []
        keys = 0
        async with self.store.transaction() as tx:
            ctx = Context(SYSTEM, now, self.settings, self.directory, tx, "scheduler")
            self._forget_old_reminders(ctx)  # first, so one whose cause still stands goes again at once
            due = []
            for schedule in self.schedules:
                due.extend(schedule(ctx))
            for key, out in due:
                if ctx.reminded(key):
                    continue
                tx.put(REMINDERS, key, {"at": now.isoformat()})
                keys += 1
                sent.extend(outbox.apply(out, tx, ctx, self.begin))
            outbox.queue(tx, sent, now)
            old = now - EVENTS_KEEP
            for ev in tx.where(EVENTS, lambda e: _before(e, old)):
                tx.delete(EVENTS, ev["id"])
            last = (tx.get(SCHEDULER, "last_tick") or {}).get("at")
            if last is None or datetime.fromisoformat(last) < now:
                tx.put(SCHEDULER, "last_tick", {"at": now.isoformat()})
        self.reminded += keys  # once committed
        return sent

    def _forget_old_reminders(self, ctx: Context) -> None:
        """On the first tick of each day, forget reminder keys older than REMINDER_KEEP_DAYS."""
        tx, today = ctx.tx, ctx.today.isoformat()
        if (tx.get(SCHEDULER, "reminders_forgotten") or {}).get("day") == today:
            return
        cutoff = ctx.now - timedelta(days=REMINDER_KEEP_DAYS)
        for reminder in tx.where(REMINDERS, lambda r: _before(r, cutoff)):
            tx.delete(REMINDERS, reminder["id"])
        tx.put(SCHEDULER, "reminders_forgotten", {"day": today})


def weekly_slot(ctx: Context) -> str | None:
    """'2026-W49' on Mondays from 08:00 school time, else None (weekly reminders go then)."""
    now = ctx.local_now
    if now.weekday() != 0 or now.hour < 8:
        return None
    year, week, _ = now.isocalendar()
    return f"{year}-W{week:02d}"


def daily_slot(ctx: Context) -> str | None:
    """'2026-11-26' from 08:00 school time each day, else None (daily reminders go then)."""
    now = ctx.local_now
    return now.date().isoformat() if now.hour >= 8 else None


def last_tick(ctx: Context) -> datetime | None:
    """When the scheduler last ran; during a tick, the tick before it. None for a new store."""
    last = (ctx.get(SCHEDULER, "last_tick") or {}).get("at")
    return datetime.fromisoformat(last) if last else None


def missed(scheduled: datetime, ctx: Context) -> bool:
    """True when the scheduler did not run between `scheduled` and now: policybot was down.

    With no tick stored (a new store) policybot has never run, so anything scheduled
    earlier was missed.
    """
    last = last_tick(ctx)
    return last is None or last < scheduled


def late_note(scheduled: datetime, ctx: Context) -> str:
    """'' when on time; else a line saying the reminder is late and why.

    A reminder that only became due later (an item logged after its time, a rota set
    after the morning reminder) is not late: the scheduler was running at its time.
    """
    if ctx.now - scheduled <= LATE_AFTER or not missed(scheduled, ctx):
        return ""
    return (
        f"This reminder is late because policybot was not running at {when(scheduled, ctx.settings.school.tz)}. "
        "Sorry for the delay."
    )


def _before(record: dict[str, Any], cutoff: datetime) -> bool:
    """True when the record's "at" time is before `cutoff`; one without a readable time is kept."""
    try:
        return datetime.fromisoformat(record["at"]) < cutoff
    except (KeyError, TypeError, ValueError):
        return False
