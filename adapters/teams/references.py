"""How the Teams front end reaches people later: stored conversation references, and whom it cannot reach yet.

A person's personal chat with the bot, the SLT team's channel and the service the bot was last
reached at are kept in the front end's own records (`Core.records`); whom Teams cannot reach is
told to the core, so /unreachable lists it on every front end.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Protocol

from botbuilder.schema import ConversationReference

from adapters.teams.settings import PLATFORM
from bot.config import Person
from bot.front_end import OwnRecords
from bot.people import Directory

REFERENCES = "references"  # how to reach people and channels later (keys start "teams:")
CARDS = "teams_cards"  # every sent copy of a keyed card: {copies: [...], final: card}
UNREACHABLE = "teams_unreachable"  # people the bot could not reach yet
TABLES = (REFERENCES, CARDS, UNREACHABLE)  # all the Teams front end keeps (Core.records)
SERVICE = "teams:service"  # the last service URL, tenant and bot account seen
SLT = "teams:slt"
WAITING = "messages are waiting for them"
HOW_TO_REACH = (
    "Please add the policybot app for them: in the Teams admin centre go to Teams apps > Manage apps > policybot > "
    "Assign users (or use a setup policy to install it for all staff), or ask them to open Apps in Teams, "
    "find policybot and choose Add. "
    "Also check that their teams_id in the configuration is their Microsoft Entra object id."
)


class Records(Protocol):
    """Where references are kept: the front end's own records (`OwnRecords`), or in tests the store itself."""

    def get(self, table: str, key: str) -> dict[str, Any] | None: ...
    def transaction(self) -> Any: ...


def person_key(person_id: str) -> str:
    return f"teams:person:{person_id}"


def serialise(reference: ConversationReference) -> dict[str, Any]:
    return reference.serialize()


def _fingerprint(reference: ConversationReference, doc: dict[str, Any]) -> str:
    """What a stored reference is made of, cheaply: equal means serialising it again would give the same."""
    accounts = [None if a is None else a.__dict__ for a in (reference.conversation, reference.user, reference.bot)]
    return json.dumps(
        [reference.service_url, reference.channel_id, reference.locale, doc, accounts], sort_keys=True, default=str
    )


async def save_reference(
    store: Records, key: str, doc: dict[str, Any], reference: ConversationReference, now: datetime
) -> bool:
    """Store how to reach a person or channel; True if it is new or changed.

    The record keeps a fingerprint of what it was made from, so the same conversation
    again (every message a person sends) costs a comparison, not a serialisation.
    """
    made_from = _fingerprint(reference, doc)
    if (store.get(REFERENCES, key) or {}).get("made_from") == made_from:
        return False
    data = serialise(reference)
    data.pop("activityId", None)  # replies go to the conversation, not to one message
    async with store.transaction() as tx:
        old = tx.get(REFERENCES, key)
        tx.put(
            REFERENCES,
            key,
            {**doc, "platform": "teams", "reference": data, "made_from": made_from, "updated_at": now.isoformat()},
        )
    return old is None or old.get("reference") != data


async def publish_reachability(records: OwnRecords, directory: Directory) -> None:
    """Tell the core whom Teams cannot reach now (listed by /unreachable on every front end)."""
    people = {p.id: (why, HOW_TO_REACH) for p, why in unreachable_people(records, directory)}
    async with records.transaction() as tx:
        tx.cannot_reach_only(people)


def unreachable_people(store: Records, directory: Directory) -> list[tuple[Person, str]]:
    """Everyone policybot cannot reach in Teams yet, with what is wrong."""
    out = []
    for p in directory.people:
        if not p.employed and not p.identities.get(PLATFORM):
            continue
        if not p.identities.get(PLATFORM):
            out.append((p, "no teams_id in the configuration"))
        elif store.get(REFERENCES, person_key(p.id)) is None:
            failed = store.get(UNREACHABLE, p.id)
            out.append((p, WAITING if failed else "has not opened policybot in Teams yet"))
    return out
