"""A person's record (table `people`): policy acknowledgement, training and leaving.

Who someone is (name, roles, platform ids) comes from the configuration (bot/people.py);
what the school has recorded about them lives here, one record per person id:

    {"policy_ack": {"version": "2025-1", "at": "<UTC ISO time>"},
     "training": [{"date": "2026-11-20", "what": "Induction", "by": "<person id>"}, ...],
     "leaving": {"date": "2026-12-18", "status": "open" | "finished", "recorded_by": ..., ...}}

Training lapses after `[records] training_valid_months`: `training_standing` alone decides
whether someone counts as trained on a day.

This module owns the table's name and shape: every workflow reads and writes a person's
record through these helpers, so the shape is written down once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.calendar import months_after
from bot.declarations import Reader, Record, Table, moment
from bot.workflow import Context, Outcome

TABLE = "people"


def record(ctx: Context, person_id: str) -> dict[str, Any]:
    """What is recorded about the person (an empty record if nothing is yet)."""
    return ctx.get(TABLE, person_id) or {}


def policy_ack(ctx: Context, person_id: str) -> dict[str, Any]:
    """The person's last policy acknowledgement: {"version", "at"}, or {} if they never confirmed."""
    return record(ctx, person_id).get("policy_ack") or {}


def acknowledged(ctx: Context, person_id: str) -> bool:
    """True if the person has confirmed reading the current version of the policy."""
    return policy_ack(ctx, person_id).get("version") == ctx.settings.school.policy_version


def training(ctx: Context, person_id: str) -> list[dict[str, Any]]:
    """The person's training, oldest first: [{"date", "what", "by"}, ...]."""
    return record(ctx, person_id).get("training") or []


@dataclass(frozen=True)
class TrainingStanding:
    """Where a person's training stands on a day (from `training_standing`)."""

    last: dict[str, Any] | None  # their latest training on or before the day, or None: never trained
    lapses: date | None  # the day that training stops counting; None when it never lapses (or there is none)
    current: bool  # trained on the day: the one answer every workflow uses
    lapsing: bool  # current, but lapses within a month of the day (people are reminded then)


def training_standing(ctx: Context, person_id: str, on: date | None = None) -> TrainingStanding:
    """Decide whether the person counts as trained `on` a day (today by default).

    They do when they have a training dated within `[records] training_valid_months` before
    the day (0: training never lapses); a later session renews it. This is the only place
    that reads training dates to decide; everything else asks here (or `trained`).
    """
    return _standing(ctx, training(ctx, person_id), on or ctx.today)


def _standing(ctx: Context, trainings: list[dict[str, Any]], on: date) -> TrainingStanding:
    valid = ctx.settings.records.training_valid_months
    dated = [(d, t) for t in trainings if (d := _date(t.get("date"))) is not None and d <= on]
    if not dated:
        return TrainingStanding(None, None, False, False)
    held, last = max(dated, key=lambda dt: dt[0])
    if not valid:
        return TrainingStanding(last, None, True, False)
    lapses = months_after(held, valid)
    current = on < lapses
    return TrainingStanding(last, lapses, current, current and on >= months_after(lapses, -1))


def _date(value: Any) -> date | None:
    """A training's ISO date; None for one that is not a date (such a record counts for nothing)."""
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def trained(ctx: Context, person_id: str, on: date | None = None) -> bool:
    """True if the person's training counts `on` a day (today by default): recorded and not lapsed."""
    return training_standing(ctx, person_id, on).current


def leaving(ctx: Context, person_id: str) -> dict[str, Any]:
    """The person's leaving ({"date", "status", ...}), or {} if none is recorded."""
    return record(ctx, person_id).get("leaving") or {}


def is_leaving(ctx: Context, person_id: str) -> bool:
    """True while the person's leaving is in progress (recorded, not yet finished)."""
    return leaving(ctx, person_id).get("status") == "open"


def acknowledgement(version: str, at: str) -> dict[str, Any]:
    """A policy acknowledgement as it is kept on the record."""
    return {"version": version, "at": at}


def training_entry(date: str, what: str, by: str) -> dict[str, Any]:
    """One training as it is kept on the record."""
    return {"date": date, "what": what, "by": by}


def _update(
    ctx: Context,
    out: Outcome,
    person_id: str,
    *,
    action: str,
    detail: str = "",
    before: str | None = None,
    after: str | None = None,
    **fields: Any,
) -> None:
    """Write the person's record with `fields` changed, guarded by the version read (one write per person)."""
    stored = ctx.get(TABLE, person_id) or {}
    doc = {k: v for k, v in stored.items() if k not in ("id", "version")}
    doc.update(fields)
    out.put(
        TABLE,
        person_id,
        doc,
        action=action,
        before=before,
        after=after,
        detail=detail,
        expect_version=stored.get("version"),
    )


def record_acknowledgement(ctx: Context, out: Outcome, person_id: str, version: str) -> None:
    """The person read and understood `version` of the policy, now."""
    _update(
        ctx,
        out,
        person_id,
        action="policy_acknowledged",
        detail=f"version {version}",
        policy_ack=acknowledgement(version, ctx.now.isoformat()),
    )


def add_training(ctx: Context, out: Outcome, person_id: str, entry: dict[str, Any]) -> TrainingStanding:
    """Add one training (from `training_entry`) to the person's record, keeping them in date order.

    Returns where their training stands today with it added (the record is written when the turn commits).
    """
    trainings = sorted([*training(ctx, person_id), entry], key=lambda t: t["date"])
    _update(
        ctx, out, person_id, action="training_recorded", detail=f"{entry['date']}: {entry['what']}", training=trainings
    )
    return _standing(ctx, trainings, ctx.today)


def record_leaving(ctx: Context, out: Outcome, person_id: str, date: str) -> None:
    """The person is leaving on `date` (ISO): recorded by the actor, open until every account is settled."""
    entry = {"date": date, "recorded_by": ctx.actor.id, "recorded_at": ctx.now.isoformat(), "status": "open"}
    _update(
        ctx,
        out,
        person_id,
        action="leaver_recorded",
        before=None,
        after="open",
        detail=f"leaving {date}",
        leaving=entry,
    )


def finish_leaving(ctx: Context, out: Outcome, person_id: str) -> None:
    """The person's leaving is complete (the caller has checked every account is settled)."""
    entry = {
        **leaving(ctx, person_id),
        "status": "finished",
        "finished_by": ctx.actor.id,
        "finished_at": ctx.now.isoformat(),
    }
    _update(ctx, out, person_id, action="leaver_finished", before="open", after="finished", leaving=entry)


# ---- what the core needs from this module (collected by bot/registry.py) ---------------------


def _retention(record: Record, _records: Reader) -> datetime | None:
    leaving = record.get("leaving") or {}
    return moment(leaving.get("date")) if leaving.get("status") == "finished" else None


# The people record (policy read, training, leaving) is kept until the retention period after someone has left.
TABLES = (
    Table(
        TABLE, export=True, columns=("id", "name", "title", "roles", "employed"), retention=_retention, per_person=True
    ),
)
