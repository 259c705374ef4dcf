"""A local fake of Slack: the Web API methods policybot calls, a Socket Mode WebSocket, and a signer.

`FakeSlack` records every Web API call (method, arguments, token, the HTTP status it
answered), keeps each posted message so a test can read it as Slack would show it
(updates included), can answer 429 or 500 for a while then recover, and hands out its
own WebSocket URL from apps.connections.open for Socket Mode. Responses follow the
shapes in Slack's method documentation (https://docs.slack.dev/reference/methods).

`SlackSender` sends requests into policybot's server signed exactly as Slack signs
them (v0 HMAC-SHA256 of "v0:{timestamp}:{body}", https://docs.slack.dev/authentication/verifying-requests-from-slack)
and shaped like Slack's documented payloads.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

TEAM = "T0PENN"
BOT_USER = "U0BOT"
BOT_ID = "B0BOT"
APP_ID = "A0POLICY"


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    token: str
    status: int
    at: float = field(default_factory=time.monotonic)  # when it reached the fake (time.monotonic())


@dataclass
class Failure:
    status: int
    times: int
    retry_after: int | None = None
    html: bool = False
    delay: float = 0.0


@dataclass
class Envelope:
    """One Socket Mode envelope: where it was last sent, how often, and its acknowledgement once it comes."""

    app: str
    body: dict[str, Any]
    on: web.WebSocketResponse | None = None  # the socket it was last sent on (None: not sent yet)
    sent: int = 0  # times sent (more than once: redelivered after a lost connection)
    acked: asyncio.Future[dict[str, Any]] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


@dataclass
class FakeSlack:
    """The Slack Web API and Socket Mode endpoint, on 127.0.0.1."""

    base_url: str = ""
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    failures: dict[str, list[Failure]] = field(default_factory=dict)
    sockets: list[web.WebSocketResponse] = field(default_factory=list)
    socket_acks: dict[str, dict[str, Any]] = field(default_factory=dict)
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    check_blocks: bool = True  # refuse Block Kit Slack would refuse (bench/ turns it off: it is slow)
    # Socket Mode, per app (one app-level token each): its sockets, and the envelopes not acknowledged yet.
    app_sockets: dict[str, list[web.WebSocketResponse]] = field(default_factory=dict)
    envelopes: dict[str, Envelope] = field(default_factory=dict)
    _apps: dict[str, str] = field(default_factory=dict)  # app-level token -> app name in the socket's URL
    lose_acks: bool = False  # acknowledgements lost on the way (the envelopes stay unacknowledged)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/socket", self._socket)
        return app

    # ---- test controls ------------------------------------------------------

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        html: bool = False,
        delay: float = 0.0,
    ) -> None:
        """Answer `method` with `status` for the next `times` calls, then recover."""
        self.failures.setdefault(method, []).append(Failure(status, times, retry_after, html, delay))

    def ok(self, method: str) -> list[Call]:
        """Calls of `method` that succeeded."""
        return [c for c in self.calls if c.method == method and c.status == 200]

    def posted(self, channel: str) -> list[dict[str, Any]]:
        """Messages in a channel as Slack shows them now (updates applied), oldest first."""
        return [m for (ch, _ts), m in sorted(self.messages.items(), key=lambda kv: kv[0][1]) if ch == channel]

    def last(self, channel: str) -> dict[str, Any]:
        found = self.posted(channel)
        assert found, (
            f"nothing was posted in {channel}; calls: {[(c.method, c.args.get('channel')) for c in self.calls]}"
        )
        return found[-1]

    # ---- the Web API -----------------------------------------------------------

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        # slack_sdk sends some methods' arguments in the query string (params), others in the body.
        args: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            args.update(await request.json())
        else:
            args.update(await request.post())
        token = request.headers.get("Authorization", "").removeprefix("Bearer ").strip() or str(args.pop("token", ""))
        for name in ("blocks", "attachments"):
            if isinstance(args.get(name), str):
                args[name] = json.loads(args[name])
        pending = self.failures.get(method, [])
        if pending:
            failure = pending[0]
            failure.times -= 1
            if failure.times <= 0:
                pending.pop(0)
            self.calls.append(Call(method, args, token, failure.status))
            if failure.delay:
                await asyncio.sleep(failure.delay)
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
            if failure.html:
                return web.Response(
                    status=failure.status,
                    text="<html><body>Bad Gateway</body></html>",
                    content_type="text/html",
                    headers=headers,
                )
            error = "ratelimited" if failure.status == 429 else "internal_error"
            return web.json_response({"ok": False, "error": error}, status=failure.status, headers=headers)
        self.calls.append(Call(method, args, token, 200))
        handler = getattr(self, "_" + method.replace(".", "_"), None)
        if method == "apps.connections.open":
            if not token.startswith("xapp-"):
                return web.json_response({"ok": False, "error": "not_allowed_token_type"})
            return web.json_response(self._apps_connections_open({"token": token}))
        elif not token.startswith("xoxb-"):
            return web.json_response({"ok": False, "error": "not_authed"})
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        if self.check_blocks:
            view = args.get("view")
            blocks = args.get("blocks") or (view.get("blocks") if isinstance(view, dict) else None) or []
            why = invalid_blocks(blocks, 100 if view else 50)
            if why:
                self.calls[-1].status = 400
                return web.json_response({"ok": False, "error": "invalid_blocks", "errors": [why]})
        return web.json_response(handler(args))

    def _next_ts(self) -> str:
        return f"1764064800.{next(self._ts):06d}"

    def _auth_test(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://pennington.slack.com/",
            "team": "Pennington",
            "user": "policybot",
            "team_id": TEAM,
            "user_id": BOT_USER,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _conversations_open(self, args: dict[str, Any]) -> dict[str, Any]:
        user = str(args.get("users", ""))
        return {"ok": True, "no_op": False, "already_open": False, "channel": {"id": "D" + user[1:]}}

    def _chat_postMessage(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args["channel"]), self._next_ts()
        message = {
            "type": "message",
            "user": BOT_USER,
            "bot_id": BOT_ID,
            "ts": ts,
            "text": args.get("text", ""),
            "blocks": args.get("blocks", []),
        }
        self.messages[(channel, ts)] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _chat_update(self, args: dict[str, Any]) -> dict[str, Any]:
        channel, ts = str(args["channel"]), str(args["ts"])
        if (channel, ts) not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        message = self.messages[(channel, ts)]
        message.update(text=args.get("text", ""), blocks=args.get("blocks", []), edited=True)
        return {"ok": True, "channel": channel, "ts": ts, "text": message["text"], "message": message}

    def _chat_postEphemeral(self, _args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "V0MODAL", **(args.get("view") or {})}}

    def _views_publish(self, args: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "V0HOME", **(args.get("view") or {})}}

    def _apps_connections_open(self, args: dict[str, Any]) -> dict[str, Any]:
        app = self._apps.setdefault(str(args.get("token", "")), f"app{len(self._apps) + 1}")
        return {"ok": True, "url": self.base_url.replace("http://", "ws://") + f"/socket?app={app}"}

    # ---- Socket Mode --------------------------------------------------------------
    # As Slack does (https://docs.slack.dev/apis/events-api/using-socket-mode): a "hello" on each new
    # connection; an envelope the app has not acknowledged when its connection is lost is sent again, with its
    # retry_attempt counted, on the app's next connection; "disconnect" asks the app to connect anew.

    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        app = request.query.get("app", "")
        self.sockets.append(ws)
        self.app_sockets.setdefault(app, []).append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "debug_info": {"host": "fake"},
                "connection_info": {"app_id": APP_ID},
            }
        )
        self.connected.set()
        for envelope in list(self.envelopes.values()):  # what was lost with an earlier connection
            if envelope.app == app and (envelope.on is None or envelope.on.closed):
                await self._send(envelope, ws)
        try:
            async for msg in ws:
                if msg.type == aiohttp.WSMsgType.TEXT:
                    self._ack(json.loads(msg.data))
        finally:
            if not any(not s.closed for s in self.sockets):
                self.connected.clear()
            # Sent on this connection and never acknowledged: again on another of the app's, if one is open.
            other = self.open_socket(app)
            for envelope in list(self.envelopes.values()):
                if envelope.on is ws and other is not None:
                    await self._send(envelope, other)
        return ws

    def _ack(self, data: dict[str, Any]) -> None:
        if self.lose_acks:
            return
        envelope_id = str(data.get("envelope_id"))
        self.socket_acks[envelope_id] = data
        envelope = self.envelopes.pop(envelope_id, None)
        if envelope is not None and not envelope.acked.done():
            envelope.acked.set_result(data)

    def open_socket(self, app: str | None = None) -> web.WebSocketResponse | None:
        """The app's newest open connection (any app's when None)."""
        for ws in reversed(self.sockets if app is None else self.app_sockets.get(app, [])):
            if not ws.closed:
                return ws
        return None

    async def _send(self, envelope: Envelope, ws: web.WebSocketResponse) -> None:
        body = {**envelope.body, "retry_attempt": envelope.sent, "retry_reason": "timeout" if envelope.sent else ""}
        envelope.on = ws
        envelope.sent += 1
        try:
            await ws.send_json(body)
        except (ConnectionError, RuntimeError):
            envelope.on = None  # lost with the connection: sent again when the app connects anew

    async def send_envelope(
        self, kind: str, payload: dict[str, Any], *, app: str | None = None, accepts_response_payload: bool = False
    ) -> Envelope:
        """Send an envelope down the app's socket (or keep it until the app connects); its `acked` is the ack."""
        app = app if app is not None else self.app_of(self.open_socket())
        envelope_id = f"env-{next(self._ts)}"
        body = {"envelope_id": envelope_id, "type": kind, "payload": payload}
        envelope = Envelope(app, {**body, "accepts_response_payload": accepts_response_payload})
        self.envelopes[envelope_id] = envelope
        ws = self.open_socket(app)
        if ws is not None:
            await self._send(envelope, ws)
        return envelope

    async def push(
        self, kind: str, payload: dict[str, Any], *, accepts_response_payload: bool = False, app: str | None = None
    ) -> dict[str, Any]:
        """Send an envelope down the socket as Slack does; return the app's acknowledgement."""
        await asyncio.wait_for(self.connected.wait(), timeout=5)
        envelope = await self.send_envelope(kind, payload, app=app, accepts_response_payload=accepts_response_payload)
        return await asyncio.wait_for(asyncio.shield(envelope.acked), timeout=5)

    async def disconnect(self, app: str | None = None, reason: str = "refresh_requested") -> None:
        """Slack's "disconnect" envelope: the app should open a new connection (this one is closed later)."""
        ws = self.open_socket(app)
        assert ws is not None, "no open Socket Mode connection"
        await ws.send_json({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake"}})

    async def drop(self, app: str | None = None) -> None:
        """Close the app's connection from Slack's side, as a network failure or a Slack restart would."""
        ws = self.open_socket(app)
        assert ws is not None, "no open Socket Mode connection"
        await ws.close()

    def app_of(self, ws: web.WebSocketResponse | None) -> str:
        """The app a connection belongs to."""
        return next((app for app, sockets in self.app_sockets.items() if ws in sockets), "")


def sign(secret: str, body: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends with a request body signed with `secret`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


# ---- payloads shaped as Slack documents them ---------------------------------------


def command_form(user: str, command: str, text: str = "", channel: str = "C0STAFF") -> dict[str, str]:
    """A slash command (https://docs.slack.dev/interactivity/implementing-slash-commands)."""
    n = next(_ids)
    return {
        "token": "fake-verification-token",
        "team_id": TEAM,
        "team_domain": "pennington",
        "channel_id": channel,
        "channel_name": "staffroom" if channel.startswith("C") else "directmessage",
        "user_id": user,
        "user_name": user.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": f"https://hooks.slack.com/commands/{TEAM}/{n}/fake",
        "trigger_id": f"{n}.{n}.faketrigger",
    }


def dm_event(user: str, text: str, *, event_id: str = "", files: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A message.im event callback (https://docs.slack.dev/reference/events/message.im)."""
    n = next(_ids)
    event: dict[str, Any] = {
        "type": "message",
        "channel": "D" + user[1:],
        "user": user,
        "text": text,
        "ts": f"1764064900.{n:06d}",
        "event_ts": f"1764064900.{n:06d}",
        "channel_type": "im",
    }
    if files is not None:
        event.update(subtype="file_share", files=files, upload=False)
    return {
        "token": "fake-verification-token",
        "team_id": TEAM,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{n:08d}",
        "event_time": 1764064900 + n,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": TEAM,
                "user_id": BOT_USER,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": f"4-fake-{n}",
    }


def find_element(message: dict[str, Any], text: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(block, element) of the interactive element whose label starts with `text` (or of that type)."""
    for block in message.get("blocks", []):
        for element in block.get("elements", []) if block.get("type") == "actions" else []:
            label = (element.get("text") or {}).get("text", "")
            if label.lower().startswith(text.lower()) or element.get("type") == text:
                return block, element
    raise AssertionError(f"no element {text!r} in {json.dumps(message.get('blocks'))[:2000]}")


def invalid_blocks(blocks: list[Any], most: int) -> str:
    """Why Slack would refuse these blocks ("" if it would not): too many, or one that slack_sdk's
    own models reject (over a documented limit, a missing field) or would change (an unknown key)."""
    from slack_sdk.errors import SlackObjectFormationError
    from slack_sdk.models.blocks import Block

    if len(blocks) > most:
        return f"more than {most} blocks"
    for n, block in enumerate(blocks):
        try:
            parsed = Block.parse(block)
            again = parsed.to_dict() if parsed is not None else None
        except (SlackObjectFormationError, TypeError, KeyError) as exc:
            return f"block {n}: {exc}"
        if block.get("type") == "header" and (block.get("text") or {}).get("type") != "plain_text":
            return f"block {n}: a header's text must be plain_text"
        if again != block:
            return f"block {n} is not valid Block Kit: {json.dumps(block)[:300]}"
    return ""


def block_actions(
    user: str,
    channel: str,
    message: dict[str, Any],
    block: dict[str, Any],
    action: dict[str, Any],
    state: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A block_actions payload (https://docs.slack.dev/reference/interaction-payloads/block_actions-payload)."""
    n = next(_ids)
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
        "api_app_id": APP_ID,
        "token": "fake-verification-token",
        "container": {"type": "message", "message_ts": message["ts"], "channel_id": channel, "is_ephemeral": False},
        "trigger_id": f"{n}.{n}.faketrigger",
        "team": {"id": TEAM, "domain": "pennington"},
        "enterprise": None,
        "is_enterprise_install": False,
        "channel": {"id": channel, "name": "slt" if channel.startswith(("C", "G")) else "directmessage"},
        "message": message,
        "state": {"values": state or {}},
        "response_url": f"https://hooks.slack.com/actions/{TEAM}/{n}/fake",
        "actions": [{**action, "block_id": block.get("block_id", ""), "action_ts": f"1764065000.{n:06d}"}],
    }


_ids = itertools.count(1)


class SlackSender:
    """Sends signed requests into policybot's /slack/events, as Slack would."""

    def __init__(self, url: str, secret: str) -> None:
        self.url = url
        self.secret = secret
        self.session = aiohttp.ClientSession()

    async def post(self, body: str, content_type: str, headers: dict[str, str] | None = None) -> aiohttp.ClientResponse:
        hdrs = {"Content-Type": content_type, **(sign(self.secret, body) if headers is None else headers)}
        async with self.session.post(self.url, data=body.encode(), headers=hdrs) as resp:
            await resp.read()
            return resp

    async def command(
        self, user: str, command: str, text: str = "", channel: str = "C0STAFF"
    ) -> aiohttp.ClientResponse:
        return await self.post(
            urlencode(command_form(user, command, text, channel)), "application/x-www-form-urlencoded"
        )

    async def event(self, payload: dict[str, Any], retry: int | None = None) -> aiohttp.ClientResponse:
        body = json.dumps(payload)
        headers = sign(self.secret, body)
        if retry is not None:
            headers.update({"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"})
        return await self.post(body, "application/json", headers)

    async def interact(self, payload: dict[str, Any]) -> aiohttp.ClientResponse:
        return await self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    async def close(self) -> None:
        await self.session.close()
