"""What the records say about a person running an account: policy read, training."""

from __future__ import annotations

from bot.timefmt import day
from bot.workflow import Context
from workflows import people


def runner_line(ctx: Context, person_id: str) -> str:
    """'Emma Clarke - read the policy (v2025-1) on Mon 3 Nov 2026; training: not recorded'."""
    p = ctx.directory.get(person_id)
    name = p.name if p else person_id
    if p is not None and not p.employed:
        name += " (not employed by the school: volunteer or parent)"
    ack = people.policy_ack(ctx, person_id)
    if ack.get("version") == ctx.settings.school.policy_version:
        read = f"read the policy on {day(ack['at'][:10])}"
    else:
        read = "has not confirmed reading the current policy"
    return f"{name} - {read}; {training_words(ctx, person_id)}"


def training_words(ctx: Context, person_id: str) -> str:
    """'trained on Mon 2 Dec 2024', '... (training lapses on Wed 2 Dec 2026)' within its last month,
    'training lapsed on Wed 2 Dec 2026' or 'training not recorded' (people.training_standing decides)."""
    standing = people.training_standing(ctx, person_id)
    if standing.last is None:
        return "training not recorded"
    if not standing.current and standing.lapses is not None:
        return f"training lapsed on {day(standing.lapses)}"
    words = f"trained on {day(standing.last['date'])}"
    if standing.lapsing and standing.lapses is not None:
        words += f" (training lapses on {day(standing.lapses)})"
    return words


def not_ready(ctx: Context, person_ids: list[str]) -> list[str]:
    """What stops each person running an account: 'Tom Reid (training not recorded)'."""
    problems = []
    for pid in person_ids:
        missing = []
        if not people.acknowledged(ctx, pid):
            missing.append("has not confirmed reading the current policy")
        if not people.trained(ctx, pid):
            missing.append(training_words(ctx, pid))
        if missing:
            problems.append(f"{ctx.directory.name(pid)} ({' and '.join(missing)})")
    return problems
