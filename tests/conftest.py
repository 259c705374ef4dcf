"""Shared fixtures: a test bot on a memory store, with the sample school."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.harness import TestBot


@pytest.fixture
async def bot() -> AsyncIterator[TestBot]:
    b = TestBot()
    yield b
    await b.close()
