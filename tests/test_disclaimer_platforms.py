"""/disclaimer's buttons over real HTTP: Slack (signed requests, a fake Web API) and Teams (activities, a fake
Bot Framework connector)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from tests.fakes.slack_api import FakeSlack
from tests.harness import read_policy
from tests.slack_world import EC, JB, SLT_CHANNEL, dm, open_workspace, text_of
from tests.teams_client import action, personal, start_teams

WORDING = "Views are my own and not those of Pennington C of E Primary School."


async def test_disclaimer_buttons_in_slack(tmp_path: Path, fake: FakeSlack) -> None:
    opened: list[TestClient] = []

    async def client(app: Any) -> TestClient:
        c = TestClient(TestServer(app, host="127.0.0.1", port=0))
        await c.start_server()
        opened.append(c)
        return c

    ws = await open_workspace(tmp_path, fake, client, agreed="")  # no policy_agreed
    try:
        await ws.core.tick()  # Wednesday 10:00: everyone on the staff list is asked
        await ws.core.flush()
        asked = fake.last(dm(EC))
        shown = text_of(asked)
        assert "Personal social media accounts" in shown and WORDING in shown
        assert "Yes, I will add it now" in shown
        # This school has not set policy_agreed: SLT are asked to, naming the key and the file.
        slt = text_of(fake.last(SLT_CHANNEL))
        assert "When was the social media policy agreed?" in slt and f"{tmp_path / 'school.toml'}" in slt

        # Jo presses a button on Emma's card: refused, nothing recorded.
        await ws.act(JB, dm(EC), "Yes, and it has", message=asked)
        assert ws.core.store.get("disclaimers", "eclarke") is None
        assert [(e["actor"], e["record"]) for e in ws.core.store.audit(action="refused")] == [
            ("jbennett", "disclaimers/eclarke")
        ]

        await ws.act(EC, dm(EC), "Yes, I will add it now", message=asked)
        assert ws.core.store.get("disclaimers", "eclarke")["answer"] == "will_add"
        adding = fake.last(dm(EC))
        assert "Thank you: please add it now" in text_of(adding) and WORDING in text_of(adding)
        await ws.act(EC, dm(EC), "It has the disclaimer now", message=adding)
        assert ws.core.store.get("disclaimers", "eclarke")["answer"] == "has"
        assert "Thank you" in text_of(fake.last(dm(EC)))
    finally:
        if ws.sender is not None:
            await ws.sender.close()
        for c in reversed(opened):
            await c.close()
        await ws.core.close()


async def test_disclaimer_buttons_in_teams(tmp_path: Path) -> None:
    teams, connector, client, core = await start_teams(tmp_path)
    try:
        for pid in ("eclarke", "treid"):
            await teams.install(pid)
        await core.tick()
        await core.flush()
        asked = teams.last(personal("eclarke"))  # a valid Adaptive Card 1.5
        assert "Personal social media accounts" in asked.text() and WORDING in asked.text()
        assert [a["title"] for a in asked.card["actions"]] == [
            "No personal account names the school",
            "Yes, and it has the disclaimer",
            "Yes, I will add it now",
        ]

        # Tom sends a click from Emma's card: refused, nothing recorded.
        status, _ = await teams.execute("treid", action(asked, "Yes, and it has"))
        assert status == 200 and core.store.get("disclaimers", "eclarke") is None
        assert "only they can answer" in teams.last(personal("treid")).text()

        status, _ = await teams.press("eclarke", asked, "No personal account")
        assert status == 200 and core.store.get("disclaimers", "eclarke")["answer"] == "none"
        assert "Thank you" in teams.last(personal("eclarke")).text()

        # On Monday Tom, who has not read the policy either, gets one card with both questions' buttons.
        await read_policy(core, "eclarke")
        core.clock.advance(timedelta(days=5))  # Monday 30 November, 10:00
        await core.tick()
        await core.flush()
        both = teams.last(personal("treid"))
        assert both.text().count("Please read the social media policy") == 1 and WORDING in both.text()
        assert len(both.card["actions"]) == 5  # within what Teams shows
        await teams.press("treid", both, "Yes, and it has")
        assert core.store.get("disclaimers", "treid")["answer"] == "has"
        assert teams.check_all() > 5
    finally:
        await client.close()
        await connector.close()
        await core.close()
