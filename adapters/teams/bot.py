"""Inbound Teams activities: parse them into neutral events, remember how to reach people, run the turn.

Replies are not sent in the turn: the engine puts them in the persisted outbox and the
Teams delivery channel sends them to the person's chat, so a reply survives a
connector outage like any other message. Only refusals the engine never saw (someone
not on the staff list, an unexpected error) are answered in the turn itself, and a card
click (an `adaptiveCard/action` invoke) is answered with a line Teams shows under the card:
the refusal when the click was refused, else a thank-you.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from datetime import datetime
from typing import Any, ClassVar

from botbuilder.core import Bot, CardFactory, InvokeResponse, TurnContext
from botbuilder.schema import Activity, ActivityTypes, AdaptiveCardInvokeResponse

from adapters.teams import activity as shape
from adapters.teams.cards import parse_submit, render_card, shown
from adapters.teams.references import REFERENCES, SERVICE, SLT, TABLES, person_key, save_reference
from adapters.teams.settings import PLATFORM
from bot.core import Core, not_saved
from bot.errors import NotRecognised, PolicybotError, StoreUnavailable, reference
from bot.messages import Card, Inbound, Outbound, person
from bot.people import fold

log = logging.getLogger("policybot.teams")
ADAPTIVE = "application/vnd.microsoft.card.adaptive"
# Teams attaches an HTML copy of any formatted message; that is not a file.
NOT_FILES = {"text/html", ADAPTIVE}


def parse_activity(activity: Activity) -> Inbound | None:
    """The neutral event for a message or card action, or None for anything else."""
    who = activity.from_property
    user = (who.aad_object_id or who.id) if who else ""
    event_id = f"teams:{activity.id}" if activity.id else ""
    if activity.type == ActivityTypes.invoke and activity.name == "adaptiveCard/action":
        value = activity.value if isinstance(activity.value, dict) else {}
        execute = value.get("action") if isinstance(value.get("action"), dict) else {}
        data = execute.get("data") if isinstance(execute.get("data"), dict) else {}
        verb = execute.get("verb") if isinstance(execute.get("verb"), str) else ""
        action, rest = parse_submit({"action": verb, **data})
        return Inbound("teams", user, "action", action=action, data=rest, event_id=event_id)
    if activity.type != ActivityTypes.message:
        return None
    if isinstance(activity.value, dict) and activity.value.get("action"):
        # An Action.Submit from a card: the data and the inputs arrive as the message value.
        action, rest = parse_submit(activity.value)
        return Inbound("teams", user, "action", action=action, data=rest, event_id=event_id)
    files = [a for a in shape.attachments(activity) if (a.content_type or "") not in NOT_FILES]
    if files:
        # Never downloaded: the engine decides what to say about a file.
        return Inbound("teams", user, "file", data={"names": [a.name or "" for a in files]}, event_id=event_id)
    text = shape.text_without_mention(activity).strip()
    if text.startswith("/"):
        name, _, rest = text[1:].partition(" ")
        return Inbound("teams", user, "command", text=rest.strip(), command=fold(name), event_id=event_id)
    return Inbound("teams", user, "text", text=text, event_id=event_id)


THANKS = "Thanks, got it."


def click_answer(person_id: str, sent: list[Outbound]) -> str:
    """What Teams shows under a clicked card: the refusal if the click was refused (the
    reply the engine marked as answering the click in place, or a warning to the person
    who clicked), never a thank-you for something that did not happen."""
    me = person(person_id)
    for msg in sent:
        if msg.to == me and (msg.ephemeral or msg.card.tone == "warning"):
            return shown(f"{msg.card.title}. {msg.card.body}".strip())
    return THANKS


class InvokeMessage(AdaptiveCardInvokeResponse):
    """An `adaptiveCard/action` answer whose value is a message (the SDK's model types it as a dict).

    It stays an msrest model: the aiohttp CloudAdapter serialises the body itself, and a
    plain dict there fails ('dict' object has no attribute 'is_xml_model').
    """

    _attribute_map: ClassVar[dict[str, Any]] = {
        **AdaptiveCardInvokeResponse._attribute_map,
        "value": {"key": "value", "type": "object"},
    }


class TeamsBot(Bot):
    """The bot behind POST /api/messages."""

    def __init__(self, core: Core, slt_team: str = "", now: Callable[[], datetime] | None = None) -> None:
        self.core = core
        self.records = core.records(PLATFORM, TABLES)
        self.slt_team = fold(slt_team)
        self.now = now or core.now

    async def on_turn(self, context: TurnContext, inbox_key: str = "") -> None:
        """Handle one activity. `inbox_key` names its saved copy when it was acknowledged
        before being handled (see `mount`): once the turn reaches the engine, `Core.handle`
        decides what becomes of it; a message answered here without the engine (one it
        could not read) is dropped here."""
        if not await self._turn(context, inbox_key) and inbox_key:  # answered without the engine
            with contextlib.suppress(Exception):
                await self.core.forget(inbox_key)

    async def _turn(self, context: TurnContext, inbox_key: str) -> bool:
        """Run the turn; True if the saved copy is to be left as it is (the engine has it, or the store failed)."""
        activity = context.activity
        event = None
        leave_copy = False
        try:
            await self.remember(activity)
            if activity.type == ActivityTypes.conversation_update and self._bot_added_personally(activity):
                event = self._greeting(activity)
            else:
                event = parse_activity(activity)
            if event is None:
                # An invoke Teams expects an answer to, but not one of ours: answer rather than fail it.
                await self._ack(context, "Sorry, I didn't understand that. Type help to see what I can do.")
                return False
            leave_copy = True  # from here Core.handle decides what becomes of it
            sent = await self.core.handle(event, inbox_key)
            await self._ack(context, self._answer(event, sent))
        except NotRecognised as exc:
            user = event.user if event else ""
            await self._reply(
                context, Card("Sorry", f"{exc}\nYour Teams id for them to add is: {user}", tone="warning")
            )
        except StoreUnavailable as exc:
            leave_copy = True  # handled at the next start, so the person is not asked to send it again
            await self._reply(
                context,
                Card("Sorry", str(not_saved(exc, f"a Teams {activity.type}", kept=bool(inbox_key))), tone="warning"),
            )
        except PolicybotError as exc:
            await self._reply(context, Card("Sorry", str(exc), tone="warning"))
        except Exception:
            ref = reference()
            log.exception("Teams turn failed (reference %s)", ref)
            await self._reply(
                context,
                Card(
                    "Sorry, something went wrong",
                    f"Something went wrong on my side and nothing was changed. Please try again in a minute. "
                    f"If it keeps happening, tell the school's policybot administrator and quote reference {ref}.",
                    tone="warning",
                ),
            )
        return leave_copy

    # ---- replies in the turn ---------------------------------------------------------

    async def _reply(self, context: TurnContext, card: Card) -> None:
        if context.activity.type == ActivityTypes.invoke:
            await self._ack(context, f"{card.title}. {card.body}")
            return
        try:
            await context.send_activity(
                Activity(
                    type=ActivityTypes.message,
                    summary=card.title,
                    attachments=[CardFactory.adaptive_card(render_card(card, self.core.people))],
                )
            )
        except Exception as exc:  # the answer to this turn could not be sent: say so in the log, not with a 500
            log.warning("could not answer a Teams turn directly (%s)", exc.__class__.__name__)

    def _answer(self, event: Inbound, sent: list[Outbound]) -> str:
        who = self.core.person(PLATFORM, event.user)
        return click_answer(who.id if who else "", sent)

    async def _ack(self, context: TurnContext, text: str) -> None:
        """Answer a card's Action.Execute invoke (Teams shows the text on the card)."""
        if context.activity.type != ActivityTypes.invoke:
            return
        body = InvokeMessage(status_code=200, type="application/vnd.microsoft.activity.message", value=text)
        await context.send_activity(
            Activity(type=ActivityTypes.invoke_response, value=InvokeResponse(status=200, body=body))
        )

    # ---- conversation references ------------------------------------------------------

    def _bot_added_personally(self, activity: Activity) -> bool:
        conv = activity.conversation
        bot_id = activity.recipient.id if activity.recipient else None
        return bool(
            conv and conv.conversation_type == "personal" and bot_id and bot_id in shape.members_added(activity)
        )

    def _greeting(self, activity: Activity) -> Inbound | None:
        who = activity.from_property
        user = (who.aad_object_id or who.id) if who else ""
        if not user or self.core.person(PLATFORM, user) is None:
            return None
        return Inbound("teams", user, "text", text="help", event_id=f"teams:welcome:{activity.conversation.id}")

    async def remember(self, activity: Activity) -> None:
        """Store how to reach this person or channel later (first contact or installation)."""
        if not activity.service_url or activity.conversation is None:
            return
        ref = TurnContext.get_conversation_reference(activity)
        now = self.now()
        conv = activity.conversation
        tenant = shape.tenant_id(activity)
        bot = activity.recipient
        service = self.records.get(REFERENCES, SERVICE) or {}
        want = {
            "service_url": activity.service_url,
            "tenant_id": tenant,
            "bot_id": bot.id if bot else "",
            "bot_name": bot.name if bot else "",
            "channel_id": activity.channel_id,
        }
        if any(service.get(k) != v for k, v in want.items()):
            async with self.records.transaction() as tx:
                tx.put(REFERENCES, SERVICE, {**want, "updated_at": now.isoformat()})
        who = activity.from_property
        person = self.core.person(PLATFORM, (who.aad_object_id or who.id) if who else "")
        if person is not None and who is not None and who.id:
            # The id Teams gave them in this tenant, to open a chat with them later. (Not
            # stored as "id": the store sets that to the record's own key.)
            member = self.records.get(REFERENCES, f"teams:member:{person.id}")
            if member is None or member.get("member_id") != who.id:
                async with self.records.transaction() as tx:
                    tx.put(
                        REFERENCES,
                        f"teams:member:{person.id}",
                        {"kind": "member", "person": person.id, "member_id": who.id},
                    )
        if conv.conversation_type == "personal" and person is not None:
            if await save_reference(
                self.records, person_key(person.id), {"kind": "person", "person": person.id}, ref, now
            ):
                await self._wake(person.id)
        elif conv.conversation_type == "channel" and (team := shape.team(activity)) is not None:
            # Post new threads in the channel itself, not as replies to whatever was said.
            ref.conversation.id = shape.channel_id(activity) or team["id"]
            doc = {"kind": "team", "team": team["id"], "name": team.get("name", "")}
            await save_reference(self.records, f"teams:team:{team['id']}", doc, ref, now)
            installing = activity.type in (ActivityTypes.conversation_update, ActivityTypes.installation_update)
            is_slt = self.slt_team and self.slt_team in {
                fold(team[k]) for k in ("id", "name", "aadGroupId") if k in team
            }
            if is_slt and (installing or self.records.get(REFERENCES, SLT) is None):
                if await save_reference(self.records, SLT, {"kind": "slt", **doc}, ref, now):
                    log.info("SLT approvals will go to the channel of team %r", team.get("name"))

    async def _wake(self, person_id: str) -> None:
        """Someone just became reachable: send what was waiting for them now."""
        async with self.records.transaction() as tx:
            tx.can_reach(person_id)
        await self.core.deliver_now(PLATFORM, f"person|{person_id}")
