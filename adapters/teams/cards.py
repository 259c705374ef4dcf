"""Render the neutral `Card` as an Adaptive Card for Teams, and read a card submit back.

Cards declare Adaptive Card 1.5 (Teams desktop, web and mobile support it, and so does
Microsoft 365 Agents Playground). Buttons are `Action.Execute` (Universal Actions):
Teams sends an `adaptiveCard/action` invoke whose `data` holds `action` plus the ids on
the button and the values of the card's inputs. `Action.Submit` data from older cards
is read the same way. https://learn.microsoft.com/adaptive-cards/authoring-cards/universal-action-model
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.messages import Button, Card, Question
from bot.people import Directory

VERSION = "1.5"
SCHEMA = "http://adaptivecards.io/schemas/adaptive-card.json"
MAX_ACTIONS = 5  # Teams shows at most six top-level actions; keep one in hand
ANSWER_ID = "value"
MANY_ID = "values"  # a multi-select: always a list, even with one choice
TIME_ID = "value_time"
COLOURS = {"urgent": "attention", "warning": "warning", "success": "good", "info": "default"}


def _text(text: str, **extra: Any) -> dict[str, Any]:
    return {"type": "TextBlock", "text": text, "wrap": True, **extra}


def _action(button: Button) -> dict[str, Any]:
    data = {"action": button.action, **{k: str(v) for k, v in button.data.items()}}
    action: dict[str, Any] = {"type": "Action.Execute", "title": button.label, "verb": button.action, "data": data}
    if button.style == "primary":
        action["style"] = "positive"
    elif button.style == "danger":
        action["style"] = "destructive"
    return action


def _fields(fields: tuple[tuple[str, str], ...]) -> list[dict[str, Any]]:
    if all("\n" not in value and len(value) <= 80 for _label, value in fields):
        return [{"type": "FactSet", "facts": [{"title": label, "value": value or "-"} for label, value in fields]}]
    out: list[dict[str, Any]] = []
    for label, value in fields:
        out.append(_text(label, weight="Bolder", spacing="Medium"))
        out.append(_text(value.replace("\n", "\n\n") or "-", spacing="None"))
    return out


def _question(q: Question, directory: Directory) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Inputs and actions for the question being asked."""
    data = {"action": q.action, "workflow": q.workflow, "key": q.key}
    send = {"type": "Action.Execute", "title": "Send", "verb": q.action, "data": data, "style": "positive"}
    required = {} if q.optional else {"isRequired": True, "errorMessage": "Please answer this question, or type cancel to stop."}
    if q.kind == "yesno":
        return [], [{"type": "Action.Execute", "title": c.label, "verb": q.action, "data": {**data, ANSWER_ID: c.value}} for c in q.choices or ()]
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
    box = {"type": "Input.Text", "id": ANSWER_ID, "label": "Your answer", "isMultiline": True, "maxLength": 2000, **required}
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
        if len(group) < 2 or len(varying) != 1 or varying[0] in used_ids:
            actions.extend(_action(b) for b in group)
            continue
        key = varying[0]
        used_ids.add(key)
        prefix = _common_prefix([b.label for b in group])
        cut = prefix.rfind(":") + 1 if ":" in prefix else 0
        name = prefix[:cut].rstrip(":").strip() or "Choose"
        inputs.append(
            {
                "type": "Input.ChoiceSet",
                "id": key,
                "label": name,
                "choices": [{"title": b.label[cut:].strip() or b.label, "value": str(b.data[key])} for b in group],
                "style": "compact",
                "isRequired": True,
                "errorMessage": "Please choose one first.",
            }
        )
        common = {k: str(v) for k, v in group[0].data.items() if k != key}
        actions.append({"type": "Action.Execute", "title": name, "verb": action, "data": {"action": action, **common}})
    return inputs, actions


def _common_prefix(labels: list[str]) -> str:
    first = labels[0]
    n = 0
    while n < len(first) and all(len(label) > n and label[n] == first[n] for label in labels):
        n += 1
    return first[:n]


def render_card(card: Card, directory: Directory) -> dict[str, Any]:
    """The Adaptive Card JSON for a neutral card."""
    body: list[dict[str, Any]] = [_text(card.title, size="Medium", weight="Bolder", color=COLOURS[card.tone], style="heading")]
    if card.body:
        body.append(_text(card.body.replace("\n", "\n\n")))
    if card.fields:
        body.extend(_fields(card.fields))
    actions: list[dict[str, Any]] = []
    used = {ANSWER_ID, MANY_ID, TIME_ID}
    if card.question is not None:
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
