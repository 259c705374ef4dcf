"""The policy's own review: "Agreed ____" on its front page, and SLT "developing and implementing
the Social Media policy" (Roles & Responsibilities).

`[school] policy_agreed` is the date the current version was agreed and `policy_review_months`
how long it stands before it is due for review. `/policy` shows both dates. SLT are reminded a
month before the review date, on the day, and each week after until the school sets a new
`policy_version` or a new `policy_agreed`, which starts the next cycle. With no `policy_agreed`,
SLT are asked once to set it, and the weekly digest says so until it is set.

A new `policy_version` with an unchanged `policy_agreed` still starts a new cycle: that date was
the old version's, so the review counts from the day policybot first saw the new version (SLT
are told, once, to set the date). What policybot last saw is kept in `policy_review` (one record,
`current`), so the day a version was first seen survives restarts:

    {"policy_version": "2025-1", "agreed": "2026-09-01" | "", "since": "2026-11-25", "start": "2026-09-01" | ""}

Every reminder has a key naming the version, the start of its cycle and its stage, so it is
sent once however often the scheduler ticks or policybot restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.calendar import months_after
from bot.config import SAMPLE
from bot.declarations import Table
from bot.messages import Card, role
from bot.scheduler import daily_slot
from bot.timefmt import day
from bot.workflow import Context, Outcome

TABLE = "policy_review"
CURRENT = "current"


@dataclass(frozen=True)
class Cycle:
    """The current version's review cycle."""

    version: str
    start: date  # the review period counts from here: the agreed date, or the day a new version was first seen
    due: date  # when the policy is due for review
    agreed: bool  # True when `start` is the configured policy_agreed date

    @property
    def month_before(self) -> date:
        return months_after(self.due, -1)


def config_file(ctx: Context) -> str:
    """Where a school changes its settings, as a sentence can name it."""
    source = ctx.settings.source
    return "policybot's configuration file" if source == SAMPLE else source


def seen(ctx: Context) -> dict[str, Any]:
    """What the record says now: the stored one while the configuration is unchanged, else the new one."""
    school = ctx.settings.school
    version = school.policy_version
    agreed = school.policy_agreed.isoformat() if school.policy_agreed else ""
    stored = ctx.get(TABLE, CURRENT) or {}
    if stored and stored.get("policy_version") == version and stored.get("agreed", "") == agreed:
        return {k: v for k, v in stored.items() if k not in ("id", "version")}
    today = ctx.today.isoformat()
    return {
        "policy_version": version,
        "agreed": agreed,
        "since": today,
        "start": today if stale_agreed(stored, version, agreed) else agreed,
    }


def stale_agreed(stored: dict[str, Any], version: str, agreed: str) -> bool:
    """True for a new version whose policy_agreed was left as the previous version's date."""
    return bool(stored) and bool(agreed) and stored.get("policy_version") != version and stored.get("agreed") == agreed


def cycle(ctx: Context) -> Cycle | None:
    """The current version's review cycle, or None while policy_agreed is not set."""
    now = seen(ctx)
    if not now["start"]:
        return None
    start = date.fromisoformat(now["start"])
    due = months_after(start, ctx.settings.school.policy_review_months)
    return Cycle(now["policy_version"], start, due, agreed=now["start"] == now["agreed"])


def _began(c: Cycle) -> str:
    return f"was agreed on {day(c.start)}" if c.agreed else f"has been in use since {day(c.start)}"


def review_line(ctx: Context) -> str:
    """For /policy: when this version was agreed and when it is next due for review ("" if not known)."""
    c = cycle(ctx)
    if c is None:
        return ""
    if ctx.today == c.due:
        return f"This version {_began(c)} and is due for review today, {day(c.due)}."
    if ctx.today > c.due:
        return f"This version {_began(c)} and was due for review on {day(c.due)}."
    return f"This version {_began(c)} and is next due for review on {day(c.due)}."


def _what_to_do(ctx: Context) -> str:
    return (
        "SLT develop and implement the policy (Roles & Responsibilities). When the reviewed policy is agreed, set "
        "policy_version to its new version and policy_agreed to the date it was agreed (year-month-day), in the "
        f"[school] section of {config_file(ctx)}, and restart policybot. Staff are then asked to read the new "
        "version, and these reminders stop."
    )


def _missing_card(ctx: Context) -> Card:
    version = ctx.settings.school.policy_version
    return Card(
        "When was the social media policy agreed?",
        f"policybot does not know when version {version} of the policy was agreed, so /policy cannot show it and "
        "nobody will be reminded when it is due for review. Please set policy_agreed to that date, like "
        f'policy_agreed = "2026-09-01", in the [school] section of {config_file(ctx)}, and restart policybot. '
        f"It is then due for review {ctx.settings.school.policy_review_months} months later (policy_review_months).",
        tone="warning",
    )


def _stale_card(ctx: Context, c: Cycle, agreed: str) -> Card:
    return Card(
        "A new policy version: when was it agreed?",
        f"policy_version is now {c.version}, but policy_agreed still says {day(agreed)}, the date the previous "
        f"version was agreed. Until it is changed, version {c.version} is counted as agreed today, "
        f"{day(c.start)}, and due for review on {day(c.due)}. If it was agreed on another day, set policy_agreed "
        f"to that date in the [school] section of {config_file(ctx)}, and restart policybot.",
    )


def _review_card(ctx: Context, c: Cycle, stage: str) -> Card:
    school = ctx.settings.school
    said = (
        f"Version {c.version} of the school's social media policy {_began(c)}. It is due for review "
        f"{school.policy_review_months} months later (policy_review_months), on {day(c.due)}."
    )
    if stage == "month-before":
        return Card(
            "The social media policy is due for review next month",
            f"{said} Please plan its review now. {_what_to_do(ctx)} I will remind you again on the day.",
        )
    if stage == "due":
        return Card(
            "The social media policy is due for review today",
            f"{said} {_what_to_do(ctx)} Until then I will remind you each week.",
            tone="warning",
        )
    weeks = (ctx.today - c.due).days // 7
    return Card(
        "The social media policy is overdue for review",
        f"{said} That was {weeks} week{'s' if weeks != 1 else ''} ago. {_what_to_do(ctx)} "
        "Until then I will remind you each week.",
        tone="warning",
    )


def stage(ctx: Context, c: Cycle) -> str | None:
    """Where the review stands today: "month-before", "due", "week-<n>" after the due date, or None (not yet)."""
    today = ctx.today
    if today < c.month_before:
        return None
    if today < c.due:
        return "month-before"
    weeks = (today - c.due).days // 7
    return "due" if weeks == 0 else f"week-{weeks}"


def note_version(ctx: Context) -> list[tuple[str, Outcome]]:
    """Keep what policybot saw of the version and its agreed date; a new version with the old date is told to SLT."""
    stored = ctx.get(TABLE, CURRENT) or {}
    now = seen(ctx)
    if stored and all(stored.get(k) == v for k, v in now.items()):
        return []
    out = Outcome(actor="policybot")
    out.put(
        TABLE,
        CURRENT,
        now,
        action="policy_version_noted",
        before=stored.get("policy_version"),
        after=now["policy_version"],
        detail=f"agreed {now['agreed'] or 'not set'}; review counted from {now['start'] or 'unknown'}",
        expect_version=stored.get("version"),
    )
    c = cycle(ctx)
    if c is not None and not c.agreed:
        out.send(role("slt"), _stale_card(ctx, c, now["agreed"]))
    key = f"policy-version-seen:{now['policy_version']}:{now['agreed']}:{ctx.today.isoformat()}"
    return [(key, out)]


def review_reminders(ctx: Context) -> list[tuple[str, Outcome]]:
    """SLT: set policy_agreed (once), or the review is near, due or overdue (once per stage)."""
    if daily_slot(ctx) is None:  # reminders go from 08:00 school time, as the policy's own
        return []
    version = ctx.settings.school.policy_version
    c = cycle(ctx)
    out = Outcome(actor="policybot")
    if c is None:
        key = f"policy-agreed-missing:{version}"
        if ctx.reminded(key):
            return []
        out.send(role("slt"), _missing_card(ctx))
        return [(key, out)]
    now = stage(ctx, c)
    if now is None:
        return []
    key = f"policy-review:{version}:{c.start.isoformat()}:{now}"
    if ctx.reminded(key):
        return []
    out.send(role("slt"), _review_card(ctx, c, now))
    return [(key, out)]


def digest_line(ctx: Context, _since: datetime) -> tuple[str, str]:
    """The weekly digest: when the policy is due for review, or that policy_agreed is not set."""
    c = cycle(ctx)
    version = ctx.settings.school.policy_version
    if c is None:
        return (
            "Policy review",
            f"Not known: nobody has set when version {version} was agreed. Set policy_agreed in the [school] "
            f"section of {config_file(ctx)}.",
        )
    text = f"Version {c.version} {_began(c)}; "
    if ctx.today >= c.due:
        weeks = (ctx.today - c.due).days // 7
        late = f", {weeks} week{'s' if weeks != 1 else ''} ago" if weeks else ""
        return "Policy review", text + f"it was due for review on {day(c.due)}{late}. Set the new version once agreed."
    if ctx.today >= c.month_before:
        return "Policy review", text + f"it is due for review within a month, on {day(c.due)}."
    return "Policy review", text + f"it is next due for review on {day(c.due)}."


SCHEDULES = (note_version, review_reminders)
DIGEST = (digest_line,)
TABLES = (Table(TABLE),)
