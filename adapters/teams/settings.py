"""The [teams] section of the configuration and a person's `teams_id`, read by the Teams front end."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import PlatformConfig, Section, Settings
from bot.errors import ConfigError

PLATFORM = "teams"
APP_TYPES = ("SingleTenant", "MultiTenant", "UserAssignedMSI")


@dataclass(frozen=True)
class TeamsSettings:
    app_id: str = ""
    app_password: str = ""
    tenant_id: str = ""
    app_type: str = "SingleTenant"
    slt_team: str = ""  # name or id of the SLT's team: approval cards go to its channel once the app is added there

    def secrets(self) -> list[str]:
        return [self.app_password] if self.app_password else []


def read(tm: Section) -> TeamsSettings:
    """[teams]: the Azure bot registration (or the environment's), checked for what its app type needs."""
    teams = TeamsSettings(
        app_id=tm.str("app_id", "", env="MicrosoftAppId", blank=True),
        app_password=tm.str("app_password", "", env="MicrosoftAppPassword", blank=True),
        tenant_id=tm.str("tenant_id", "", env="MicrosoftAppTenantId", blank=True),
        app_type=tm.str("app_type", "SingleTenant", env="MicrosoftAppType"),
        slt_team=tm.str("slt_team", ""),
    )
    if teams.app_type not in APP_TYPES:
        raise ConfigError(tm.file, "teams.app_type", "expected SingleTenant, MultiTenant or UserAssignedMSI")
    if teams.app_id and not teams.app_password and teams.app_type != "UserAssignedMSI" and not tm.offline:
        raise ConfigError(
            tm.file,
            "teams.app_password",
            "expected the client secret of the Azure bot registration, or set MicrosoftAppPassword",
        )
    if teams.app_id and teams.app_type == "SingleTenant" and not teams.tenant_id and not tm.offline:
        raise ConfigError(
            tm.file,
            "teams.tenant_id",
            "expected the Directory (tenant) ID for a SingleTenant bot, or set MicrosoftAppTenantId",
        )
    return teams


# A person's teams_id is their Microsoft Entra (AAD) object id.
CONFIG = PlatformConfig(name=PLATFORM, read=read, identity="teams_id")


def teams_settings(settings: Settings) -> TeamsSettings | None:
    """The [teams] section, or None for a school that does not use Teams."""
    found: TeamsSettings | None = settings.platform(PLATFORM)
    return found
