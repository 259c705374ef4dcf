"""Turn Slack payloads (slash commands, DM messages, block actions, modal answers) into neutral `Inbound` events.

Only ids and what the person typed or chose are taken from a payload; who the person
is, and what they may do, the engine decides from the configuration.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from adapters.slack.blocks import (
    ANSWER,
    BUTTON,
    MODAL_BLOCK,
    MODAL_INPUT,
    read_button_value,
    read_json,
    read_question_block_id,
)
from bot.messages import Inbound
from bot.people import Directory

PLATFORM = "slack"
_USER = re.compile(r"<@([UW][A-Z0-9]+)(?:\|[^>]*)?>")
_LINK = re.compile(r"<((?:https?|mailto):[^|>]*)(?:\|([^>]*))?>")
_SPECIAL = re.compile(r"<![^>]*>")


class Unreadable(ValueError):
    """A payload we cannot make sense of (an old or foreign button)."""


class NothingChosen(Unreadable):
    """ "Done" pressed on a multi-select with nothing chosen."""


class NothingWritten(Unreadable):
    """A modal sent with an empty answer."""


def parse_text(text: str, directory: Directory) -> str:
    """A Slack message as the person typed it: mentions become names, links their text."""

    def name(m: re.Match[str]) -> str:
        p = directory.by_platform(PLATFORM, m.group(1))
        return p.name if p else "someone"

    text = _USER.sub(name, text)
    text = _LINK.sub(lambda m: m.group(2) or m.group(1).removeprefix("mailto:"), text)
    text = _SPECIAL.sub("", text)
    return html.unescape(text)


def parse_command(body: Mapping[str, Any]) -> Inbound:
    """A slash command: "/new-account some text"."""
    return Inbound(
        PLATFORM,
        str(body.get("user_id", "")),
        "command",
        command=str(body.get("command", "")).lstrip("/"),
        text=html.unescape(str(body.get("text", ""))).strip(),
        event_id=f"command:{body['trigger_id']}" if body.get("trigger_id") else "",
    )


def parse_message(body: Mapping[str, Any], directory: Directory) -> Inbound | None:
    """A message in the person's DM with the bot, or None for anything to ignore.

    A shared file becomes a `file` event: the bot never downloads it.
    """
    event = body.get("event") or {}
    if event.get("channel_type") != "im" or event.get("bot_id") or not event.get("user"):
        return None
    subtype = event.get("subtype")
    event_id = str(body.get("event_id", ""))
    if subtype == "file_share" or event.get("files"):
        return Inbound(
            PLATFORM,
            str(event["user"]),
            "file",
            text=parse_text(str(event.get("text", "")), directory),
            event_id=event_id,
        )
    if subtype is not None:
        return None  # edits, deletions, joins: not something the person said to us
    return Inbound(
        PLATFORM, str(event["user"]), "text", text=parse_text(str(event.get("text", "")), directory), event_id=event_id
    )


def _dict(value: Any) -> Mapping[str, Any]:
    """`value` if it is a JSON object, else an empty one: a payload's parts are read without trusting their types."""
    return value if isinstance(value, Mapping) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _picked(body: Mapping[str, Any], block_id: str) -> Any:
    """What the person chose in a multi-select of the same message (read from `state`)."""
    values = _dict(_dict(_dict(body.get("state")).get("values")).get(block_id))
    for element in map(_dict, values.values()):
        kind = element.get("type")
        if kind == "multi_users_select":
            return [u for u in _list(element.get("selected_users")) if isinstance(u, str)]
        if kind == "multi_static_select":
            return [
                o["value"]
                for o in map(_dict, _list(element.get("selected_options")))
                if isinstance(o.get("value"), str)
            ]
    return []


def parse_action(body: Mapping[str, Any], action: Mapping[str, Any]) -> Inbound:
    """A click on one of our buttons, or an answer given with a question's widget."""
    user = str((body.get("user") or {}).get("id", ""))
    action_id = str(action.get("action_id", ""))
    event_id = f"action:{body['trigger_id']}" if body.get("trigger_id") else ""
    try:
        if action_id.startswith(BUTTON):
            name, data = read_button_value(str(action.get("value", "")))
            return Inbound(PLATFORM, user, "action", action=name, data=data, event_id=event_id)
        if action_id.startswith(ANSWER):
            workflow, key = read_question_block_id(str(action.get("block_id", "")))
            kind = action.get("type")
            if kind == "static_select":
                value: Any = _dict(action.get("selected_option")).get("value")
            elif kind == "users_select":
                value = action.get("selected_user")
            elif kind == "datepicker":
                value = action.get("selected_date")
            elif action_id == f"{ANSWER}.done":
                value = _picked(body, str(action.get("block_id", "")))
            else:
                value = action.get("value")
            if value in (None, "", []):
                raise NothingChosen("nothing chosen")
            if not isinstance(value, str | list):
                raise ValueError(f"an answer of type {type(value).__name__}")
            return Inbound(
                PLATFORM,
                user,
                "action",
                action="answer",
                data={"workflow": workflow, "key": key, "value": value},
                event_id=event_id,
            )
    except (ValueError, KeyError, TypeError) as exc:
        raise Unreadable(str(exc)) from None
    raise Unreadable(f"unknown action {action_id}")


def where(body: Mapping[str, Any]) -> str:
    """The channel a payload came from ("" when none, such as the App Home)."""
    if body.get("channel_id"):
        return str(body["channel_id"])
    channel = body.get("channel") or {}
    if isinstance(channel, Mapping) and channel.get("id"):
        return str(channel["id"])
    if isinstance(channel, str):
        return channel
    event = body.get("event") or {}
    if event.get("channel"):
        return str(event["channel"])
    return str((body.get("container") or {}).get("channel_id", ""))


def parse_modal(body: Mapping[str, Any], view: Mapping[str, Any]) -> Inbound:
    """A written answer given in policybot's modal (`blocks.answer_modal`), such as the reason for a rejection."""
    user = str((body.get("user") or {}).get("id", ""))
    try:
        meta = read_json(str(view.get("private_metadata", "")))
        values = (view.get("state") or {}).get("values") or {}
        text, workflow, key = values[MODAL_BLOCK][MODAL_INPUT]["value"] or "", meta["workflow"], meta["key"]
        if not all(isinstance(v, str) for v in (text, workflow, key)):
            raise TypeError("not the modal policybot opened")
        text = text.strip()
    except (ValueError, KeyError, TypeError) as exc:
        raise Unreadable(str(exc)) from None
    if not text:
        raise NothingWritten("nothing written")
    return Inbound(
        PLATFORM,
        user,
        "action",
        action="answer",
        data={"workflow": workflow, "key": key, "value": text},
        event_id=f"view:{view.get('id', '')}:{view.get('hash', '')}",
    )


def user_of(body: Any) -> str:
    """The Slack user a payload came from, or "" (the payload may be of any shape here)."""
    if not isinstance(body, dict):
        return ""
    for holder, key in ((body.get("user"), "id"), (body.get("event"), "user"), (body, "user_id")):
        if isinstance(holder, dict) and isinstance(holder.get(key), str):
            return str(holder[key])
    return ""
