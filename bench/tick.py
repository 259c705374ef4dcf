"""Scheduler benchmark: one tick with 200 school accounts and a year of logged items.

Run by hand:  python bench/tick.py   (prints a table; takes under a minute)

A tick derives everything due from the records: conversation reminders, rota gaps, the
daily duty reminders, reply reminders and escalations, incident chasing, leavers, policy
reminders and the SLT digest. The first tick of the day sends the duty reminders; the
ticks after it (every 30 seconds in `policybot serve`) find them already sent.

A week of mornings: the store is opened at 07:55, then each day has its first tick at
08:05 and twenty more 30 seconds apart, with the garbage collector set up as in serve.
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from adapters.platforms import load_config
from adapters.serve_command import settle_memory
from bot.clock import Clock
from bot.core import Core
from bot.store import Store

ACCOUNTS = 200
ITEMS_PER_DAY = 20  # across the whole school
NOW = datetime(2026, 11, 25, 8, 5, tzinfo=UTC)  # a Wednesday, just after the 08:00 duty reminders are due
DAYS = 7  # a week of mornings, Monday's SLT digest included
LATER = 20  # ticks every 30 s after each morning's first


async def seed(store: Store) -> int:
    runners = ["eclarke", "treid", "jbennett"]
    async with store.transaction() as tx:
        for n in range(1, ACCOUNTS + 1):
            acc = f"ACC-{n}"
            tx.put(
                "accounts",
                acc,
                {
                    "platform": "facebook",
                    "platform_label": "Facebook",
                    "name": f"Club {n}",
                    "handle": f"@club{n}",
                    "status": "active",
                    "runners": runners[:2] if n % 2 else runners[1:],
                    "credentials_location": "safe",
                    "created_at": "2025-09-01T09:00:00+00:00",
                },
            )
            tx.put(
                "rota",
                acc,
                {
                    "account": acc,
                    "weekly": {
                        "mon": "treid",
                        "tue": "treid",
                        "wed": "treid",
                        "thu": "treid",
                        "fri": "treid",
                        "sat": "treid",
                        "sun": "treid",
                    },
                    "overrides": {},
                },
            )
    items = 0
    day = NOW - timedelta(days=365)
    while day < NOW:
        async with store.transaction() as tx:
            for k in range(ITEMS_PER_DAY):
                items += 1
                received = day + timedelta(minutes=37 * k)
                open_ = received > NOW - timedelta(hours=20)
                tx.put(
                    "items",
                    f"IT-{items}",
                    {
                        "account": f"ACC-{1 + items % ACCOUNTS}",
                        "kind": "comment",
                        "source": "parent",
                        "summary": "A question about the trip",
                        "abusive": False,
                        "received_at": received.isoformat(),
                        "due_at": (received + timedelta(hours=24)).isoformat(),
                        "status": "open" if open_ else "replied",
                        "logged_by": "eclarke",
                        "replied_by": None if open_ else "treid",
                        "replied_at": None if open_ else (received + timedelta(hours=3)).isoformat(),
                    },
                )
                tx.audit("eclarke", "item_logged", f"items/IT-{items}")
        day += timedelta(days=1)
    return items


async def main() -> None:
    folder = tempfile.mkdtemp(prefix="policybot-tick-")
    store = Store(folder)
    items = await seed(store)
    # Opened just before the morning reminders, with the collector set up as `policybot serve` sets it.
    core = Core(load_config(None), store, Clock(NOW - timedelta(minutes=10)))
    settle_memory()
    t = time.perf_counter()
    await core.tick()
    opening_ms = (time.perf_counter() - t) * 1000
    firsts: dict[str, float] = {}
    later = []
    for day in range(DAYS):
        core.clock.advance(NOW + timedelta(days=day) - core.clock.now())
        t = time.perf_counter()
        sent = await core.tick()
        firsts[f"{core.clock.now():%a}"] = (time.perf_counter() - t) * 1000
        for _ in range(LATER):
            core.clock.advance(timedelta(seconds=30))
            t = time.perf_counter()
            await core.tick()
            later.append((time.perf_counter() - t) * 1000)
    await core.close()
    weekdays = [ms for name, ms in firsts.items() if name != "Mon"]
    print(
        f"{ACCOUNTS} accounts, {items:,} items over a year ({store.count('items'):,} held), "
        f"{len(sent)} duty reminders each morning, {DAYS} days.\n"
    )
    print("| tick | time (ms) |")
    print("|---|---:|")
    print(f"| first after opening the store (builds its indexes) | {opening_ms:.0f} |")
    print(
        f"| first of the day, 08:05 (sends the duty reminders), median of {len(weekdays)} weekdays "
        f"| {statistics.median(weekdays):.0f} |"
    )
    print(f"| first of the day, slowest of {len(weekdays)} weekdays | {max(weekdays):.0f} |")
    print(f"| first on Monday (the SLT digest and policy reminders too) | {firsts['Mon']:.0f} |")
    print(f"| every 30 s after, p50 of {len(later)} | {statistics.median(later):.1f} |")
    print(f"| every 30 s after, slowest of {len(later)} | {max(later):.1f} |")


if __name__ == "__main__":
    asyncio.run(main())
