"""slack-bolt's app and its listeners: slash commands, DM messages, clicks, modal answers, the App Home.

Each listener reads its payload into a neutral `Inbound` (inbound.py), saves it, and
acknowledges Slack at once, before the engine runs: Slack must be answered within 3
seconds, a reply can follow a moment later. The turn itself is queued behind the
acknowledgement (work.py), so in a burst the acknowledgements are not held up by turns.
"""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import MODAL, MORE, PICK, modal_errors
from adapters.slack.inbound import (
    NothingChosen,
    NothingWritten,
    Unreadable,
    parse_action,
    parse_command,
    parse_message,
    parse_modal,
    user_of,
    where,
)
from adapters.slack.notes import sorry
from adapters.slack.webapi import quiet_logger
from adapters.slack.work import Work
from bot.core import Core
from bot.errors import NotSaved, reference
from bot.messages import Inbound

log = logging.getLogger("policybot.slack")
ACCEPT_WAIT = 1.5  # seconds to wait for the store before acknowledging Slack anyway
NOT_IN_DM = "I'll reply in our direct message (see policybot under Apps)."


class Listeners:
    """The bolt app for one workspace, with policybot's listeners on it.

    `accept_wait`: seconds to wait for the store to save a request before acknowledging
    Slack anyway (see `_accept`).
    """

    def __init__(
        self, core: Core, client: AsyncWebClient, signing_secret: str, work: Work, *, accept_wait: float = ACCEPT_WAIT
    ) -> None:
        self.core = core
        self.work = work
        self.accept_wait = accept_wait
        self.bolt = AsyncApp(
            client=client,
            signing_secret=signing_secret,
            # Each listener returns as soon as it has acknowledged (the work is queued), so
            # bolt can answer then, without its 10 ms wait-for-ack polling loop.
            process_before_response=True,
            # The route checks the signature (and its age) before bolt sees the request,
            # and Socket Mode requests carry none; bolt checking it again only costs time.
            request_verification_enabled=False,
            attaching_function_token_enabled=False,  # policybot defines no Slack workflow functions
            raise_error_for_unhandled_request=False,
            logger=quiet_logger("policybot.slack.bolt"),
        )
        # bolt tries each listener in this order, building its arguments for every one it
        # tries: slash commands and clicks, which a person sees fail when they are not
        # answered within 3 seconds, come before message events.
        self.bolt.command(re.compile(r"^/"))(self._on_command)
        self.bolt.action(re.compile(r"^pb\."))(self._on_action)
        self.bolt.event("message")(self._on_message)
        self.bolt.view(MODAL)(self._on_modal)
        self.bolt.event("app_home_opened")(self._on_home)
        self.bolt.error(self._on_error)

    async def _on_command(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        in_dm = str(body.get("channel_id", "")).startswith("D")
        await self._take(parse_command(body), body, ack, "" if in_dm else NOT_IN_DM)

    async def _on_message(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        event = parse_message(body, self.core.people)
        if event is None:
            await ack()
            return
        await self._take(event, body, ack)

    async def _on_action(
        self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], action: dict[str, Any]
    ) -> None:
        action_id = str(action.get("action_id", ""))
        user = str((body.get("user") or {}).get("id", ""))
        if action_id.startswith(PICK):
            await ack()
            return  # a multi-select changing; the "Done" button sends the choice
        if action_id == MORE:
            await ack()
            self.work.then(user, lambda: self.work.kindly(where(body), user, lambda: self.work.show_more(body, action)))
            return
        try:
            event = parse_action(body, action)
        except NothingChosen:
            await ack()
            self.work.then(
                user,
                lambda: self.work.notes.tell(
                    where(body), user, "Please choose first, then press Done. You can also type your answer."
                ),
            )
            return
        except Unreadable:
            await ack()
            self.work.then(
                user,
                lambda: self.work.notes.tell(
                    where(body),
                    user,
                    "That button is from an older message and no longer works. "
                    "Type /policybot help to see what I can do.",
                ),
            )
            return
        await self._take(event, body, ack)

    async def _on_modal(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], view: dict[str, Any]) -> None:
        """A typed answer given in a modal (such as the reason for a rejection)."""
        try:
            event = parse_modal(body, view)
        except NothingWritten:
            await ack(**modal_errors("Please write something here, or press Cancel."))
            return
        except Unreadable:
            await ack()
            return
        try:
            inbox = await self._accept(event, body)
        except NotSaved as exc:
            # Slack shows only a short line under the box; the log has the reference.
            log.warning("a modal answer could not be saved: %s", exc)
            await ack(
                **modal_errors(
                    "Sorry, I couldn't save that just now, so nothing has changed. Please try again in a few minutes."
                )
            )
            return
        await ack()
        self.work.then(event.user, lambda: self.work.turn(event, body, inbox))

    async def _on_home(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        """The App Home tab: what is waiting for this person, rebuilt each time they open it."""
        await ack()
        event = body.get("event") or {}
        user = str(event.get("user", ""))
        if event.get("tab", "home") == "home" and user:
            self.work.then(user, lambda: self.work.kindly("", user, lambda: self.work.show_home(user)))

    async def _on_error(self, error: Exception, body: dict[str, Any]) -> BoltResponse:
        """The boundary around the listeners: a bug is logged with a reference, and the person
        is told that reference kindly.

        The answer is 200 with the words: Slack shows them to whoever typed a slash command
        (a 500 would show only "failed with the error dispatch_failed"), and it does not send
        again a request that fails the same way each time. A click or a message shows no
        answer text, so the person is told privately instead.
        """
        ref = reference()
        log.error("unexpected error in a Slack listener, reference %s", ref, exc_info=error)
        with contextlib.suppress(Exception):  # the boundary itself must not fail
            user = user_of(body)
            if user and "command" not in body:
                channel = where(body)
                self.work.then(user, lambda: self.work.notes.tell(channel, user, sorry(ref)))
        return BoltResponse(status=200, body=sorry(ref))

    async def _take(
        self, event: Inbound, body: dict[str, Any], ack: Callable[..., Awaitable[None]], said: str = ""
    ) -> None:
        """Save the request, acknowledge it to Slack, then handle it. If it cannot be saved,
        the person is told so (nothing changed) and it goes no further."""
        try:
            key = await self._accept(event, body)
        except NotSaved as exc:
            if event.kind == "command":
                await ack(f"Sorry: {exc}")
            else:
                await ack()
                told = f"Sorry: {exc}"
                self.work.then(event.user, lambda: self.work.notes.tell(where(body), event.user, told))
            return
        if said:
            await ack(said)
        else:
            await ack()
        self.work.then(event.user, lambda: self.work.turn(event, body, key))

    async def _accept(self, event: Inbound, body: dict[str, Any]) -> str:
        """Save the request before Slack is told it arrived, so a crash cannot lose it.

        Slack must be answered within 3 seconds: if the store is busy (or the disk slow)
        for longer than `accept_wait`, the request is acknowledged anyway while the save
        carries on, and it is still handled exactly once (see Core.accept).
        """
        return await self.core.accept(event, {"channel": where(body)}, within=self.accept_wait)
