"""Collects what the workflow modules offer: conversations, commands, actions, schedules."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from bot.messages import Card
from bot.people import fold
from bot.workflow import ActionHandler, Command, Context, FollowUp, Outcome, Workflow

# A schedule looks at the records and returns (deterministic key, outcome) pairs for
# what is due now; the scheduler sends each key's outcome once only.
Schedule = Callable[[Context], Iterable[tuple[str, Outcome]]]


@dataclass
class Registry:
    workflows: dict[str, Workflow] = field(default_factory=dict)
    commands: dict[str, Command] = field(default_factory=dict)
    actions: dict[str, ActionHandler] = field(default_factory=dict)
    schedules: list[Schedule] = field(default_factory=list)
    # A person's home page (Slack's App Home): (ctx) -> Card, from a module's `HOME`.
    home: Callable[[Context], Card] | None = None
    _names: dict[str, Workflow | Command] = field(default_factory=dict, repr=False)
    _names_built: int = field(default=-1, repr=False)

    @classmethod
    def from_modules(cls, modules: Iterable[ModuleType]) -> Registry:
        """Gather `WORKFLOWS`, `FOLLOW_UPS`, `COMMANDS`, `ACTIONS`, `SCHEDULES` and `HOME` from each module."""
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
            reg.home = getattr(module, "HOME", reg.home)
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

    def menu(self) -> list[tuple[str, str, str]]:
        """(command, one line, role) for every command a person can type."""
        rows = [(wf.command, wf.summary, wf.role) for wf in self.workflows.values() if wf.command]
        rows += [(c.name, c.summary, c.role) for c in self.commands.values()]
        return rows


def default_registry() -> Registry:
    """Every workflow policybot ships with."""
    import workflows

    return Registry.from_modules(workflows.MODULES)


def noop(*_: Any) -> None:
    """A handler that does nothing (for workflows that file nothing themselves)."""
