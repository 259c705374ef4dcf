"""The [slack] section of the configuration and a person's `slack_id`, read by the Slack front end."""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import PlatformConfig, Section, Settings
from bot.errors import ConfigError

PLATFORM = "slack"


@dataclass(frozen=True)
class SlackSettings:
    bot_token: str
    signing_secret: str
    app_token: str = ""
    api_url: str = "https://slack.com/api/"
    slt_channel: str = ""
    admin_channel: str = ""

    @property
    def socket_mode(self) -> bool:
        return bool(self.app_token)

    def secrets(self) -> list[str]:
        return [s for s in (self.bot_token, self.signing_secret, self.app_token) if s]


def read(sl: Section) -> SlackSettings:
    """[slack]: the app's tokens (or the environment's), checked for their shape."""
    slack = SlackSettings(
        bot_token=sl.str("bot_token", "", env="SLACK_BOT_TOKEN", blank=True),
        signing_secret=sl.str("signing_secret", "", env="SLACK_SIGNING_SECRET", blank=True),
        app_token=sl.str("app_token", "", env="SLACK_APP_TOKEN", blank=True),
        api_url=sl.str("api_url", "https://slack.com/api/"),
        slt_channel=sl.str("slt_channel", ""),
        admin_channel=sl.str("admin_channel", ""),
    )
    # A command that never talks to Slack (backup, status, export...) may leave the secrets out; any given is checked.
    if not slack.bot_token and not sl.offline:
        raise ConfigError(sl.file, "slack.bot_token", "expected the bot token (xoxb-…), or set SLACK_BOT_TOKEN")
    if slack.bot_token and not slack.bot_token.startswith("xoxb-"):
        raise ConfigError(
            sl.file, "slack.bot_token", "expected a bot token starting xoxb- (Slack app settings > OAuth & Permissions)"
        )
    if not slack.signing_secret and not slack.app_token and not sl.offline:
        raise ConfigError(
            sl.file,
            "slack.signing_secret",
            "expected the signing secret, or set SLACK_SIGNING_SECRET (or give app_token for Socket Mode)",
        )
    if slack.app_token and not slack.app_token.startswith("xapp-"):
        raise ConfigError(
            sl.file,
            "slack.app_token",
            "expected an app-level token starting xapp- (Slack app settings > Basic Information)",
        )
    return slack


CONFIG = PlatformConfig(name=PLATFORM, read=read, identity="slack_id")


def slack_settings(settings: Settings) -> SlackSettings | None:
    """The [slack] section, or None for a school that does not use Slack."""
    found: SlackSettings | None = settings.platform(PLATFORM)
    return found
