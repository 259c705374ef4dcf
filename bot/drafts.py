"""A conversation as a stored draft: its key in the `conversations` table, what it has already
sent to other people (said in plain words), and the nudge and expiry of a draft left unfinished.

Cancelling, help and expiry tell the person truthfully what went out while they were answering
(an alert to SLT), so the conversation notes each such message and these read the notes back.
The scheduler runs `reminders` each tick, through `Conversations.reminders`.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.messages import Card, person
from bot.people import Directory
from bot.registry import Registry
from bot.timefmt import when
from bot.workflow import CONVERSATIONS, Context, Outcome

ROLE_NAMES = {"slt": "the Senior Leadership Team", "admins": "the administrators", "staff": "all staff"}


def conversation_key(person_id: str, workflow: str) -> str:
    return f"{person_id}:{workflow}"


def sent_since(out: Outcome, since: int, ctx: Context) -> list[dict[str, Any]]:
    """The messages an outcome sent to someone other than the actor after its first `since` (updates of cards aside)."""
    me = person(ctx.actor.id)
    return [
        {"to": str(m.to), "title": m.card.title, "at": ctx.now.isoformat()}
        for m in out.messages[since:]
        if m.to != me and not m.replace
    ]


def sent_lines(sent: list[dict[str, Any]], directory: Directory, tz: ZoneInfo) -> list[str]:
    """'- to the Senior Leadership Team, Wed 25 Nov 2026, 10:02: Incident INC-3 ...', one a message."""
    return [f"- to {recipient(s['to'], directory)}, {when(s['at'], tz)}: {s['title']}" for s in sent]


def recipient(to: str, directory: Directory) -> str:
    """Who a noted message went to, by name ('the Senior Leadership Team', a person's name)."""
    kind, _, ident = to.partition(":")
    if kind == "role":
        return ROLE_NAMES.get(ident, ident)
    return directory.name(ident)


def cancel_hint(convo: dict[str, Any], directory: Directory) -> str:
    """What typing cancel would do now, from what this conversation has already sent."""
    sent = convo.get("sent") or []
    if not sent:
        return "cancel to stop (nothing will be sent)"
    who = sorted({recipient(s["to"], directory) for s in sent})
    return f"cancel to stop (nothing more will be sent; what already went to {' and '.join(who)} stays with them)"


def reminders(settings: Settings, registry: Registry, directory: Directory, ctx: Context) -> list[tuple[str, Outcome]]:
    """A nudge for a conversation left unfinished, and its expiry after `expire_after_days`."""
    conf = settings.conversations
    due = []
    for convo in ctx.all(CONVERSATIONS):
        updated = datetime.fromisoformat(convo["updated_at"])
        wf = registry.workflows.get(convo["workflow"])
        title = wf.title if wf else "Something you started"
        key = conversation_key(convo["person"], convo["workflow"])
        out = Outcome(actor=ctx.actor.id)
        if ctx.now - updated >= timedelta(days=conf.expire_after_days):
            out.delete(CONVERSATIONS, key, action="draft_expired")
            again = f" Type /{wf.command} to start again." if wf and wf.command else ""
            sent = sent_lines(convo.get("sent") or [], directory, settings.school.tz)
            told = (
                "Nothing was sent."
                if not sent
                else "\n".join(
                    [
                        "Nothing more will be sent from it. What was already sent stays with whoever received it:",
                        *sent,
                    ]
                )
            )
            out.send(
                person(convo["person"]),
                Card(
                    "Your unfinished draft has expired",
                    f"{title}: you didn't finish this, "
                    f"so after {conf.expire_after_days:g} days I have removed your answers. {told}{again}",
                ),
            )
            due.append((f"expired:{key}:{convo['started_at']}", out))
        elif ctx.now - updated >= timedelta(hours=conf.remind_after_hours) and not convo.get("reminded"):
            out.put(CONVERSATIONS, key, {**convo, "reminded": True})
            out.send(
                person(convo["person"]),
                Card(
                    "A gentle reminder",
                    f"{title}: you haven't finished this yet. "
                    "Reply to carry on where you left off, or type cancel to throw it away.",
                ),
            )
            due.append((f"nudge:{key}:{convo['updated_at']}", out))
    return due
