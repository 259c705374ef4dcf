"""Shared fixtures: a test bot on a memory store, with the sample school."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from aiohttp.test_utils import TestServer
from hypothesis import settings

from adapters.platforms import load_config
from tests.fakes.slack_api import FakeSlack
from tests.harness import TestBot
from tests.slack_world import Clients, Workspace, open_workspace

# The suite must give the same answer on every run (a red CI does not land), so generated
# examples are derived from each test's name. To explore new ones while developing:
# POLICYBOT_EXPLORE=1 python -m pytest -q   (then add any failure found as a fixed test).
settings.register_profile("fixed", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile("explore" if os.environ.get("POLICYBOT_EXPLORE") else "fixed")


@pytest.fixture
async def bot() -> AsyncIterator[TestBot]:
    b = TestBot()
    yield b
    await b.close()


@pytest.fixture
async def strict() -> AsyncIterator[TestBot]:
    """The sample school with the default rule: nobody untrained may run an account
    (the sample school itself only warns)."""
    sample = load_config(None)
    b = TestBot(replace(sample, records=replace(sample.records, untrained_runner="block")))
    yield b
    await b.close()


# Whatever the machine running the tests has set: no platform secret, no configuration file and no proxy reaches a
# test (a test that needs one sets it itself, with monkeypatch). Cleared once, before any fixture of any scope runs,
# in every worker. Tests talk only to 127.0.0.1.
HERMETIC = (
    "SLACK_BOT_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_APP_TOKEN",
    "MicrosoftAppId",
    "MicrosoftAppPassword",
    "MicrosoftAppTenantId",
    "MicrosoftAppType",
    "POLICYBOT_CONFIG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "http_proxy",
    "https_proxy",
    "ALL_PROXY",
    "all_proxy",
)


def pytest_configure(config: pytest.Config) -> None:
    for name in HERMETIC:
        os.environ.pop(name, None)


# ---- Slack over real HTTP: the fake Web API and a workspace, for any test that asks for them ------------------


@pytest.fixture
async def fake() -> AsyncIterator[FakeSlack]:
    """The fake Slack Web API on 127.0.0.1 (a test module may override it, e.g. with check_blocks=False)."""
    fake = FakeSlack()
    server = TestServer(fake.app(), host="127.0.0.1", port=0)
    await server.start_server()
    fake.base_url = str(server.make_url("")).rstrip("/")
    yield fake
    await server.close()


@pytest.fixture
async def slack(tmp_path: Path, fake: FakeSlack, request: pytest.FixtureRequest) -> AsyncIterator[Workspace]:
    """A Slack workspace; a test parametrized indirectly on `slack` gives the front end's seams
    (SlackFrontEnd's keywords) and, under "tuning", the store's."""
    clients = Clients()
    seams = dict(getattr(request, "param", None) or {})
    tuning = seams.pop("tuning", None)
    ws = await open_workspace(tmp_path, fake, clients, front_end=seams or None, tuning=tuning)
    yield ws
    if ws.sender is not None:
        await ws.sender.close()
    await clients.close()
    await ws.core.close()
