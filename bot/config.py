"""Settings: read the TOML configuration once, at start-up, into frozen dataclasses.

Every missing or wrong value stops start-up with one line naming the file, the key and
what is expected. Secrets may come from environment variables instead of the file.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping, Sequence
from datetime import time as dt_time
from importlib import resources
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.config_section import MISSING, Section
from bot.errors import ConfigError
from bot.settings import (
    COMPLAINTS_PROCEDURE,
    METRICS,
    NATIONS,
    RETENTION_DEFAULTS,
    ROLES,
    SAMPLE,
    SECOND_CHECK,
    UNTRAINED_RUNNER,
    Accounts,
    Backups,
    Conversations,
    IncidentSettings,
    Monitoring,
    Person,
    PlatformConfig,
    PlatformSettings,
    Posting,
    Records,
    School,
    Server,
    Settings,
)

# The dataclasses live in bot/settings.py; they stay importable from here, where they are filled.
__all__ = [
    "COMPLAINTS_PROCEDURE",
    "METRICS",
    "MISSING",
    "NATIONS",
    "RETENTION_DEFAULTS",
    "ROLES",
    "SAMPLE",
    "SECOND_CHECK",
    "UNTRAINED_RUNNER",
    "WEEKDAYS",
    "Accounts",
    "Backups",
    "ConfigError",
    "Conversations",
    "IncidentSettings",
    "Monitoring",
    "Person",
    "PlatformConfig",
    "PlatformSettings",
    "Posting",
    "Records",
    "School",
    "Section",
    "Server",
    "Settings",
    "load_config",
    "parse_config",
]


def _people(file: str, raw: Any, platforms: Sequence[PlatformConfig] = ()) -> tuple[Person, ...]:
    if not isinstance(raw, list) or not raw:
        raise ConfigError(file, "people", "expected at least one [[people]] entry")
    people: list[Person] = []
    ids: set[str] = set()
    for n, entry in enumerate(raw, start=1):
        sec = Section(file, f"people[{n}]", entry)
        pid = sec.str("id").strip().lower()
        if not pid.replace(".", "").replace("-", "").replace("_", "").isalnum():
            raise ConfigError(file, sec.key("id"), "expected letters, digits, '.', '-' or '_' only")
        if pid in ids:
            raise ConfigError(file, sec.key("id"), f"the id {pid!r} is used twice; each person needs their own")
        ids.add(pid)
        roles = sec.strings("roles", [])
        for r in roles:
            if r not in ROLES:
                raise ConfigError(file, sec.key("roles"), f"unknown role {r!r}; expected any of {', '.join(ROLES)}")
        people.append(
            Person(
                id=pid,
                name=sec.str("name"),
                roles=frozenset(roles),
                title=sec.str("title", ""),
                email=sec.str("email", ""),
                employed=sec.bool("employed", True),
                identities=_identities(sec, platforms),
            )
        )
        sec.done()
    if not any(p.is_slt for p in people):
        raise ConfigError(file, "people", 'expected at least one person with roles = ["slt"] to decide applications')
    if not any(p.is_admin for p in people):
        raise ConfigError(file, "people", 'expected at least one person with roles = ["admin"] to create accounts')
    return tuple(people)


def _identities(sec: Section, platforms: Sequence[PlatformConfig]) -> dict[str, str]:
    """A person's id on each front end that names people by its own ids (its key in [[people]])."""
    found = {p.name: sec.str(p.identity, "") for p in platforms if p.identity}
    return {name: value for name, value in found.items() if value}


def _platforms(
    file: str, top: Section, platforms: Sequence[PlatformConfig], offline: bool = False
) -> dict[str, PlatformSettings | None]:
    """Each front end's own section, read by the front end (None when the file has none)."""
    out: dict[str, PlatformSettings | None] = {}
    for platform in platforms:
        out[platform.name] = None
        if platform.name in top.table:
            sec = Section(file, platform.name, top._get(platform.name, {}))
            sec.offline = offline
            out[platform.name] = platform.read(sec)
            sec.done()
    return out


def parse_config(
    raw: Mapping[str, Any],
    file: str,
    base: Path | None = None,
    platforms: Sequence[PlatformConfig] = (),
    *,
    offline: bool = False,
) -> Settings:
    """Turn parsed TOML into settings, or raise `ConfigError` naming the key.

    `platforms`: the front ends whose sections and [[people]] keys the file may hold
    (adapters.platforms gives them all); any other section or key is refused.
    """
    top = Section(file, "", dict(raw))
    school_sec = Section(file, "school", top._get("school", MISSING))
    tz = school_sec.str("timezone", "Europe/London")
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            file, "school.timezone", f'{tz!r} is not a time zone; expected a name like "Europe/London"'
        ) from None
    nation = school_sec.str("nation", "ENG")
    if nation not in NATIONS:
        raise ConfigError(file, "school.nation", f"expected one of {', '.join(NATIONS)}")
    school = School(
        name=school_sec.str("name"),
        timezone=tz,
        nation=nation,
        policy_version=school_sec.str("policy_version", "1"),
        headteacher=school_sec.str("headteacher", "", blank=True).strip().lower(),
        policy_agreed=school_sec.date("policy_agreed", None),
        policy_review_months=school_sec.int("policy_review_months", 12, low=1, high=120),
    )
    school_sec.done()

    storage = Section(file, "storage", top._get("storage", {}))
    path = Path(storage.str("path", "data"))
    if not path.is_absolute() and base is not None:
        path = base / path
    backup_dir = storage.str("backup_dir", "", blank=True).strip()
    backups = Backups(
        folder=_folder(backup_dir, base) if backup_dir else None,
        keep=storage.int("backup_keep", 14, low=1, high=3650),
        time=storage.clock("backup_time", dt_time(2, 30)),
    )
    if backups.folder is not None and _inside(backups.folder, path):
        raise ConfigError(
            file, "storage.backup_dir", "must not be inside the data folder (storage.path); choose another folder"
        )
    storage.done()

    conv = Section(file, "conversations", top._get("conversations", {}))
    conversations = Conversations(
        remind_after_hours=conv.number("remind_after_hours", 24.0),
        expire_after_days=conv.number("expire_after_days", 7.0),
    )
    conv.done()

    srv = Section(file, "server", top._get("server", {}))
    server = Server(
        host=srv.str("host", "127.0.0.1"),
        port=srv.int("port", 3000, low=0, high=65535),
        metrics=srv.choice("metrics", "loopback", METRICS),
    )
    srv.done()

    mon = Section(file, "monitoring", top._get("monitoring", {}))
    monitoring = Monitoring(
        duty_reminder_time=mon.clock("duty_reminder_time", dt_time(8, 0)),
        reminder_lead_hours=mon.number("reminder_lead_hours", 3.0),
        end_of_day=mon.clock("end_of_day", dt_time(17, 0)),
        complaints_procedure=mon.str("complaints_procedure", COMPLAINTS_PROCEDURE),
        lookout=tuple(v.strip().lower() for v in mon.strings("lookout", ["admin"])),
        lookout_day=_weekday(file, mon.str("lookout_day", "Monday")),
        search_terms=tuple(t.strip() for t in mon.strings("search_terms", [school.name]) if t.strip()),
    )
    mon.done()

    posting_sec = Section(file, "posting", top._get("posting", {}))
    posting = Posting(second_check=posting_sec.choice("second_check", "pupils", SECOND_CHECK))
    posting_sec.done()

    acc = Section(file, "accounts", top._get("accounts", {}))
    accounts = Accounts(decide_within_days=acc.int("decide_within_days", 3, low=1, high=60))
    acc.done()

    front_ends = _platforms(file, top, platforms, offline)

    records = _records(file, top._get("records", {}))

    inc = Section(file, "incidents", top._get("incidents", {}))
    incidents = IncidentSettings(
        urgent_reminder_minutes=inc.number("urgent_reminder_minutes", 30.0),
        high_reminder_hours=inc.number("high_reminder_hours", 2.0),
        reminder_hours=inc.number("reminder_hours", 4.0),
    )
    if incidents.urgent_reminder_minutes > 60:
        raise ConfigError(
            file,
            "incidents.urgent_reminder_minutes",
            "expected 60 or less: the policy's urgent incidents are chased within the hour",
        )
    inc.done()

    people = _people(file, top._get("people", MISSING), platforms)
    if school.headteacher:
        head = next((p for p in people if p.id == school.headteacher), None)
        if head is None:
            raise ConfigError(
                file,
                "school.headteacher",
                f"{school.headteacher!r} is not the id of anyone in [[people]]; "
                f"expected one of {', '.join(p.id for p in people)}",
            )
        if not head.is_slt:
            raise ConfigError(
                file,
                "school.headteacher",
                f'{head.id!r} must also have roles = ["slt"]: '
                "the headteacher is alerted with SLT, and incident details go only to SLT",
            )
    ids = {p.id for p in people}
    for who in monitoring.lookout:
        if who not in ("slt", "admin") and who not in ids:
            raise ConfigError(
                file,
                "monitoring.lookout",
                f'{who!r} is neither "slt", "admin" nor the id of anyone in [[people]]',
            )
    for name in raw:
        if name not in top.seen:
            raise ConfigError(file, name, "unknown section; check its spelling against config.example.toml")
    return Settings(
        source=file,
        school=school,
        people=people,
        storage_path=path,
        conversations=conversations,
        server=server,
        monitoring=monitoring,
        platforms=front_ends,
        records=records,
        incidents=incidents,
        backups=backups,
        posting=posting,
        accounts=accounts,
    )


WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _weekday(file: str, value: str) -> str:
    for name in WEEKDAYS:
        if value.strip().lower() in (name.lower(), name[:3].lower()):
            return name
    raise ConfigError(file, "monitoring.lookout_day", 'expected a day of the week, like "Monday"')


def _folder(value: str, base: Path | None) -> Path:
    folder = Path(value).expanduser()
    return base / folder if not folder.is_absolute() and base is not None else folder


def _inside(folder: Path, data: Path) -> bool:
    a, b = folder.resolve(), data.resolve()
    return a == b or b in a.parents


def _records(file: str, raw: Any) -> Records:
    sec = Section(file, "records", raw)
    untrained = sec.choice("untrained_runner", "block", UNTRAINED_RUNNER)
    valid_months = sec.int("training_valid_months", 24, low=0, high=600)
    disclaimer_months = sec.int("disclaimer_every_months", 12, low=0, high=600)
    ret = Section(file, "records.retention", sec._get("retention", {}))
    retention = {kind: ret.int(kind, days, low=0, high=36500) for kind, days in RETENTION_DEFAULTS.items()}
    ret.done()
    sec.done()
    return Records(
        untrained_runner=untrained,
        training_valid_months=valid_months,
        disclaimer_every_months=disclaimer_months,
        retention=retention,
    )


def load_config(
    path: str | os.PathLike[str] | None = None, platforms: Sequence[PlatformConfig] = (), *, offline: bool = False
) -> Settings:
    """Load settings from `path`, `$POLICYBOT_CONFIG`, or the built-in sample school.

    `platforms` as for `parse_config` (adapters.platforms.load_config passes every front end's).
    """
    chosen = path or os.environ.get("POLICYBOT_CONFIG") or None
    if chosen is None:
        text = resources.files("bot").joinpath("sample_school.toml").read_text(encoding="utf-8")
        return parse_config(tomllib.loads(text), SAMPLE, Path.cwd(), platforms, offline=offline)
    file = Path(chosen)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            str(file), "(file)", "not found; check the path given to --config or POLICYBOT_CONFIG"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            str(file), "(file)", f"cannot be read ({exc.__class__.__name__}); expected a UTF-8 text file"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(str(file), "(syntax)", f"not valid TOML: {exc}") from None
    return parse_config(raw, str(file), Path.cwd(), platforms, offline=offline)
