"""Whom policybot cannot reach: front ends record it through their own records, /unreachable lists it anywhere.

/unreachable was once answered by the Teams front end alone, with its own role check, outside
/help and the audit trail. Now any front end's channel says whom it cannot reach (bot/reach.py),
and the command is an ordinary one (workflows/reachability.py): typed in any front end, checked
and audited as every command is.
"""

from __future__ import annotations

import pytest

from bot.front_end import NotItsTable
from bot.messages import Card, Inbound
from tests.harness import TestBot

CHAT_FIX = "Ask them to open policybot in Chat once."


def text(card: Card) -> str:
    return "\n".join([card.title, card.body, *(f"{k}: {v}" for k, v in card.fields)])


def row(card: Card, name: str) -> str:
    """What the card says beside `name` ("" if it does not list them)."""
    return next((v for k, v in card.fields if k.startswith(name)), "")


async def test_unreachable_lists_what_any_front_end_recorded_to_slt_and_admins_and_refuses_staff_with_an_audit_entry() -> (  # noqa: E501 (a test name cannot be wrapped)
    None
):
    bot = TestBot()
    chat = bot.core.records("chat", ["chat_references"])
    async with chat.transaction() as tx:
        tx.cannot_reach_only(
            {
                "jbennett": ("has not opened policybot in Chat yet", CHAT_FIX),
                "treid": ("no chat_id in the configuration", CHAT_FIX),
            }
        )

    await bot.say("swhitfield", "/unreachable")
    listing = bot.last("swhitfield")
    assert listing.title == "People policybot cannot reach yet" and CHAT_FIX in listing.body
    assert row(listing, "Jo Bennett") == "Chat: has not opened policybot in Chat yet"
    assert row(listing, "Tom Reid") == "Chat: no chat_id in the configuration"
    assert len(listing.fields) == 2

    await bot.say("pshah", "unreachable")  # typed without the slash, as any command can be
    assert "Jo Bennett" in text(bot.last("pshah"))

    await bot.say("eclarke", "/unreachable")
    refused = text(bot.last("eclarke"))
    assert "Only the Senior Leadership Team or an administrator" in refused and "Jo Bennett" not in refused
    assert [e["detail"].endswith(": needs slt,admin") for e in bot.store.audit(action="refused", actor="eclarke")] == [
        True
    ]

    async with chat.transaction() as tx:
        tx.can_reach("jbennett")
        tx.can_reach("treid")
    await bot.say("swhitfield", "/unreachable")
    assert bot.last("swhitfield").title == "Everyone is reachable"
    await bot.close()


async def test_unreachable_is_in_help_for_slt_and_admins_only() -> None:
    bot = TestBot()
    await bot.say("swhitfield", "/help")
    assert "/unreachable - " in bot.last("swhitfield").body
    await bot.say("eclarke", "/help")
    assert "/unreachable" not in bot.last("eclarke").body
    await bot.close()


async def test_each_front_end_says_only_whom_it_cannot_reach() -> None:
    """One front end's record of someone does not clear another's."""
    bot = TestBot()
    chat, other = bot.core.records("chat", []), bot.core.records("other", [])
    async with chat.transaction() as tx:
        tx.cannot_reach("jbennett", "has not opened policybot in Chat yet")
    async with other.transaction() as tx:
        tx.cannot_reach_only({"treid": ("no other_id in the configuration", "")})
    await bot.say("swhitfield", "/unreachable")
    listing = bot.last("swhitfield")
    assert row(listing, "Jo Bennett") == "Chat: has not opened policybot in Chat yet"
    assert row(listing, "Tom Reid") == "Other: no other_id in the configuration"
    await bot.close()


async def test_a_front_ends_records_reach_its_own_tables_and_nothing_else() -> None:
    """`Core.records` is the narrow door for a front end's own records: the outbox, conversations and
    the school's records stay behind it, and a transaction that tries one changes nothing."""
    bot = TestBot()
    await bot.send(
        Inbound("console", "eclarke", "command", command="new-account")
    )  # a conversation and an outbox row exist
    chat = bot.core.records("chat", ["chat_references"])
    for table in ("outbox", "conversations", "inbox", "people", "unreachable"):
        with pytest.raises(NotItsTable):
            chat.get(table, "x")
        with pytest.raises(NotItsTable):
            chat.find(table, person="eclarke")
    before = {t: bot.store.all(t) for t in ("outbox", "conversations", "chat_references")}
    with pytest.raises(NotItsTable):
        async with chat.transaction() as tx:
            tx.put("chat_references", "chat:eclarke", {"conversation": "c1"})
            tx.put("outbox", "m999999999", {"n": 999999999})
    assert {t: bot.store.all(t) for t in before} == before  # all or nothing: not even its own table changed
    async with chat.transaction() as tx:
        tx.put("chat_references", "chat:eclarke", {"conversation": "c1"})
    assert chat.get("chat_references", "chat:eclarke")["conversation"] == "c1"
    for table in ("outbox", "conversations", "inbox", "unreachable", "_meta"):
        with pytest.raises(NotItsTable):
            bot.core.records("chat", ["chat_references", table])  # nor can it declare the core's tables its own
    await bot.close()
