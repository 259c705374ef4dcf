"""What a workflow module declares for the core (bot/declarations.py), and the core acting on
those declarations alone: a module's guard stops someone on every request and keeps role
messages from them, its table's button field names the record a refusal is about, and the
record tools export, purge and import a table only as it is declared."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

import workflows
from bot import records
from bot.clock import Clock
from bot.config import RETENTION_DEFAULTS, Person, load_config
from bot.core import Core
from bot.declarations import Guard, Reader, Record, Table, moment
from bot.errors import NotAllowed
from bot.messages import Card, Inbound, role
from bot.registry import Registry, default_registry
from bot.store import Store
from bot.workflow import Command, Context, Outcome
from tests.harness import START, RecordingChannel

SUSPENDED = "suspensions"


def _suspended(records_: Reader, who: Person, _today: str) -> None:
    if records_.get(SUSPENDED, who.id):
        raise NotAllowed("Your use of policybot is paused. Please ask the school office.", why="suspended")


def _announce(_text: str, _ctx: Context, out: Outcome) -> None:
    out.send(role("slt"), Card("For SLT", "A note for the Senior Leadership Team."))
    out.tell(Card("Sent", "Sent to SLT."))


def _poke(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    ctx.require("slt", "poke a widget")


def _widget_retention(record: Record, _records: Reader) -> datetime | None:
    return moment(record.get("done_at")) if record.get("status") == "done" else None


def _module(**declared: Any) -> ModuleType:
    module = ModuleType("tests.widgets")
    for name, value in declared.items():
        setattr(module, name, value)
    return module


WIDGETS = _module(
    TABLES=(
        Table(
            "widgets",
            export=True,
            columns=("id", "colour", "status"),
            retention=_widget_retention,
            named_by="widget",
            load=lambda fields, by, at: (fields[0], {"colour": fields[1], "added_by": by}),
        ),
    ),
    GUARDS=(
        Guard(
            "suspended", check=_suspended, barred=lambda records_, _today: {r["id"] for r in records_.all(SUSPENDED)}
        ),
    ),
    COMMANDS=(Command("announce", "tell SLT something", _announce),),
    ACTIONS={"widgets.poke": _poke},
)


class Bot:
    """The real core with the shipped workflows and the widgets module above."""

    def __init__(self) -> None:
        self.core = Core(
            load_config(None), Store(None), Clock(START), registry=Registry.from_modules([*workflows.MODULES, WIDGETS])
        )
        self.outbox = RecordingChannel()
        self.core.delivery.add(self.outbox)

    async def send(self, event: Inbound) -> None:
        await self.core.handle(event)
        await self.core.delivery.flush()


@pytest.fixture
async def widget_bot() -> AsyncIterator[Bot]:
    b = Bot()
    yield b
    await b.core.close()


async def test_a_modules_guard_refuses_on_every_request_and_records_it(widget_bot: Bot) -> None:
    async with widget_bot.core.store.transaction() as tx:
        tx.put(SUSPENDED, "eclarke", {"since": START.isoformat()})
    await widget_bot.send(Inbound("test", "eclarke", "text", text="/help"))
    await widget_bot.send(Inbound("test", "treid", "text", text="/help"))
    assert widget_bot.outbox.last("eclarke").body == "Your use of policybot is paused. Please ask the school office."
    assert widget_bot.outbox.last("treid").title.startswith("Hello Tom")  # nobody else is stopped
    refused = widget_bot.core.store.audit(action="refused")
    assert [(e["actor"], e["detail"]) for e in refused] == [("eclarke", "text: suspended")]


async def test_a_role_message_does_not_reach_someone_a_guard_stops(widget_bot: Bot) -> None:
    async with widget_bot.core.store.transaction() as tx:
        tx.put(SUSPENDED, "dokafor", {"since": START.isoformat()})
    await widget_bot.send(Inbound("test", "eclarke", "text", text="/announce"))
    assert widget_bot.outbox.last("swhitfield").title == "For SLT"
    assert [c.title for c in widget_bot.outbox.cards("dokafor")] == []


async def test_a_refused_click_is_recorded_against_the_record_its_button_names(widget_bot: Bot) -> None:
    await widget_bot.send(Inbound("test", "eclarke", "action", action="widgets.poke", data={"widget": "W-7"}))
    assert [e["record"] for e in widget_bot.core.store.audit(action="refused")] == ["widgets/W-7"]


def test_a_table_has_one_owner() -> None:
    with pytest.raises(ValueError, match="'widgets', already declared"):
        Registry.from_modules([WIDGETS, _module(TABLES=(Table("widgets"),))])


def test_the_shipped_modules_declare_every_table_the_records_tools_handle() -> None:
    registry = default_registry()
    assert set(records.exports(registry)) == {
        "accounts",
        "applications",
        "incidents",
        "items",
        "mentions",
        "lookouts",
        "people",
        "posts",
        "disclaimers",
        "audit",
    }
    # Every kind the configuration gives a retention period is a declared table that says when it starts.
    assert {name for name, t in registry.tables.items() if t.retention is not None} == set(RETENTION_DEFAULTS)
    assert [g.name for g in registry.guards] == ["left the school"]


async def test_records_export_purge_and_import_a_table_as_its_module_declares_it(tmp_path: Path) -> None:
    registry = Registry.from_modules([WIDGETS])
    settings = load_config(None)
    settings = replace(settings, records=replace(settings.records, retention={"widgets": 30}))
    store = Store(None)
    try:
        empty = tmp_path / "widgets.csv"
        assert records.export(store, settings, "widgets", "csv", empty, registry=registry) == 0
        assert empty.read_bytes().decode("utf-8-sig") == "id,colour,status\r\n"
        with pytest.raises(records.RecordsError, match="choose one of widgets, audit"):
            records.export(store, settings, "accounts", "csv", empty, registry=registry)

        assert await records.import_rows(
            store, "widgets", [("W-1", "red"), ("W-2", "blue"), ("W-1", "green")], START, registry=registry
        ) == (2, 1, 0)
        assert store.get("widgets", "W-1") == {
            "id": "W-1",
            "colour": "red",
            "added_by": records.CLI_ACTOR,
            "version": 1,
        }
        assert store.audit(action="widgets_imported")[0]["detail"] == "2 added, 1 already on the list"

        async with store.transaction() as tx:
            tx.put(
                "widgets",
                "W-1",
                {"colour": "red", "status": "done", "done_at": (START - timedelta(days=31)).isoformat()},
            )
            tx.put(
                "widgets",
                "W-2",
                {"colour": "blue", "status": "done", "done_at": (START - timedelta(days=29)).isoformat()},
            )
        due = await records.purge(store, settings, START, registry=registry)
        assert [(e.table, e.key) for e in due] == [("widgets", "W-1")]
        assert store.get("widgets", "W-1") is None and store.get("widgets", "W-2") is not None

        full = tmp_path / "full.csv"
        assert records.export(store, settings, "widgets", "csv", full, registry=registry) == 1
        assert [r["id"] for r in csv.DictReader(io.StringIO(full.read_bytes().decode("utf-8-sig")))] == ["W-2"]
    finally:
        await store.close()


async def test_a_table_without_a_loader_cannot_be_imported() -> None:
    store = Store(None)
    try:
        with pytest.raises(records.RecordsError, match="can't be imported"):
            await records.import_rows(store, "accounts", [("x",)], START)
        assert store.audit() == []
    finally:
        await store.close()
