"""Reading and checking a request to POST /slack/events before slack-bolt sees it.

A request must carry Slack's signature, at most 5 minutes old (else 401), be UTF-8 and
have the shape of one of Slack's payloads (else 400). What passes goes to bolt's
listeners. The route is one error boundary: anything else that goes wrong is a bug,
logged with a short reference and answered kindly with that reference, never with a
traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import time
from collections.abc import Callable
from urllib.parse import parse_qsl

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.app.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest

from adapters.slack.notes import sorry
from bot.errors import reference

log = logging.getLogger("policybot.slack")
EVENTS_PATH = "/slack/events"
MAX_AGE = 5 * 60  # seconds a signed request stays good (Slack's advice, against replays)
_TIMESTAMP = re.compile(r"[0-9]{1,12}")  # Unix seconds in ASCII digits (re's \d would take any script's digits)
_SIGNATURE = re.compile(r"v0=[0-9a-f]{64}")  # "v0=" and a hex SHA-256


class Route:
    """POST /slack/events for one workspace: Slack's signature checked, then bolt's listeners.

    `wall_time` is the clock a request's signed timestamp is checked against (seconds since
    the epoch, as Slack writes them); policybot's own clock may be stopped in tests.
    """

    def __init__(self, bolt: AsyncApp, signing_secret: str, *, wall_time: Callable[[], float] = time.time) -> None:
        self.bolt = bolt
        self.signing_secret = signing_secret
        self.wall_time = wall_time

    async def handle(self, request: web.Request) -> web.Response:
        """The route's one error boundary.

        A request policybot cannot read is answered 400 or 401 below. Anything else that
        goes wrong is a bug: it is logged with a short reference and answered kindly with
        that reference, never with a traceback.
        """
        try:
            return await self._handle(request)
        except web.HTTPException:
            raise  # aiohttp's own answers, such as 413 for a body over the size limit
        except Exception:
            ref = reference()
            log.exception("unexpected error answering a request to %s, reference %s", EVENTS_PATH, ref)
            return web.Response(status=500, text=sorry(ref))

    async def _handle(self, request: web.Request) -> web.Response:
        """Verify Slack's signature, then hand the request to bolt."""
        raw = await request.read()
        timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
        signature = request.headers.get("X-Slack-Signature", "")
        # The only signature check (bolt's own is switched off): a malformed timestamp is a 401, not a 500.
        if not self.signed(raw, timestamp, signature):
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
                    bolt_request = AsyncBoltRequest(
                        body=form, query=request.query_string, headers=dict(request.headers), mode="socket_mode"
                    )  # signature checked above
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

    def signed(self, raw: bytes, timestamp: str, signature: str) -> bool:
        """Slack's v0 signature (HMAC-SHA256 of "v0:{timestamp}:{body}"), at most 5 minutes old.

        Both headers are read strictly as Slack writes them: str.isdigit() and int() also
        take "²", "①" or Arabic-Indic digits, and hmac.compare_digest refuses non-ASCII text.
        """
        secret = self.signing_secret
        if not secret or not _TIMESTAMP.fullmatch(timestamp) or not _SIGNATURE.fullmatch(signature):
            return False
        if abs(self.wall_time() - int(timestamp)) > MAX_AGE:
            return False
        expected = (
            "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + raw, hashlib.sha256).hexdigest()
        )
        return hmac.compare_digest(expected, signature)


_OBJECTS = ("user", "team", "channel", "container", "view", "state", "message", "enterprise", "event", "authorizations")


def well_formed(data: object) -> bool:
    """Whether a signed request, as slack-bolt parsed it, has a shape Slack's payloads have.

    Slack only ever sends these shapes; anything else (a test tool, a bug) is refused with
    400 before slack-bolt's listeners, which assume them, ever see it.
    """
    if isinstance(data, dict) and "type" not in data and "command" in data:  # a slash command's form
        return (
            isinstance(data["command"], str)
            and data["command"].startswith("/")
            and isinstance(data.get("user_id"), str)
            and bool(data["user_id"])
        )
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return False
    if any(k in data and not isinstance(data[k], dict | type(None)) for k in _OBJECTS if k != "authorizations"):
        return False
    if "authorizations" in data and not isinstance(data["authorizations"], list):
        return False
    kind = data["type"]
    if kind == "url_verification":
        return isinstance(data.get("challenge"), str)
    if kind == "event_callback":
        event = data.get("event")
        return (
            isinstance(event, dict)
            and isinstance(event.get("type"), str)
            and all(
                isinstance(event.get(k, ""), str) for k in ("user", "channel", "channel_type", "text", "subtype", "tab")
            )
        )
    if kind == "block_actions":
        actions = data.get("actions")
        user = data.get("user") or {}
        return (
            isinstance(actions, list)
            and bool(actions)
            and all(
                isinstance(a, dict) and isinstance(a.get("action_id"), str) and isinstance(a.get("block_id", ""), str)
                for a in actions
            )
            and isinstance(user.get("id"), str)
        )
    if kind in ("view_submission", "view_closed"):
        view = data.get("view") or {}
        user = data.get("user") or {}
        return (
            isinstance(view, dict)
            and isinstance(view.get("callback_id", ""), str)
            and isinstance(view.get("state", {}), dict)
            and isinstance(user.get("id"), str)
        )
    return False  # shortcuts, options and the rest: policybot offers none
