"""The core: configuration, store, engine, delivery and scheduler wired together.

`Core` is the one door front ends (adapters/) come through: they accept and handle
requests, ask for a person's home page or admission, look people up, add their delivery
channel, wake or flush the outbox, run work later in a person's order, and keep their own
few records (`records`). They never reach the store, the engine or the outbox around it
(tests/test_access.py checks)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable, Coroutine, Iterable
from datetime import datetime, timedelta
from typing import Any

from bot.clock import Clock
from bot.config import Person, Settings
from bot.delivery import Channel, Delivery
from bot.engine import INBOX, Engine, queue
from bot.errors import NotRecognised, NotSaved, StoreUnavailable, reference
from bot.front_end import OwnRecords
from bot.health import Health, HealthLimits, Link, delivery_part, link_part, scheduler_part, store_part
from bot.messages import Card, Inbound, Outbound, Recipient, role
from bot.metrics import Metrics
from bot.nightly import Nightly
from bot.people import Directory
from bot.priority import Backlog, Priority
from bot.registry import Registry, default_registry
from bot.store import Store
from bot.timefmt import when

log = logging.getLogger("policybot")


def _quietly(task: asyncio.Future[Any]) -> None:
    """A save that finished after the request was acknowledged: its failure is the turn's to report."""
    if not task.cancelled() and task.exception() is not None:
        log.warning("a request acknowledged while the store was busy could not be saved: %s", task.exception())


def _alert_failed(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("could not tell the administrators about the disk: %s", task.exception())


def not_saved(exc: StoreUnavailable, what: str, *, kept: bool = False) -> NotSaved:
    """The kind message for a person whose message could not be saved; the details go to the log.

    `kept`: the request itself was saved before it was acknowledged, so it will be handled
    once policybot runs normally again; sending it again would apply it twice.
    """
    if isinstance(exc, NotSaved):
        return exc
    ref = reference()
    log.error("could not save %s (reference %s): %s", what, ref, exc)
    if kept:
        return NotSaved(
            "I have your message, but I couldn't act on it just now because I can't save anything at the moment. "
            "I'll deal with it as soon as I'm working normally again, so there's no need to send it again. "
            f"If this lasts, tell the school's policybot administrator and quote reference {ref}."
        )
    return NotSaved(
        "I couldn't save that, so nothing has changed and nobody has been told. Please try again in a few minutes. "
        f"If it keeps happening, tell the school's policybot administrator and quote reference {ref}."
    )


ALERT_GAP = timedelta(hours=1)  # at most one "cannot save" message to the administrators in this time


def disk_trouble_card(settings: Settings, since: datetime, why: str) -> Card:
    """For the administrators: the store refuses changes (sent at once, without the outbox)."""
    return Card(
        "policybot cannot save anything",
        f"Since {when(since, settings.school.tz)}, "
        f"the computer policybot runs on has refused to save its changes ({why}). "
        "Anyone who sends policybot something now is told it was not saved and to try again in a few minutes. "
        "Please check that computer's disk: is it full, read-only, or reporting errors? "
        "policybot starts saving again by itself once the disk works, with no restart, and will tell you here. "
        "See docs/reliability.md.",
        tone="urgent",
    )


def disk_back_card(settings: Settings, since: datetime, until: datetime, why: str) -> Card:
    """For the administrators: the store saves again (through the outbox, as usual)."""
    return Card(
        "policybot can save again",
        f"From {when(since, settings.school.tz)} to {when(until, settings.school.tz)}, "
        f"policybot could not save anything ({why}). "
        "Anyone who sent it something in that time was told it was not saved and asked to try again. "
        "Everything saved before then is safe. "
        "If this happens again, check the disk of the computer policybot runs on.",
    )


class Core:
    """One running policybot: every front end talks to this."""

    def __init__(
        self,
        settings: Settings,
        store: Store,
        clock: Clock | None = None,
        registry: Registry | None = None,
        *,
        priority: Priority | None = None,
        limits: HealthLimits | None = None,
    ) -> None:
        """`priority`: the requests being answered, which `store` was opened to give way to (see `open`);
        `limits`: how far behind a part may be before `health` calls it broken."""
        self.settings = settings  # the school's settings, and each front end's own section (`Settings.platform`)
        self.store = store
        self.clock = clock or Clock()  # the core's clock (the terminal chat moves it on)
        self.registry = registry or default_registry()
        self.engine = Engine(settings, store, self.registry)
        self.directory: Directory = self.engine.directory
        # Requests a platform is waiting on go before work that can wait (bot/priority.py).
        self.priority = priority or Priority()
        # Requests acknowledged before they were handled (chat platforms' messages) are handled here.
        self.backlog = Backlog(self.priority)
        self.delivery = Delivery(
            store,
            self.directory,
            self.clock.now,
            give_way=self.priority.give_way,
            tz=settings.school.tz,
            guards=self.registry.guards,
        )
        self._tasks: list[asyncio.Task[None]] = []
        # When the disk refuses changes, the administrators are told, once, and told again when it is over.
        self._outage: tuple[datetime, str] | None = None
        self._told_at: datetime | None = None
        self._alerts: set[asyncio.Task[None]] = set()
        store.trouble = self._store_trouble
        # For `health`: when policybot started and the scheduler last ran, and the front ends' open connections.
        self.limits = limits or HealthLimits()
        self.started = self.clock.now()
        self.ticked_at: datetime | None = None
        self._links: dict[str, Link] = {}
        self.nightly = Nightly(settings, store, self.clock.now, self.delivery.kick, self.priority.give_way)
        self.metrics = Metrics(self, enabled=settings.server.metrics != "off")  # GET /metrics; front ends count too

    @classmethod
    def open(cls, settings: Settings, *, memory: bool = False, clock: Clock | None = None) -> Core:
        """Open the store named in the settings (or a memory one) and build the core."""
        priority = Priority()
        store = Store(
            None if memory else settings.storage_path, gaps=priority
        )  # checkpoints wait for a gap between requests too
        return cls(settings, store, clock, priority=priority)

    def now(self) -> datetime:
        """The time now, by the core's clock (which a test or the terminal chat may have moved)."""
        return self.clock.now()

    @staticmethod
    def inbox_key(event: Inbound) -> str:
        """The key a request is saved under: the platform's own event id, or a new one."""
        return event.event_id or f"{event.platform}:{uuid.uuid4().hex}"

    async def accept(
        self, event: Inbound, extra: dict[str, Any] | None = None, *, key: str = "", within: float | None = None
    ) -> str:
        """Save a request before it is acknowledged to its platform; return its inbox key.

        For platforms that must be answered before the work is done (a chat
        platform's messages): once this returns, the request survives a crash and `unhandled()` hands
        it back on start. With `within` (seconds), it returns by then even if the store is
        busy or the disk slow, and the save carries on: the turn queues for the store
        behind it, so it still finds and clears the saved copy, and the request is never
        handled twice.
        """
        key = key or self.inbox_key(event)
        row = {"event": {**event.to_dict(), "event_id": key}, "extra": extra or {}, "at": self.clock.now().isoformat()}
        what = f"a {event.kind} from {event.platform} {event.user}"
        try:
            seq = self.store.put_now(INBOX, key, row)  # written at once, unless a transaction is open
            if seq is None:
                await self._save_behind(key, row, what, within)
            elif not await self.store.sync(seq, within):
                log.warning("the disk was slow, so %s was acknowledged before it was on disk", what)
        except StoreUnavailable as exc:
            raise not_saved(exc, what) from None
        return key

    async def _save_behind(self, key: str, row: dict[str, Any], what: str, within: float | None) -> None:
        """Save behind the open transaction, in a task of its own: giving up waiting does not stop it."""

        async def save() -> None:
            async with self.store.transaction() as tx:
                tx.put(INBOX, key, row)

        saving = asyncio.ensure_future(save())
        try:
            async with asyncio.timeout(within):
                await asyncio.shield(saving)
        except TimeoutError:
            log.warning("the store was busy, so %s was acknowledged before it was saved", what)
            saving.add_done_callback(_quietly)

    def unhandled(self) -> list[tuple[str, Inbound, dict[str, Any]]]:
        """Requests accepted but not yet handled (after a crash), oldest first."""
        rows = sorted(self.store.all(INBOX), key=lambda r: r["at"])
        return [(r["id"], Inbound(**r["event"]), r.get("extra") or {}) for r in rows]

    async def forget(self, inbox_key: str) -> None:
        """Drop an accepted request that will not be handled (its person has been told why)."""
        async with self.store.transaction() as tx:
            tx.delete(INBOX, inbox_key)

    async def handle(self, event: Inbound, inbox_key: str = "") -> list[Outbound]:
        """Run one turn and wake delivery. Raises the engine's known errors.

        A saved request (`inbox_key`, see `accept`) leaves the inbox with its turn. If the
        turn fails for any reason but the store (someone not on the staff list, an
        unexpected error), the front end tells the person and the request is dropped, so it
        is not handled again at the next start; only when the store failed is it kept.
        """
        try:
            sent = await self.engine.handle(event, self.clock.now(), inbox_key)
        except StoreUnavailable as exc:
            self.metrics.turn(event.platform, "not_saved")
            raise not_saved(exc, f"a {event.kind} from {event.platform} {event.user}", kept=bool(inbox_key)) from None
        except NotRecognised:
            self.metrics.turn(event.platform, "refused")
            raise  # the request left the inbox with the record of the refusal
        except Exception:
            self.metrics.turn(event.platform, "failed")
            if inbox_key:
                with contextlib.suppress(Exception):
                    await self.forget(inbox_key)
            raise
        self.metrics.turn(event.platform, "done")
        if sent:
            self.delivery.kick()
        return sent

    def _store_trouble(self, why: str) -> None:
        """The store began refusing changes (`why`), or ("") saves again: tell the administrators, once each way."""
        now = self.clock.now()
        if why and self._outage is None:
            if self._told_at is not None and now - self._told_at < ALERT_GAP:
                return  # a disk that keeps failing and recovering: not a message every time
            self._outage, self._told_at = (now, why), now
            self._alert(self.delivery.announce(role("admins"), disk_trouble_card(self.settings, now, why)))
        elif not why and self._outage is not None:
            since, why = self._outage
            self._outage = None
            self._alert(self._tell_recovered(disk_back_card(self.settings, since, now, why)))

    def _alert(self, work: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.ensure_future(work)
        self._alerts.add(task)
        task.add_done_callback(self._alerts.discard)
        task.add_done_callback(_alert_failed)

    async def _tell_recovered(self, card: Card) -> None:
        async with self.store.transaction() as tx:
            queue(tx, [Outbound(role("admins"), card)], self.clock.now())
        self.delivery.kick()

    async def home(self, platform: str, user: str) -> Card | None:
        """A person's home page (None when no workflow offers one).

        Raises `NotRecognised` or `NotAllowed` (someone who has left), recorded, as a turn does.
        """
        return await self.engine.home(platform, user, self.clock.now())

    async def admit(
        self, platform: str, user: str, *, doing: str, record: str = "", role: str = "", to: Recipient | None = None
    ) -> Person:
        """The person behind a platform user, if they may do `doing`: for anything a front end
        shows or does outside a turn (the rest of a long message, a status card).

        `role` is a role it needs; `to`, the recipient of a message they want to read. A
        refusal is recorded in the audit trail and raised (`NotRecognised`, `NotAllowed`).
        """
        return await self.engine.admit(platform, user, self.clock.now(), doing=doing, record=record, role=role, to=to)

    # ---- for front ends: people, delivery, work later, their own records ------------------

    @property
    def people(self) -> Directory:
        """The school's people, to look up and to show by name (read-only)."""
        return self.directory

    def person(self, platform: str, user: str) -> Person | None:
        """The person behind a platform's user id (the person id, on a platform without ids of its own).

        Only for showing or addressing someone: whether they may do something is `admit`'s to say.
        """
        return self.directory.by_platform(platform, user)

    def match(self, text: str) -> list[Person]:
        """People whose id or name matches `text` (ignoring case, accents and word order)."""
        return self.directory.match(text)

    def add_channel(self, channel: Channel) -> None:
        """Deliver the outbox through `channel` too (a front end's delivery channel)."""
        self.delivery.add(channel)

    def wake(self) -> None:
        """Ask the delivery loop to look at the outbox now."""
        self.delivery.kick()

    async def flush(self) -> int:
        """Send everything due in the outbox now; return how many targets were sent."""
        return await self.delivery.flush()

    async def deliver_now(self, channel: str, target: str) -> None:
        """`target` of `channel` can be reached now (someone opened a chat with the bot):
        what waits for it, and what waits for nobody reachable, is sent now, not at its next try."""
        await self.delivery.hurry(f"{channel}|{target}")

    def later(self, work: Callable[[], Awaitable[None]], *, key: str) -> None:
        """Run `work` soon, after what is already waiting under the same `key` (one person's requests in order)."""
        self.backlog.add(work, key=key)

    async def idle(self) -> None:
        """Wait until the work given to `later` is done."""
        await self.backlog.idle()

    def answering(self) -> contextlib.AbstractContextManager[None]:
        """Around a request a platform waits on: work that can wait gives way meanwhile."""
        return self.priority.answering()

    def counts(self) -> dict[str, int]:
        """For a health check: messages owed and not yet delivered, requests acknowledged and not yet handled."""
        return {"outbox": self.delivery.waiting(), "unhandled": self.store.count(INBOX)}

    def link(self, name: str) -> Link:
        """A connection a front end keeps open (a chat platform's WebSocket), named for a person: the front end
        calls its `up()` and `down()`, and `health` reports it broken when down longer than its limit."""
        return self._links.setdefault(name, Link(name, self.clock.now))

    def health(self) -> Health:
        """Each part a school relies on, working or broken, and what is waiting: for /healthz.

        Judged from what is kept in memory, never a pass over the records: the store refusing
        changes, the scheduler not run for `limits.tick`, the oldest message owed older than
        `limits.outbox`, a front end's connection down longer than `limits.link`.
        """
        now = self.clock.now()
        parts = [
            store_part(self.store.refusing or self.store.journal.failed),
            scheduler_part(now, self.ticked_at, self.started, self.limits.tick),
            delivery_part(now, self.delivery.waiting(), self.delivery.oldest(), self.limits.outbox),
            *(link_part(now, link, self.limits.link) for link in self._links.values()),
        ]
        return Health(parts, self.counts(), self.nightly.summary())

    def records(self, platform: str, tables: Iterable[str]) -> OwnRecords:
        """A front end's own records: `tables` only, plus who it cannot reach (see bot/front_end.py)."""
        return OwnRecords(platform, tables, self.store, self.clock.now)

    async def tick(self) -> list[Outbound]:
        """Run the scheduler once (reminders, deadlines, expiries)."""
        sent = await self.engine.tick(self.clock.now())
        self.ticked_at = self.clock.now()
        if sent:
            self.delivery.kick()
        return sent

    async def _tick_forever(self, interval: float) -> None:
        while True:
            try:
                await self.priority.give_way()  # reminders can wait a moment for answers owed now
                await (
                    self.store.recover()
                )  # after a failed fsync: saving again once the disk works, with or without traffic
                await self.tick()
            except Exception:
                log.exception("scheduler tick failed; trying again next time")
            await asyncio.sleep(interval)

    def start_background(self, tick_interval: float = 30.0) -> None:
        """Start the delivery loop and the scheduler (for `policybot serve`)."""
        self._tasks.append(asyncio.create_task(self.delivery.run()))
        self._tasks.append(asyncio.create_task(self._tick_forever(tick_interval)))
        if self.nightly.on:
            self._tasks.append(asyncio.create_task(self.nightly.run_forever()))

    async def close(self) -> None:
        """Finish the work acknowledged and the alerts under way, stop the background tasks, close the store."""
        await self.backlog.close()
        for alert in list(self._alerts):
            with contextlib.suppress(Exception):
                await alert
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        await self.nightly.finish()
        await self.store.close()
