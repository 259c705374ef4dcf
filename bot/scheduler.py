"""The scheduler: each tick, whatever is due now is worked out from the stored records and
sent, each reminder once only.

A schedule (a workflow module's `SCHEDULES`, and the conversation machine's nudges and
expiry) returns (key, outcome) pairs for what is due; a key already in `reminders` is
skipped, so a restart neither loses nor repeats a reminder, and a bot that was down
catches up on its next tick. The scheduler's own record, `scheduler`, holds when it last
ran, so a reminder can say whether it is late because policybot was not running.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from bot import outbox
from bot.config import Person, Settings
from bot.conversation import Conversations
from bot.messages import Outbound
from bot.people import Directory
from bot.registry import Registry
from bot.store import Store
from bot.workflow import REMINDERS, Context

SCHEDULER = "scheduler"
EVENTS = "events"  # platform event ids already handled (a retry is ignored), forgotten after EVENTS_KEEP
EVENTS_KEEP = timedelta(days=2)
# A sent reminder's key is kept this long, then forgotten (once a day), so years of daily
# reminders do not pile up in the store. Every key that names a day or a week is long past
# by then; one whose cause still stands (a comment still without a reply, a policy still
# unread after three months) is sent once more, which is what SLT would want.
REMINDER_KEEP_DAYS = 90
SYSTEM = Person(id="policybot", name="policybot")


class Scheduler:
    """Runs the ticks: every registered schedule, in one transaction per tick."""

    def __init__(self, settings: Settings, store: Store, registry: Registry, directory: Directory, conversations: Conversations) -> None:
        self.settings = settings
        self.store = store
        self.registry = registry
        self.directory = directory
        self.conversations = conversations

    async def tick(self, now: datetime) -> list[Outbound]:
        """Send whatever is due now, each reminder once only (keys in `reminders`)."""
        sent: list[Outbound] = []
        async with self.store.transaction() as tx:
            ctx = Context(SYSTEM, now, self.settings, self.directory, tx, "scheduler")
            self._forget_old_reminders(ctx)  # first, so one whose cause still stands goes again at once
            due = list(self.conversations.reminders(ctx))
            for schedule in self.registry.schedules:
                due.extend(schedule(ctx))
            for key, out in due:
                if ctx.reminded(key):
                    continue
                tx.put(REMINDERS, key, {"at": now.isoformat()})
                sent.extend(outbox.apply(out, ctx, self.conversations))
            outbox.queue(tx, sent, now)
            old = now - EVENTS_KEEP
            for ev in tx.where(EVENTS, lambda e: _before(e, old)):
                tx.delete(EVENTS, ev["id"])
            last = (tx.get(SCHEDULER, "last_tick") or {}).get("at")
            if last is None or datetime.fromisoformat(last) < now:
                tx.put(SCHEDULER, "last_tick", {"at": now.isoformat()})
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


def _before(record: dict[str, Any], cutoff: datetime) -> bool:
    """True when the record's "at" time is before `cutoff`; one without a readable time is kept."""
    try:
        return datetime.fromisoformat(record["at"]) < cutoff
    except (KeyError, TypeError, ValueError):
        return False
