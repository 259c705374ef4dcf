"""Delivery to Teams: proactive sends through stored conversation references, and card updates.

Targets (kept in the persisted outbox, so a restart carries on where it stopped):
- ``person|<person id>``: the person's personal chat with the bot; created through the
  connector (``POST /v3/conversations``) if they have the app but never wrote to it.
- ``slt``: the SLT team's channel, once the app has been added to that team.
- ``update|<reference key>|<activity id>``: one sent copy of a keyed card, to replace.

Messages and card updates are posted straight to the connector's REST API
(``POST /v3/conversations/{id}/activities``, ``PUT .../activities/{activity id}``) with
the Authorization header the SDK's own credentials give for that service URL. Going
through ``continue_conversation`` instead cost more than everything else policybot does
for a Teams message: a turn context, a deep copy of the card and msrest's serialisation
of every node of it, then the response deserialised (measured in bench/run.py). Opening
a new personal chat, which happens once per person, still goes through the SDK.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import aiohttp
import requests
from botbuilder.core import TurnContext
from botbuilder.integration.aiohttp import CloudAdapter
from botbuilder.schema import ChannelAccount, ConversationParameters, ConversationReference
from msrest.exceptions import ClientRequestError, HttpOperationError

from adapters.teams.auth import TOKEN_WAIT, OffLoopCredentials, TokenUnavailable
from adapters.teams.clients import SEND_TIMEOUT
from adapters.teams.fitting import card_activity
from adapters.teams.references import (
    CARDS,
    HOW_TO_REACH,
    REFERENCES,
    SERVICE,
    SLT,
    UNREACHABLE,
    WAITING,
    person_key,
    save_reference,
)
from adapters.teams.settings import PLATFORM
from bot.delivery import Message
from bot.errors import PermanentFailure, TemporaryFailure
from bot.front_end import OwnRecords
from bot.messages import Card, Outbound, role
from bot.people import Directory

log = logging.getLogger("policybot.teams")
GIVE_UP_AFTER = timedelta(days=7)
RETRY_UNREACHABLE = timedelta(minutes=15)


class Unreachable(Exception):
    """The person has no chat with the bot and one could not be created."""


class Refused(Exception):
    """The connector answered with an HTTP error."""

    def __init__(self, status: int, retry_after: str = "") -> None:
        super().__init__(f"Teams answered {status}")
        self.status = status
        self.retry_after = retry_after


def classify(exc: BaseException) -> TemporaryFailure | PermanentFailure | Unreachable:
    """Map a connector error to what the outbox should do with it."""
    if isinstance(exc, HttpOperationError) and getattr(exc, "response", None) is not None:
        exc = Refused(exc.response.status_code, exc.response.headers.get("Retry-After", ""))
    if isinstance(exc, TokenUnavailable):
        return TemporaryFailure(
            f"{exc}; check app_id, app_password and tenant_id in [teams] if this keeps happening", exc.retry_after
        )
    if isinstance(exc, Refused):
        if exc.status == 429 or exc.status >= 500:
            retry = exc.retry_after
            return TemporaryFailure(
                f"Teams answered {exc.status}", float(retry) if retry.replace(".", "", 1).isdigit() else None
            )
        if exc.status == 401:
            # Our token was not accepted (expired, or the app's secret changed): kept and
            # retried, as MSAL fetches a new token, rather than given up.
            return TemporaryFailure(
                "Teams did not accept the bot's token (401); "
                "check app_id, app_password and tenant_id in [teams] if this keeps happening"
            )
        if exc.status in (403, 404):
            return Unreachable(f"Teams answered {exc.status}")
        return PermanentFailure(f"Teams refused the message ({exc.status})")
    if isinstance(
        exc,
        ClientRequestError
        | requests.RequestException
        | aiohttp.ClientError
        | TimeoutError
        | asyncio.TimeoutError
        | OSError,
    ):
        return TemporaryFailure(f"could not reach Teams ({exc.__class__.__name__})")
    return PermanentFailure(f"unexpected error sending to Teams ({exc.__class__.__name__})")


class TeamsChannel:
    """The delivery channel for Microsoft Teams."""

    name = "teams"

    def __init__(
        self,
        adapter: CloudAdapter,
        app_id: str,
        records: OwnRecords,
        directory: Directory,
        now: Callable[[], datetime],
        timeout: float = SEND_TIMEOUT,
    ) -> None:
        self.adapter = adapter
        self.app_id = app_id
        self.store = records  # its own tables only (TABLES)
        self.directory = directory
        self.now = now
        self.timeout = timeout
        self.session: aiohttp.ClientSession | None = None  # opened on first use, closed by close()
        self._signing = requests.Session()  # only carries the header the SDK's credentials set

    async def close(self) -> None:
        if self.session is not None:
            await self.session.close()
            self.session = None

    async def _authorization(self, service_url: str) -> str:
        """The Authorization header the SDK would send to this service URL ("" when anonymous)."""
        auth = self.adapter.bot_framework_authentication
        factory = auth.create_connector_factory(self.adapter.create_claims_identity(self.app_id))
        client = await factory.create(service_url, None)  # cached per service URL (adapters/teams/auth.py)
        credentials = client.config.credentials
        if isinstance(credentials, OffLoopCredentials):
            # Fetched in a worker thread if none is kept, never on the event loop; a slow Microsoft
            # puts this send off for a moment rather than hold up the messages behind it.
            await credentials.ready(wait=TOKEN_WAIT)
        # As msrest does before each request (only the kept token is read).
        signed = credentials.signed_session(self._signing)
        return str(signed.headers.get("Authorization", ""))

    def _refused_token(self, service_url: str) -> None:
        """The connector did not accept our token: ask MSAL again next time rather than reuse it."""
        for key, client in self.adapter.bot_framework_authentication.connectors.items():
            if key[0] == service_url and isinstance(client.config.credentials, OffLoopCredentials):
                client.config.credentials.forget()

    async def _call(self, method: str, reference: dict[str, Any], path: str, body: dict[str, Any]) -> dict[str, Any]:
        """One request to the connector of `reference`'s service URL; its JSON answer."""
        service_url = str(reference.get("serviceUrl") or "")
        if not service_url.startswith(("https://", "http://")):
            raise PermanentFailure("the stored Teams conversation has no service URL")
        headers = {"Content-Type": "application/json; charset=utf-8"}
        authorization = await self._authorization(service_url)
        if authorization:
            headers["Authorization"] = authorization
        if self.session is None:
            self.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        async with self.session.request(
            method, service_url.rstrip("/") + path, data=json.dumps(body, ensure_ascii=False).encode(), headers=headers
        ) as resp:
            if resp.status >= 300:
                if resp.status == 401:
                    self._refused_token(service_url)
                raise Refused(resp.status, resp.headers.get("Retry-After", ""))
            answer = await resp.read()
        try:
            parsed = json.loads(answer) if answer else {}
        except ValueError:
            parsed = {}
        return parsed if isinstance(parsed, dict) else {}

    # ---- planning ---------------------------------------------------------------

    def targets(self, msg: Message, directory: Directory) -> list[str]:
        if msg.replace and msg.key:
            copies = (self.store.get(CARDS, msg.key) or {}).get("copies", [])
            if copies:
                return [f"update|{c['reference']}|{c['activity']}" for c in copies]
        if msg.to.kind == "role" and msg.to.id == "slt" and not msg.private and self.store.get(REFERENCES, SLT):
            return ["slt"]
        people = [msg.to.id] if msg.to.kind == "person" else [p.id for p in directory.members(msg.to.id)]
        on_teams = [pid for pid in people if (p := directory.get(pid)) is not None and p.identities.get(PLATFORM)]
        # People we can already reach go first: one unreachable person must not hold up the rest.
        on_teams.sort(key=lambda pid: self.store.get(REFERENCES, person_key(pid)) is None)
        return [f"person|{pid}" for pid in on_teams]

    # ---- sending ------------------------------------------------------------------

    async def send(self, target: str, msg: Message) -> None:
        kind, _, rest = target.partition("|")
        try:
            if kind == "update":
                ref_key, _, activity_id = rest.rpartition("|")
                await self._update(ref_key, activity_id, msg)
            elif kind == "slt":
                await self._post(SLT, msg)
            elif kind == "person":
                await self._to_person(rest, msg)
            else:
                raise PermanentFailure(f"unknown Teams target {target!r}")
        except (TemporaryFailure, PermanentFailure):
            raise
        except Unreachable as exc:
            await self._unreachable(rest, msg, str(exc))
        except Exception as exc:
            failure = classify(exc)
            if isinstance(failure, Unreachable):
                if kind == "person":
                    await self._unreachable(rest, msg, str(failure))
                raise PermanentFailure(str(failure)) from None
            raise failure from None

    async def _card_for(self, msg: Message) -> Card:
        """The card to send now: a keyed card already decided is sent in its final form."""
        if not msg.key:
            return msg.card
        if msg.replace:
            async with self.store.transaction() as tx:
                doc = tx.get(CARDS, msg.key) or {"copies": []}
                tx.put(CARDS, msg.key, {**doc, "final": msg.card.to_dict()})
            return msg.card
        final = (self.store.get(CARDS, msg.key) or {}).get("final")
        return Card.from_dict(final) if final else msg.card

    async def _post(self, ref_key: str, msg: Message) -> None:
        stored = self.store.get(REFERENCES, ref_key)
        if stored is None:
            raise Unreachable("no conversation with the bot yet")
        card = await self._card_for(msg)
        reference = stored["reference"]
        conversation = quote(str((reference.get("conversation") or {}).get("id", "")), safe="")
        # A new message, not a reply: no replyToId, so a channel gets a new thread.
        answer = await self._call(
            "POST",
            reference,
            f"/v3/conversations/{conversation}/activities",
            card_activity(card, self.directory, reference),
        )
        if msg.key and answer.get("id"):
            await self._remember_copy(msg.key, ref_key, str(answer["id"]))

    async def _remember_copy(self, key: str, ref_key: str, activity_id: str) -> None:
        async with self.store.transaction() as tx:
            doc = tx.get(CARDS, key) or {"copies": []}
            copies = [*doc.get("copies", []), {"reference": ref_key, "activity": activity_id}]
            tx.put(CARDS, key, {**doc, "copies": copies})

    async def _update(self, ref_key: str, activity_id: str, msg: Message) -> None:
        stored = self.store.get(REFERENCES, ref_key)
        if stored is None:
            raise PermanentFailure("the conversation of that card is no longer known")
        card = await self._card_for(msg)
        reference = stored["reference"]
        conversation = quote(str((reference.get("conversation") or {}).get("id", "")), safe="")
        body = {**card_activity(card, self.directory, reference), "id": activity_id}
        await self._call(
            "PUT", reference, f"/v3/conversations/{conversation}/activities/{quote(activity_id, safe='')}", body
        )

    async def _to_person(self, person_id: str, msg: Message) -> None:
        key = person_key(person_id)
        if self.store.get(REFERENCES, key) is None:
            await self._create_chat(person_id)
        await self._post(key, msg)
        if self.store.get(UNREACHABLE, person_id):
            async with self.store.transaction() as tx:
                tx.delete(UNREACHABLE, person_id)
                tx.can_reach(person_id)

    async def _create_chat(self, person_id: str) -> None:
        """Open a personal chat with someone who has the app but never wrote to the bot."""
        who = self.directory.get(person_id)
        service = self.store.get(REFERENCES, SERVICE)
        teams_id = who.identities.get(PLATFORM, "") if who else ""
        if not teams_id:
            raise PermanentFailure("this person has no teams_id in the configuration")
        if service is None:
            raise Unreachable("nobody has used policybot in Teams yet, so the bot does not know where to reach people")
        member = (self.store.get(REFERENCES, f"teams:member:{person_id}") or {}).get("member_id") or teams_id
        params = ConversationParameters(
            is_group=False,
            bot=ChannelAccount(id=service["bot_id"], name=service.get("bot_name")),
            members=[ChannelAccount(id=member)],
            tenant_id=service.get("tenant_id"),
            channel_data={"tenant": {"id": service.get("tenant_id")}},
        )
        captured: list[ConversationReference] = []

        async def opened(tc: TurnContext) -> None:
            captured.append(TurnContext.get_conversation_reference(tc.activity))

        await self.adapter.create_conversation(
            self.app_id, opened, params, service.get("channel_id", "msteams"), service["service_url"]
        )
        if not captured:
            raise TemporaryFailure("Teams did not open the chat; trying again later")
        await save_reference(
            self.store, person_key(person_id), {"kind": "person", "person": person_id}, captured[0], self.now()
        )
        async with self.store.transaction() as tx:
            tx.can_reach(person_id)

    async def _unreachable(self, person_id: str, msg: Message, why: str) -> None:
        """Tell administrators once, keep the message for a week, then give up on this target."""
        now = self.now()
        async with self.store.transaction() as tx:
            doc = tx.get(UNREACHABLE, person_id)
            first = doc is None
            if first:
                doc = {"person": person_id, "since": now.isoformat(), "why": why, "messages": {}}
            assert doc is not None
            seen = doc["messages"].setdefault(msg.id, now.isoformat())
            tx.put(UNREACHABLE, person_id, doc)
            tx.cannot_reach(person_id, WAITING, HOW_TO_REACH)
            if first:
                who = self.directory.get(person_id)
                name = who.name if who else person_id
                card = Card(
                    f"policybot cannot reach {name} in Teams yet",
                    f"I have a message for {name} ('{msg.card.title}') but cannot reach them in Teams yet. "
                    f"{HOW_TO_REACH} "
                    "I'll keep trying for a week. Type /unreachable to see everyone I cannot reach.",
                    tone="warning",
                )
                # Admins hear through every front end; not through this target itself.
                tx.send([Outbound(role("admins"), card, key=f"unreachable:{person_id}")])
        if now - datetime.fromisoformat(seen) > GIVE_UP_AFTER:
            raise PermanentFailure(f"{why}; gave up after {GIVE_UP_AFTER.days} days")
        raise TemporaryFailure(why, retry_after=RETRY_UNREACHABLE.total_seconds())
