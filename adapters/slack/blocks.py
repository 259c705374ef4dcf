"""Every piece of Slack Block Kit policybot builds: neutral cards as messages, the modal a
written answer is given in, the App Home tab, and a private note.

The blocks are built as plain dicts in the shapes Slack documents
(https://docs.slack.dev/reference/block-kit): slack_sdk's block models give the same
JSON, but validating and serialising them cost more than the rest of a turn.

User text is escaped so it cannot ping a crowd or forge a link: Slack only treats
`<!channel>`, `<@U123>` and `<https://x|label>` as special inside angle brackets, so
escaping `&`, `<` and `>` (https://docs.slack.dev/messaging/formatting-message-text#escaping)
turns them into plain text; a bare `@here` is broken with a zero-width space as well.
Long text is cut at a line or word break inside Slack's limits, with a note saying so.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.messages import Button, Card, Question

# Slack's documented limits (https://docs.slack.dev/reference/block-kit/blocks).
HEADER_MAX = 150
SECTION_MAX = 3000
FIELD_MAX = 2000
BUTTON_TEXT_MAX = 75
OPTION_TEXT_MAX = 75
OPTION_VALUE_MAX = 150
VALUE_MAX = 2000
BLOCKS_MAX = 50
FALLBACK_MAX = 3000
ACTIONS_MAX = 25
BUTTON_CHOICES_MAX = 5  # more choices than this become a select menu

# action_id prefixes our listeners match.
BUTTON = "pb.button"
ANSWER = "pb.answer"
PICK = "pb.pick"  # a multi-select changing: nothing happens until "Done"
MORE = "pb.more"
# The modal a written answer is given in: its callback_id, and the block and element of the answer.
MODAL, MODAL_BLOCK, MODAL_INPUT = "pb.modal", "pb.modal.answer", "text"
CUT_NOTE = "… (shortened to fit in Slack)"
ICONS = {"urgent": ":rotating_light: ", "warning": ":warning: ", "success": ":white_check_mark: ", "info": ""}

_CROWD = re.compile(r"@(?=(channel|here|everyone)\b)", re.IGNORECASE)


def escape(text: str) -> str:
    """Text for a mrkdwn field: no mentions, links or crowd pings can be made from it."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _CROWD.sub("@\u200b", text)


def plain(text: str) -> str:
    """Text for a plain_text field, which Slack never parses for links; crowd pings broken anyway."""
    return _CROWD.sub("@\u200b", text)


def cut(text: str, limit: int, note: str = CUT_NOTE) -> tuple[str, bool]:
    """`text` within `limit` characters, cut at a line or word break; and whether it was cut."""
    if len(text) <= limit:
        return text, False
    room = max(0, limit - len(note))
    head = text[:room]
    brk = max(head.rfind("\n"), head.rfind(" "))
    if brk > room // 2:
        head = head[:brk]
    head = re.sub(r"&[a-z]*$", "", head)  # never leave half an escape like "&am"
    return head.rstrip() + note, True


@dataclass(frozen=True)
class Rendered:
    """A card ready for chat.postMessage: blocks, the notification text, whether it was shortened."""

    blocks: list[dict[str, Any]]
    text: str
    shortened: bool


def button_value(button: Button) -> str:
    """The neutral action and its ids, as a button's value."""
    return json.dumps({"a": button.action, "d": dict(button.data)}, separators=(",", ":"))


def read_json(text: str) -> Any:
    """JSON that came back from Slack in a payload (a button's value, a block id, a modal's
    metadata); ValueError for anything unreadable, including JSON nested too deeply to parse."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_button_value(value: str) -> tuple[str, dict[str, Any]]:
    """Undo `button_value`; raises ValueError for anything else."""
    data = read_json(value)
    if not isinstance(data, dict) or not isinstance(data.get("a"), str) or not isinstance(data.get("d", {}), dict):
        raise ValueError("not a policybot button")
    if not all(isinstance(v, str) for v in data.get("d", {}).values()):
        raise ValueError("a button carries ids only")  # (Button.data)
    return data["a"], data.get("d", {})


def question_block_id(question: Question) -> str:
    return json.dumps({"w": question.workflow, "k": question.key}, separators=(",", ":"))


def read_question_block_id(block_id: str) -> tuple[str, str]:
    """Undo `question_block_id`; raises ValueError for anything else."""
    data = read_json(block_id)
    if not isinstance(data, dict) or not isinstance(data.get("w"), str) or not isinstance(data.get("k"), str):
        raise ValueError("not a policybot question")
    return data["w"], data["k"]


Block = dict[str, Any]


def _plain(text: str) -> dict[str, str]:
    return {"type": "plain_text", "text": text}


def _mrkdwn(text: str) -> dict[str, str]:
    return {"type": "mrkdwn", "text": text}


def _button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    button = {"type": "button", "text": _plain(text), "action_id": action_id, "value": value}
    if style:
        button["style"] = style
    return button


def _picker(kind: str, placeholder: str, action_id: str, **more: Any) -> Block:
    return {"type": kind, "placeholder": _plain(placeholder), "action_id": action_id, **more}


def _actions(elements: list[Block], block_id: str | None = None) -> Block:
    block: Block = {"type": "actions", "elements": elements}
    if block_id is not None:
        block["block_id"] = block_id
    return block


def _context(text: str) -> Block:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _section(text: str) -> Block:
    return {"type": "section", "text": _mrkdwn(text)}


def _options(question: Question) -> list[Block]:
    return [
        {"text": _plain(cut(plain(c.label), OPTION_TEXT_MAX, "…")[0]), "value": c.value[:OPTION_VALUE_MAX]}
        for c in question.choices[:100]
    ]


def question_blocks(question: Question) -> list[Block]:
    """The widget that answers a question; free text needs none (the person replies)."""
    bid = question_block_id(question)
    elements: list[Any] = []
    if question.kind in ("choice", "yesno") and question.choices and len(question.choices) <= BUTTON_CHOICES_MAX:
        for i, c in enumerate(question.choices):
            elements.append(
                _button(cut(plain(c.label), BUTTON_TEXT_MAX, "…")[0], f"{ANSWER}.button.{i}", c.value[:VALUE_MAX])
            )
    elif question.kind == "choice" and question.choices:
        elements.append(_picker("static_select", "Choose one", f"{ANSWER}.select", options=_options(question)))
    elif question.kind == "multi" and question.choices:
        elements.append(
            _picker("multi_static_select", "Choose one or more", f"{PICK}.multi", options=_options(question))
        )
        elements.append(_button("Done", f"{ANSWER}.done", "done", "primary"))
    elif question.kind == "person":
        elements.append(_picker("users_select", "Choose a person", f"{ANSWER}.user"))
    elif question.kind == "people":
        elements.append(_picker("multi_users_select", "Choose people", f"{PICK}.users"))
        elements.append(_button("Done", f"{ANSWER}.done", "done", "primary"))
    elif question.kind == "date":
        elements.append(_picker("datepicker", "Choose a date", f"{ANSWER}.date"))
    blocks: list[Block] = []
    if elements:
        blocks.append(_actions(elements, bid))
    hint = "Or type your answer here." if elements else "Type your answer here."
    blocks.append(_context(f"{hint} You can also type back, cancel or help."))
    return blocks


def _field_blocks(fields: tuple[tuple[str, str], ...]) -> tuple[list[Block], bool]:
    """Short fields side by side (up to 10 a section), long ones each in their own section."""
    blocks: list[Block] = []
    shortened = False
    row: list[dict[str, str]] = []
    for label, value in fields:
        text = f"*{escape(label)}*\n{escape(value)}"
        if len(value) <= 60 and "\n" not in value:
            row.append(_mrkdwn(cut(text, FIELD_MAX)[0]))
            if len(row) == 10:
                blocks.append({"type": "section", "fields": row})
                row = []
            continue
        if row:
            blocks.append({"type": "section", "fields": row})
            row = []
        text, was_cut = cut(text, SECTION_MAX)
        shortened |= was_cut
        blocks.append(_section(text))
    if row:
        blocks.append({"type": "section", "fields": row})
    return blocks, shortened


def render_card(card: Card, more: Mapping[str, str] | None = None) -> Rendered:
    """A card as Block Kit. With `more` (ids), a shortened card gets a "Show the full text" button."""
    blocks: list[Block] = [
        {"type": "header", "text": _plain(cut(ICONS[card.tone] + plain(card.title), HEADER_MAX, "…")[0])}
    ]
    shortened = False
    if card.body:
        text, shortened = cut(escape(card.body), SECTION_MAX)
        blocks.append(_section(text))
    field_blocks, fields_cut = _field_blocks(card.fields)
    shortened |= fields_cut
    tail: list[Block] = []
    if card.question is not None:
        tail.extend(question_blocks(card.question))
    if card.buttons:
        elements = [
            _button(cut(plain(b.label), BUTTON_TEXT_MAX, "…")[0], f"{BUTTON}.{i}", button_value(b), b.style)
            for i, b in enumerate(card.buttons[:ACTIONS_MAX])
        ]
        tail.append(_actions(elements))
    room = BLOCKS_MAX - len(blocks) - len(tail) - 2
    if len(field_blocks) > room:
        field_blocks = field_blocks[:room]
        shortened = True
    blocks.extend(field_blocks)
    if shortened:
        blocks.append({"type": "divider"})
        if more:
            tail.insert(0, _actions([_button("Show the full text", MORE, json.dumps(dict(more)))]))
        else:
            tail.insert(0, _context("This message was too long for Slack, so part of it is not shown."))
    blocks.extend(tail)
    fallback = cut(escape(f"{card.title}: {card.body}" if card.body else card.title), FALLBACK_MAX)[0]
    return Rendered(blocks, fallback, shortened)


def full_text(card: Card) -> str:
    """Everything a card says, as plain text for "Show the full text"."""
    lines = [card.title, "", card.body] if card.body else [card.title]
    for label, value in card.fields:
        lines += ["", f"{label}:", value]
    return "\n".join(lines).strip()


def chunks(text: str, size: int = SECTION_MAX - 100) -> list[str]:
    """Split escaped text into pieces Slack accepts, at line or word breaks."""
    out = []
    rest = text
    while rest:
        if len(rest) <= size:
            out.append(rest)
            break
        piece = rest[:size]
        brk = max(piece.rfind("\n"), piece.rfind(" "))
        if brk < size // 2:
            brk = size
        piece = re.sub(r"&[a-z]*$", "", rest[:brk]) or rest[:size]
        out.append(piece)
        rest = rest[len(piece) :].lstrip()
    return out


def answer_modal(title: str, question: Question) -> Block:
    """A modal asking a written question (a reason, a note), titled as the card that asked it."""
    return {
        "type": "modal",
        "callback_id": MODAL,
        "private_metadata": json.dumps({"workflow": question.workflow, "key": question.key}),
        "title": _plain(plain(title)[:24] or "policybot"),
        "submit": _plain("Send"),
        "close": _plain("Cancel"),
        "blocks": [
            _section(escape(question.prompt)[:SECTION_MAX]),
            {
                "type": "input",
                "block_id": MODAL_BLOCK,
                "optional": question.optional,
                "label": _plain("Your answer"),
                "element": {
                    "type": "plain_text_input",
                    "action_id": MODAL_INPUT,
                    "multiline": True,
                    "max_length": 3000,
                },
            },
        ],
    }


def modal_errors(text: str) -> dict[str, Any]:
    """The answer to a modal's submission that keeps it open with `text` under the answer box."""
    return {"response_action": "errors", "errors": {MODAL_BLOCK: text}}


def home_view(card: Card) -> Block:
    """The App Home tab showing one card."""
    return {"type": "home", "blocks": render_card(card).blocks[:100]}


def note_blocks(text: str) -> list[Block]:
    """A private note: one section of already escaped mrkdwn."""
    return [_section(text)]
