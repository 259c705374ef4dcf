"""Collects what the workflow modules offer: conversations, commands, actions, schedules, importers,
and their declarations for the core (tables, guards; bot/declarations.py).

This is the one place in bot/ that imports workflows/ (`default_registry`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import workflows
from bot.declarations import Guard, Table
from bot.messages import Card
from bot.people import fold
from bot.workflow import ActionHandler, Command, Context, FollowUp, Schedule, Workflow

# An importer reads a file a school keeps elsewhere (such as a CSV) into the rows a
# command-line import stores, or raises ValueError saying what to fix.
Importer = Callable[[str], Any]


@dataclass
class Registry:
    workflows: dict[str, Workflow] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)
    # What the core needs to know of the records: each table's export, retention, button field.
    tables: dict[str, Table] = field(default_factory=dict)
    # Rules that stop someone using policybot at all (someone who has left), checked on every request.
    guards: list[Guard] = field(default_factory=list)
    importers: dict[str, Importer] = field(default_factory=dict)
    # A person's home page (a chat platform's home tab): (ctx) -> Card, from a module's `HOME`.
    home: Callable[[Context], Card] | None = None
    _names: dict[str, Workflow | Command] = field(default_factory=dict, repr=False)
    _names_built: int = field(default=-1, repr=False)

    @classmethod
    def from_modules(cls, modules: Iterable[ModuleType]) -> Registry:
        """Gather `WORKFLOWS`, `FOLLOW_UPS`, `COMMANDS`, `ACTIONS`, `SCHEDULES`, `IMPORTERS`, `TABLES`, `GUARDS`
        and `HOME` from each module."""
        reg = cls()
        for module in modules:
            for wf in getattr(module, "WORKFLOWS", ()):
                reg.workflows[wf.name] = wf
            follow_ups: Iterable[FollowUp] = getattr(module, "FOLLOW_UPS", ())
            for follow_up in follow_ups:
                reg.workflows[follow_up.name] = follow_up.conversation()
            for cmd in getattr(module, "COMMANDS", ()):
                reg.commands[cmd.name] = cmd
            actions: Mapping[str, ActionHandler] = getattr(module, "ACTIONS", {})
            reg.actions.update(actions)
            reg.schedules.extend(getattr(module, "SCHEDULES", ()))
            reg.importers.update(getattr(module, "IMPORTERS", {}))
            reg.home = getattr(module, "HOME", reg.home)
            for table in getattr(module, "TABLES", ()):
                if table.name in reg.tables:
                    raise ValueError(
                        f"{module.__name__} declares the table {table.name!r}, already declared by another module: "
                        "a table has one owner."
                    )
                reg.tables[table.name] = table
            reg.guards.extend(getattr(module, "GUARDS", ()))
        return reg

    def by_command(self, name: str) -> Workflow | Command | None:
        """The workflow or command for a slash command or a typed phrase."""
        want = fold(name).lstrip("/").replace("_", "-")
        names = len(self.workflows) + len(self.commands)
        if self._names_built != names:
            self._names = {}
            for cmd in reversed(self.commands.values()):
                self._names.update({fold(a): cmd for a in cmd.aliases} | {cmd.name: cmd})
            for wf in reversed(self.workflows.values()):
                if wf.command:
                    self._names.update({fold(a): wf for a in wf.aliases} | {wf.command: wf})
            self._names_built = names
        return self._names.get(want)

    def named(self, data: Mapping[str, Any]) -> str:
        """The record a button's data names ("applications/A-3", by a table's `named_by` field), or ""."""
        for table in self.tables.values():
            if table.named_by and data.get(table.named_by):
                return f"{table.name}/{data[table.named_by]}"
        return ""

    def menu(self) -> list[tuple[str, str, str]]:
        """(command, one line, role) for every command a person can type."""
        rows = [(wf.command, wf.summary, wf.role) for wf in self.workflows.values() if wf.command]
        rows += [(c.name, c.summary, c.role) for c in self.commands.values()]
        return rows


def default_registry() -> Registry:
    """Every workflow policybot ships with."""
    return Registry.from_modules(workflows.MODULES)


def noop(*_: Any) -> None:
    """A handler that does nothing (for workflows that file nothing themselves)."""
