"""When /disclaimer's question goes to each member of staff (workflows/disclaimer.py says what it asks).

From 08:00 on a working day (or a Monday): the first ask, the ask again when the policy version changes or
`[records] disclaimer_every_months` after someone's last answer, the reminder the working day after "I will
add it now", and each Monday a gentle reminder to anyone not done. At most one of these cards a day reaches
a person, each under its own key (sent once, however often the scheduler ticks or policybot restarts). When
the policy's own Monday reminder goes to the same person in the same tick, it carries this question (`join`)
and no second card is sent.
"""

from __future__ import annotations

from datetime import date

from bot.calendar import is_working_day
from bot.declarations import moment
from bot.messages import Card, person
from bot.scheduler import daily_slot, weekly_slot
from bot.workflow import REMINDERS, Context, Outcome
from workflows.disclaimer import (
    WILL_ADD,
    answer_of,
    ask_card,
    ask_note,
    asked,
    confirm_card,
    confirm_day,
    staff,
    why_ask,
)
from workflows.policy_acknowledgement import monday_card_due


def _asking_time(ctx: Context) -> bool:
    """From 08:00 on a working day, or on a Monday (when the weekly reminders go)."""
    today = ctx.today
    return daily_slot(ctx) is not None and (is_working_day(today, ctx.settings.school.nation) or today.weekday() == 0)


def _sent_today(ctx: Context, key: str) -> bool:
    sent = moment((ctx.get(REMINDERS, key) or {}).get("at"))
    return sent is not None and sent.astimezone(ctx.settings.school.tz).date() == ctx.today


def _due(ctx: Context, pid: str) -> tuple[str, Card] | None:
    """The one card (with its reminder key) due for the person now, or None: at most one a day."""
    if not asked(ctx, pid) or not _asking_time(ctx):
        return None
    version = ctx.settings.school.policy_version
    record = answer_of(ctx, pid)
    why = why_ask(ctx, pid)
    ask = f"disclaimer-ask:{version}:{why}:{pid}"
    confirm = f"disclaimer-confirm:{pid}:{record.get('at')}"
    keys = []
    if why is not None:
        keys.append(ask)
    elif record.get("answer") != WILL_ADD:
        return None  # answered, and an all-clear
    elif confirm_day(date.fromisoformat(record["date"]), ctx.settings.school.nation) == ctx.today:
        keys.append(confirm)
    slot = weekly_slot(ctx)
    if slot is not None and record.get("date") != ctx.today.isoformat():
        keys.append(f"disclaimer-remind:{slot}:{version}:{pid}")
    if any(_sent_today(ctx, key) for key in keys):
        return None
    key = next((k for k in keys if not ctx.reminded(k)), None)
    if key is None:
        return None
    if key == ask:
        return key, ask_card(ctx, pid, ask_note(ctx, pid, str(why)))
    if key == confirm:
        return key, confirm_card(ctx, pid, "A reminder.")
    if why is None:
        return key, confirm_card(ctx, pid, "A weekly reminder.")
    return key, ask_card(ctx, pid, "A weekly reminder: you have not yet answered this question.")


def reminders(ctx: Context) -> list[tuple[str, Outcome]]:
    """The first ask, the ask again (new version, or months after), the confirmation, and Monday's reminder."""
    if not _asking_time(ctx):
        return []
    due = []
    for pid in staff(ctx):
        found = _due(ctx, pid)
        if found is None:
            continue
        key, card = found
        out = Outcome(actor="policybot")
        if not monday_card_due(ctx, pid):
            out.send(person(pid), card)
        # else: the policy's Monday reminder goes to them in this same tick and carries this card (`join`).
        due.append((key, out))
    return due


def join(ctx: Context, pid: str, card: Card) -> Card:
    """The policy's Monday reminder `card` for `pid`, with this question added when one is due for them,
    so one card carries both."""
    found = _due(ctx, pid)
    if found is None:
        return card
    mine = found[1]
    return Card(
        card.title,
        f"{card.body}\n\nAlso, about personal social media accounts:\n\n{mine.body}",
        fields=(*card.fields, *mine.fields),
        buttons=(*card.buttons, *mine.buttons),
        tone=card.tone,
    )


SCHEDULES = (reminders,)
