"""Cards survive the persisted outbox exactly: what is queued is what is sent, even after a restart."""

from __future__ import annotations

import json
from dataclasses import asdict

from bot.messages import Button, Card, Choice, Question


def test_a_card_round_trips_through_the_outbox_format() -> None:
    card = Card(
        "Application A-3",
        "Please decide.",
        fields=(("Aim", "Trip updates"), ("Runners", "Emma Clarke, Tom Reid")),
        buttons=(
            Button(action="new_account.approve", label="Approve", data={"application": "A-3"}, style="primary"),
            Button(action="new_account.reject", label="Reject", data={"application": "A-3"}, style="danger"),
        ),
        question=Question(
            "visibility",
            "choice",
            "Open or private?",
            (Choice("open", "Open"), Choice("private", "Private")),
            optional=True,
            workflow="new_account",
        ),
        tone="urgent",
    )
    stored = json.loads(json.dumps(card.to_dict()))
    assert Card.from_dict(stored) == card
    # The same shape as before the hand-written serialiser, so outboxes written by older versions still load.
    old = asdict(card)
    old["fields"] = [list(f) for f in old["fields"]]
    for choice in old["question"]["choices"]:
        del choice["typed"]  # the words a person may type for a choice are read in the core, never stored
    assert stored == json.loads(json.dumps(old))
    assert Card.from_dict(Card("Hello").to_dict()) == Card("Hello")
