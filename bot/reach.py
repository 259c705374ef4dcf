"""Who a front end cannot reach yet: a record the core owns, filled by each front end's channel.

A channel that cannot deliver to someone (no chat with the bot yet, no id for them in the
configuration) says so here, and says so again when it can. `/unreachable`
(workflows/reachability.py) lists what every front end has said, so the check is the same
command, with the same role check, audit and help entry, whichever front end it is typed in.
"""

from __future__ import annotations

from typing import Any, Protocol

UNREACHABLE = "unreachable"  # "<platform>|<person id>" -> {platform, person, why, fix}


class Writes(Protocol):
    def get(self, table: str, key: str) -> dict[str, Any] | None: ...
    def put(self, table: str, key: str, doc: dict[str, Any]) -> Any: ...
    def delete(self, table: str, key: str) -> None: ...
    def find(self, table: str, **match: Any) -> list[dict[str, Any]]: ...


def key(platform: str, person_id: str) -> str:
    return f"{platform}|{person_id}"


def cannot_reach(tx: Writes, platform: str, person_id: str, why: str, fix: str = "") -> None:
    """Record that `platform` cannot reach `person_id` (`why`, and `fix`: what an administrator can do)."""
    doc = {"platform": platform, "person": person_id, "why": why, "fix": fix}
    old = tx.get(UNREACHABLE, key(platform, person_id))
    if old is None or any(old.get(k) != v for k, v in doc.items()):
        tx.put(UNREACHABLE, key(platform, person_id), doc)


def can_reach(tx: Writes, platform: str, person_id: str) -> None:
    """`platform` reaches `person_id` now."""
    if tx.get(UNREACHABLE, key(platform, person_id)) is not None:
        tx.delete(UNREACHABLE, key(platform, person_id))


def only(tx: Writes, platform: str, people: dict[str, tuple[str, str]]) -> None:
    """`platform` cannot reach exactly `people` ({person id: (why, fix)}): everyone else it can."""
    for row in tx.find(UNREACHABLE, platform=platform):
        if row["person"] not in people:
            tx.delete(UNREACHABLE, key(platform, row["person"]))
    for person_id, (why, fix) in people.items():
        cannot_reach(tx, platform, person_id, why, fix)
