"""Socket Mode for bench/run.py: the same Slack requests as envelopes over the fake's WebSocket, to `policybot serve`
(connected with an app-level token) and to a bare bolt AsyncSocketModeHandler app (bench/bare.py slack-socket) on
the same fake, in turns."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from pathlib import Path
from typing import Any

import aiohttp

from bench.load import Request, Result, Server, closed_loop, drain, free_port, in_turns


def socket_requests(fake: Any, app: str, user: Callable[[int], str]) -> tuple[Request, Request]:
    """The same slash command and click as bench/run.py's `slack_requests`, from Slack user `user(i)`, as envelopes
    down `app`'s Socket Mode connection; answered when the fake has the app's acknowledgement."""
    from tests.fakes.slack_api import block_actions, command_form

    async def acked(kind: str, payload: dict[str, Any]) -> int:
        envelope = await fake.send_envelope(kind, payload, app=app)
        await asyncio.wait_for(asyncio.shield(envelope.acked), timeout=30)
        return 200

    async def command(_session: aiohttp.ClientSession, i: int) -> int:
        return await acked("slash_commands", command_form(user(i), "/new-account"))

    async def click(_session: aiohttp.ClientSession, i: int) -> int:
        person = user(i)
        message, block, element = _new_account_button()
        return await acked("interactive", block_actions(person, "D0BENCH", message, block, element))

    return command, click


def _new_account_button() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A message with the help card's "New school social media account" button, as policybot renders it."""
    from adapters.slack.blocks import BUTTON, button_value
    from bot.messages import Button

    value = button_value(
        Button(action="conversation.start", label="New school social media account", data={"workflow": "new_account"})
    )
    element = {
        "type": "button",
        "action_id": f"{BUTTON}.0",
        "value": value,
        "text": {"type": "plain_text", "text": "New account"},
    }
    message = {"ts": "1700000000.000100", "blocks": [{"type": "actions", "block_id": "b", "elements": [element]}]}
    return message, message["blocks"][0], element


async def connected(fake: Any, token: str, server: Server) -> str:
    """The fake's name for the app with app-level `token`, once it holds a Socket Mode connection open."""
    for _ in range(300):
        if server.proc.poll() is not None:
            raise SystemExit(f"the server stopped at start-up; see {server.log.name}")
        app = fake._apps.get(token)
        if app is not None and fake.open_socket(app) is not None:
            return app
        await asyncio.sleep(0.1)
    raise SystemExit(f"{server.log.name}: no Socket Mode connection")


async def socket_mode_runs(
    session: aiohttp.ClientSession,
    folder: Path,
    config: Path,
    api_url: str,
    env: dict[str, str],
    fake: Any,
    user: Callable[[int], str],
    total: int,
    concurrency: int,
) -> tuple[dict[str, Result], dict[str, Result], tuple[float, float]]:
    """policybot serve in Socket Mode (the school's `config`, with its own data folder) and a bare bolt
    AsyncSocketModeHandler app, on the same fake at `api_url`, in turns; requests from Slack user `user(i)`."""
    ours_token, bare_token = "xapp-bench-" + secrets.token_hex(8), "xapp-bare-" + secrets.token_hex(8)
    port = free_port()
    # Socket Mode only: no signing secret, so no /slack/events (it still answers /healthz and /metrics).
    socket_env = {k: v for k, v in env.items() if k != "SLACK_SIGNING_SECRET"} | {"SLACK_APP_TOKEN": ours_token}
    bot = Server(
        ["-m", "adapters.cli", "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        port,
        socket_env,
        folder / "serve-socket.log",
    )
    base = f"http://127.0.0.1:{port}"
    bolt = Server(
        ["bench/bare.py", "slack-socket", "0", api_url],
        0,
        socket_env | {"SLACK_APP_TOKEN": bare_token},
        folder / "bare-slack-socket.log",
    )
    try:
        await bot.ready(session, "/healthz")
        ours_app = await connected(fake, ours_token, bot)
        bare_app = await connected(fake, bare_token, bolt)
        command, click = socket_requests(fake, ours_app, user)
        bare_command, bare_click = socket_requests(fake, bare_app, user)
        await closed_loop("warm-up", session, command, 100, 8)
        await drain(session, base)
        await closed_loop("warm-up", session, bare_command, 100, 8)
        ours: dict[str, Result] = {}
        bare: dict[str, Result] = {}
        for kind, mine, theirs, what in (
            ("socket_cmd", command, bare_command, "slash commands"),
            ("socket_click", click, bare_click, "button clicks"),
        ):
            ours[kind], bare[kind] = await in_turns(
                session,
                [
                    (f"Slack {what} over Socket Mode (policybot)", mine, base),
                    (f"Slack {what} over Socket Mode (bare slack-bolt)", theirs, None),
                ],
                total,
                concurrency,
            )
        return ours, bare, (bot.rss_mb(), bolt.rss_mb())
    finally:
        bolt.stop()
        bot.stop()
