"""A Slack workspace for tests: the fake Web API, policybot's real server, and signed requests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

from adapters.platforms import load_config
from adapters.server import CORE, MAX_BODY, answering_first
from adapters.slack import SLACK, SlackFrontEnd, mount
from bot.clock import Clock
from bot.core import Core
from bot.store import Store
from bot.store.tuning import StoreTuning
from tests.fakes.slack_api import FakeSlack, SlackSender, block_actions, dm_event, find_element
from tests.harness import START

SECRET = "fake-signing-secret-made-up-for-tests"
BOT_TOKEN = "xoxb-fake-bot-token-for-tests"
APP_TOKEN = "xapp-fake-app-token-for-tests"

# Slack user ids of the sample school's people.
SW, DO, PS, EC, TR, JB = "U0SW", "U0DO", "U0PS", "U0EC", "U0TR", "U0JB"
SLT_CHANNEL = "C0SLT"

PEOPLE = """
[[people]]
id = "swhitfield"
name = "Sarah Whitfield"
title = "Headteacher"
roles = ["slt"]
slack_id = "U0SW"

[[people]]
id = "dokafor"
name = "David Okafor"
title = "Deputy Head"
roles = ["slt"]
slack_id = "U0DO"

[[people]]
id = "pshah"
name = "Priya Shah"
title = "School Business Manager"
roles = ["admin"]
slack_id = "U0PS"

[[people]]
id = "eclarke"
name = "Emma Clarke"
title = "Year 6 Teacher"
slack_id = "U0EC"

[[people]]
id = "treid"
name = "Tom Reid"
title = "Year 4 Teacher"
slack_id = "U0TR"

[[people]]
id = "jbennett"
name = "Jo Bennett"
title = "Teaching Assistant"
slack_id = "U0JB"

[[people]]
id = "glowe"
name = "Gary Lowe"
title = "Parent volunteer"
employed = false
"""


def write_config(
    tmp: Path, api_url: str, *, socket: bool = False, slt_channel: str = SLT_CHANNEL, agreed: str = "2026-09-01"
) -> Path:
    """A small school configuration whose [slack] points at the fake (`agreed`: the policy's date, "" for none)."""
    secret = f'app_token = "{APP_TOKEN}"' if socket else f'signing_secret = "{SECRET}"'
    text = f"""
[school]
name = "Pennington C of E Primary School"
policy_version = "2025-1"
policy_agreed = "{agreed}"

[storage]
path = "{tmp / "data"}"

[slack]
bot_token = "{BOT_TOKEN}"
{secret}
api_url = "{api_url}"
slt_channel = "{slt_channel}"
{PEOPLE}"""
    path = tmp / "school.toml"
    path.write_text(text, encoding="utf-8")
    return path


@dataclass
class Workspace:
    """Policybot served over HTTP, Slack faked: act as people in Slack, read what Slack shows."""

    fake: FakeSlack
    core: Core
    front: SlackFrontEnd
    sender: SlackSender | None
    clock: Clock

    async def settle(self) -> None:
        await self.front.idle()

    async def command(
        self, user: str, command: str, text: str = "", channel: str = "C0STAFF"
    ) -> aiohttp.ClientResponse:
        assert self.sender is not None
        resp = await self.sender.command(user, command, text, channel)
        assert resp.status == 200
        await self.settle()
        return resp

    async def say(self, user: str, text: str, **kw: Any) -> aiohttp.ClientResponse:
        assert self.sender is not None
        resp = await self.sender.event(dm_event(user, text, **kw))
        assert resp.status == 200
        await self.settle()
        return resp

    async def act(
        self, user: str, channel: str, label: str, *, message: dict[str, Any] | None = None, **extra: Any
    ) -> aiohttp.ClientResponse:
        """Use the element labelled `label` (or of that type) on the last message in `channel`."""
        assert self.sender is not None
        message = message or self.fake.last(channel)
        block, element = find_element(message, label)
        action = {k: element[k] for k in ("action_id", "type", "value", "text") if k in element}
        state = extra.pop("state", None)
        action.update(extra)
        resp = await self.sender.interact(block_actions(user, channel, message, block, action, state))
        assert resp.status == 200
        await self.settle()
        return resp

    async def choose(self, user: str, channel: str, value: str) -> None:
        """Pick an option of a select menu."""
        _block, element = find_element(self.fake.last(channel), "static_select")
        option = next(o for o in element["options"] if o["value"] == value)
        await self.act(user, channel, "static_select", selected_option=option)

    async def pick_people(self, user: str, channel: str, slack_ids: list[str]) -> None:
        """Choose people in a multi-user picker, then press Done (Slack sends the picker's state)."""
        message = self.fake.last(channel)
        block, picker = find_element(message, "multi_users_select")
        state = {block["block_id"]: {picker["action_id"]: {"type": "multi_users_select", "selected_users": slack_ids}}}
        await self.act(user, channel, "Done", message=message, state=state)


def text_of(message: dict[str, Any]) -> str:
    """Everything a message shows, as one string."""
    parts = [message.get("text", "")]
    for block in message.get("blocks", []):
        for obj in [block.get("text"), *list(block.get("fields") or []), *list(block.get("elements") or [])]:
            if isinstance(obj, dict) and isinstance(obj.get("text"), str):
                parts.append(obj["text"])
            elif isinstance(obj, dict) and isinstance(obj.get("text"), dict):
                parts.append(obj["text"].get("text", ""))
    return "\n".join(parts)


def has_buttons(message: dict[str, Any]) -> bool:
    return any(b.get("type") == "actions" for b in message.get("blocks", []))


async def slack_app(core: Core, front: SlackFrontEnd) -> web.Application:
    """policybot's server as `build_app` makes it for a school on Slack alone, with a front end the test built."""
    app = web.Application(client_max_size=MAX_BODY, middlewares=[answering_first])
    app[CORE] = core
    await mount(app, core, front)
    return app


async def open_workspace(
    tmp: Path,
    fake: FakeSlack,
    aiohttp_client: Any,
    *,
    socket: bool = False,
    slt_channel: str = SLT_CHANNEL,
    clock: Clock | None = None,
    front_end: dict[str, Any] | None = None,
    tuning: StoreTuning | None = None,
    agreed: str = "2026-09-01",
) -> Workspace:
    """The workspace, with policybot's clock stopped at START (or `clock`, such as Clock() for real time).

    `front_end`: keyword arguments for `SlackFrontEnd` (its seams, such as accept_wait); without them, the server
    `policybot serve` runs. `tuning`: the store's (such as a slow disk's fsync).
    """
    from adapters.server import build_app

    settings = load_config(
        write_config(tmp, fake.base_url + "/api/", socket=socket, slt_channel=slt_channel, agreed=agreed)
    )
    clock = clock or Clock(START)
    core = Core(settings, Store(settings.storage_path, tuning=tuning), clock)
    app = await build_app(core) if front_end is None else await slack_app(core, SlackFrontEnd(core, **front_end))
    client = await aiohttp_client(app)
    sender = None if socket else SlackSender(str(client.make_url("/slack/events")), SECRET)
    return Workspace(fake, core, app[SLACK], sender, clock)


class Clients:
    """Starts aiohttp apps on 127.0.0.1 and closes them at the end of a test."""

    def __init__(self) -> None:
        self.open: list[Any] = []

    async def __call__(self, app: Any) -> Any:
        from aiohttp.test_utils import TestClient, TestServer

        client = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await client.start_server()
        self.open.append(client)
        return client

    async def close(self) -> None:
        for c in reversed(self.open):
            await c.close()


def dm(user: str) -> str:
    """The fake's direct-message channel with a Slack user ("U0EC" -> "D0EC")."""
    return "D" + user[1:]
