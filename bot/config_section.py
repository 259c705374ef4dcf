"""Reading one table of the TOML configuration, naming the file and key in every error.

The core reads its own sections with it, and each front end reads its section the same way.
"""

from __future__ import annotations

import os
from datetime import date
from datetime import time as dt_time
from typing import Any

from bot.errors import ConfigError

MISSING: Any = object()  # a default meaning "this key is required"


class Section:
    """Reads one TOML table, naming the file and key in every error (front ends read their own sections with it)."""

    def __init__(self, file: str, prefix: str, table: Any) -> None:
        self.file, self.prefix = file, prefix
        if not isinstance(table, dict):
            raise ConfigError(file, prefix or "(top level)", "expected a table")
        self.table: dict[str, Any] = table
        self.seen: set[str] = set()
        # True for a command that never talks to a chat platform (backup, status, export...): a front end's
        # section may then leave out its secrets, which the server's own secrets file holds.
        self.offline = False

    def key(self, name: str) -> str:
        return f"{self.prefix}.{name}" if self.prefix else name

    def _get(self, name: str, default: Any) -> Any:
        self.seen.add(name)
        if name in self.table:
            return self.table[name]
        if default is MISSING:
            raise ConfigError(self.file, self.key(name), "missing; this value is required")
        return default

    def str(self, name: str, default: Any = MISSING, *, env: str = "", blank: bool = False) -> str:
        if env and os.environ.get(env):
            self.seen.add(name)
            return os.environ[env]
        value = self._get(name, default)
        if not isinstance(value, str):
            raise ConfigError(self.file, self.key(name), "expected text in quotes")
        if not blank and default is MISSING and not value.strip():
            hint = f" (or set the environment variable {env})" if env else ""
            raise ConfigError(self.file, self.key(name), f"expected a value, found it empty{hint}")
        return value

    def int(self, name: str, default: Any = MISSING, *, low: int = 0, high: int = 2**31) -> int:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise ConfigError(self.file, self.key(name), f"expected a whole number from {low} to {high}")
        return value

    def number(self, name: str, default: Any = MISSING, *, low: float = 0.0) -> float:
        value = self._get(name, default)
        if isinstance(value, bool) or not isinstance(value, int | float) or value <= low:
            raise ConfigError(self.file, self.key(name), f"expected a number above {low:g}")
        return float(value)

    def bool(self, name: str, default: Any = MISSING) -> bool:
        value = self._get(name, default)
        if not isinstance(value, bool):
            raise ConfigError(self.file, self.key(name), "expected true or false")
        return value

    def strings(self, name: str, default: Any = MISSING) -> list[str]:
        value = self._get(name, default)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(self.file, self.key(name), 'expected a list of text, like ["slt"]')
        return list(value)

    def clock(self, name: str, default: Any = MISSING) -> dt_time:
        """A local time of day written "08:00" (24-hour clock)."""
        value = self._get(name, default)
        if isinstance(value, dt_time):
            return value
        try:
            hours, minutes = str(value).split(":")
            return dt_time(int(hours), int(minutes))
        except (ValueError, TypeError):
            raise ConfigError(self.file, self.key(name), 'expected a time of day in quotes, like "08:00"') from None

    def date(self, name: str, default: Any = MISSING) -> date | None:
        """A calendar date written as a TOML date (2025-09-01) or in quotes ("2025-09-01"); "" means none."""
        value = self._get(name, default)
        if value is None or value == "":
            return None
        if isinstance(value, date) and not hasattr(value, "hour"):
            return value
        try:
            return date.fromisoformat(str(value).strip())
        except ValueError:
            raise ConfigError(self.file, self.key(name), "expected a date like 2025-09-01 (year-month-day)") from None

    def choice(self, name: str, default: Any, options: tuple[str, ...]) -> str:
        """One of `options`, written in quotes."""
        value = self.str(name, default)
        if value not in options:
            raise ConfigError(self.file, self.key(name), "expected " + " or ".join(f'"{o}"' for o in options))
        return value

    def done(self) -> None:
        """Refuse keys nobody reads: a typo should not be silently ignored."""
        for name in self.table:
            if name not in self.seen:
                raise ConfigError(
                    self.file, self.key(name), "unknown key; check its spelling against config.example.toml"
                )
