"""The do-not-publish list and /photo-check, through the real engine."""

from __future__ import annotations

import pytest

from bot.records import import_dnp
from tests.harness import START, TestBot
from workflows.photo_check import name_key, parse_dnp_csv


async def add(bot: TestBot, who: str, name: str, klass: str) -> None:
    await bot.answer_all(who, "/dnp-add", name, klass, "submit")


def told(bot: TestBot, who: str) -> str:
    card = bot.last(who)
    return f"{card.title}\n{card.body}\n{card.fields}"


async def test_photo_check_finds_a_name_written_differently_and_never_reveals_the_list(bot: TestBot) -> None:
    await add(bot, "pshah", "O'Brien, Zoë", "Year 3")
    await add(bot, "swhitfield", "Amir Haddad", "Oak")
    assert "is now on the list" in bot.last("swhitfield").body

    for typed in ("Zoe O'Brien", "ZOË O’BRIEN", "obrien zoe", "  zoe   o'brien "):
        await bot.say("treid", f"/photo-check {typed}")
        card = bot.last("treid")
        assert card.title == "Do not publish" and "DO NOT PUBLISH" in card.body, typed
        assert "Amir" not in told(bot, "treid") and "Year 3" not in told(bot, "treid")

    await bot.say("treid", "/photo-check Sam Smith")
    answer = told(bot, "treid")
    assert "No restriction recorded" in answer and "Sam Smith: no restriction recorded" in answer
    assert "Zo" not in answer and "Amir" not in answer
    await bot.say("treid", "/photo-check Zoe")
    assert "first and last name" in bot.last("treid").body

    # Every check is on the record: who asked about whom, and the answer.
    checks = bot.store.audit(action="photo_check")
    assert len(checks) == 5 and {e["actor"] for e in checks} == {"treid"}
    assert checks[0]["detail"] == "Zoe O'Brien: do not publish" and checks[-1]["detail"] == "Sam Smith: no restriction recorded"

    # Staff can neither see nor change the list.
    for command in ("/dnp-list", "/dnp-add", "/dnp-remove"):
        await bot.say("treid", command)
        assert "Only the Senior Leadership Team or an administrator" in bot.last("treid").body
    assert "Zo" not in "".join(c.body for c in bot.outbox.cards("treid") if c.title != "Do not publish")
    await bot.say("treid", "/help")
    assert "/photo-check" in bot.last("treid").body and "/dnp-list" not in bot.last("treid").body

    await bot.say("dokafor", "/dnp-list")
    listing = bot.last("dokafor").body
    assert "O'Brien, Zoë (Year 3)" in listing and "Amir Haddad (Oak)" in listing
    assert bot.outbox.messages("dokafor")[-1].private
    assert bot.store.audit(action="dnp_list_viewed")[0]["actor"] == "dokafor"


async def test_several_pupils_of_one_name_ask_which_class(bot: TestBot) -> None:
    await add(bot, "pshah", "Sam Patel", "Year 2")
    await add(bot, "pshah", "Sam Patel", "Year 5")
    await bot.say("jbennett", "/photo-check Patel Sam")
    question = bot.last("jbennett")
    assert "Which class" in question.body and "Year 2" not in question.body and "Year 5" not in question.body
    await bot.say("jbennett", "year 5")
    assert bot.last("jbennett").title == "Do not publish"
    await bot.answer_all("jbennett", "/photo-check Sam Patel", "Year 4")
    assert bot.last("jbennett").title == "No restriction recorded"
    assert bot.store.audit(action="photo_check")[-1]["detail"] == "Sam Patel: no restriction recorded (class Year 4)"


async def test_slt_and_admins_add_and_remove_in_chat(bot: TestBot) -> None:
    await add(bot, "pshah", "Sam Patel", "Year 2")
    await add(bot, "pshah", "sam patel", "year 2")
    assert bot.last("pshah").title == "Already on the list" and len(bot.store.all("dnp")) == 1
    await add(bot, "pshah", "Sam Patel", "Year 5")

    await bot.answer_all("swhitfield", "/dnp-remove", "Ruby Jones", "submit")
    assert "nothing was changed" in bot.last("swhitfield").body
    await bot.answer_all("swhitfield", "/dnp-remove", "Patel Sam", "submit")
    assert "more than one" in "\n".join(c.body for c in bot.outbox.cards("swhitfield")[-2:])
    await bot.say("swhitfield", "Year 2")
    assert "Sam Patel (Year 2) is no longer on the list" in bot.last("swhitfield").body
    assert [e["class"] for e in bot.store.all("dnp")] == ["Year 5"]
    assert [e["action"] for e in bot.store.audit() if e["action"].startswith("dnp_")] == ["dnp_added", "dnp_added", "dnp_removed"]

    await bot.say("treid", "/photo-check Sam Patel")
    assert bot.last("treid").title == "Do not publish"


def test_csv_reading_reports_bad_rows_and_imports_nothing() -> None:
    good = "\ufeffName,Class\nO'Brien Zoë,Year 3\n\nAmir Haddad, Oak \n"
    assert parse_dnp_csv(good) == [("O'Brien Zoë", "Year 3"), ("Amir Haddad", "Oak")]
    with pytest.raises(ValueError) as bad:
        parse_dnp_csv("name,class\nZoe O'Brien,Year 3\nAmir,Oak\nRuby Jones,\n,Year 1\n")
    message = str(bad.value)
    assert message.startswith("Nothing was imported")
    assert "row 3 gives only one name (Amir)" in message and "row 4 has no class" in message and "row 5 has no name" in message
    with pytest.raises(ValueError, match="could not find a 'class' column"):
        parse_dnp_csv("pupil,teacher\nZoe O'Brien,Mrs Smith\n")
    with pytest.raises(ValueError, match="empty"):
        parse_dnp_csv("")
    assert name_key("Zoë O'Brien") == name_key("OBRIEN, zoe") == ("obrien", "zoe")


async def test_imported_pupils_are_found_by_photo_check(bot: TestBot) -> None:
    added = await import_dnp(bot.store, parse_dnp_csv("name,class\nZoë O'Brien,Year 3\nAmir Haddad,Oak\n"), START)
    assert added == (2, 0, 0)
    assert await import_dnp(bot.store, [("zoe obrien", "year 3")], START) == (0, 1, 0)
    await bot.say("eclarke", "/photo-check amir haddad")
    assert bot.last("eclarke").title == "Do not publish"
    assert await import_dnp(bot.store, [("Ruby Jones", "Year 1")], START, replace=True) == (1, 0, 2)
    await bot.say("eclarke", "/photo-check amir haddad")
    assert bot.last("eclarke").title == "No restriction recorded"
    assert [e["detail"] for e in bot.store.audit(action="dnp_imported")][-1] == "1 added, 0 already on the list, 2 previous entries replaced"
