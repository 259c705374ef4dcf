"""`policybot status`: what /healthz knows, and what is waiting, for a person at a terminal.

It asks the running `policybot serve` on the configured [server] host and port, and counts what
is waiting from the data folder's files, read only and without the folder's lock, so it works the
same whether serve is running or not. Exit 0: working; 1: something is broken (or serve is not
running); 2: it cannot tell.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp

from bot.config import Settings
from bot.health import read_folder, waiting_in
from bot.nightly import STATE, last_words, summarise
from bot.registry import default_registry

WORKING, BROKEN, UNKNOWN = 0, 1, 2
ASK_WITHIN = 5.0  # seconds to wait for /healthz's answer

# Each part /healthz names, in words, and what to do when it is broken.
PARTS = {
    "store": (
        "Saving records",
        "Check the disk of the computer policybot runs on: is it full, read-only, or reporting errors? "
        "policybot saves again by itself once the disk works (docs/reliability.md).",
    ),
    "scheduler": (
        "Reminders and deadlines",
        "Look at policybot's log for 'scheduler tick failed'; if it lasts, restart policybot.",
    ),
    "delivery": (
        "Sending messages",
        "Look at policybot's log for 'not sent yet': Slack or Teams may be refusing or unreachable. "
        "Nothing is lost: messages are sent once it works again.",
    ),
    "slack_socket_mode": (
        "Slack connection (Socket Mode)",
        "Check that this computer can reach Slack on the internet, and that [slack] app_token is still valid.",
    ),
}


def _local(host: str) -> str:
    """The address to ask: serve listening on every address is asked on this computer's own."""
    return {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)


async def ask(host: str, port: int, within: float = ASK_WITHIN) -> tuple[str, dict[str, Any] | str]:
    """("running", /healthz's body), ("stopped", why) when nothing answers, or ("unknown", why)."""
    host = _local(host)
    url = f"http://[{host}]:{port}/healthz" if ":" in host else f"http://{host}:{port}/healthz"
    try:
        async with (
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=within)) as session,
            session.get(url) as resp,
        ):
            text = await resp.text()
            status = resp.status
    except aiohttp.ClientConnectorError:
        return "stopped", f"nothing answers on {url}"
    except TimeoutError:
        return "unknown", f"{url} did not answer within {within:g} seconds (policybot may be stuck: look at its log)"
    except aiohttp.ClientError as exc:
        return "unknown", f"{url} did not answer properly ({type(exc).__name__})"
    try:
        body = json.loads(text)
    except ValueError:
        body = None
    if status not in (200, 503) or not isinstance(body, dict) or not isinstance(body.get("parts"), dict):
        return "unknown", f"something that is not policybot answers on {url} (HTTP {status})"
    return "running", body


def _counts(folder: Path) -> list[str]:
    if not folder.is_dir():
        return [f"There is no data folder at {folder} yet, so nothing is waiting."]
    try:
        counts = waiting_in(folder, default_registry().tables.values())
    except PermissionError:
        return [
            f"What is waiting could not be counted: you may not read {folder}. "
            "Run this as the user policybot runs as (for example: sudo -u policybot policybot status ...)."
        ]
    except (OSError, ValueError) as exc:
        return [f"What is waiting could not be counted from {folder}: {exc}."]
    return [f"Waiting (from the data folder {folder}):", *(f"  {words}: {n}" for words, n in counts.items())]


def _backups(settings: Settings, health: Any) -> list[str]:
    """The nightly backups: from /healthz while serve runs, else from what the data folder last recorded."""
    folder = settings.backups.folder
    if folder is None:
        return ["  Nightly backups: off ([storage] backup_dir is empty); see docs/deploy.md, Nightly backups."]
    summary = health.get("backups") if isinstance(health, dict) else None
    if not isinstance(summary, dict):
        try:
            tables = read_folder(settings.storage_path) if settings.storage_path.is_dir() else None
        except (OSError, ValueError):
            tables = None
        summary = summarise(folder, (tables.get(*STATE) if tables is not None else None) or {})
    return last_words(summary, settings)


async def status(settings: Settings, within: float = ASK_WITHIN) -> int:
    """Print the state of each part and what is waiting; return WORKING, BROKEN or UNKNOWN."""
    host, port = settings.server.host, settings.server.port
    state, found = await ask(host, port, within)
    lines: list[str] = []
    if state == "stopped":
        code = BROKEN
        lines += [
            f"policybot serve is not running for {settings.school.name}: {found}.",
            "  While it is stopped, nobody can use policybot in Slack or Teams, and no reminders or messages are sent.",
            "  Start it again (for example: sudo systemctl start policybot), then run this again.",
        ]
    elif state == "unknown":
        code = UNKNOWN
        lines += [
            f"I can't tell whether policybot is working: {found}.",
            f"  Check [server] host and port in {settings.source}, and that policybot serve is what listens there.",
        ]
    else:
        assert isinstance(found, dict)
        broken = [str(name) for name in found.get("broken", [])]
        code = BROKEN if broken or found.get("status") != "ok" else WORKING
        words = "working" if code == WORKING else "NOT WORKING: " + ", ".join(PARTS.get(b, (b, ""))[0] for b in broken)
        lines.append(f"policybot for {found.get('school', settings.school.name)} is {words}.")
        for name, part in found["parts"].items():
            label, todo = PARTS.get(name, (name, ""))
            ok = isinstance(part, dict) and part.get("ok") is True
            what = part.get("state", "") if isinstance(part, dict) else ""
            lines.append(f"  {'ok     ' if ok else 'BROKEN '} {label}: {what}")
            if not ok and todo:
                lines.append(f"          {todo}")
    lines += _backups(settings, found if state == "running" else None)
    lines += _counts(settings.storage_path)
    print("\n".join(lines))
    return code
