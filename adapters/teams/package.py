"""`policybot teams-package`: the Teams app package (manifest.json, colour and outline icons) as a zip.

Manifest schema 1.17: https://learn.microsoft.com/microsoftteams/platform/resources/schema/manifest-schema
The icons are drawn here (a speech bubble with a tick) and written as PNG with zlib and
struct, so no imaging library is needed.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from adapters.teams.settings import teams_settings
from bot.config import Settings
from bot.errors import PolicybotError
from bot.registry import Registry

MANIFEST_VERSION = "1.17"
SCHEMA = f"https://developer.microsoft.com/en-us/json-schemas/teams/v{MANIFEST_VERSION}/MicrosoftTeams.schema.json"
ACCENT = (0x1F, 0x5F, 0x8B)  # a calm school blue
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
Pixel = tuple[int, int, int, int]


# The commands Teams suggests first (after help), in this order: a new account, the reports a teacher may need in a
# hurry, then the everyday ones. Only commands everyone may use; any not in the registry is passed over.
SUGGESTED = (
    "new-account",
    "report-abuse",
    "compromising-image",
    "pupil-contact",
    "media-enquiry",
    "post-check",
    "log-comment",
    "log-post",
    "waiting",
)


def png(width: int, height: int, pixel: Callable[[int, int], Pixel]) -> bytes:
    """An RGBA PNG image of `pixel(x, y)`."""
    rows = b"".join(b"\x00" + b"".join(struct.pack("4B", *pixel(x, y)) for x in range(width)) for y in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows, 9)) + chunk(b"IEND", b"")


def _bubble(size: int, x: float, y: float) -> bool:
    """Inside a speech bubble filling most of a `size` square (rounded body and a tail)."""
    s = size
    left, right, top, bottom, r = 0.16 * s, 0.84 * s, 0.18 * s, 0.68 * s, 0.12 * s
    cx = min(max(x, left + r), right - r)
    cy = min(max(y, top + r), bottom - r)
    body = left <= x <= right and top <= y <= bottom and (x - cx) ** 2 + (y - cy) ** 2 <= r * r
    tail = bottom <= y <= 0.84 * s and 0.28 * s <= x <= 0.28 * s + (0.84 * s - y) * 1.0
    return body or tail


def _tick(size: int, x: float, y: float, width: float) -> bool:
    """On a tick mark drawn inside the bubble."""
    s = size

    def near(ax: float, ay: float, bx: float, by: float) -> bool:
        dx, dy = bx - ax, by - ay
        t = max(0.0, min(1.0, ((x - ax) * dx + (y - ay) * dy) / (dx * dx + dy * dy)))
        return (x - ax - t * dx) ** 2 + (y - ay - t * dy) ** 2 <= width * width

    return near(0.34 * s, 0.43 * s, 0.46 * s, 0.54 * s) or near(0.46 * s, 0.54 * s, 0.67 * s, 0.32 * s)


def colour_icon(size: int = 192) -> bytes:
    """The full-colour icon: a white bubble with a blue tick on the accent colour."""
    white, accent = (255, 255, 255, 255), (*ACCENT, 255)

    def pixel(x: int, y: int) -> Pixel:
        px, py = x + 0.5, y + 0.5
        if _bubble(size, px, py):
            return accent if _tick(size, px, py, 0.045 * size) else white
        return accent

    return png(size, size, pixel)


def outline_icon(size: int = 32) -> bytes:
    """The outline icon: white on transparent only, as Teams requires."""

    def pixel(x: int, y: int) -> Pixel:
        px, py = x + 0.5, y + 0.5
        inside = _bubble(size, px, py)
        edge = inside and not all(
            _bubble(size, px + dx, py + dy) for dx, dy in ((1.5, 0), (-1.5, 0), (0, 1.5), (0, -1.5))
        )
        on = edge or (inside and _tick(size, px, py, 0.06 * size))
        return (255, 255, 255, 255) if on else (255, 255, 255, 0)

    return png(size, size, pixel)


def manifest(
    settings: Settings, registry: Registry, *, website: str, privacy: str, terms: str, version: str = "1.0.0"
) -> dict[str, Any]:
    """The Teams app manifest for this school's bot."""
    teams = teams_settings(settings)
    if teams is None or not teams.app_id:
        raise PolicybotError(
            f"{settings.source}: [teams] app_id is needed for the app package: "
            "it is the Microsoft App ID of your Azure bot registration."
        )
    if not GUID.match(teams.app_id):
        raise PolicybotError(
            f"{settings.source}: teams.app_id should look like 00000000-0000-0000-0000-000000000000 "
            "(the Microsoft App ID)."
        )
    for name, url in (("--website", website), ("--privacy", privacy), ("--terms", terms)):
        if not url.startswith("https://"):
            raise PolicybotError(f"{name} must be an https:// address; Teams refuses packages without one.")
    # Teams shows at most 10 suggestions: help, then what a member of staff needs most (SUGGESTED), then everyone's
    # other commands, then SLT's and administrators'. The help card lists every command, so nothing is out of reach.
    menu = sorted(
        registry.menu(),
        key=lambda row: (bool(row[2]), SUGGESTED.index(row[0]) if row[0] in SUGGESTED else len(SUGGESTED)),
    )
    commands = [{"title": "help", "description": "See what policybot can do for you"}]
    commands += [{"title": command[:32], "description": summary[:128]} for command, summary, _role in menu]
    school = settings.school.name
    return {
        "$schema": SCHEMA,
        "manifestVersion": MANIFEST_VERSION,
        "version": version,
        "id": teams.app_id,
        "developer": {"name": school[:32], "websiteUrl": website, "privacyUrl": privacy, "termsOfUseUrl": terms},
        "name": {"short": "policybot", "full": f"policybot for {school}"[:100]},
        "description": {
            "short": "Our social media policy as simple staff workflows."[:80],
            "full": (
                f"policybot helps the staff of {school} follow the school's social media policy: "
                "apply for a new school account, "
                "report a concern, keep the account register and monitoring rota, and get reminders on time. "
                "SLT approve applications from Teams."
            )[:4000],
        },
        "icons": {"color": "color.png", "outline": "outline.png"},
        "accentColor": "#{:02X}{:02X}{:02X}".format(*ACCENT),
        "bots": [
            {
                "botId": teams.app_id,
                "scopes": ["personal", "team"],
                "supportsFiles": False,
                "isNotificationOnly": False,
                # Teams allows ten commands per list.
                "commandLists": [
                    {"scopes": ["personal"], "commands": commands[:10]},
                    {"scopes": ["team"], "commands": commands[:1]},
                ],
            }
        ],
        "permissions": ["identity", "messageTeamMembers"],
        "validDomains": [],
    }


def write_package(
    out: Path, settings: Settings, registry: Registry, *, website: str, privacy: str, terms: str
) -> dict[str, Any]:
    """Write the zip Teams admin accepts; return the manifest."""
    data = manifest(settings, registry, website=website, privacy=privacy, terms=terms)
    out.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("manifest.json", json.dumps(data, indent=2))
        z.writestr("color.png", colour_icon())
        z.writestr("outline.png", outline_icon())
    return data
