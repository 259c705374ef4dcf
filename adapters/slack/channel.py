"""Slack delivery: post outbox cards as Block Kit to DMs and channels, and update them later.

Targets are planned once per message by the delivery loop (bot/delivery.py):
- ``dm:<person id>`` -- the person's direct message with the bot; the DM channel id
  from conversations.open is kept in the ``slack_dms`` table;
- ``channel:<channel id>`` -- the SLT or admin channel from ``[slack]``, for role
  messages that are not ``private`` (those always go person by person);
- ``update:<channel id>:<ts>`` -- an earlier copy of a keyed card, for ``replace``;
  each copy posted is remembered in ``slack_cards``.
Slack's errors become TemporaryFailure (429 with its Retry-After, 5xx, timeouts,
connection errors) or PermanentFailure (anything else, such as channel_not_found).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack import webapi
from adapters.slack.blocks import render_card
from adapters.slack.settings import PLATFORM, SlackSettings
from adapters.slack.webapi import Refused, WebAPI
from bot.delivery import Message, person_targets
from bot.errors import PermanentFailure, TemporaryFailure
from bot.front_end import OwnRecords
from bot.people import Directory

log = logging.getLogger("policybot.slack")

DMS = "slack_dms"  # slack user id -> {"channel": DM channel id}
CARDS = "slack_cards"  # "<key>|<channel>|<ts>" -> {"key", "channel", "ts"}
FULL = "slack_full_texts"  # message id -> {"card": ..., "channels": [...]}: "Show the full text"
TABLES = (DMS, CARDS, FULL)  # all the Slack front end keeps (Core.records)
HOW_TO_REACH = (
    "For Slack, add their Slack member ID "
    "(their Slack profile > ... > Copy member ID) as slack_id in their [[people]] entry."
)
TEMPORARY_ERRORS = {
    "ratelimited",
    "rate_limited",
    "service_unavailable",
    "fatal_error",
    "internal_error",
    "request_timeout",
}


def classify(exc: BaseException, doing: str) -> TemporaryFailure | PermanentFailure:
    """Turn a Slack Web API error into the delivery loop's retry-or-give-up."""
    if isinstance(exc, SlackApiError):  # from slack_sdk (opening a DM)
        retry = exc.response.headers.get("Retry-After") or exc.response.headers.get("retry-after")
        error = str(exc.response.get("error", "")) if isinstance(exc.response.data, dict) else ""
        exc = Refused(exc.response.status_code, error, webapi.seconds(retry))
    if isinstance(exc, Refused):
        status, error = exc.status, exc.error
        if status == 429:
            return TemporaryFailure(f"Slack rate limit while {doing}", retry_after=exc.retry_after)
        if status >= 500 or error in TEMPORARY_ERRORS:
            return TemporaryFailure(f"Slack unavailable while {doing} (HTTP {status} {error})".strip())
        hint = {
            "not_in_channel": "invite the bot to the channel (/invite @policybot)",
            "channel_not_found": "check the channel id in [slack] and invite the bot to it",
            "user_not_found": "check this person's slack_id in the configuration",
            "invalid_auth": "check [slack] bot_token",
            "not_authed": "check [slack] bot_token",
            "account_inactive": "the bot token was revoked; reinstall the app",
        }.get(error, "")
        return PermanentFailure(f"Slack refused {doing}: {error or status}" + (f"; {hint}" if hint else ""))
    if isinstance(exc, asyncio.TimeoutError | aiohttp.ClientError | SlackClientError | OSError):
        return TemporaryFailure(f"could not reach Slack while {doing} ({exc.__class__.__name__})")
    return PermanentFailure(f"unexpected error while {doing}: {exc.__class__.__name__}")


class SlackChannel:
    """The delivery loop's way into Slack."""

    name = "slack"

    def __init__(
        self,
        client: AsyncWebClient,
        settings: SlackSettings,
        store: OwnRecords,
        directory: Directory,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.client = client
        # Every call to this workspace, keeping to Slack's rate limits, timed by policybot's clock.
        self.api = WebAPI(client, clock=(lambda: now().timestamp()) if now is not None else time.monotonic)
        self.settings = settings
        self.store = store
        self.directory = directory
        # Where each Slack user last acted (a channel id), so a refusal can be shown to
        # them there privately. Only a routing hint: after a restart it falls back to the DM.
        self.surfaces: dict[str, str] = {}

    async def publish_reachability(self) -> None:
        """Tell the core whom Slack cannot reach (listed by /unreachable on every front end): staff with no slack_id."""
        missing = {
            p.id: ("no slack_id in the configuration", HOW_TO_REACH)
            for p in self.directory.people
            if p.employed and not p.identities.get(PLATFORM)
        }
        async with self.store.transaction() as tx:
            tx.cannot_reach_only(missing)

    # ---- planning ------------------------------------------------------------

    def targets(self, msg: Message, directory: Directory) -> list[str]:
        """Every earlier copy for a replacement; else the role's channel, or each person's DM."""
        if msg.replace and msg.key:
            copies = self.store.find(CARDS, key=msg.key)
            if copies:
                return [f"update:{c['channel']}:{c['ts']}" for c in copies]
        if msg.to.kind == "role" and not msg.private:
            channel = {
                "slt": self.settings.slt_channel,
                "admins": self.settings.admin_channel,
                "admin": self.settings.admin_channel,
            }.get(msg.to.id, "")
            if channel:
                return [f"channel:{channel}"]
        return [
            f"dm:{pid}"
            for pid in person_targets(msg.to, directory)
            if (p := directory.get(pid)) is not None and p.identities.get(PLATFORM)
        ]

    # ---- sending -------------------------------------------------------------

    async def send(self, target: str, msg: Message) -> None:
        kind, _, address = target.partition(":")
        if kind == "update":
            channel, _, ts = address.rpartition(":")
            await self._call(
                "updating a card", "chat.update", channel=channel, ts=ts, **(await self._content(msg, post=False))
            )
            return
        if kind == "dm":
            person = self.directory.get(address)
            slack_id = person.identities.get(PLATFORM, "") if person else ""
            if not slack_id:
                raise PermanentFailure(f"{address} has no slack_id in the configuration")
            surface = self.surfaces.get(slack_id, "")
            if msg.ephemeral and surface and not surface.startswith("D"):
                try:
                    await self._call(
                        "showing a private reply",
                        "chat.postEphemeral",
                        channel=surface,
                        user=slack_id,
                        **(await self._content(msg, post=False)),
                    )
                    return
                except PermanentFailure as exc:
                    log.warning(
                        "private reply in %s not possible (%s); sending it by direct message instead", surface, exc
                    )
            channel = await self.dm_channel(slack_id)
        else:
            channel = address
        response = await self._call(
            "posting a message", "chat.postMessage", channel=channel, **(await self._content(msg))
        )
        if msg.key:
            posted_channel = str(response.get("channel") or channel)
            ts = str(response.get("ts"))
            async with self.store.transaction() as tx:
                tx.put(CARDS, f"{msg.key}|{posted_channel}|{ts}", {"key": msg.key, "channel": posted_channel, "ts": ts})

    async def dm_channel(self, slack_user: str) -> str:
        """The DM channel with a Slack user, opened once and remembered."""
        known = self.store.get(DMS, slack_user)
        if known:
            return str(known["channel"])
        try:
            response = await self.api.sdk(
                "conversations.open", lambda: self.client.conversations_open(users=slack_user)
            )
        except Exception as exc:
            raise classify(exc, "opening a direct message") from None
        channel = str(response["channel"]["id"])
        async with self.store.transaction() as tx:
            tx.put(DMS, slack_user, {"channel": channel})
        return channel

    async def _content(self, msg: Message, *, post: bool = True) -> dict[str, Any]:
        """Blocks and notification text; a shortened card is kept for "Show the full text"."""
        rendered = render_card(msg.card, {"message": msg.id})
        if rendered.shortened:
            async with self.store.transaction() as tx:
                tx.put(FULL, msg.id, {"card": msg.card.to_dict(), "to": str(msg.to)})
        content: dict[str, Any] = {"blocks": rendered.blocks, "text": rendered.text}
        if post:
            content.update(unfurl_links=False, unfurl_media=False)
        return content

    async def _call(self, doing: str, method: str, **kwargs: Any) -> dict[str, Any]:
        try:
            return await self.api.call(method, **kwargs)
        except Exception as exc:
            failure = classify(exc, doing)
            raise failure from None
