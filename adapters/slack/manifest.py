"""The Slack app manifest for this school's policybot:
paste it at api.slack.com/apps > Create New App > From a manifest.

Every slash command in the registry is listed, plus `/policybot` (help, and a way to reach
any command: `/policybot new-account`). With Socket Mode no public URL is needed; otherwise
Slack sends commands, events and button clicks to one URL: https://YOUR-HOST/slack/events.
"""

from __future__ import annotations

from typing import Any

from adapters.slack.settings import slack_settings
from bot.config import Settings
from bot.registry import Registry

SCOPES = [
    "commands",  # slash commands
    "chat:write",  # post and update messages
    "im:write",  # open a direct message with a person
    "im:history",  # read what people type in their direct message with the bot
    "users:read",  # show people in user pickers
]


def manifest(settings: Settings, registry: Registry, url: str = "") -> dict[str, Any]:
    """The manifest as a dict (Slack accepts it as JSON)."""
    slack = slack_settings(settings)
    socket = bool(slack and slack.socket_mode)
    events = (url.rstrip("/") + "/slack/events") if url and not url.rstrip("/").endswith("/slack/events") else url
    commands: list[dict[str, Any]] = [
        {
            "command": "/policybot",
            "description": "What policybot can do for you",
            "usage_hint": "help",
            "should_escape": False,
        }
    ]
    for name, summary, _role in registry.menu():
        commands.append({"command": f"/{name}", "description": summary[:100], "should_escape": False})
    if not socket:
        for c in commands:
            c["url"] = events
    school = settings.school.name
    settings_block: dict[str, Any] = {
        "interactivity": {"is_enabled": True},
        "event_subscriptions": {"bot_events": ["app_home_opened", "message.im"]},
        "org_deploy_enabled": False,
        "socket_mode_enabled": socket,
        "token_rotation_enabled": False,
    }
    if not socket:
        settings_block["interactivity"]["request_url"] = events
        settings_block["event_subscriptions"]["request_url"] = events
    return {
        "display_information": {
            "name": "policybot",
            "description": f"{school}'s social media policy, as conversations"[:140],
            "long_description": (
                f"policybot runs {school}'s social media policy in Slack: applying for a new school account, "
                "reporting abuse or a compromising image, journalist and pupil contact, "
                "monitoring the school's accounts, "
                "and the Senior Leadership Team's decisions, each step on the record. Type /policybot to start."
            ),
            "background_color": "#1d4f91",
        },
        "features": {
            "app_home": {
                "home_tab_enabled": True,
                "messages_tab_enabled": True,
                "messages_tab_read_only_enabled": False,
            },
            "bot_user": {"display_name": "policybot", "always_online": True},
            "slash_commands": commands,
        },
        "oauth_config": {"scopes": {"bot": SCOPES}},
        "settings": settings_block,
    }
