"""Hostile and generated input to the core: typed answers and config files never crash, never half-write."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.platforms import load_config, parse_config
from bot.answers import parse
from bot.errors import ConfigError
from bot.people import Directory
from bot.workflow import Invalid
from tests.harness import TestBot
from workflows.new_account import STEPS

DIRECTORY = Directory(load_config(None).people)
NOW = datetime(2026, 11, 25, 10, tzinfo=UTC)
HOSTILE = st.sampled_from(
    [
        "<!channel>",
        "@here",
        "<https://evil.example|school.org>",
        "\u202egnp.exe",
        "\x00\x1b[2J",
        "x" * 10_000,
        "",
        " ",
        "back",
        "cancel",
        "1",
        "99",
        "-1",
        "yesterday 25:99",
        "31/02/2026",
    ]
)
TEXT = st.one_of(st.text(max_size=300), HOSTILE)


@settings(max_examples=300, deadline=None)
@given(step=st.sampled_from(STEPS), raw=TEXT)
def test_every_answer_is_accepted_or_reasked(step, raw: str) -> None:
    try:
        parse(step, raw, DIRECTORY, ZoneInfo("Europe/London"), NOW)
    except Invalid as problem:
        assert str(problem)  # always says what was wrong


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(TEXT, min_size=1, max_size=12))
async def test_any_conversation_never_crashes_the_engine(lines: list[str]) -> None:
    bot = TestBot()
    try:
        await bot.say("eclarke", "/new-account")
        for line in lines:
            await bot.say("eclarke", line)
        for convo in bot.store.all("conversations"):
            assert convo["workflow"] == "new_account"
        for app in bot.store.all("applications"):
            assert app["status"] == "submitted" and len(app["runners"]) >= 2
    finally:
        await bot.close()


SCALARS = st.one_of(
    st.text(max_size=20),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.text(max_size=5), max_size=3),
)


@settings(max_examples=300, deadline=None)
@given(
    section=st.sampled_from(["school", "storage", "server", "conversations", "slack", "teams"]),
    key=st.sampled_from(
        [
            "name",
            "timezone",
            "nation",
            "path",
            "host",
            "port",
            "bot_token",
            "signing_secret",
            "app_id",
            "app_type",
            "remind_after_hours",
            "bogus",
        ]
    ),
    value=SCALARS,
)
def test_any_wrong_config_value_is_a_one_line_config_error(section: str, key: str, value: object) -> None:
    raw = tomllib.loads((__import__("pathlib").Path(__file__).parent.parent / "config.example.toml").read_text())
    raw["slack"].update(bot_token="xoxb-made-up", signing_secret="made-up")
    raw.setdefault(section, {})[key] = value
    try:
        parse_config(raw, "school.toml")
    except ConfigError as err:
        text = str(err)
        assert text.startswith("school.toml: ") and "\n" not in text


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=400))
def test_any_config_file_text_loads_or_explains(tmp_path_factory, text: str) -> None:
    file = tmp_path_factory.mktemp("cfg") / "school.toml"
    file.write_text(text, encoding="utf-8")
    try:
        load_config(file)
    except ConfigError as err:
        assert str(err).startswith(str(file))


@settings(max_examples=300, deadline=None)
@given(
    text=st.text(max_size=400)
    | st.lists(st.lists(st.text(max_size=20) | HOSTILE, max_size=4), max_size=6).map(
        lambda rows: "\n".join(",".join(r) for r in [["name", "class"], *rows])
    )
)
def test_any_do_not_publish_csv_is_imported_whole_or_explained(text: str) -> None:
    from workflows.dnp_match import name_key
    from workflows.photo_check import parse_dnp_csv

    try:
        pupils = parse_dnp_csv(text)
    except ValueError as problem:
        assert str(problem) and "Traceback" not in str(problem)  # says what to fix
        return
    assert pupils and all(
        len(name_key(name)) >= 2 and klass.strip() for name, klass in pupils
    )  # a first and last name, and a class


# Unicode's Bidi_Control characters (PropList.txt): each can change how the text around it is shown.
BIDI_CONTROLS = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"


@settings(max_examples=200, deadline=None)
@given(text=st.lists(st.sampled_from(BIDI_CONTROLS) | st.characters(codec="utf-8"), max_size=60).map("".join))
def test_no_bidirectional_control_survives_cleaning(text: str) -> None:
    from bot.answers import clean_text

    cleaned = clean_text(text)
    assert not set(cleaned) & set(BIDI_CONTROLS), ascii(cleaned)
    kept = "".join(
        ch for ch in text if ch not in BIDI_CONTROLS and (ch in "\t\n" or ord(ch) >= 0x20) and ch != "\x7f"
    ).strip()
    assert cleaned == kept  # nothing else is taken out


async def test_an_arabic_letter_mark_is_not_stored_in_an_answer(bot: TestBot) -> None:
    await bot.say("eclarke", "/new-account")
    await bot.say("eclarke", "Facebook")
    await bot.say("eclarke", "Year 6\u061c Trips\u200f")
    convo = bot.store.get("conversations", "eclarke:new_account")
    assert convo["answers"]["account_name"] == "Year 6 Trips"


async def test_command_text_is_limited_like_a_typed_answer(bot: TestBot) -> None:
    from bot.engine import COMMAND_TEXT_MAX

    before = len(bot.store.audit(action="photo_check"))
    await bot.say("eclarke", "/photo-check " + "Emma " * 8_000)  # 40,000 characters
    told = bot.last("eclarke")
    assert "That is 39999 characters" in told.body and f"under {COMMAND_TEXT_MAX}" in told.body
    assert len(bot.store.audit(action="photo_check")) == before  # not looked up, not recorded
    await bot.say("eclarke", "/photo-check Jane\u202e Smith")
    assert "Jane Smith" in bot.last("eclarke").body  # cleaned as a typed answer is
