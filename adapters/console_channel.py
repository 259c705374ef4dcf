"""Delivery in the terminal chat: cards shown as text with numbered menus, or kept until their person switches in."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field

from bot.answers import clean_text
from bot.delivery import Message, person_targets
from bot.messages import Button, Card, Choice
from bot.people import Directory

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


def safe(text: str) -> str:
    """Text fit for a terminal: no escape sequences, control or direction-override characters."""
    return clean_text(_ANSI.sub("", text))


def render_card(card: Card, numbered: list[Choice | Button] | None = None) -> str:
    """A card as plain text; choices and buttons are numbered in `numbered` order."""
    lines = [f"=== {safe(card.title)} ==="]
    if card.tone == "urgent":
        lines[0] = "!!! " + lines[0]
    if card.body:
        lines.append(safe(card.body))
    for label, value in card.fields:
        value_lines = safe(value).splitlines() or [""]
        lines.append(f"  {safe(label)}: {value_lines[0]}")
        lines.extend(f"      {v}" for v in value_lines[1:])
    if numbered:
        opts = []
        for n, item in enumerate(numbered, 1):
            opts.append(f"  [{n}] {safe(item.label)}")
        lines.extend(opts)
        lines.append("  (type a number to choose)")
    return "\n".join(lines)


def menu_of(card: Card) -> list[Choice | Button]:
    items: list[Choice | Button] = []
    if card.question and card.question.choices:
        items.extend(card.question.choices)
    items.extend(card.buttons)
    return items


@dataclass
class Inbox:
    cards: list[tuple[str | None, Card]] = field(default_factory=list)
    unread: list[tuple[str | None, Card]] = field(default_factory=list)


class ConsoleChannel:
    """Delivers to the people of the terminal chat: shown now if it's you, kept for later if not."""

    name = "console"

    def __init__(self, directory: Directory, write: Callable[[str], None]) -> None:
        self.directory = directory
        self.write = write
        self.active = ""
        self.inboxes: dict[str, Inbox] = {}
        # What a typed number means for each person: the choices and buttons of the last
        # card shown to them, and that card's key (so an update of it updates the menu).
        # A card with neither empties the menu: a number typed after a free-text question
        # is that text, never a choice from an earlier card.
        self.menus: dict[str, list[Choice | Button]] = {}
        self.shown: dict[str, str | None] = {}

    def targets(self, msg: Message, directory: Directory) -> list[str]:
        return person_targets(msg.to, directory)

    async def send(self, target: str, msg: Message) -> None:
        box = self.inboxes.setdefault(target, Inbox())
        if msg.replace and msg.key:
            for i, (key, _old) in enumerate(box.cards):
                if key == msg.key:
                    box.cards[i] = (key, msg.card)
            box.unread = [(k, msg.card if k == msg.key else c) for k, c in box.unread]
            if target == self.active:
                last = self.shown.get(target) == msg.key
                if last:
                    self.menus[target] = menu_of(msg.card)
                self.write(f"(updated) {render_card(msg.card, self.menus[target] if last else None)}")
            return
        box.cards.append((msg.key, msg.card))
        if target == self.active:
            self.show(target, msg.card, msg.key)
        else:
            box.unread.append((msg.key, msg.card))
            self.write(
                f"  -> a message for {self.directory.name(target)}: "
                f'"{safe(msg.card.title)}" (type /as {target} to read it)'
            )

    def show(self, target: str, card: Card, key: str | None = None) -> None:
        items = menu_of(card)
        self.menus[target] = items
        self.shown[target] = key
        self.write(render_card(card, items))

    def switch(self, person_id: str) -> None:
        self.active = person_id
        box = self.inboxes.setdefault(person_id, Inbox())
        unread, box.unread = box.unread, []
        if unread:
            self.write(f"You have {len(unread)} new message(s):")
        for key, card in unread:
            self.show(person_id, card, key)
