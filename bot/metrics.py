"""Metrics for a monitoring system (Prometheus' text format, GET /metrics), with prometheus-client.

Each `Core` has its own `CollectorRegistry` (never the library's global one), so tests and
several cores in one process do not mix their counts. What happens on the hot path is a
counter or histogram moved inline (a front end's request, a commit's fsync); what can be read
from memory when asked (the outbox, the scheduler, who cannot be reached) is computed only when
/metrics is read. The front ends name themselves (`front_end(name)`): nothing here names one.
With `[server] metrics = "off"` nothing is counted at all.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from bot import reach

if TYPE_CHECKING:
    from bot.core import Core

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Seconds: a chat platform waits 3 to 15 s for an acknowledgement; most take a few milliseconds.
ACK_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 15.0)
DISK_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0)


class FrontEnd:
    """One front end's request counts, bound once (the labels are looked up when it is made, not per request)."""

    def __init__(self, metrics: Metrics, name: str) -> None:
        self.name = name
        self._requests = metrics.requests.labels(name)
        self._ack = metrics.ack.labels(name)
        self._refusals = metrics.refusals

    def answered(self, seconds: float, status: int) -> None:
        """A request was answered with `status` after `seconds` (4xx and 5xx count as refused too)."""
        self._requests.inc()
        self._ack.observe(seconds)
        if status >= 400:
            self._refusals.labels(self.name, str(status)).inc()


class Metrics:
    """The counters, histograms and read-when-asked gauges of one running policybot."""

    def __init__(self, core: Core | None = None, *, enabled: bool = True) -> None:
        self.enabled = enabled
        self.registry = CollectorRegistry(auto_describe=False)
        r = self.registry
        self.requests = Counter(
            "policybot_requests", "Requests a platform sent, by front end.", ["front_end"], registry=r
        )
        self.refusals = Counter(
            "policybot_refusals",
            "Requests answered with an error status (bad signature, malformed, too large), by front end and status.",
            ["front_end", "status"],
            registry=r,
        )
        self.ack = Histogram(
            "policybot_ack_seconds",
            "Time from a request's arrival until the platform had its answer, by front end.",
            ["front_end"],
            buckets=ACK_BUCKETS,
            registry=r,
        )
        self.turns = Counter(
            "policybot_turns",
            "Turns run (a person's request handled), by front end and outcome (done, refused, not_saved, failed).",
            ["front_end", "outcome"],
            registry=r,
        )
        self.deliveries = Counter(
            "policybot_deliveries",
            "Messages sent to one target, by platform and status (sent, failed, given_up).",
            ["platform", "status"],
            registry=r,
        )
        self.retries = Counter(
            "policybot_delivery_retries",
            "Sends that failed for now and will be tried again, by platform and why (rate_limited, failed).",
            ["platform", "why"],
            registry=r,
        )
        self.fsync = Histogram(
            "policybot_store_fsync_seconds",
            "Time of each shared fsync of the journal, as the commits waiting on it saw it.",
            buckets=DISK_BUCKETS,
            registry=r,
        )
        self.checkpoint = Histogram(
            "policybot_store_checkpoint_seconds",
            "Time to write live.json at a checkpoint (in the background).",
            buckets=DISK_BUCKETS,
            registry=r,
        )
        self._front_ends: dict[str, FrontEnd] = {}
        self._children: dict[tuple[str, ...], Any] = {}  # labelled counters already looked up (labels() costs 2 µs)
        if core is not None and enabled:
            self._watch(core)

    def _watch(self, core: Core) -> None:
        """Move the counters as the core's parts work, and read the rest from it when /metrics is read."""
        core.store.journal.fsynced = self.fsync.observe
        core.store.checkpoints.written = self.checkpoint.observe
        core.delivery.counted = self.delivered
        self.registry.register(_Gauges(core))

    def front_end(self, name: str) -> FrontEnd | None:
        """The counts of front end `name` (None when metrics are off: count nothing)."""
        if not self.enabled:
            return None
        return self._front_ends.setdefault(name, FrontEnd(self, name))

    def turn(self, front_end: str, outcome: str) -> None:
        if self.enabled:
            self._child(self.turns, "turn", front_end, outcome).inc()

    def delivered(self, platform: str, status: str) -> None:
        """One target's send: "sent", "failed", "given_up", or "retry"/"rate_limited" (to be tried again)."""
        if status in ("retry", "rate_limited"):
            self._child(self.retries, "retry", platform, "rate_limited" if status == "rate_limited" else "failed").inc()
        else:
            self._child(self.deliveries, "delivery", platform, status).inc()

    def _child(self, counter: Counter, kind: str, *labels: str) -> Any:
        key = (kind, *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = counter.labels(*labels)
        return child

    def text(self) -> bytes:
        """Everything, in Prometheus' text format."""
        return generate_latest(self.registry)


class _Gauges:
    """What is read from the core's memory when /metrics is read, never on the hot path."""

    def __init__(self, core: Core) -> None:
        self.core = core

    def describe(self) -> list[Metric]:
        return []  # nothing to check at registration (collecting then would read a core still being built)

    def collect(self) -> Iterator[Metric]:
        core = self.core
        now, counts = core.now(), core.counts()
        oldest = core.delivery.oldest()
        yield _gauge("policybot_outbox_messages", "Messages waiting in the outbox to be delivered.", counts["outbox"])
        yield _gauge(
            "policybot_outbox_oldest_seconds",
            "Age of the oldest message still owed to someone reachable (0 when none).",
            _seconds(now, oldest),
        )
        yield _gauge("policybot_inbox_requests", "Requests acknowledged and not yet handled.", counts["unhandled"])
        unreachable = GaugeMetricFamily(
            "policybot_people_unreachable", "People a front end cannot reach yet, by platform.", labels=["platform"]
        )
        for platform, n in sorted(Tally(r.get("platform", "") for r in core.store.all(reach.UNREACHABLE)).items()):
            unreachable.add_metric([platform], n)
        yield unreachable
        yield _gauge(
            "policybot_scheduler_lag_seconds",
            "Seconds since the scheduler last ran (since policybot started, before its first tick); it runs every 30.",
            _seconds(now, core.ticked_at or core.started),
        )
        yield CounterMetricFamily(
            "policybot_reminders", "Reminders sent by the scheduler (each key once).", core.engine.scheduler.reminded
        )
        yield CounterMetricFamily("policybot_store_commits", "Changes committed to the store.", core.store.commits)


def _gauge(name: str, doc: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, doc, value=value)


def _seconds(now: datetime, then: datetime | None) -> float:
    return max(0.0, (now - then).total_seconds()) if then is not None else 0.0
