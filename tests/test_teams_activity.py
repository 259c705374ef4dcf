"""policybot reads each Teams activity itself (adapters/teams/activity.py): it must build exactly what
botbuilder's own `Activity().deserialize` builds, for every activity Teams might send and for
hostile ones."""

from __future__ import annotations

from typing import Any

import botbuilder.schema as schema
import pytest
from botbuilder.schema import Activity
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.teams.activity import read_activity

TENANT = "9d1e2f3a-0000-4000-8000-00000000feed"  # made up
USER = {"id": "29:1abc", "name": "Emma Clarke", "aadObjectId": "a1000000-0000-4000-8000-000000000001"}
BOT = {"id": "28:policybot", "name": "policybot"}
BASE = {
    "id": "f:1",
    "timestamp": "2026-11-25T10:00:00.1234567Z",
    "localTimestamp": "2026-11-25T10:00:00.123+00:00",
    "serviceUrl": "https://smba.trafficmanager.net/uk/",
    "channelId": "msteams",
    "from": USER,
    "recipient": BOT,
    "conversation": {"conversationType": "personal", "tenantId": TENANT, "id": "a:1personal"},
    "channelData": {"tenant": {"id": TENANT}},
    "locale": "en-GB",
    "localTimezone": "Europe/London",
}

REAL = [
    {**BASE, "type": "message", "text": "help", "textFormat": "plain"},
    {**BASE, "type": "message", "value": {"action": "answer", "workflow": "new_account", "value": "facebook"}},
    {
        **BASE,
        "type": "invoke",
        "name": "adaptiveCard/action",
        "value": {"action": {"type": "Action.Execute", "verb": "answer", "data": {"k": 1}}, "trigger": "manual"},
    },
    {**BASE, "type": "conversationUpdate", "membersAdded": [BOT], "membersRemoved": []},
    {**BASE, "type": "installationUpdate", "action": "add"},
    {
        **BASE,
        "type": "message",
        "text": "<at>policybot</at> help",
        "entities": [
            {"type": "mention", "mentioned": BOT, "text": "<at>policybot</at>"},
            {"type": "clientInfo", "locale": "en-GB", "country": "GB"},
        ],
        "attachments": [{"contentType": "text/html", "content": "<p>help</p>"}],
        "conversation": {
            "isGroup": True,
            "conversationType": "channel",
            "tenantId": TENANT,
            "id": "19:slt@thread.tacv2;messageid=1",
        },
        "channelData": {
            "team": {"id": "19:slt@thread.tacv2", "name": "Senior Leadership"},
            "channel": {"id": "19:slt@thread.tacv2"},
            "tenant": {"id": TENANT},
        },
        "replyToId": "1700000000000",
    },
    {**BASE, "type": "messageReaction", "reactionsAdded": [{"type": "like"}], "replyToId": "1"},
    {
        **BASE,
        "type": "message",
        "suggestedActions": {"to": ["a"], "actions": [{"type": "imBack", "title": "Yes", "value": "yes"}]},
        "speak": None,
    },
]


def same(body: dict[str, Any]) -> None:
    try:
        expected: Any = Activity().deserialize(body)
    except Exception as exc:  # botbuilder refuses it: so must we, the same way
        with pytest.raises(type(exc)):
            read_activity(body)
        return
    got = read_activity(body)
    assert got == expected
    assert got.serialize() == expected.serialize()


@pytest.mark.parametrize("body", REAL, ids=[f"{b['type']}-{i}" for i, b in enumerate(REAL)])
def test_what_teams_sends_is_read_as_botbuilder_reads_it(body: dict[str, Any]) -> None:
    same(body)


def test_unusual_values_are_read_as_botbuilder_reads_them() -> None:
    same({**BASE, "type": "message", "text": 12, "from": {**USER, "id": 5}})  # numbers where text belongs
    same({**BASE, "type": "message", "conversation": {**BASE["conversation"], "isGroup": "true"}})
    same({**BASE, "type": "message", "timestamp": "yesterday"})
    same({**BASE, "type": "message", "attachments": "not a list"})
    same({**BASE, "type": "message", "entities": [None, {"type": "mention"}]})


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def shaped(model: type, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Dicts with a model's JSON keys, each holding a value of the right type or any JSON."""
    fields = {}
    for desc in model._attribute_map.values():
        kind = desc["type"]
        inner = getattr(schema, kind.strip("[]{}"), None)
        right: st.SearchStrategy[Any]
        if isinstance(inner, type) and depth < 2:
            one = shaped(inner, depth + 1)
            right = (
                st.lists(one | st.none(), max_size=2)
                if kind.startswith("[")
                else st.dictionaries(st.text(max_size=5), one, max_size=2)
                if kind.startswith("{")
                else one
            )
        else:
            right = {
                "str": st.text(max_size=12),
                "bool": st.booleans(),
                "int": st.integers(),
                "iso-8601": st.sampled_from(
                    ["2026-11-25T10:00:00Z", "2026-11-25T10:00:00.1234567+01:00", "2026-03-29T01:30:00.5Z"]
                ),
                "[str]": st.lists(st.text(max_size=5), max_size=2),
            }.get(kind, JSON)
        fields[desc["key"]] = right | JSON
    return st.fixed_dictionaries({}, optional={**fields, "somethingNew": JSON})


@settings(max_examples=300, deadline=None)
@given(shaped(Activity))
def test_generated_activities_are_read_as_botbuilder_reads_them(body: dict[str, Any]) -> None:
    same(body)


# ---- the parts policybot reads: any shape is read or ignored, never a crash ---------------------

ODD = st.one_of(
    JSON,
    st.sampled_from(
        [
            "²",
            "①",
            "٣",
            "１２",
            "9" * 400,
            "1e400",
            "２０２６-11-25T10:00:00Z",
            "",
            None,
            [None],
            [None, {}],
            {"id": None},
            {"id": 5},
            7,
            True,
        ]
    ),
    st.sampled_from([10**400, -(2**63) - 1, 1e308, 5e-324]),
    st.integers(1, 70).map(lambda depth: __import__("functools").reduce(lambda inner, _: [inner], range(depth), [])),
)


def odd_shaped(model: type, depth: int = 0) -> st.SearchStrategy[dict[str, Any]]:
    """Like `shaped`, with odd values (Unicode digits, huge numbers, deep lists, nulls, wrong types) mixed in."""
    fields = {}
    for desc in model._attribute_map.values():
        kind = desc["type"]
        inner = getattr(schema, kind.strip("[]{}"), None)
        if isinstance(inner, type) and depth < 2:
            one = odd_shaped(inner, depth + 1)
            right: st.SearchStrategy[Any] = st.lists(one | st.none() | ODD, max_size=3) if kind.startswith("[") else one
        else:
            right = ODD
        fields[desc["key"]] = right | ODD
    channel_data = st.fixed_dictionaries(
        {},
        optional={
            "tenant": ODD | st.fixed_dictionaries({"id": ODD}),
            "team": ODD | st.fixed_dictionaries({"id": ODD, "name": ODD}),
            "channel": ODD,
        },
    )
    return st.fixed_dictionaries(
        {}, optional={**fields, **({"channelData": channel_data | ODD} if model is Activity else {})}
    )


@settings(max_examples=150, deadline=None)
@given(odd_shaped(Activity))
def test_what_policybot_reads_of_any_activity_is_read_or_ignored(body: dict[str, Any]) -> None:
    import json

    from adapters.teams import activity as shape
    from adapters.teams.bot import parse_activity

    try:
        parsed = shape.parse_body(json.dumps(body).encode())
    except ValueError:
        return  # refused: 400
    try:
        activity = read_activity(parsed)
    except Exception:  # msrest refuses it: 400
        return
    assert isinstance(shape.channel_data(activity), dict)
    assert shape.tenant_id(activity) is None or isinstance(shape.tenant_id(activity), str)
    team = shape.team(activity)
    assert team is None or (isinstance(team.get("id"), str) and all(isinstance(v, str) for v in team.values()))
    assert all(isinstance(m, str) for m in shape.members_added(activity))
    assert all(a is not None for a in shape.attachments(activity))
    assert isinstance(shape.text_without_mention(activity), str)
    if activity.from_property is not None:  # (checked before, with the conversation, by the route)
        parse_activity(activity)  # an event, or None: never an exception
