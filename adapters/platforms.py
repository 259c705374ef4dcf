"""The front ends policybot has, and what each reads from the configuration file.

bot/config.py reads the school's own sections; each front end reads its own section and
its key in [[people]] (adapters/<platform>/settings.py). This is where they meet: the
configuration is always loaded through here, so a section or key no front end declares
is refused with its name, as any other typo is. A new platform adds its `CONFIG` and its
`mount` (what `policybot serve` runs for it, see adapters/server.py) here.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from aiohttp import web

from adapters import slack, teams
from adapters.slack.settings import CONFIG as SLACK
from adapters.teams.settings import CONFIG as TEAMS
from bot import config
from bot.config import PlatformConfig, Settings
from bot.core import Core

PLATFORMS: tuple[PlatformConfig, ...] = (SLACK, TEAMS)
# What `policybot serve` runs for each platform whose section the configuration has: it adds
# the platform's routes and delivery channel, (app, core) -> None.
Mount = Callable[[web.Application, Core], Awaitable[None]]
MOUNTS: dict[str, Mount] = {SLACK.name: slack.mount, TEAMS.name: teams.mount}


def load_config(path: str | os.PathLike[str] | None = None, *, offline: bool = False) -> Settings:
    """`bot.config.load_config` with every front end's section and [[people]] key.

    `offline`: for a command that never talks to Slack or Teams (backup, status, export...), whose secrets may
    then be left out (they live in the server's secrets file, which only the service reads)."""
    return config.load_config(path, PLATFORMS, offline=offline)


def parse_config(raw: Mapping[str, Any], file: str, base: Path | None = None) -> Settings:
    """`bot.config.parse_config` with every front end's section and [[people]] key."""
    return config.parse_config(raw, file, base, PLATFORMS)
