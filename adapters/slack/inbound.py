"""Turn Slack payloads (slash commands, DM messages, block actions) into neutral `Inbound` events.

Only ids and what the person typed or chose are taken from a payload; who the person
is, and what they may do, the engine decides from the configuration.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

from adapters.slack.blocks import ANSWER, BUTTON, read_button_value, read_question_block_id
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
        return Inbound(PLATFORM, str(event["user"]), "file", text=parse_text(str(event.get("text", "")), directory), event_id=event_id)
    if subtype is not None:
        return None  # edits, deletions, joins: not something the person said to us
    return Inbound(PLATFORM, str(event["user"]), "text", text=parse_text(str(event.get("text", "")), directory), event_id=event_id)


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
            return [o["value"] for o in map(_dict, _list(element.get("selected_options"))) if isinstance(o.get("value"), str)]
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
            return Inbound(PLATFORM, user, "action", action="answer", data={"workflow": workflow, "key": key, "value": value}, event_id=event_id)
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


_OBJECTS = ("user", "team", "channel", "container", "view", "state", "message", "enterprise", "event", "authorizations")


def well_formed(data: object) -> bool:
    """Whether a signed request, as slack-bolt parsed it, has a shape Slack's payloads have.

    Slack only ever sends these shapes; anything else (a test tool, a bug) is refused with
    400 before slack-bolt's listeners, which assume them, ever see it.
    """
    if isinstance(data, dict) and "type" not in data and "command" in data:  # a slash command's form
        return isinstance(data["command"], str) and data["command"].startswith("/") and isinstance(data.get("user_id"), str) and bool(data["user_id"])
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return False
    if any(k in data and not isinstance(data[k], dict | type(None)) for k in _OBJECTS if k != "authorizations"):
        return False
    if "authorizations" in data and not isinstance(data["authorizations"], list):
        return False
    kind = data["type"]
    if kind == "url_verification":
        return isinstance(data.get("challenge"), str)
    if kind == "event_callback":
        event = data.get("event")
        return isinstance(event, dict) and isinstance(event.get("type"), str) and all(isinstance(event.get(k, ""), str) for k in ("user", "channel", "channel_type", "text", "subtype", "tab"))
    if kind == "block_actions":
        actions = data.get("actions")
        user = data.get("user") or {}
        return (
            isinstance(actions, list)
            and bool(actions)
            and all(isinstance(a, dict) and isinstance(a.get("action_id"), str) and isinstance(a.get("block_id", ""), str) for a in actions)
            and isinstance(user.get("id"), str)
        )
    if kind in ("view_submission", "view_closed"):
        view = data.get("view") or {}
        user = data.get("user") or {}
        return isinstance(view, dict) and isinstance(view.get("callback_id", ""), str) and isinstance(view.get("state", {}), dict) and isinstance(user.get("id"), str)
    return False  # shortcuts, options and the rest: policybot offers none
