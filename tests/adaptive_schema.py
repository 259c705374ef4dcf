"""A small Adaptive Card checker: the elements, properties and versions Teams relies on.

Checks a card against the schema version it declares (https://adaptivecards.io/explorer/):
only known element and action types, each no newer than the declared version; the
required properties of each; unique input ids; known enum values.
"""

from __future__ import annotations

from typing import Any

# type -> (version introduced, required properties)
ELEMENTS: dict[str, tuple[str, tuple[str, ...]]] = {
    "TextBlock": ("1.0", ("text",)),
    "RichTextBlock": ("1.2", ("inlines",)),
    "Image": ("1.0", ("url",)),
    "FactSet": ("1.0", ("facts",)),
    "Container": ("1.0", ("items",)),
    "ColumnSet": ("1.0", ()),
    "ActionSet": ("1.2", ("actions",)),
    "Input.Text": ("1.0", ("id",)),
    "Input.Number": ("1.0", ("id",)),
    "Input.Date": ("1.0", ("id",)),
    "Input.Time": ("1.0", ("id",)),
    "Input.Toggle": ("1.0", ("id", "title")),
    "Input.ChoiceSet": ("1.0", ("id", "choices")),
    "Table": ("1.5", ("columns", "rows")),
}
ACTIONS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Action.Submit": ("1.0", ()),
    "Action.OpenUrl": ("1.0", ("url",)),
    "Action.ShowCard": ("1.0", ("card",)),
    "Action.ToggleVisibility": ("1.2", ("targetElements",)),
    "Action.Execute": ("1.4", ()),
}
# property -> version introduced, for properties newer than 1.0
NEWER_PROPERTIES = {
    "isRequired": "1.3",
    "errorMessage": "1.3",
    "label": "1.3",
    "style:filtered": "1.5",
    "style:heading": "1.5",
    "verb": "1.4",
    "associatedInputs": "1.3",
}
# Which inputs an Action.Submit or Action.Execute validates and sends (case does not matter).
ASSOCIATED_INPUTS = {"auto", "none"}
ENUMS = {
    "size": {"Default", "Small", "Medium", "Large", "ExtraLarge"},
    "weight": {"Default", "Lighter", "Bolder"},
    "color": {
        "Default",
        "Dark",
        "Light",
        "Accent",
        "Good",
        "Warning",
        "Attention",
        "default",
        "dark",
        "light",
        "accent",
        "good",
        "warning",
        "attention",
    },
    "spacing": {"None", "Small", "Default", "Medium", "Large", "ExtraLarge", "Padding"},
}
INPUT_STYLES = {"Input.ChoiceSet": {"compact", "expanded", "filtered"}}
ACTION_STYLES = {"default", "positive", "destructive"}
TEXT_STYLES = {"default", "heading"}
VERSIONS = ("1.0", "1.1", "1.2", "1.3", "1.4", "1.5", "1.6")


def _v(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in text.split("."))


def check_card(card: dict[str, Any]) -> list[str]:
    """Every problem found; an empty list means the card is valid for its declared version."""
    problems: list[str] = []
    if card.get("type") != "AdaptiveCard":
        return ["top level type is not AdaptiveCard"]
    version = card.get("version")
    if version not in VERSIONS:
        return [f"unknown or missing version {version!r}"]
    declared = _v(version)
    ids: list[str] = []

    def newer(what: str, since: str, where: str) -> None:
        if _v(since) > declared:
            problems.append(f"{where}: {what} needs {since}, card declares {version}")

    def action(a: dict[str, Any], where: str) -> None:
        kind = a.get("type")
        if kind not in ACTIONS:
            problems.append(f"{where}: unknown action type {kind!r}")
            return
        since, required = ACTIONS[kind]
        newer(kind, since, where)
        for prop in required:
            if prop not in a:
                problems.append(f"{where}: {kind} is missing {prop}")
        if not a.get("title"):
            problems.append(f"{where}: {kind} has no title")
        if "style" in a and a["style"] not in ACTION_STYLES:
            problems.append(f"{where}: unknown action style {a['style']!r}")
        if "verb" in a:
            newer("verb", NEWER_PROPERTIES["verb"], where)
        if "associatedInputs" in a:
            newer("associatedInputs", NEWER_PROPERTIES["associatedInputs"], where)
            if kind not in ("Action.Submit", "Action.Execute"):
                problems.append(f"{where}: associatedInputs belongs to Action.Submit and Action.Execute, not {kind}")
            elif str(a["associatedInputs"]).lower() not in ASSOCIATED_INPUTS:
                problems.append(
                    f"{where}: associatedInputs {a['associatedInputs']!r} is not one of {sorted(ASSOCIATED_INPUTS)}"
                )
        if "data" in a and not isinstance(a["data"], dict):
            problems.append(f"{where}: data must be an object")
        if kind == "Action.ShowCard":
            problems.extend(check_card({**a["card"], "version": version}))

    def element(e: dict[str, Any], where: str) -> None:
        kind = e.get("type")
        if kind not in ELEMENTS:
            problems.append(f"{where}: unknown element type {kind!r}")
            return
        since, required = ELEMENTS[kind]
        newer(kind, since, where)
        for prop in required:
            if prop not in e or e[prop] in (None, "", []):
                problems.append(f"{where}: {kind} is missing {prop}")
        for prop, allowed in ENUMS.items():
            if prop in e and e[prop] not in allowed:
                problems.append(f"{where}: {prop} {e[prop]!r} is not one of {sorted(allowed)}")
        for prop in ("isRequired", "errorMessage", "label"):
            if prop in e:
                newer(prop, NEWER_PROPERTIES[prop], where)
        if kind.startswith("Input."):
            ids.append(e.get("id", ""))
            if e.get("isRequired") and not e.get("errorMessage"):
                problems.append(f"{where}: required input {e.get('id')!r} has no errorMessage")
        if kind in INPUT_STYLES and "style" in e:
            if e["style"] not in INPUT_STYLES[kind]:
                problems.append(f"{where}: unknown style {e['style']!r}")
            elif e["style"] == "filtered":
                newer("style filtered", NEWER_PROPERTIES["style:filtered"], where)
        if kind == "TextBlock" and "style" in e:
            if e["style"] not in TEXT_STYLES:
                problems.append(f"{where}: unknown TextBlock style {e['style']!r}")
            elif e["style"] == "heading":
                newer("style heading", NEWER_PROPERTIES["style:heading"], where)
        if kind == "Input.ChoiceSet":
            for n, c in enumerate(e.get("choices", [])):
                if not isinstance(c.get("title"), str) or not isinstance(c.get("value"), str):
                    problems.append(f"{where}.choices[{n}]: needs text title and value")
        if kind == "FactSet":
            for n, f in enumerate(e.get("facts", [])):
                if not isinstance(f.get("title"), str) or not isinstance(f.get("value"), str):
                    problems.append(f"{where}.facts[{n}]: needs text title and value")
        if kind == "TextBlock" and not isinstance(e.get("text"), str):
            problems.append(f"{where}: text must be text")
        for n, child in enumerate(e.get("items", [])):
            element(child, f"{where}.items[{n}]")
        for n, a in enumerate(e.get("actions", []) if kind == "ActionSet" else []):
            action(a, f"{where}.actions[{n}]")

    for n, e in enumerate(card.get("body", [])):
        element(e, f"body[{n}]")
    for n, a in enumerate(card.get("actions", [])):
        action(a, f"actions[{n}]")
    dupes = {i for i in ids if ids.count(i) > 1}
    if dupes:
        problems.append(f"input ids used more than once: {sorted(dupes)}")
    if "" in ids:
        problems.append("an input has no id")
    return problems
