"""Known refusals and failures, each with a message fit to show a member of staff."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any


class PolicybotError(Exception):
    """Base class: `str(error)` is a plain message a teacher can act on."""


class NotAllowed(PolicybotError):
    """The acting person may not do this (a role it needs, someone who has left); `why` is a
    short reason for the audit trail."""

    def __init__(self, message: str, why: str = "") -> None:
        super().__init__(message)
        self.why = why


class NotRecognised(PolicybotError):
    """The platform user is not one of the school's people in the configuration."""


class AlreadyDecided(PolicybotError):
    """Someone else decided first."""


class Expired(PolicybotError):
    """The thing clicked or answered is no longer current."""


class ConfigError(PolicybotError):
    """The configuration file is missing a value or has a wrong one."""

    def __init__(self, file: str, key: str, expected: str) -> None:
        self.file, self.key, self.expected = file, key, expected
        super().__init__(f"{file}: {key}: {expected}")


class StoreLocked(PolicybotError):
    """Another policybot process already uses the data directory."""


class StoreUnavailable(PolicybotError):
    """The data directory refused a write; nothing was changed."""


class DataDamaged(PolicybotError):
    """A file in the data folder is damaged: policybot refuses to start and changes nothing.

    `damage` lists each damaged place (bot.store.Damage: file, line, what is wrong).
    """

    def __init__(self, folder: Path, damage: list[Any]) -> None:
        self.folder, self.damage = folder, damage
        first = damage[0]
        more = f" (and {len(damage) - 1} more damaged place{'s' if len(damage) > 2 else ''})" if len(damage) > 1 else ""
        if first.line == 0 and first.file == "live.json":
            todo = (
                "Restore the data folder from your backup: "
                "live.json holds every record as of its last checkpoint, and cannot be repaired line by line."
            )
        else:
            todo = (
                "To see everything that is damaged, run: policybot check-data --config YOUR-CONFIG. "
                "To set the damaged lines aside in a file of their own and keep everything else, run: "
                "policybot repair-data --config YOUR-CONFIG."
            )
        super().__init__(
            f"A file in the data folder {folder} is damaged, so policybot will not start. {first}{more}. "
            f"Nothing has been changed. {todo} See docs/reliability.md."
        )


class NotSaved(StoreUnavailable):
    """What a person is told when their message could not be saved (the details go to the log)."""


class TemporaryFailure(PolicybotError):
    """A send failed in a way worth retrying (rate limit, server error, timeout)."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(PolicybotError):
    """A send failed and retrying will not help (unknown user, app not installed)."""


def reference() -> str:
    """A short id for an unexpected error, shown to the person and written to the log."""
    return uuid.uuid4().hex[:8].upper()
