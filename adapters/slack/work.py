"""The work behind Slack's acknowledgement.

A listener saves a request and answers Slack at once; the work it asks for is done here
afterwards, first come, first served (one at a time for each person): the person's turn,
the modal a click's written question opens, the App Home tab, the full text of a
shortened card. What a turn queued, the delivery loop sends. Known refusals are shown to
the person privately; anything unexpected is logged with a short reference that the
person is shown instead of a traceback.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from adapters.slack.blocks import answer_modal, chunks, escape, full_text, home_view, read_json
from adapters.slack.channel import FULL, SlackChannel
from adapters.slack.inbound import where
from adapters.slack.notes import PRIVATE_WAIT, PrivateNotes, sorry
from adapters.slack.settings import PLATFORM
from bot.core import Core
from bot.errors import NotRecognised, PolicybotError, reference
from bot.messages import Card, Inbound, Outbound, Recipient

log = logging.getLogger("policybot.slack")


class Work:
    """What follows the acknowledgement of a Slack request, in the order requests arrived."""

    def __init__(self, core: Core, channel: SlackChannel, notes: PrivateNotes) -> None:
        self.core = core
        self.channel = channel
        self.client = channel.client
        self.notes = notes

    def then(self, user: str, work: Callable[[], Awaitable[None]]) -> None:
        """Do `work` after Slack has been answered, in the order requests arrived (one at a time for each person)."""
        self.core.later(work, key=f"slack:{user}")

    async def kindly(self, channel: str, user: str, work: Callable[[], Awaitable[None]]) -> None:
        """Do work after the acknowledgement that is not a turn (a home tab, a full text): a bug
        is logged with a reference, and the person is told that reference privately."""
        try:
            await work()
        except Exception:
            ref = reference()
            log.exception("unexpected error after a Slack request, reference %s", ref)
            await self.notes.tell(channel, user, sorry(ref))

    async def idle(self) -> None:
        """Wait until every acknowledged request has been handled and what it sent delivered."""
        await self.core.idle()
        await self.flush()

    async def flush(self) -> None:
        """Deliver what is due now (the delivery loop does this too when a turn kicks it)."""
        try:
            await self.core.flush()
        except Exception:
            log.exception("delivery after a Slack request failed; the outbox will retry")

    async def replay(self, _app: web.Application | None = None) -> None:
        """Handle requests that were acknowledged but not handled when policybot last stopped."""
        for key, event, extra in self.core.unhandled():
            if event.platform == "slack":
                self.then(
                    event.user,
                    functools.partial(
                        self.turn, event, {"channel_id": extra.get("channel", ""), "user": {"id": event.user}}, key
                    ),
                )

    async def turn(self, event: Inbound, body: dict[str, Any], inbox_key: str = "") -> None:
        """Run one turn and show a refusal privately; the delivery loop sends what it queued."""
        channel = where(body)
        if channel:
            self.channel.surfaces[event.user] = channel
        try:
            sent = await self.core.handle(event, inbox_key)
            if event.kind == "action" and event.action != "answer":
                await self.ask_in_modal(body, sent)
        except NotRecognised as exc:
            await self.notes.tell(channel, event.user, f"{exc}\nYour Slack member ID for them to add is: {event.user}")
        except PolicybotError as exc:
            await self.notes.tell(channel, event.user, str(exc))
        except Exception:
            ref = reference()
            log.exception("unexpected error handling a Slack %s, reference %s", event.kind, ref)
            await self.notes.tell(
                channel,
                event.user,
                f"Sorry, something went wrong on my side (reference {ref}). "
                "Your last step may not have been saved: "
                "please try again, and tell your administrator if it keeps happening.",
            )

    async def ask_in_modal(self, body: dict[str, Any], sent: list[Outbound]) -> None:
        """A click that leads straight to a written question (a reason, a note) opens it in a modal.

        The question is in the person's DM as well, so typing the answer there works too.
        """
        trigger = body.get("trigger_id")
        person = self.core.person(PLATFORM, str((body.get("user") or {}).get("id", "")))
        if not trigger or person is None:
            return
        for out in sent:
            q = out.card.question
            if q is None or q.kind != "text" or out.to.kind != "person" or out.to.id != person.id:
                continue
            view = answer_modal(out.card.title, q)
            try:
                await self.channel.api.sdk(
                    "views.open", functools.partial(self.client.views_open, trigger_id=str(trigger), view=view)
                )
            except Exception as exc:
                log.info("could not open a modal (%s); the question is in the direct message", exc.__class__.__name__)
            return

    async def show_home(self, user: str) -> None:
        """The App Home tab: what is waiting for this person, rebuilt each time they open it."""
        try:
            card = await self.core.home("slack", user)
        except NotRecognised:
            card = Card(
                "Hello",
                "I don't know you yet. Please ask the school's policybot administrator to add your Slack member ID "
                f"to the staff list: {user}",
            )
        except PolicybotError as exc:  # someone who has left: refused, and the refusal recorded
            card = Card("Sorry", str(exc), tone="warning")
        if card is None:
            return
        try:
            home = home_view(card)
            await self.channel.api.sdk(
                "views.publish", lambda: self.client.views_publish(user_id=user, view=home), wait_up_to=PRIVATE_WAIT
            )
        except Exception as exc:
            log.warning("could not show the App Home tab to %s (%s)", user, exc.__class__.__name__)

    async def show_more(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The whole of a shortened card, to the person who asked, where they asked."""
        user = str((body.get("user") or {}).get("id", ""))
        try:
            msg_id = str(read_json(str(action.get("value", "")))["message"])
        except (ValueError, KeyError, TypeError):
            msg_id = ""
        kept = self.channel.store.get(FULL, msg_id) if msg_id else None
        try:
            # Only someone the message was addressed to, who may still use policybot, reads the rest of it.
            to = Recipient.parse(str(kept["to"])) if kept else None
            await self.core.admit(
                "slack", user, doing="show the full text of a message", record=f"outbox/{msg_id}" if kept else "", to=to
            )
        except NotRecognised as exc:
            await self.notes.tell(where(body), user, f"{exc}\nYour Slack member ID for them to add is: {user}")
            return
        except PolicybotError as exc:
            await self.notes.tell(where(body), user, str(exc))
            return
        if kept is None:
            await self.notes.tell(where(body), user, "Sorry, the full text of that message is no longer available.")
            return
        text = escape(full_text(Card.from_dict(kept["card"])))
        for piece in chunks(text):
            await self.notes.tell(where(body), user, piece, escaped=True)
