"""Telling one person something only they see, outside the outbox: a refusal, a sorry, the full text of a message."""

from __future__ import annotations

import logging

from adapters.slack.blocks import escape, note_blocks
from adapters.slack.channel import SlackChannel
from adapters.slack.webapi import Refused

log = logging.getLogger("policybot.slack")
PRIVATE_WAIT = 10.0  # seconds a private note (not sent through the outbox) may wait for a Slack rate limit


def sorry(ref: str) -> str:
    """What a person is told when something went wrong on policybot's side (the log has the details)."""
    return (
        f"Sorry, something went wrong on my side (reference {ref}). "
        "Please try again in a minute, and if it keeps happening tell the school's policybot administrator "
        "and quote the reference."
    )


class PrivateNotes:
    """Private notes to one Slack user: ephemeral where they are, else by DM."""

    def __init__(self, channel: SlackChannel) -> None:
        self.channel = channel

    async def tell(self, channel: str, user: str, text: str, *, escaped: bool = False) -> None:
        """Tell `user` something only they see: ephemeral in `channel`, or by DM when there is none.

        `escaped`: the text is already mrkdwn-escaped (escaping it again would show "&amp;lt;").
        """
        text = text if escaped else escape(text)
        blocks = note_blocks(text)
        # Not sent through the outbox, so not sent again later: a short rate limit (before
        # the call, or Slack's answer to it) is waited out, once.
        for attempt in (1, 2):
            try:
                if channel:
                    await self.channel.api.call(
                        "chat.postEphemeral",
                        wait_up_to=PRIVATE_WAIT,
                        channel=channel,
                        user=user,
                        text=text,
                        blocks=blocks,
                    )
                else:
                    dm = await self.channel.dm_channel(user)
                    await self.channel.api.call(
                        "chat.postMessage", wait_up_to=PRIVATE_WAIT, channel=dm, text=text, blocks=blocks
                    )
                return
            except Refused as exc:
                if exc.status == 429 and attempt == 1 and (exc.retry_after or 0) <= PRIVATE_WAIT:
                    continue
                log.warning("could not show a private reply to %s: %s", user, exc)
            except Exception as exc:
                log.warning("could not show a private reply to %s: %s", user, exc.__class__.__name__)
            return
