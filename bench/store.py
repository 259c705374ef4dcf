"""Store benchmark: one durable write and one lookup when the store already holds N records.

Run by hand:  python bench/store.py  (prints a table; takes about a minute)
"""

from __future__ import annotations

import asyncio
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.store import Store, StoreTuning

SIZES = (1_000, 10_000, 100_000)
SAMPLES = 2500


async def measure(n: int) -> tuple[float, float, float, float]:
    folder = tempfile.mkdtemp(prefix="policybot-bench-")
    # A store this size is checkpointed only every few thousand commits or more (once the
    # journal is as large as live.json): here one starts at the middle write below, so the
    # slowest write is one made while live.json is being rewritten.
    store = Store(folder, tuning=StoreTuning(checkpoint_every=SAMPLES // 2 + 1, checkpoint_share=0.0))
    # History as a large school builds it: audit-heavy items and closed incidents.
    batch = 1000
    for start in range(0, n, batch):
        async with store.transaction() as tx:
            for i in range(start, min(n, start + batch)):
                tx.put(
                    "items",
                    f"I-{i}",
                    {
                        "account": f"ACC-{i % 200}",
                        "kind": "comment",
                        "summary": "A parent asked about the trip" * 2,
                        "status": "replied",
                        "received_at": "2026-01-01T10:00:00+00:00",
                    },
                )
                tx.audit("eclarke", "item_logged", f"items/I-{i}", after="open")
    store.checkpoint()  # (the commits count from here)
    writes = []
    for i in range(SAMPLES):
        t = time.perf_counter()
        async with store.transaction() as tx:
            tx.put("items", f"NEW-{i}", {"account": "ACC-1", "status": "open"})
            tx.audit("eclarke", "item_logged", f"items/NEW-{i}", after="open")
        writes.append(time.perf_counter() - t)
        await asyncio.sleep(0)  # as a server does between requests, so background checkpoints run
    lookups = []
    for i in range(SAMPLES):
        t = time.perf_counter()
        store.get("items", f"I-{(i * 7919) % n}")
        lookups.append(time.perf_counter() - t)
    await store.close()
    t = time.perf_counter()
    reopened = Store(folder)
    reopen = time.perf_counter() - t
    assert reopened.count("items") == n + SAMPLES
    await reopened.close()
    q = statistics.quantiles(writes, n=100)
    return (
        statistics.median(writes) * 1000,
        q[98] * 1000,
        max(writes) * 1000,
        statistics.median(lookups) * 1e6,
        reopen * 1000,
    )


async def main() -> None:
    print(
        "| records held | durable write p50 (ms) | write p99 (ms) | slowest write, one made during a checkpoint (ms) "
        "| lookup p50 (us) | reopen (ms) |"
    )
    print("|---:|---:|---:|---:|---:|---:|")
    for n in SIZES:
        w50, w99, wmax, look, reopen = await measure(n)
        print(f"| {n:,} | {w50:.2f} | {w99:.2f} | {wmax:.0f} | {look:.1f} | {reopen:.0f} |")


if __name__ == "__main__":
    asyncio.run(main())
