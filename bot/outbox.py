"""The outbox, written: carrying out an `Outcome` (its records, audit entries and a
conversation it begins) and putting its messages in the persisted `outbox` table, in
the same commit as the change that sent them. Sending them is bot/delivery.py's work.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from bot.messages import Outbound
from bot.store import Transaction
from bot.workflow import Context, Outcome

OUTBOX = "outbox"
# Starts a workflow by name for the actor: (workflow, context, ctx, out) (`Conversations.begin`).
Begin = Callable[[str, dict[str, Any], Context, Outcome], None]


def apply(out: Outcome, tx: Transaction, ctx: Context, begin: Begin) -> list[Outbound]:
    """Write an outcome's changes and audit entries in `tx`, and start the conversation it
    begins (`Outcome.begin`) with `begin`; return its messages, for the caller to `queue`
    (a tick queues all of its messages in one go)."""
    for w in out.writes:
        before = (tx.get(w.table, w.key) or {}).get("status") if w.action else None
        if w.doc is None:
            tx.delete(w.table, w.key)
        else:
            tx.put(w.table, w.key, w.doc, expect_version=w.expect_version)
        if w.action:
            tx.audit(
                out.actor,
                w.action,
                f"{w.table}/{w.key}",
                before=w.before or before,
                after=w.after or (w.doc or {}).get("status"),
                at=ctx.now,
                detail=w.detail,
            )
    for a in out.audits:
        tx.audit(out.actor, a.action, a.key, before=a.before, after=a.after, at=ctx.now, detail=a.detail)
    if out.start:
        name, context = out.start
        inner = Outcome(actor=out.actor)
        begin(name, context, ctx, inner)
        out.start = None
        out.messages.extend(inner.messages)
        for w in inner.writes:
            tx.put(w.table, w.key, w.doc) if w.doc is not None else tx.delete(w.table, w.key)
    return list(out.messages)


def queue(tx: Transaction, messages: list[Outbound], now: datetime) -> None:
    """Put messages in the persisted outbox, in the same commit as the change that sent them."""
    if not messages:
        return
    first = tx.next_id(OUTBOX, len(messages))
    for n, msg in enumerate(messages, first):
        tx.put(
            OUTBOX,
            f"m{n:09d}",
            {
                "n": n,
                "to": str(msg.to),
                "card": msg.card.to_dict(),
                "key": msg.key,
                "replace": msg.replace,
                "private": msg.private,
                "ephemeral": msg.ephemeral,
                "created_at": now.isoformat(),
                "next_at": now.isoformat(),
                "attempts": 0,
                "targets": None,
            },
        )
