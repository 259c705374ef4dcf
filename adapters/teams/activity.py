"""Read an incoming activity without msrest's general-purpose deserialiser.

`Activity().deserialize(body)` walks msrest's whole machinery for every field of every
nested model (copying each field's description, trying each key extractor, catching
errors) and was a third of the CPU of answering a Teams message. The models and types an
activity is made of are few, so `read_activity` follows the same attribute maps directly
and builds the same objects: equal, field for field, to what msrest builds (a test checks
this on every activity the tests send and on generated ones). Anything it does not
recognise exactly (a number where text belongs, a string for a flag...) is left to msrest,
which decides as it always has.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import botbuilder.schema as schema
from botbuilder.schema import Activity, Attachment, ChannelAccount, Entity
from msrest.serialization import Deserializer, Model


class _Unusual(Exception):
    """A value msrest may convert in its own way: let msrest read the whole activity."""


def read_activity(body: dict[str, Any]) -> Activity:
    """The Activity that `Activity().deserialize(body)` gives, built directly where possible."""
    try:
        activity = _build(Activity, body)
    except Exception:  # _Unusual, or a value msrest would refuse: msrest decides, as before
        return Activity().deserialize(body)
    assert isinstance(activity, Activity)
    return activity


@cache
def _plan(
    cls: type[Model],
) -> tuple[tuple[tuple[str, str, str, type[Model] | None], ...], frozenset[str], tuple[str, ...]]:
    """For a model: (attribute, JSON key, kind, nested model) per field, the known keys, read-only fields."""
    fields = []
    for attr, desc in cls._attribute_map.items():
        kind: str = desc["type"]
        inner = kind.strip("[]{}")
        model = getattr(schema, inner, None)
        if isinstance(model, type) and issubclass(model, Model):
            kind = kind.replace(inner, "model")
        elif kind not in ("str", "bool", "int", "object", "iso-8601", "[str]"):
            raise TypeError(f"{cls.__name__}.{attr} has a type this reader does not know: {kind}")
        else:
            model = None
        fields.append((attr, desc["key"], kind, model))
    validation = getattr(cls, "_validation", {}) or {}
    readonly = tuple(k for k, v in validation.items() if v.get("readonly") or v.get("constant"))
    return tuple(fields), frozenset(key for _, key, _, _ in fields), readonly


def _build(cls: type[Model], data: Any) -> Model:
    if (
        not isinstance(data, dict)
        or getattr(cls, "_subtype_map", None)
        or "additional_properties" in cls._attribute_map
    ):
        raise _Unusual
    fields, known, readonly = _plan(cls)
    if readonly:
        raise _Unusual
    values: dict[str, Any] = {}
    for attr, key, kind, model in fields:
        values[attr] = None if (raw := data.get(key)) is None else _value(raw, kind, model)
    obj = cls(**values)
    extra = {k: v for k, v in data.items() if k not in known}
    if extra:
        obj.additional_properties = extra
    return obj


def _value(raw: Any, kind: str, model: type[Model] | None) -> Any:
    if kind == "str":
        if type(raw) is not str:
            raise _Unusual
        return raw
    if kind == "bool":
        if type(raw) is not bool:
            raise _Unusual
        return raw
    if kind == "int":
        if type(raw) is not int:
            raise _Unusual
        return raw
    if kind == "object":
        if not isinstance(raw, dict | list | str | int | float | bool):
            raise _Unusual
        return raw
    if kind == "iso-8601":
        if type(raw) is not str:
            raise _Unusual
        return Deserializer.deserialize_iso(raw)
    if kind == "[str]":
        if type(raw) is not list or any(type(x) is not str for x in raw):
            raise _Unusual
        return list(raw)
    assert model is not None
    if kind == "model":
        return _build(model, raw)
    if kind == "[model]":
        if type(raw) is not list:
            raise _Unusual
        return [None if x is None else _build(model, x) for x in raw]
    if kind == "{model}":
        if type(raw) is not dict:
            raise _Unusual
        return {k: None if v is None else _build(model, v) for k, v in raw.items()}
    raise _Unusual


# ---- reading the parts of an activity policybot uses ----------------------------------
#
# The Bot Framework's models type little below the top level: `channelData` is any JSON, a
# list of accounts may hold nulls, an entity may have no type. What follows reads only what
# has the shape Teams sends, and ignores anything else, so a wrong type is never a crash.

MAX_DEPTH = 64  # Bot Framework activities nest a few levels; a card's data perhaps a dozen


def parse_body(raw: bytes) -> Any:
    """The JSON of a request body; ValueError if it is not JSON or is nested deeper than MAX_DEPTH."""
    try:
        body = json.loads(raw)
    except RecursionError:  # deeper than Python's parser goes
        raise ValueError("nested too deeply") from None
    if too_deep(body, MAX_DEPTH):
        raise ValueError("nested too deeply")
    return body


def too_deep(value: Any, limit: int) -> bool:
    """Whether JSON `value` has lists or objects nested more than `limit` levels (without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children: Any = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def channel_data(activity: Activity) -> dict[str, Any]:
    """`channelData` if it is a JSON object, else nothing."""
    return _object(activity.channel_data)


def tenant_id(activity: Activity) -> str | None:
    """The Microsoft Entra tenant the activity came from, if it says so in text."""
    conv = activity.conversation
    return _text(conv.tenant_id if conv else None) or _text(_object(channel_data(activity).get("tenant")).get("id"))


def team(activity: Activity) -> dict[str, str] | None:
    """The team of a channel activity (id, and name and aadGroupId when given), or None."""
    found = _object(channel_data(activity).get("team"))
    if _text(found.get("id")) is None:
        return None
    return {k: v for k in ("id", "name", "aadGroupId") if (v := _text(found.get(k))) is not None}


def channel_id(activity: Activity) -> str | None:
    """The id of the team channel a channel activity came from, if given."""
    return _text(_object(channel_data(activity).get("channel")).get("id"))


def members_added(activity: Activity) -> list[str]:
    """The ids of the accounts a conversationUpdate says were added (nulls and id-less entries left out)."""
    return [m.id for m in activity.members_added or [] if isinstance(m, ChannelAccount) and _text(m.id)]


def attachments(activity: Activity) -> list[Attachment]:
    """The activity's attachments, without nulls."""
    found = activity.attachments
    return [a for a in found if isinstance(a, Attachment)] if isinstance(found, list) else []


def text_without_mention(activity: Activity) -> str:
    """The message's text with the mention of the bot taken out (as in "@policybot help" in a channel).

    Like botbuilder's `TurnContext.remove_recipient_mention`, but without reading the
    mention as a pattern and without failing on an entity that is not shaped as Teams sends it.
    """
    text = activity.text if isinstance(activity.text, str) else ""
    bot = _text(activity.recipient.id if activity.recipient else None)
    for entity in activity.entities if isinstance(activity.entities, list) else []:
        if not isinstance(entity, Entity) or not isinstance(entity.type, str) or entity.type.lower() != "mention":
            continue
        extra = _object(entity.additional_properties)
        mentioned = _object(extra.get("mentioned"))
        if bot is None or mentioned.get("id") != bot:
            continue
        shown = _text(extra.get("text")) or (f"<at>{name}</at>" if (name := _text(mentioned.get("name"))) else None)
        if shown:
            text = text.replace(shown, "")
    return text
