"""A Teams client for tests: posts activities to /api/messages as the Teams service sends them."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from adapters.platforms import load_config
from adapters.server import build_app
from bot.clock import Clock
from bot.core import Core
from bot.store import Store, StoreTuning
from tests.adaptive_schema import check_card
from tests.fakes.bf_connector import Call, FakeConnector
from tests.harness import START

TENANT = "9d1e2f3a-0000-4000-8000-00000000feed"  # made up
BOT = {"id": "28:policybot-test", "name": "policybot"}
SLT_TEAM = {
    "id": "19:slt-general@thread.tacv2",
    "name": "Senior Leadership",
    "aadGroupId": "7c0c0c0c-0000-4000-8000-000000000001",
}
TEAMS_IDS = {
    "swhitfield": "a1000000-0000-4000-8000-000000000001",
    "dokafor": "a1000000-0000-4000-8000-000000000002",
    "pshah": "a1000000-0000-4000-8000-000000000003",
    "eclarke": "a1000000-0000-4000-8000-000000000004",
    "treid": "a1000000-0000-4000-8000-000000000005",
}

CONFIG = """
[school]
name = "Pennington C of E Primary School"
policy_version = "2025-1"
policy_agreed = "2026-09-01"

[storage]
path = "data"

[teams]
app_id = "{app_id}"
app_password = "{app_password}"
tenant_id = "{tenant}"
slt_team = "Senior Leadership"

[[people]]
id = "swhitfield"
name = "Sarah Whitfield"
title = "Headteacher"
roles = ["slt"]
teams_id = "a1000000-0000-4000-8000-000000000001"

[[people]]
id = "dokafor"
name = "David Okafor"
title = "Deputy Head"
roles = ["slt"]
teams_id = "a1000000-0000-4000-8000-000000000002"

[[people]]
id = "pshah"
name = "Priya Shah"
title = "School Business Manager"
roles = ["admin"]
teams_id = "a1000000-0000-4000-8000-000000000003"

[[people]]
id = "eclarke"
name = "Emma Clarke"
title = "Year 6 Teacher"
teams_id = "a1000000-0000-4000-8000-000000000004"

[[people]]
id = "treid"
name = "Tom Reid"
title = "Year 4 Teacher"
teams_id = "A1000000-0000-4000-8000-000000000005"

[[people]]
id = "jbennett"
name = "Jo Bennett"
title = "Teaching Assistant"
"""


def write_config(folder: Path, app_id: str = "", app_password: str = "") -> Path:
    path = folder / "school.toml"
    path.write_text(
        CONFIG.format(app_id=app_id, app_password=app_password, tenant=TENANT if app_id else ""), encoding="utf-8"
    )
    return path


def personal(person_id: str) -> str:
    return f"a:personal-{TEAMS_IDS[person_id]}"


class TeamsClient:
    """Speaks to the bot as Teams would, then lets delivery run."""

    __test__ = False

    def __init__(self, client: TestClient, core: Core, fake: FakeConnector, service_url: str) -> None:
        self.client = client
        self.core = core
        self.fake = fake
        self.service_url = service_url
        self._ids = itertools.count(1)
        self.checked = 0

    def _user(self, person_id: str) -> dict[str, str]:
        return {"id": f"29:{person_id}", "name": person_id, "aadObjectId": TEAMS_IDS[person_id]}

    def activity(
        self, person_id: str, kind: str, conversation: dict[str, Any] | None = None, **extra: Any
    ) -> dict[str, Any]:
        return {
            "type": kind,
            "id": f"f:{next(self._ids)}",
            "timestamp": "2026-11-25T10:00:00.000Z",
            "serviceUrl": self.service_url,
            "channelId": "msteams",
            "from": self._user(person_id),
            "conversation": conversation
            or {"conversationType": "personal", "tenantId": TENANT, "id": personal(person_id)},
            "recipient": BOT,
            "channelData": {"tenant": {"id": TENANT}},
            "locale": "en-GB",
            **extra,
        }

    async def post(
        self, activity: dict[str, Any], headers: dict[str, str] | None = None, flush: bool = True
    ) -> tuple[int, Any]:
        resp = await self.client.post("/api/messages", json=activity, headers=headers or {})
        body = await resp.json() if resp.content_type == "application/json" else await resp.text()
        if flush:
            await self.core.backlog.idle()  # a message is handled just after it is acknowledged
            await self.core.delivery.flush()
        return resp.status, body

    async def install(self, person_id: str) -> int:
        """The person adds the app (personal scope)."""
        status, _ = await self.post(self.activity(person_id, "conversationUpdate", membersAdded=[BOT]))
        return status

    async def install_in_slt_team(self, by: str = "swhitfield") -> int:
        conv = {"isGroup": True, "conversationType": "channel", "tenantId": TENANT, "id": SLT_TEAM["id"]}
        act = self.activity(by, "conversationUpdate", conv, membersAdded=[BOT])
        act["channelData"] = {
            "team": SLT_TEAM,
            "channel": {"id": SLT_TEAM["id"]},
            "eventType": "teamMemberAdded",
            "tenant": {"id": TENANT},
        }
        status, _ = await self.post(act)
        return status

    async def say(self, person_id: str, text: str) -> int:
        status, _ = await self.post(self.activity(person_id, "message", text=text, textFormat="plain"))
        return status

    async def submit(self, person_id: str, data: dict[str, Any]) -> int:
        """An Action.Submit: Teams sends a message whose value is the data plus the inputs."""
        status, _ = await self.post(self.activity(person_id, "message", value=data))
        return status

    async def execute(
        self,
        person_id: str,
        action: dict[str, Any],
        inputs: dict[str, Any] | None = None,
        conversation: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        """An Action.Execute click on `action` (from a card), with the card's input values."""
        value = {
            "action": {"type": "Action.Execute", "verb": action["verb"], "data": {**action["data"], **(inputs or {})}},
            "trigger": "manual",
        }
        return await self.post(
            self.activity(person_id, "invoke", conversation, name="adaptiveCard/action", value=value)
        )

    async def press(
        self,
        person_id: str,
        call: Call,
        title: str,
        inputs: dict[str, Any] | None = None,
        conversation: dict[str, Any] | None = None,
    ) -> tuple[int, Any]:
        """Press the button titled `title` on a card as Teams would: choose in a folded
        picker if that is where it is, fill `inputs`, and send only what Teams sends."""
        card = call.card or {}
        chosen = action(call, title)
        original = next((a for a in card.get("actions", []) if a["title"] == chosen["title"]), chosen)
        picked = {
            k: v for k, v in chosen["data"].items() if k not in original.get("data", {})
        }  # a choice made in a picker
        data = teams_sends(card, original, {**picked, **(inputs or {})})
        value = {"action": {"type": "Action.Execute", "verb": original["verb"], "data": data}, "trigger": "manual"}
        return await self.post(
            self.activity(person_id, "invoke", conversation, name="adaptiveCard/action", value=value)
        )

    def last(self, conversation: str) -> Call:
        call = self.fake.last(conversation)
        self.check(call)
        return call

    def check(self, call: Call) -> None:
        card = call.card
        assert card is not None, f"no Adaptive Card in {call.body}"
        problems = check_card(card)
        assert not problems, problems
        self.checked += 1

    def check_all(self) -> int:
        for call in self.fake.calls:
            if call.method in ("POST", "PUT"):
                self.check(call)
        return len([c for c in self.fake.calls if c.method in ("POST", "PUT")])


class Blocked(AssertionError):
    """Teams refused to send a click: a required input on the card is empty (its error message is shown)."""


def card_inputs(card: dict[str, Any]) -> list[dict[str, Any]]:
    """Every input on a card, at any depth."""
    found: list[dict[str, Any]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            if str(node.get("type", "")).startswith("Input."):
                found.append(node)
            for k in ("body", "items", "columns"):
                walk(node.get(k))
        elif isinstance(node, list):
            for n in node:
                walk(n)

    walk(card)
    return found


def teams_sends(card: dict[str, Any], action: dict[str, Any], inputs: dict[str, Any] | None = None) -> dict[str, Any]:
    """What Teams sends when `action` on `card` is pressed with `inputs` filled in.

    As Teams and the Agents Playground do: an action with `associatedInputs` "none" sends its
    data only; otherwise ("auto", the default) every input on the card is checked first,
    and one that is required but empty stops the click (raises Blocked with its message).
    """
    inputs = inputs or {}
    if str(action.get("associatedInputs", "auto")).lower() == "none":
        return dict(action.get("data") or {})
    values: dict[str, Any] = {}
    for i in card_inputs(card):
        value = inputs.get(i["id"], i.get("value", ""))
        if i.get("isRequired") and value in ("", None, []):
            raise Blocked(f"{action.get('title')!r} is blocked by {i['id']!r}: {i.get('errorMessage', 'required')}")
        if value not in ("", None):
            values[i["id"]] = value
    return {**(action.get("data") or {}), **values}


def action(call: Call, title: str) -> dict[str, Any]:
    """The card action whose title starts with `title`."""
    card = call.card or {}
    for a in card.get("actions", []):
        if a["title"].lower().startswith(title.lower()):
            return a
    # Many buttons of one kind are folded into a choice set and one action: choose in it, then click.
    for item in card.get("body", []):
        if item.get("type") != "Input.ChoiceSet":
            continue
        for choice in item["choices"]:
            if choice["title"].lower().startswith(title.lower()):
                for a in card.get("actions", []):
                    if a["title"] == item["label"]:
                        return {**a, "data": {**a["data"], item["id"]: choice["value"]}}
    raise AssertionError(f"no action {title!r} on {[a['title'] for a in card.get('actions', [])]}")


def inputs(call: Call) -> dict[str, dict[str, Any]]:
    """The card's inputs by id."""
    return {e["id"]: e for e in (call.card or {}).get("body", []) if e.get("type", "").startswith("Input.")}


async def start_teams(
    tmp_path: Path, app_id: str = "", app_password: str = "", tuning: StoreTuning | None = None
) -> tuple[TeamsClient, TestServer, TestClient, Core]:
    """A Teams world over real HTTP: the fake connector, the core, and policybot's app."""
    fake = FakeConnector()
    fake_server = TestServer(fake.app(), host="127.0.0.1", port=0)
    await fake_server.start_server()
    settings = load_config(write_config(tmp_path, app_id, app_password))
    core = Core(settings, Store(tmp_path / "data", tuning=tuning), Clock(START))
    app = await build_app(core)
    client = TestClient(TestServer(app, host="127.0.0.1", port=0))
    await client.start_server()
    return TeamsClient(client, core, fake, str(fake_server.make_url("/")).rstrip("/") + "/"), fake_server, client, core


# An application for a new account as typed in Teams, question by question (Emma and Tom run it).
APPLICATION = (
    "/new-account",
    "facebook",
    "Year 6 Trips",
    "Trip news",
    "Year 6 parents",
    "Newsletter",
    "Emma Clarke, Tom Reid",
    "private",
    "yes",
)
