"""What the configuration says, as frozen dataclasses: the school, its people, each section's settings.

bot/config.py reads the TOML file into these (naming the key in every error); the rest of policybot reads them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date
from datetime import time as dt_time
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from bot.config_section import Section

ROLES = ("slt", "admin")
NATIONS = ("ENG", "NIR", "SCT", "WLS")
SAMPLE = "built-in sample school"


@dataclass(frozen=True)
class Person:
    """Someone the bot knows: staff by default, plus any roles from the config."""

    id: str
    name: str
    roles: frozenset[str] = frozenset()
    title: str = ""
    email: str = ""
    employed: bool = True  # False for volunteers and parents who help run an account
    # {platform: the person's id there}, from each front end's key in [[people]] (see PlatformConfig).
    identities: Mapping[str, str] = field(default_factory=dict, hash=False)

    @property
    def is_slt(self) -> bool:
        return "slt" in self.roles

    @property
    def is_admin(self) -> bool:
        return "admin" in self.roles

    def describe(self) -> str:
        """The name with job title, as shown to people."""
        return f"{self.name} ({self.title})" if self.title else self.name


@dataclass(frozen=True)
class School:
    name: str
    timezone: str = "Europe/London"
    nation: str = "ENG"
    policy_version: str = "1"
    headteacher: str = ""  # the person id of the headteacher ("" when none is named); one of SLT
    policy_agreed: date | None = None  # when the governors/SLT agreed the current policy (None: not given)
    policy_review_months: int = 12  # the policy is due for review this many months after it was agreed

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True)
class Conversations:
    remind_after_hours: float = 24.0
    expire_after_days: float = 7.0


COMPLAINTS_PROCEDURE = (
    "Reply briefly and politely to acknowledge it, without discussing details in public. "
    "Invite the person to contact the school office so the matter can be discussed in person. "
    "If they wish to take it further, refer them to the school's complaints procedure (on the school website)."
)


@dataclass(frozen=True)
class Monitoring:
    """The [monitoring] section: the daily duty reminder and reply deadlines."""

    duty_reminder_time: dt_time = dt_time(8, 0)  # local school time, every day
    reminder_lead_hours: float = 3.0  # remind the on-duty monitor this long before a reply is due
    end_of_day: dt_time = dt_time(17, 0)  # replies to weekend and bank-holiday items are due by this time
    complaints_procedure: str = COMPLAINTS_PROCEDURE
    # The weekly look-out for public posts about the school: who is reminded (roles "slt"/"admin" or person
    # ids; empty turns it off), on which day, and the search terms they are given.
    lookout: tuple[str, ...] = ("admin",)
    lookout_day: str = "Monday"
    search_terms: tuple[str, ...] = ()


METRICS = ("loopback", "off", "public")


@dataclass(frozen=True)
class Server:
    host: str = "127.0.0.1"
    port: int = 3000
    metrics: str = "loopback"  # who may read GET /metrics: "loopback" (this machine only), "off" or "public"


@dataclass(frozen=True)
class Backups:
    """[storage] nightly backups made by `policybot serve`."""

    folder: Path | None = None  # None: no automatic backups
    keep: int = 14  # the newest this many are kept; older ones are removed
    time: dt_time = dt_time(2, 30)  # local time of the nightly backup


SECOND_CHECK = ("always", "pupils", "never")


@dataclass(frozen=True)
class Posting:
    """[posting]: the before-you-post check (/post-check)."""

    second_check: str = "pupils"  # when a second person must confirm a post: "always", "pupils" or "never"


@dataclass(frozen=True)
class Accounts:
    """[accounts]: applications for new accounts."""

    decide_within_days: int = 3  # working days SLT have to decide an application before it is chased


class PlatformSettings(Protocol):
    """What a front end's parsed section offers the core: its secrets, to keep them out of logs."""

    def secrets(self) -> list[str]: ...


@dataclass(frozen=True)
class PlatformConfig:
    """What a front end reads from the configuration file, declared in its folder in adapters/.

    The adapters package hands these to `load_config`; bot/ never names a platform itself.
    `read` turns the front end's own [`name`] section into its settings (raising
    `ConfigError` naming the key, as every other section does); `identity` is its key in
    [[people]] for a person's id on the platform, kept in `Person.identities[name]`.
    """

    name: str
    read: Callable[[Section], PlatformSettings]
    identity: str = ""


@dataclass(frozen=True)
class IncidentSettings:
    """How often SLT are reminded about an incident nobody has taken ownership of."""

    urgent_reminder_minutes: float = 30.0
    high_reminder_hours: float = 2.0
    reminder_hours: float = 4.0


UNTRAINED_RUNNER = ("block", "warn")
# Record kinds with a retention period, and their defaults in days (0 keeps them for ever).
RETENTION_DEFAULTS = {
    "applications": 2190,
    "accounts": 2190,
    "incidents": 2190,
    "items": 730,
    "mentions": 730,
    "lookouts": 730,
    "people": 2190,
    "disclaimers": 2190,
    "dnp": 0,
    "posts": 2190,
}


@dataclass(frozen=True)
class Records:
    """[records]: people and records rules (training, retention)."""

    untrained_runner: str = "block"  # "block" or "warn" when a runner is not trained
    training_valid_months: int = 24  # training counts for this many months (0: it never lapses)
    disclaimer_every_months: int = 12  # staff confirm their personal-account disclaimer this often (0: only
    # when the policy version changes)
    retention: Mapping[str, int] = field(default_factory=lambda: dict(RETENTION_DEFAULTS))


@dataclass(frozen=True)
class Settings:
    """Everything read from the configuration file."""

    source: str
    school: School
    people: tuple[Person, ...]
    storage_path: Path
    conversations: Conversations = Conversations()
    server: Server = Server()
    monitoring: Monitoring = Monitoring()
    # Each front end the configuration loader was given: its parsed section, or None when the file has none.
    platforms: Mapping[str, PlatformSettings | None] = field(default_factory=dict)
    records: Records = Records()

    incidents: IncidentSettings = IncidentSettings()
    backups: Backups = Backups()
    posting: Posting = Posting()
    accounts: Accounts = Accounts()

    def secrets(self) -> list[str]:
        """Every configured secret, so tests and logs can check none leaks."""
        return [s for platform in self.platforms.values() if platform is not None for s in platform.secrets() if s]

    def platform(self, name: str) -> Any:
        """The parsed section of front end `name` (its own settings type), or None when the file has none."""
        return self.platforms.get(name)
