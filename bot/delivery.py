"""Delivery: send what the outbox holds through each front end, retrying until it is sent.

The engine puts every message in the persisted outbox in the same commit as the change
that caused it. Here each message is planned once into targets (a person's direct
message, an SLT channel, on each front end), each target is sent, and the message leaves the outbox only
when every target has it. A temporary failure (rate limit, server error, timeout) is
retried with backoff, across restarts; a message is never sent twice to a target that
acknowledged it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any, Protocol

from bot import access
from bot.declarations import Guard
from bot.errors import PermanentFailure, StoreUnavailable, TemporaryFailure
from bot.messages import Card, Recipient
from bot.people import Directory
from bot.store import Store

log = logging.getLogger("policybot.delivery")
MAX_BACKOFF = timedelta(minutes=10)
# A message still failing this long after it was written is given up (and recorded), so
# that one a platform refuses for ever cannot hold back its person's later messages for ever.
GIVE_UP_AFTER = timedelta(days=1)


@dataclass(frozen=True)
class Message:
    """One outbox message as a front end sees it."""

    id: str
    to: Recipient
    card: Card
    key: str | None
    replace: bool
    private: bool
    ephemeral: bool = False


class Channel(Protocol):
    """A front end that can deliver messages (a chat platform, the terminal)."""

    name: str

    def targets(self, msg: Message, directory: Directory) -> list[str]:
        """Where this message should go on this front end ([] if nobody is reachable here)."""

    async def send(self, target: str, msg: Message) -> None:
        """Send to one target; raise TemporaryFailure to retry later, PermanentFailure to give up."""


def person_targets(recipient: Recipient, directory: Directory) -> list[str]:
    """The person ids a recipient stands for: one person, or everyone with the role."""
    if recipient.kind == "person":
        return [recipient.id]
    return [p.id for p in directory.members(recipient.id)]


class Delivery:
    """Works through the outbox; `flush()` sends everything due now."""

    def __init__(
        self,
        store: Store,
        directory: Directory,
        now: Callable[[], datetime],
        give_way: Callable[[], Awaitable[None]] | None = None,
        tz: tzinfo = UTC,
        guards: Sequence[Guard] = (),
    ) -> None:
        self.store = store
        self.directory = directory
        self.guards = (
            guards  # the procedures' rules (someone who has left): messages to a role no longer reach those they stop
        )
        self.tz = tz  # the school's: whose last day is over is decided by the school's date
        self.now = now
        self.give_way = give_way  # before each message: let requests being answered go first
        self.channels: dict[str, Channel] = {}
        self._wake = asyncio.Event()
        self._flushing = asyncio.Lock()
        # Told each target's send, by front end: "sent", "failed", "given_up", "retry", "rate_limited" (metrics).
        self.counted: Callable[[str, str], None] = lambda _channel, _status: None

    def add(self, channel: Channel) -> None:
        self.channels[channel.name] = channel

    def kick(self) -> None:
        """Ask the background loop to look at the outbox now."""
        self._wake.set()

    async def run(self, interval: float = 5.0) -> None:
        """Deliver until cancelled, waking on `kick()` or every `interval` seconds."""
        while True:
            self._wake.clear()  # before the pass: a kick during it means look again at once
            try:
                await self.flush()
            except StoreUnavailable as exc:
                log.error("outbox could not be updated: %s", exc)
            except Exception:
                log.exception("delivery loop error")
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=interval)
            except TimeoutError:
                pass

    async def flush(self) -> int:
        """Send every message that is due; return how many targets were sent.

        A person's messages arrive in the order they were written: while an earlier
        message to a target (a person's DM, a channel) is still owed because sending it
        failed for now, later messages to that target wait behind it, until it is
        delivered or given up. Other targets are not held up.
        """
        async with self._flushing:
            sent = 0
            now = self.now()

            def due(row: dict[str, Any]) -> bool:
                return datetime.fromisoformat(row["next_at"]) <= now

            # Only the keys of what is due, and of what waits after a failure: a long
            # outbox is not copied on every pass.
            upto = self.store.seq
            ready = self.store.keys("outbox", due, order="n")
            failed = self.store.keys("outbox", lambda r: not due(r) and bool(r.get("targets")), order="n")
            # Nothing is sent before the change that owes it is on disk: a crash could
            # otherwise lose the change while its message had gone, and it would go twice.
            await self.store.sync(upto)
            # (n, targets still owed) of each message waiting after a failure, oldest first.
            behind = [
                (r["n"], set(r["targets"])) for r in (self.store.get("outbox", k) for k in failed) if r is not None
            ]
            held: set[str] = set()  # targets with an earlier message still owed
            # A message to a role reaches the people who hold it now: not those who have left.
            present = (
                self.directory.without(access.gone(self.store, self.guards, now.astimezone(self.tz).date().isoformat()))
                if ready
                else self.directory
            )
            for key in ready:
                row = self.store.get("outbox", key)
                if row is None:
                    continue
                while behind and behind[0][0] < row["n"]:
                    held |= behind.pop(0)[1]
                targets = set(row.get("targets") or self._plan(_message(row), present))
                if targets & held:
                    held |= targets  # it waits its turn, and so do later ones to the same targets
                    continue
                if self.give_way is not None:
                    await self.give_way()
                sent += await self._deliver(row, now, present)
                left = self.store.get("outbox", key)
                if left is not None:
                    held |= set(left.get("targets") or ())
            return sent

    async def announce(self, to: Recipient, card: Card) -> int:
        """Send one message now, straight through the front ends, without the outbox; return how many targets had it.

        Only for telling administrators that the store itself refuses changes, when the
        outbox cannot be written: sent once, best effort, never retried.
        """
        msg = Message(id="announce", to=to, card=card, key=None, replace=False, private=False)
        sent = 0
        for channel in self.channels.values():
            for target in channel.targets(msg, self.directory):
                try:
                    await channel.send(target, msg)
                    sent += 1
                except (
                    Exception
                ) as exc:  # best effort: the log has it, and the outbox message follows once the disk works
                    log.warning("could not tell %s that policybot cannot save (%s)", target, exc)
        return sent

    def _plan(self, msg: Message, directory: Directory) -> list[str]:
        """The targets of a message on every front end running here ("<channel>|<target>")."""
        return [f"{ch.name}|{t}" for ch in self.channels.values() for t in ch.targets(msg, directory)]

    async def hurry(self, target: str) -> None:
        """`target` ("<channel>|<address>") can be reached now: what waits for it, or for
        nobody reachable yet, is due now rather than at its next try."""
        now = self.now().isoformat()
        async with self.store.transaction() as tx:
            for row in tx.where(
                "outbox",
                lambda r: r["next_at"] > now and (r.get("targets") is None or target in (r.get("targets") or [])),
            ):
                tx.put("outbox", row["id"], {**row, "next_at": now})
        self.kick()

    def waiting(self) -> int:
        """How many messages are still waiting in the outbox."""
        return self.store.count("outbox")

    def oldest(self) -> datetime | None:
        """When the oldest message still owed was written (None: nothing owed), for health.

        A message kept for someone nobody can reach yet (they have not added the app) is left
        out: it waits on a person, not on policybot, and /unreachable lists them. A pass over
        the outbox alone (its keys, copying nothing), which holds rows in the order written.
        """
        for key in self.store.keys("outbox", _owed):
            row = self.store.get("outbox", key)
            if row is not None:
                return _written(row, self.now())
        return None

    async def _deliver(self, row: dict[str, Any], now: datetime, directory: Directory) -> int:
        msg = _message(row)
        targets: list[str] | None = row.get("targets")
        if not targets:
            targets = self._plan(msg, directory)
            if not targets:
                # Nobody reachable yet (for example someone who has not added the app on
                # their platform). Keep it and look again later rather than lose it.
                await self._update(
                    row["id"], {"next_at": (now + timedelta(minutes=5)).isoformat(), "unreachable": True}
                )
                return 0
        done = 0
        remaining = list(targets)
        for target in targets:
            channel_name, _, address = target.partition("|")
            channel = self.channels.get(channel_name)
            if channel is None:
                continue  # that front end is not running in this process; keep it for later
            try:
                await channel.send(address, msg)
                self.counted(channel_name, "sent")
            except TemporaryFailure as exc:
                if now - _written(row, now) < GIVE_UP_AFTER:
                    self.counted(channel_name, "rate_limited" if exc.retry_after else "retry")
                    attempts = row.get("attempts", 0) + 1
                    wait = (
                        timedelta(seconds=exc.retry_after)
                        if exc.retry_after
                        else min(MAX_BACKOFF, timedelta(seconds=2 ** min(attempts, 20)))
                    )
                    log.warning(
                        "message %s to %s not sent yet (%s); retrying in %ss",
                        msg.id,
                        target,
                        exc,
                        int(wait.total_seconds()),
                    )
                    await self._update(
                        row["id"], {"targets": remaining, "attempts": attempts, "next_at": (now + wait).isoformat()}
                    )
                    return done
                # A day of failures: given up and recorded, so it holds back nothing more.
                log.error("message %s to %s given up after a day of failures: %s", msg.id, target, exc)
                self.counted(channel_name, "given_up")
                await self._record_failure(msg, target, f"still failing a day after it was written: {exc}")
            except PermanentFailure as exc:
                log.error("message %s to %s could not be delivered: %s", msg.id, target, exc)
                self.counted(channel_name, "failed")
                await self._record_failure(msg, target, str(exc))
            remaining.remove(target)
            done += 1
            if remaining:
                await self._update(row["id"], {"targets": remaining})
        # Every target has it: one write removes the message (a crash before this
        # write resends to the last target only, never to the others).
        async with self.store.transaction() as tx:
            tx.delete("outbox", row["id"])
        return done

    async def _update(self, key: str, changes: dict[str, Any]) -> None:
        async with self.store.transaction() as tx:
            row = tx.get("outbox", key)
            if row is not None:
                tx.put("outbox", key, {**row, **changes})

    async def _record_failure(self, msg: Message, target: str, why: str) -> None:
        async with self.store.transaction() as tx:
            tx.put(
                "undelivered",
                f"{msg.id}|{target}",
                {
                    "message": msg.id,
                    "to": str(msg.to),
                    "target": target,
                    "why": why,
                    "title": msg.card.title,
                    "at": self.now().isoformat(),
                },
            )
            tx.audit("policybot", "delivery_failed", f"outbox/{msg.id}", detail=f"{target}: {why}")


def _message(row: dict[str, Any]) -> Message:
    """An outbox row as a front end sees it."""
    return Message(
        id=row["id"],
        to=Recipient.parse(row["to"]),
        card=Card.from_dict(row["card"]),
        key=row.get("key"),
        replace=row.get("replace", False),
        private=row.get("private", False),
        ephemeral=row.get("ephemeral", False),
    )


def _owed(row: dict[str, Any]) -> bool:
    """A message owed to someone reachable (planned, or not yet tried), not one waiting for nobody reachable."""
    return bool(row.get("targets")) or not row.get("unreachable")


def _written(row: dict[str, Any], now: datetime) -> datetime:
    """When an outbox message was written (now, if its record does not say)."""
    try:
        return datetime.fromisoformat(row["created_at"])
    except (KeyError, TypeError, ValueError):
        return now
