"""The Slack front end: slack-bolt's AsyncApp over HTTP (POST /slack/events) or Socket Mode.

Every request is saved, then acknowledged at once (before the engine runs), and the work
carries on in order behind it: a few workers take acknowledged requests first come, first
served and run the engine's turn; the delivery loop sends what the turn queued. Slack
must be answered within 3 seconds, a reply can follow a moment later, so in a burst the
acknowledgements are not held up by the turns. Conversations
continue in the person's direct message with the bot. Known refusals are shown to the
person privately (an ephemeral message); anything unexpected is logged with a short
reference that the person is shown instead of a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import hmac
import json
import logging
import os
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qsl

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.blocks import MORE, PICK, chunks, escape, full_text, plain, read_json, render_card
from adapters.slack.channel import FULL, TABLES, SlackChannel
from adapters.slack.inbound import NothingChosen, Unreadable, parse_action, parse_command, parse_message, well_formed, where
from adapters.slack.settings import PLATFORM, slack_settings
from adapters.slack.webapi import Refused
from bot.core import Core
from bot.errors import NotRecognised, NotSaved, PolicybotError, reference
from bot.messages import Card, Inbound, Outbound, Recipient

log = logging.getLogger("policybot.slack")
EVENTS_PATH = "/slack/events"
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds in ASCII digits (re's \d would take any script's digits)
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")  # "v0=" and a hex SHA-256
MODAL, MODAL_BLOCK, MODAL_INPUT = "pb.modal", "pb.modal.answer", "text"
ACCEPT_WAIT = 1.5  # seconds to wait for the store before acknowledging Slack anyway
TIMEOUT = 10.0  # seconds for one Slack Web API call; a slow Slack is retried from the outbox
PRIVATE_WAIT = 10.0  # seconds a private note (not sent through the outbox) may wait for a Slack rate limit


class SlackFrontEnd:
    """One Slack workspace: inbound listeners, the delivery channel, and the Socket Mode link."""

    def __init__(self, core: Core, *, timeout: float = TIMEOUT, accept_wait: float = ACCEPT_WAIT) -> None:
        settings = slack_settings(core.settings)
        assert settings is not None
        self.core = core
        self.settings = settings
        self.accept_wait = accept_wait  # seconds to wait for the store before acknowledging Slack anyway
        base = settings.api_url if settings.api_url.endswith("/") else settings.api_url + "/"
        self.client = AsyncWebClient(token=settings.bot_token, base_url=base, timeout=int(max(1, timeout)), logger=quiet_logger("policybot.slack.api"))
        self.client.timeout = timeout  # type: ignore[assignment]  # allow sub-second timeouts in tests
        self.channel = SlackChannel(self.client, settings, core.records(PLATFORM, TABLES), core.people, now=core.now)
        self.bolt = AsyncApp(
            client=self.client,
            signing_secret=settings.signing_secret,
            # Each listener returns as soon as it has acknowledged (the work is queued), so
            # bolt can answer then, without its 10 ms wait-for-ack polling loop.
            process_before_response=True,
            # handle_http checks the signature (and its age) before bolt sees the request,
            # and Socket Mode requests carry none; bolt checking it again only costs time.
            request_verification_enabled=False,
            attaching_function_token_enabled=False,  # policybot defines no Slack workflow functions
            raise_error_for_unhandled_request=False,
            logger=quiet_logger("policybot.slack.bolt"),
        )
        self.socket: AsyncSocketModeHandler | None = None
        self._socket_task: asyncio.Task[None] | None = None
        # bolt tries each listener in this order, building its arguments for every one it
        # tries: slash commands and clicks, which a person sees fail when they are not
        # answered within 3 seconds, come before message events.
        self.bolt.command(re.compile(r"^/"))(self._on_command)
        self.bolt.action(re.compile(r"^pb\."))(self._on_action)
        self.bolt.event("message")(self._on_message)
        self.bolt.view(MODAL)(self._on_modal)
        self.bolt.event("app_home_opened")(self._on_home)
        self.bolt.error(self._on_error)

    # ---- work after the acknowledgement ---------------------------------------

    def _then(self, user: str, work: Callable[[], Awaitable[None]]) -> None:
        """Do `work` after Slack has been answered, in the order requests arrived (one at a time for each person)."""
        self.core.later(work, key=f"slack:{user}")

    async def _kindly(self, channel: str, user: str, work: Callable[[], Awaitable[None]]) -> None:
        """Do work after the acknowledgement that is not a turn (a home tab, a full text): a bug
        is logged with a reference, and the person is told that reference privately."""
        try:
            await work()
        except Exception:
            ref = reference()
            log.exception("unexpected error after a Slack request, reference %s", ref)
            await self._private(channel, user, sorry(ref))

    async def idle(self) -> None:
        """Wait until every acknowledged request has been handled and what it sent delivered."""
        await self.core.idle()
        await self.flush()

    # ---- listeners -----------------------------------------------------------

    async def _on_command(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        in_dm = str(body.get("channel_id", "")).startswith("D")
        await self._take(parse_command(body), body, ack, "" if in_dm else "I'll reply in our direct message (see policybot under Apps).")

    async def _on_message(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        event = parse_message(body, self.core.people)
        if event is None:
            await ack()
            return
        await self._take(event, body, ack)

    async def _on_action(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], action: dict[str, Any]) -> None:
        action_id = str(action.get("action_id", ""))
        user = str((body.get("user") or {}).get("id", ""))
        if action_id.startswith(PICK):
            await ack()
            return  # a multi-select changing; the "Done" button sends the choice
        if action_id == MORE:
            await ack()
            self._then(user, lambda: self._kindly(where(body), user, lambda: self._show_more(body, action)))
            return
        try:
            event = parse_action(body, action)
        except NothingChosen:
            await ack()
            self._then(user, lambda: self._private(where(body), user, "Please choose first, then press Done. You can also type your answer."))
            return
        except Unreadable:
            await ack()
            self._then(user, lambda: self._private(where(body), user, "That button is from an older message and no longer works. Type /policybot help to see what I can do."))
            return
        await self._take(event, body, ack)

    async def _on_modal(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any], view: dict[str, Any]) -> None:
        """A typed answer given in a modal (such as the reason for a rejection)."""
        user = str((body.get("user") or {}).get("id", ""))
        try:
            meta = read_json(str(view.get("private_metadata", "")))
            values = (view.get("state") or {}).get("values") or {}
            text, workflow, key = values[MODAL_BLOCK][MODAL_INPUT]["value"] or "", meta["workflow"], meta["key"]
            if not all(isinstance(v, str) for v in (text, workflow, key)):
                raise TypeError("not the modal policybot opened")
            text = text.strip()
        except (ValueError, KeyError, TypeError):
            await ack()
            return
        if not text:
            await ack(response_action="errors", errors={MODAL_BLOCK: "Please write something here, or press Cancel."})
            return
        event = Inbound("slack", user, "action", action="answer", data={"workflow": workflow, "key": key, "value": text}, event_id=f"view:{view.get('id', '')}:{view.get('hash', '')}")
        try:
            inbox = await self._accept(event, body)
        except NotSaved as exc:
            # Slack shows only a short line under the box; the log has the reference.
            log.warning("a modal answer could not be saved: %s", exc)
            await ack(response_action="errors", errors={MODAL_BLOCK: "Sorry, I couldn't save that just now, so nothing has changed. Please try again in a few minutes."})
            return
        await ack()
        self._then(user, lambda: self._turn(event, body, inbox))

    async def _ask_in_modal(self, body: dict[str, Any], sent: list[Outbound]) -> None:
        """A click that leads straight to a written question (a reason, a note) opens it in a modal.

        The question is in the person's DM as well, so typing the answer there works too.
        """
        trigger = body.get("trigger_id")
        person = self.core.person(PLATFORM, str((body.get("user") or {}).get("id", "")))
        if not trigger or person is None:
            return
        for out in sent:
            q = out.card.question
            if q is None or q.kind != "text" or out.to.kind != "person" or out.to.id != person.id:
                continue
            view = {
                "type": "modal",
                "callback_id": MODAL,
                "private_metadata": json.dumps({"workflow": q.workflow, "key": q.key}),
                "title": {"type": "plain_text", "text": plain(out.card.title)[:24] or "policybot"},
                "submit": {"type": "plain_text", "text": "Send"},
                "close": {"type": "plain_text", "text": "Cancel"},
                "blocks": [
                    {"type": "section", "text": {"type": "mrkdwn", "text": escape(q.prompt)[:3000]}},
                    {
                        "type": "input",
                        "block_id": MODAL_BLOCK,
                        "optional": q.optional,
                        "label": {"type": "plain_text", "text": "Your answer"},
                        "element": {"type": "plain_text_input", "action_id": MODAL_INPUT, "multiline": True, "max_length": 3000},
                    },
                ],
            }
            try:
                await self.channel.api.sdk("views.open", functools.partial(self.client.views_open, trigger_id=str(trigger), view=view))
            except Exception as exc:
                log.info("could not open a modal (%s); the question is in the direct message", exc.__class__.__name__)
            return

    async def _on_home(self, ack: Callable[..., Awaitable[None]], body: dict[str, Any]) -> None:
        """The App Home tab: what is waiting for this person, rebuilt each time they open it."""
        await ack()
        event = body.get("event") or {}
        user = str(event.get("user", ""))
        if event.get("tab", "home") == "home" and user:
            self._then(user, lambda: self._kindly("", user, lambda: self._show_home(user)))

    async def _show_home(self, user: str) -> None:
        try:
            card = await self.core.home("slack", user)
        except NotRecognised:
            card = Card("Hello", f"I don't know you yet. Please ask the school's policybot administrator to add your Slack member ID to the staff list: {user}")
        except PolicybotError as exc:  # someone who has left: refused, and the refusal recorded
            card = Card("Sorry", str(exc), tone="warning")
        if card is None:
            return
        try:
            home = {"type": "home", "blocks": render_card(card).blocks[:100]}
            await self.channel.api.sdk("views.publish", lambda: self.client.views_publish(user_id=user, view=home), wait_up_to=PRIVATE_WAIT)
        except Exception as exc:
            log.warning("could not show the App Home tab to %s (%s)", user, exc.__class__.__name__)

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
            user = _user_of(body)
            if user and "command" not in body:
                channel = where(body)
                self._then(user, lambda: self._private(channel, user, sorry(ref)))
        return BoltResponse(status=200, body=sorry(ref))

    async def _take(self, event: Inbound, body: dict[str, Any], ack: Callable[..., Awaitable[None]], said: str = "") -> None:
        """Save the request, acknowledge it to Slack, then handle it. If it cannot be saved,
        the person is told so (nothing changed) and it goes no further."""
        try:
            key = await self._accept(event, body)
        except NotSaved as exc:
            if event.kind == "command":
                await ack(f"Sorry: {exc}")
            else:
                await ack()
                sorry = f"Sorry: {exc}"
                self._then(event.user, lambda: self._private(where(body), event.user, sorry))
            return
        if said:
            await ack(said)
        else:
            await ack()
        self._then(event.user, lambda: self._turn(event, body, key))

    async def _accept(self, event: Inbound, body: dict[str, Any]) -> str:
        """Save the request before Slack is told it arrived, so a crash cannot lose it.

        Slack must be answered within 3 seconds: if the store is busy (or the disk slow)
        for longer than ACCEPT_WAIT, the request is acknowledged anyway while the save
        carries on, and it is still handled exactly once (see Core.accept).
        """
        return await self.core.accept(event, {"channel": where(body)}, within=self.accept_wait)

    async def replay(self, _app: web.Application | None = None) -> None:
        """Handle requests that were acknowledged but not handled when policybot last stopped."""
        for key, event, extra in self.core.unhandled():
            if event.platform == "slack":
                self._then(event.user, functools.partial(self._turn, event, {"channel_id": extra.get("channel", ""), "user": {"id": event.user}}, key))

    async def _turn(self, event: Inbound, body: dict[str, Any], inbox_key: str = "") -> None:
        """Run one turn and show a refusal privately; the delivery loop sends what it queued."""
        channel = where(body)
        if channel:
            self.channel.surfaces[event.user] = channel
        try:
            sent = await self.core.handle(event, inbox_key)
            if event.kind == "action" and event.action != "answer":
                await self._ask_in_modal(body, sent)
        except NotRecognised as exc:
            await self._private(channel, event.user, f"{exc}\nYour Slack member ID for them to add is: {event.user}")
        except PolicybotError as exc:
            await self._private(channel, event.user, str(exc))
        except Exception:
            ref = reference()
            log.exception("unexpected error handling a Slack %s, reference %s", event.kind, ref)
            await self._private(
                channel,
                event.user,
                f"Sorry, something went wrong on my side (reference {ref}). Your last step may not have been saved: please try again, and tell your administrator if it keeps happening.",
            )

    async def flush(self) -> None:
        """Deliver what is due now (the delivery loop does this too when a turn kicks it)."""
        try:
            await self.core.flush()
        except Exception:
            log.exception("delivery after a Slack request failed; the outbox will retry")

    async def _private(self, channel: str, user: str, text: str, *, escaped: bool = False) -> None:
        """Tell one person something only they see: ephemeral where they are, else by DM.

        `escaped`: the text is already mrkdwn-escaped (escaping it again would show "&amp;lt;").
        """
        text = text if escaped else escape(text)
        blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        # Not sent through the outbox, so not sent again later: a short rate limit (before
        # the call, or Slack's answer to it) is waited out, once.
        for attempt in (1, 2):
            try:
                if channel:
                    await self.channel.api.call("chat.postEphemeral", wait_up_to=PRIVATE_WAIT, channel=channel, user=user, text=text, blocks=blocks)
                else:
                    dm = await self.channel.dm_channel(user)
                    await self.channel.api.call("chat.postMessage", wait_up_to=PRIVATE_WAIT, channel=dm, text=text, blocks=blocks)
                return
            except Refused as exc:
                if exc.status == 429 and attempt == 1 and (exc.retry_after or 0) <= PRIVATE_WAIT:
                    continue
                log.warning("could not show a private reply to %s: %s", user, exc)
            except Exception as exc:
                log.warning("could not show a private reply to %s: %s", user, exc.__class__.__name__)
            return

    async def _show_more(self, body: dict[str, Any], action: dict[str, Any]) -> None:
        """The whole of a shortened card, to the person who asked, where they asked."""
        user = str((body.get("user") or {}).get("id", ""))
        try:
            msg_id = str(read_json(str(action.get("value", "")))["message"])
        except (ValueError, KeyError, TypeError):
            msg_id = ""
        kept = self.channel.store.get(FULL, msg_id) if msg_id else None
        try:
            # Only someone the message was addressed to, who may still use policybot, reads the rest of it.
            to = Recipient.parse(str(kept["to"])) if kept else None
            await self.core.admit("slack", user, doing="show the full text of a message", record=f"outbox/{msg_id}" if kept else "", to=to)
        except NotRecognised as exc:
            await self._private(where(body), user, f"{exc}\nYour Slack member ID for them to add is: {user}")
            return
        except PolicybotError as exc:
            await self._private(where(body), user, str(exc))
            return
        if kept is None:
            await self._private(where(body), user, "Sorry, the full text of that message is no longer available.")
            return
        text = escape(full_text(Card.from_dict(kept["card"])))
        for piece in chunks(text):
            await self._private(where(body), user, piece, escaped=True)

    # ---- HTTP ------------------------------------------------------------------

    def _signed(self, raw: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature (HMAC-SHA256 of "v0:{timestamp}:{body}"), at most 5 minutes old.

        Both headers are read strictly as Slack writes them: str.isdigit() and int() also
        take "²", "①" or Arabic-Indic digits, and hmac.compare_digest refuses non-ASCII text.
        """
        secret = self.settings.signing_secret
        if not secret or not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return False
        if abs(time.time() - int(timestamp)) > 5 * 60:
            return False
        expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
        return hmac.compare_digest(expected, signature)

    async def handle_http(self, request: web.Request) -> web.Response:
        """POST /slack/events, inside the route's one error boundary.

        A request policybot cannot read is answered 400 or 401 below. Anything else that
        goes wrong is a bug: it is logged with a short reference and answered kindly with
        that reference, never with a traceback.
        """
        try:
            return await self._handle_http(request)
        except web.HTTPException:
            raise  # aiohttp's own answers, such as 413 for a body over the size limit
        except Exception:
            ref = reference()
            log.exception("unexpected error answering a request to %s, reference %s", EVENTS_PATH, ref)
            return web.Response(status=500, text=sorry(ref))

    async def _handle_http(self, request: web.Request) -> web.Response:
        """Verify Slack's signature, then hand the request to bolt."""
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        # The only signature check (bolt's own is switched off): a malformed timestamp is a 401, not a 500.
        if not self._signed(raw, timestamp, signature):
            log.warning("refused a request to %s without a valid Slack signature from %s", EVENTS_PATH, request.remote)
            return web.Response(status=401, text="invalid or missing Slack signature")
        try:
            body = raw.decode("utf-8")
        except UnicodeDecodeError:
            return web.Response(status=400, text="a Slack request is UTF-8 text")
        try:  # bolt parses the body once; the shape is checked on what it parsed
            bolt_request = AsyncBoltRequest(body=body, query=request.query_string, headers=dict(request.headers))
            if not bolt_request.body and "payload" in body and not body.lstrip().startswith("{"):
                # bolt takes any form body with the word "payload" in it for a click's payload
                # (a slash command's text can say it too); read that form as it is, once.
                form = dict(parse_qsl(body, keep_blank_values=True))
                if "payload" not in form:
                    bolt_request = AsyncBoltRequest(body=form, query=request.query_string, headers=dict(request.headers), mode="socket_mode")  # signature checked above
        except Exception as exc:
            log.warning("refused a signed Slack request that could not be read (%s)", exc.__class__.__name__)
            return web.Response(status=400, text="malformed Slack request")
        if not well_formed(bolt_request.body):
            log.warning("refused a signed Slack request that is not one of Slack's payloads")
            return web.Response(status=400, text="not a Slack payload policybot handles")
        try:
            bolt_response = await self.bolt.async_dispatch(bolt_request)
        except Exception as exc:  # slack-bolt could not read it: a 400, never a 500 with a traceback
            log.warning("refused a Slack request slack-bolt could not read (%s)", exc.__class__.__name__)
            return web.Response(status=400, text="malformed Slack request")
        return await to_aiohttp_response(bolt_response)

    # ---- Socket Mode -------------------------------------------------------------

    async def start_socket(self, _app: web.Application | None = None) -> None:
        """Connect to Slack over a WebSocket, in the background so /healthz answers meanwhile."""
        self.socket = AsyncSocketModeHandler(self.bolt, self.settings.app_token, web_client=self.client)
        self._socket_task = asyncio.create_task(self.socket.connect_async())

    async def stop_socket(self, _app: web.Application | None = None) -> None:
        if self._socket_task is not None:
            self._socket_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._socket_task
        if self.socket is not None:
            with contextlib.suppress(Exception):
                await self.socket.close_async()

    async def close(self, _app: web.Application | None = None) -> None:
        """Finish the requests already acknowledged, then let go of Slack."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.idle(), timeout=10)
        await self.stop_socket()


def sorry(ref: str) -> str:
    """What a person is told when something went wrong on policybot's side (the log has the details)."""
    return f"Sorry, something went wrong on my side (reference {ref}). Please try again in a minute, and if it keeps happening tell the school's policybot administrator and quote the reference."


def _user_of(body: Any) -> str:
    """The Slack user a payload came from, or "" (the payload may be of any shape here)."""
    if not isinstance(body, dict):
        return ""
    for holder, key in ((body.get("user"), "id"), (body.get("event"), "user"), (body, "user_id")):
        if isinstance(holder, dict) and isinstance(holder.get(key), str):
            return str(holder[key])
    return ""


def quiet_logger(name: str) -> logging.Logger:
    """A logger for slack_sdk or bolt that does not build debug messages nobody reads.

    Both test `logger.level <= DEBUG` (the logger's own level, not the effective one)
    before formatting every request and response into a debug line, and a new logger's
    level is 0: with it, each Web API call spent longer formatting its blocks into an
    unused string than sending them. Set POLICYBOT_SLACK_DEBUG=1 to see those lines.
    """
    logger = logging.getLogger(name)
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.DEBUG if os.environ.get("POLICYBOT_SLACK_DEBUG") else logging.INFO)
    return logger


SLACK = web.AppKey("slack", SlackFrontEnd)


async def mount(app: web.Application, core: Core, *, accept_wait: float = ACCEPT_WAIT) -> None:
    """Add the Slack front end to the shared server: its route, delivery channel and socket."""
    front = SlackFrontEnd(core, accept_wait=accept_wait)
    # One HTTP session for every Web API call: without it slack_sdk opens (and closes) a
    # new session and connection per call, which costs more than the call itself.
    front.client.session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=front.client.timeout))

    async def close_session(_app: web.Application) -> None:
        if front.client.session is not None:
            await front.client.session.close()

    core.add_channel(front.channel)
    app[SLACK] = front
    if front.settings.signing_secret:
        app.router.add_post(EVENTS_PATH, front.handle_http)
    if front.settings.socket_mode:
        app.on_startup.append(front.start_socket)
    app.on_startup.append(front.replay)
    app.on_cleanup.append(front.close)
    app.on_cleanup.append(close_session)


__all__ = ["EVENTS_PATH", "SLACK", "SlackFrontEnd", "mount"]
