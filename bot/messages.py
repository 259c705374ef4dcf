"""The neutral message model: what comes in from a person and what goes out to people.

Adapters turn platform payloads into `Inbound` and render `Card` for their platform.
Nothing here knows any platform, nor the terminal.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

QuestionKind = Literal["text", "choice", "multi", "person", "people", "date", "datetime", "yesno"]


@dataclass(frozen=True)
class Choice:
    """One option of a question: `value` is stored, `label` is shown; `typed` are other words a person may type
    for it (such as "no" for "Nobody has asked", when the question reads as a yes/no question)."""

    value: str
    label: str
    # Read by bot/answers.py only; not part of a card a front end shows, so not stored with it nor compared.
    typed: tuple[str, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class Question:
    """A question the person is being asked now, so an adapter can offer the right input.

    `kind` tells the adapter which widget fits: buttons or a select for `choice`,
    a user picker for `person`, a date picker for `date`, a text reply for `text`.
    Typed replies are always accepted as well.
    """

    key: str
    kind: QuestionKind
    prompt: str
    choices: tuple[Choice, ...] = ()
    optional: bool = False
    # The workflow asking: an adapter sends back action "answer" with data
    # {"workflow": workflow, "key": key, "value": ...} when a widget is used.
    workflow: str = ""
    action: str = "answer"


@dataclass(frozen=True, kw_only=True)
class Button:
    """A button on a card (built with keywords). `data` carries ids only, never the whole record."""

    action: str  # "<workflow>.<action>", e.g. "new_account.decide"
    label: str
    data: Mapping[str, str] = field(default_factory=dict)
    style: Literal["primary", "danger"] | None = None


@dataclass(frozen=True)
class Card:
    """A message: a title, some text, label/value fields, buttons and maybe a question."""

    title: str
    body: str = ""
    fields: tuple[tuple[str, str], ...] = ()
    buttons: tuple[Button, ...] = ()
    question: Question | None = None
    tone: Literal["info", "success", "warning", "urgent"] = "info"

    def to_dict(self) -> dict[str, Any]:
        """Serialise for the persisted outbox."""
        # Written out by hand: dataclasses.asdict is several times slower, on every message sent.
        q = self.question
        return {
            "title": self.title,
            "body": self.body,
            "fields": [[a, b] for a, b in self.fields],
            "buttons": [
                {"action": b.action, "label": b.label, "data": dict(b.data), "style": b.style} for b in self.buttons
            ],
            "question": None
            if q is None
            else {
                "key": q.key,
                "kind": q.kind,
                "prompt": q.prompt,
                "choices": [{"value": c.value, "label": c.label} for c in q.choices],
                "optional": q.optional,
                "workflow": q.workflow,
                "action": q.action,
            },
            "tone": self.tone,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Card:
        """Rebuild a card stored by `to_dict`."""
        q = data.get("question")
        question = None
        if q:
            question = Question(
                key=q["key"],
                kind=q["kind"],
                prompt=q["prompt"],
                choices=tuple(Choice(**c) for c in q.get("choices", ())),
                optional=q.get("optional", False),
                workflow=q.get("workflow", ""),
                action=q.get("action", "answer"),
            )
        return cls(
            title=data["title"],
            body=data.get("body", ""),
            fields=tuple((str(a), str(b)) for a, b in data.get("fields", ())),
            buttons=tuple(
                Button(
                    action=b["action"],
                    label=b["label"],
                    data=dict(b.get("data", {})),
                    style=b.get("style"),
                )
                for b in data.get("buttons", ())
            ),
            question=question,
            tone=data.get("tone", "info"),
        )


@dataclass(frozen=True)
class Recipient:
    """Who a message is for: one person (by person id) or everyone holding a role."""

    kind: Literal["person", "role"]
    id: str

    def __str__(self) -> str:
        return f"{self.kind}:{self.id}"

    @classmethod
    def parse(cls, text: str) -> Recipient:
        kind, _, ident = text.partition(":")
        if kind not in ("person", "role") or not ident:
            raise ValueError(f"not a recipient: {text!r}")
        return cls(kind, ident)  # type: ignore[arg-type]


def person(person_id: str) -> Recipient:
    """Address one person."""
    return Recipient("person", person_id)


def role(name: str) -> Recipient:
    """Address everyone with a role: "slt", "admins", "staff"."""
    return Recipient("role", name)


@dataclass(frozen=True)
class Outbound:
    """A card for a recipient.

    `key` names a card that may be updated later (for example "approval:A-3"); an
    `Outbound` with `replace=True` and the same key replaces every copy already sent,
    so a decided approval shows its outcome everywhere with no live buttons left.
    `private` marks content that must only reach the person directly (never a
    shared channel), such as incident details. `ephemeral` marks a reply meant only
    for the person who acted, where they acted (a refusal): a front end that can show
    it privately in place (a message only they can see) does so, others send it as usual.
    """

    to: Recipient
    card: Card
    key: str | None = None
    replace: bool = False
    private: bool = False
    ephemeral: bool = False


InboundKind = Literal["command", "text", "action", "file"]


@dataclass(frozen=True)
class Inbound:
    """Something a person did, in neutral form.

    `platform` and `user` are the platform's own names for the person (its user or
    member id, or a person id in the terminal); the engine resolves them
    to a person from the configuration, never trusting anything else in the request.
    """

    platform: str
    user: str
    kind: InboundKind
    text: str = ""  # the command's argument text, or the typed message
    command: str = ""  # "new-account" for "/new-account"
    action: str = ""  # "new_account.decide" or "answer"
    data: Mapping[str, Any] = field(default_factory=dict)
    event_id: str = ""  # platform's id for duplicate suppression, if any

    def to_dict(self) -> dict[str, Any]:
        """As stored in the inbox; `Inbound(**d)` rebuilds it. (By hand: asdict deep-copies slowly.)"""
        return {
            "platform": self.platform,
            "user": self.user,
            "kind": self.kind,
            "text": self.text,
            "command": self.command,
            "action": self.action,
            "data": dict(self.data),  # the store copies what it keeps
            "event_id": self.event_id,
        }
