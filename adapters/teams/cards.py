"""Render the neutral `Card` as an Adaptive Card for Teams, and read a card submit back.

Cards declare Adaptive Card 1.5 (Teams desktop, web and mobile support it, and so does
Microsoft 365 Agents Playground). Buttons are `Action.Execute` (Universal Actions):
Teams sends an `adaptiveCard/action` invoke whose `data` holds `action` plus the ids on
the button and the values of the card's inputs. `Action.Submit` data from older cards
is read the same way. https://learn.microsoft.com/adaptive-cards/authoring-cards/universal-action-model

Two platform quirks shape what a card sends:
- Teams checks every input on a card before any of its buttons is sent (an `isRequired`
  input blocks them all), so each action names the inputs it needs with `associatedInputs`
  ("auto": the card's inputs, "none": nothing), and only the question's own inputs are required.
- Microsoft 365 Agents Playground's card code cannot handle a data field named `key` (it
  throws "Cannot assign to read only property 'key'" and the click does nothing), so the
  neutral field `key` travels as `question` on the wire; `parse_submit` reads both, so
  cards sent before the rename still work.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.answers import clean_text
from bot.messages import Button, Card, Question
from bot.people import Directory

VERSION = "1.5"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_ACTIONS = 5  # Teams shows at most six top-level actions; keep one in hand
ANSWER_ID = "value"
MANY_ID = "values"  # a multi-select: always a list, even with one choice
TIME_ID = "value_time"
COLOURS = {"urgent": "attention", "warning": "warning", "success": "good", "info": "default"}
# Neutral data fields renamed on the wire (see the module docstring): neutral -> Teams.
WIRE_NAMES = {"key": "question"}
NEUTRAL_NAMES = {wire: neutral for neutral, wire in WIRE_NAMES.items()}
# What a folded picker's button says when its buttons' labels share no "Name:" prefix.
FOLDED_NAMES = {"conversation.start": "Start"}


_LINK = re.compile(r"\]\s*\(")


def shown(text: str) -> str:
    """Text as Teams should show it: no control or direction-override characters, and no
    markdown link that could dress one address up as another ([school.org](https://elsewhere))."""
    return _LINK.sub("]\u200b (", clean_text(text)) if text else text


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": shown(text), "wrap": True, **extra}


def _wire(name: str) -> str:
    """A data field's name as a Teams card sends it."""
    return WIRE_NAMES.get(name, name)


def _execute(title: str, verb: str, data: Mapping[str, Any], *, inputs: bool = False, **extra: Any) -> dict[str, Any]:
    """An Action.Execute that sends `data` and, with `inputs`, the card's inputs
    (else none, so no input can block it)."""
    return {
        "type": "Action.Execute",
        "title": title,
        "verb": verb,
        "data": {_wire(k): v for k, v in data.items()},
        "associatedInputs": "auto" if inputs else "none",
        **extra,
    }


def _action(button: Button) -> dict[str, Any]:
    action = _execute(
        button.label, button.action, {"action": button.action, **{k: str(v) for k, v in button.data.items()}}
    )
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


def _fields(fields: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    if all("\n" not in value and len(value) <= 80 for _label, value in fields):
        return [
            {
                "type": "FactSet",
                "facts": [{"title": shown(label), "value": shown(value) or "-"} for label, value in fields],
            }
        ]
    out: list[dict[str, Any]] = []
    for label, value in fields:
        out.append(_text(label, weight="Bolder", spacing="Medium"))
        out.append(_text(value.replace("\n", "\n\n") or "-", spacing="None"))
    return out


def _question(q: Question, directory: Directory) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Inputs and actions for the question being asked."""
    data = {"action": q.action, "workflow": q.workflow, "key": q.key}
    send = _execute("Send", q.action, data, inputs=True, style="positive")
    required = (
        {}
        if q.optional
        else {"isRequired": True, "errorMessage": "Please answer this question, or type cancel to stop."}
    )
    if q.kind == "yesno":
        return [], [_execute(c.label, q.action, {**data, ANSWER_ID: c.value}) for c in q.choices or ()]
    if q.kind in ("choice", "multi"):
        choice_set: dict[str, Any] = {
            "type": "Input.ChoiceSet",
            "id": MANY_ID if q.kind == "multi" else ANSWER_ID,
            "label": "Choose" if q.kind == "choice" else "Choose one or more",
            "choices": [{"title": c.label, "value": c.value} for c in q.choices],
            "style": "expanded" if len(q.choices) <= 4 and q.kind == "choice" else "compact",
            "isMultiSelect": q.kind == "multi",
            **required,
        }
        return [choice_set], [send]
    if q.kind in ("person", "people"):
        people = [p for p in directory.people]
        picker = {
            "type": "Input.ChoiceSet",
            "id": MANY_ID if q.kind == "people" else ANSWER_ID,
            "label": "Choose a person" if q.kind == "person" else "Choose people",
            "choices": [{"title": p.describe(), "value": p.id} for p in people],
            "style": "filtered" if q.kind == "person" else "compact",
            "isMultiSelect": q.kind == "people",
            **required,
        }
        hint = _text("Or type their names in a reply, separated by commas.", isSubtle=True, size="Small")
        return [picker, hint], [send]
    if q.kind == "date":
        return [{"type": "Input.Date", "id": ANSWER_ID, "label": "Date", **required}], [send]
    if q.kind == "datetime":
        return [
            {"type": "Input.Date", "id": ANSWER_ID, "label": "Date", **required},
            {"type": "Input.Time", "id": TIME_ID, "label": "Time", **required},
        ], [send]
    box = {
        "type": "Input.Text",
        "id": ANSWER_ID,
        "label": "Your answer",
        "isMultiline": True,
        "maxLength": 2000,
        **required,
    }
    if q.optional:
        box["placeholder"] = "Leave empty to skip"
    return [box], [send]


def _group(buttons: tuple[Button, ...], used_ids: set[str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Too many buttons for Teams: fold buttons of one action that differ in one id into a choice set."""
    by_action: dict[str, list[Button]] = {}
    for b in buttons:
        by_action.setdefault(b.action, []).append(b)
    inputs: list[dict[str, Any]] = []
    actions: list[dict[str, Any]] = []
    for action, group in by_action.items():
        keys = {k for b in group for k in b.data}
        varying = [k for k in keys if len({str(b.data.get(k, "")) for b in group}) > 1]
        if len(group) < 2 or len(varying) != 1 or _wire(varying[0]) in used_ids:
            actions.extend(_action(b) for b in group)
            continue
        key = varying[0]
        used_ids.add(_wire(key))
        prefix = _common_prefix([b.label for b in group])
        cut = prefix.rfind(":") + 1 if ":" in prefix else 0
        name = prefix[:cut].rstrip(":").strip() or FOLDED_NAMES.get(action, "Choose")
        # Not required: Teams would then hold back every other button on the card until
        # something is chosen here. Pressing this action without a choice is answered by
        # the engine (it asks again), so nothing is lost.
        inputs.append(
            {
                "type": "Input.ChoiceSet",
                "id": _wire(key),
                "label": name,
                "placeholder": "Choose one",
                "choices": [{"title": b.label[cut:].strip() or b.label, "value": str(b.data[key])} for b in group],
                "style": "compact",
            }
        )
        common = {k: str(v) for k, v in group[0].data.items() if k != key}
        actions.append(_execute(name, action, {"action": action, **common}, inputs=True))
    return inputs, actions


def _common_prefix(labels: list[str]) -> str:
    first = labels[0]
    n = 0
    while n < len(first) and all(len(label) > n and label[n] == first[n] for label in labels):
        n += 1
    return first[:n]


def render_card(card: Card, directory: Directory) -> dict[str, Any]:
    """The Adaptive Card JSON for a neutral card."""
    body: list[dict[str, Any]] = [
        _text(card.title, size="Medium", weight="Bolder", color=COLOURS[card.tone], style="heading")
    ]
    if card.body:
        body.append(_text(card.body.replace("\n", "\n\n")))
    if card.fields:
        body.extend(_fields(card.fields))
    actions: list[dict[str, Any]] = []
    used = {ANSWER_ID, MANY_ID, TIME_ID}
    if card.question is not None:
        used |= {_wire("key"), "workflow", "action"}  # the question's Send sends its own data with the inputs
        inputs, q_actions = _question(card.question, directory)
        body.extend(inputs)
        actions.extend(q_actions)
    if len(card.buttons) + len(actions) > MAX_ACTIONS:
        inputs, b_actions = _group(card.buttons, used)
        body.extend(inputs)
        actions.extend(b_actions)
    else:
        actions.extend(_action(b) for b in card.buttons)
    out: dict[str, Any] = {"type": "AdaptiveCard", "$schema": SCHEMA, "version": VERSION, "body": body}
    if actions:
        out["actions"] = actions
    return out


def parse_submit(data: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The action and its data from a card submit (Action.Execute or Action.Submit).

    Inputs arrive as strings: a multi-select as "a,b", a time in its own input.
    """
    data = {k: v for k, v in data.items() if k != "msteams"}
    for wire, neutral in NEUTRAL_NAMES.items():  # a card sent before the rename still says `key`
        if wire in data:
            data[neutral] = data.pop(wire)
    action = str(data.pop("action", "") or "")
    if action == "answer" and MANY_ID in data:
        many = data.pop(MANY_ID)
        data[ANSWER_ID] = [v for v in str(many or "").split(",") if v] if not isinstance(many, list) else many
    elif action == "answer" and ANSWER_ID in data:
        value = data[ANSWER_ID]
        if TIME_ID in data:
            value = f"{value} {data.pop(TIME_ID)}".strip()
        data[ANSWER_ID] = value
    if action == "answer" and data.get(ANSWER_ID) in ("", None, []):
        data[ANSWER_ID] = "skip"  # an optional question left empty
    return action, data


def plain_text(card: Card) -> str:
    """A one-line summary for notifications and clients that cannot show cards."""
    return card.title
