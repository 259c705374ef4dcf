"""The card size cap for Teams: a card's connector JSON, its longest texts shortened until Teams takes it."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from botbuilder.core import CardFactory

from adapters.teams.cards import plain_text, render_card
from bot.messages import Card
from bot.people import Directory


def card_activity(card: Card, directory: Directory, reference: dict[str, Any]) -> dict[str, Any]:
    """The connector's JSON for a new message carrying `card`, addressed as `reference` says
    (the fields the SDK's apply_conversation_reference would set), no bigger than Teams takes:
    the longest texts are shortened, with a note saying so, until it is under ACTIVITY_MAX."""
    activity = _activity(card, directory, reference)
    for _ in range(20):
        excess = size(activity) - ACTIVITY_MAX
        if excess <= 0:
            break
        card = _shorter(card, excess)
        activity = _activity(card, directory, reference)
    return activity


ACTIVITY_MAX = 24 * 1024  # bytes of one message's JSON: Teams refuses messages over about 28 KB
SHORTENED = " … (shortened — this was too long to show in Teams)"
TEXT_KEEP = 200  # characters any shortened text keeps at least


def size(activity: dict[str, Any]) -> int:
    """Bytes of an activity's JSON as it is sent."""
    return len(json.dumps(activity, ensure_ascii=False).encode())


def _cut(text: str, limit: int) -> str:
    """`text` in at most `limit` characters with the note, cut at a line or word break where one is near."""
    room = max(0, limit - len(SHORTENED))
    head = text[:room]
    brk = max(head.rfind("\n"), head.rfind(" "))
    if brk > room * 3 // 4:
        head = head[:brk]
    return head.rstrip() + SHORTENED


def _shorter(card: Card, excess: int) -> Card:
    """`card` with its longest text shortened by about `excess` bytes (or, when every text is
    short already, with half of its fields left out and a line saying so)."""
    texts = {"title": card.title, "body": card.body, **{f"field{i}": value for i, (_, value) in enumerate(card.fields)}}
    if card.question is not None:
        texts["prompt"] = card.question.prompt
    name, text = max(texts.items(), key=lambda item: len(item[1]))
    if len(text) > TEXT_KEEP + len(SHORTENED):
        # A character is at least a byte: taking out `excess` of them (and some room) takes out enough, or nearly.
        cut = _cut(text, max(TEXT_KEEP + len(SHORTENED), len(text) - excess - len(SHORTENED) - 64))
        if name == "title":
            return replace(card, title=cut)
        if name == "body":
            return replace(card, body=cut)
        if name == "prompt":
            assert card.question is not None
            return replace(card, question=replace(card.question, prompt=cut))
        i = int(name.removeprefix("field"))
        return replace(card, fields=(*card.fields[:i], (card.fields[i][0], cut), *card.fields[i + 1 :]))
    shown = card.fields[:-1] if card.fields and card.fields[-1][0] == "…" else card.fields
    hidden = len(card.fields) - len(shown) and int(card.fields[-1][1].split()[0])
    keep = len(shown) // 2
    if keep:
        return replace(
            card,
            fields=(
                *shown[:keep],
                ("…", f"{hidden + len(shown) - keep} more not shown: this was too long to show in Teams"),
            ),
        )
    return card


def _activity(card: Card, directory: Directory, reference: dict[str, Any]) -> dict[str, Any]:
    activity: dict[str, Any] = {
        "type": "message",
        "serviceUrl": reference.get("serviceUrl"),
        "channelId": reference.get("channelId"),
        "conversation": reference.get("conversation"),
        "from": reference.get("bot"),
        "recipient": reference.get("user"),
        "locale": reference.get("locale"),
        "summary": plain_text(card),
        "attachments": [
            {"contentType": CardFactory.content_types.adaptive_card, "content": render_card(card, directory)}
        ],
    }
    return {k: v for k, v in activity.items() if v is not None}
