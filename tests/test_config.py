"""Configuration: the example is complete and valid; every mistake names the file, the key and what is expected."""

from __future__ import annotations

import asyncio
import copy
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.platforms import PLATFORMS, load_config, parse_config
from bot import config
from bot.config import PlatformConfig, Section
from bot.errors import ConfigError
from bot.people import Directory

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "config.example.toml"
SECRETS = {
    "SLACK_BOT_TOKEN": "xoxb-made-up-for-tests",
    "SLACK_SIGNING_SECRET": "made-up-signing-secret",
    "MicrosoftAppId": "",
}


def example() -> dict:
    return tomllib.loads(EXAMPLE.read_text())


def test_example_with_secrets_from_environment_is_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    for k, v in SECRETS.items():
        monkeypatch.setenv(k, v)
    s = load_config(EXAMPLE)
    assert s.platform("slack") is not None and s.platform("slack").bot_token == "xoxb-made-up-for-tests"
    assert s.platform("teams") is not None
    assert {p.id for p in s.people if p.is_slt} == {"swhitfield", "dokafor"}
    assert not next(p for p in s.people if p.id == "glowe").employed


def test_every_example_key_has_a_comment() -> None:
    """Each key says what it is (people's keys are explained once, above the first person)."""
    in_people = False
    previous = ""
    for line in EXAMPLE.read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("["):
            in_people = stripped == "[[people]]"
        elif stripped and not stripped.startswith("#") and not in_people:
            assert previous.startswith("#"), f"no comment above: {line}"
        previous = stripped


def test_teams_only_and_slack_only_schools_need_no_other_section(monkeypatch: pytest.MonkeyPatch) -> None:
    raw = example()
    del raw["slack"]
    assert parse_config(raw, "t.toml").platform("slack") is None
    raw = example()
    del raw["teams"]
    raw["slack"].update(bot_token="xoxb-1-made-up", signing_secret="made-up")
    s = parse_config(raw, "s.toml")
    assert s.platform("teams") is None and s.platform("slack") is not None


def _broken(change) -> str:
    raw = example()
    del raw["slack"], raw["teams"]
    change(raw)
    with pytest.raises(ConfigError) as err:
        parse_config(raw, "school.toml")
    return str(err.value)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (lambda r: r.pop("school"), "school.toml: school: missing"),
        (lambda r: r["school"].pop("name"), "school.toml: school.name: missing"),
        (
            lambda r: r["school"].update(timezone="Mars/Olympus"),
            "school.toml: school.timezone: 'Mars/Olympus' is not a time zone",
        ),
        (lambda r: r["school"].update(nation="FR"), "school.toml: school.nation: expected one of ENG, NIR, SCT, WLS"),
        (lambda r: r["school"].update(name=3), "school.toml: school.name: expected text in quotes"),
        (lambda r: r["server"].update(port=70000), "school.toml: server.port: expected a whole number from 0 to 65535"),
        (lambda r: r["server"].update(port="80"), "school.toml: server.port: expected a whole number"),
        (
            lambda r: r["conversations"].update(expire_after_days=0),
            "school.toml: conversations.expire_after_days: expected a number above 0",
        ),
        (lambda r: r["school"].update(colour="blue"), "school.toml: school.colour: unknown key"),
        (lambda r: r.update(slak={}), "school.toml: slak: unknown section"),
        (lambda r: r.pop("people"), "school.toml: people: missing"),
        (lambda r: r["people"][0].update(roles=["boss"]), "school.toml: people[1].roles: unknown role 'boss'"),
        (
            lambda r: r["people"][1].update(id="swhitfield"),
            "school.toml: people[2].id: the id 'swhitfield' is used twice",
        ),
        (lambda r: r["people"][0].pop("name"), "school.toml: people[1].name: missing"),
        (lambda r: r["people"][0].update(employed="yes"), "school.toml: people[1].employed: expected true or false"),
        (
            lambda r: r.update(people=[p for p in r["people"] if "slt" not in p.get("roles", [])]),
            'school.toml: people: expected at least one person with roles = ["slt"]',
        ),
        (
            lambda r: r.update(people=[p for p in r["people"] if "admin" not in p.get("roles", [])]),
            'school.toml: people: expected at least one person with roles = ["admin"]',
        ),
        (lambda r: r.update(slack={"signing_secret": "x"}), "school.toml: slack.bot_token: expected the bot token"),
        (
            lambda r: r.update(slack={"bot_token": "abc", "signing_secret": "x"}),
            "school.toml: slack.bot_token: expected a bot token starting xoxb-",
        ),
        (
            lambda r: r.update(slack={"bot_token": "xoxb-1"}),
            "school.toml: slack.signing_secret: expected the signing secret",
        ),
        (
            lambda r: r.update(slack={"bot_token": "xoxb-1", "app_token": "nope"}),
            "school.toml: slack.app_token: expected an app-level token starting xapp-",
        ),
        (lambda r: r.update(teams={"app_id": "abc"}), "school.toml: teams.app_password: expected the client secret"),
        (
            lambda r: r.update(teams={"app_id": "abc", "app_password": "p"}),
            "school.toml: teams.tenant_id: expected the Directory (tenant) ID",
        ),
        (
            lambda r: r.update(teams={"app_type": "Solo"}),
            "school.toml: teams.app_type: expected SingleTenant, MultiTenant or UserAssignedMSI",
        ),
    ],
)
def test_bad_values_name_file_key_and_expectation(change, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "MicrosoftAppId",
        "MicrosoftAppPassword",
        "MicrosoftAppTenantId",
        "MicrosoftAppType",
    ):
        monkeypatch.delenv(var, raising=False)
    assert _broken(change).startswith(expected)


def test_unreadable_files_are_explained(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found; check the path"):
        load_config(tmp_path / "missing.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[school\nname = 'x'")
    with pytest.raises(ConfigError, match=r"bad.toml: \(syntax\): not valid TOML"):
        load_config(bad)


def test_cli_stops_with_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "school.toml"
    bad.write_text('[school]\nname = "X"\ntimezone = "Nowhere/Land"\n')
    env = {k: v for k, v in os.environ.items() if k != "POLICYBOT_CONFIG"}
    run = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "check-config", "--config", str(bad)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert run.returncode == 2
    assert run.stderr.strip().splitlines() == [
        f"policybot: {bad}: school.timezone: 'Nowhere/Land' is not a time zone; expected a name like \"Europe/London\""
    ]
    env["POLICYBOT_CONFIG"] = str(bad)
    run = subprocess.run(
        [sys.executable, "-m", "adapters.cli", "check-config"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=60,
    )
    assert "Nowhere/Land" in run.stderr


def test_built_in_sample_school_has_every_role() -> None:
    s = load_config(None) if "POLICYBOT_CONFIG" not in os.environ else None
    assert s is not None
    assert (
        any(p.is_slt for p in s.people) and any(p.is_admin for p in s.people) and any(not p.employed for p in s.people)
    )


@pytest.mark.parametrize(
    ("key", "value", "expected"),
    [
        ("duty_reminder_time", "8am", 'like "08:00"'),
        ("duty_reminder_time", "25:00", 'like "08:00"'),
        ("end_of_day", 17, 'like "08:00"'),
        ("reminder_lead_hours", 0, "a number above 0"),
        ("reminder_lead_hours", "3", "a number above 0"),
        ("remind_lead_hours", 3, "unknown key"),
    ],
)
def test_monitoring_mistakes_name_the_key(key: str, value: object, expected: str) -> None:
    raw = example()
    raw["monitoring"][key] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "school.toml")
    assert f"monitoring.{key}" in str(caught.value) and expected in str(caught.value)


@pytest.mark.parametrize(
    ("section", "key", "value", "expected"),
    [
        ("school", "policy_agreed", "1 September 2025", "a date like 2025-09-01"),
        ("school", "policy_agreed", "2025-13-01", "a date like 2025-09-01"),
        ("school", "policy_review_months", 0, "a whole number from 1 to 120"),
        ("storage", "backup_keep", 0, "a whole number from 1 to 3650"),
        ("storage", "backup_time", "half two", 'like "08:00"'),
        ("storage", "backup_dir", "data/backups", "must not be inside the data folder"),
        ("server", "metrics", "yes", '"loopback" or "off" or "public"'),
        ("monitoring", "lookout", "admin", "a list of text"),
        ("monitoring", "lookout", ["admins"], "neither"),
        ("monitoring", "lookout_day", "Funday", "a day of the week"),
        ("monitoring", "search_terms", "Pennington", "a list of text"),
        ("posting", "second_check", "sometimes", '"always" or "pupils" or "never"'),
        ("posting", "second_checks", "always", "unknown key"),
        ("accounts", "decide_within_days", 0, "a whole number from 1 to 60"),
        ("records", "training_valid_months", -1, "a whole number from 0 to 600"),
        ("records", "disclaimer_every_months", "12", "a whole number from 0 to 600"),
        ("records", "untrained_runner", "maybe", '"block" or "warn"'),
    ],
)
def test_new_keys_mistakes_name_the_key(section: str, key: str, value: object, expected: str, tmp_path: Path) -> None:
    raw = example()
    del raw["slack"]
    raw.setdefault(section, {})[key] = value
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "school.toml", tmp_path)
    assert f"{section}.{key}" in str(caught.value) and expected in str(caught.value)


def test_new_keys_have_their_defaults_when_left_out() -> None:
    raw = example()
    del raw["slack"]
    for section, key in [
        ("school", "policy_agreed"),
        ("school", "policy_review_months"),
        ("storage", "backup_dir"),
        ("storage", "backup_keep"),
        ("server", "metrics"),
        ("monitoring", "lookout"),
        ("monitoring", "search_terms"),
        ("records", "training_valid_months"),
        ("records", "disclaimer_every_months"),
    ]:
        del raw[section][key]
    del raw["posting"], raw["accounts"]
    s = parse_config(raw, "school.toml")
    assert s.school.policy_agreed is None and s.school.policy_review_months == 12
    assert s.backups.folder is None and s.backups.keep == 14
    assert s.server.metrics == "loopback"
    assert s.monitoring.lookout == ("admin",) and s.monitoring.search_terms == (s.school.name,)
    assert s.records.training_valid_months == 24 and s.records.disclaimer_every_months == 12
    assert s.posting.second_check == "pupils" and s.accounts.decide_within_days == 3


def test_policy_agreed_reads_a_toml_date_or_text(tmp_path: Path) -> None:
    raw = example()
    del raw["slack"]
    raw["school"]["policy_agreed"] = tomllib.loads("d = 2025-09-01")["d"]
    assert str(parse_config(raw, "school.toml").school.policy_agreed) == "2025-09-01"
    raw["school"]["policy_agreed"] = ""
    assert parse_config(raw, "school.toml").school.policy_agreed is None
    raw["storage"]["backup_dir"] = "backups"
    assert parse_config(raw, "school.toml", tmp_path).backups.folder == tmp_path / "backups"


# ---- a new platform: its own section and [[people]] key, declared by its front end ---------------


@dataclass(frozen=True)
class ChatSettings:
    """A made-up platform's section, as a front end in adapters/chat/settings.py would read it."""

    token: str

    def secrets(self) -> list[str]:
        return [self.token]


def read_chat(sec: Section) -> ChatSettings:
    token = sec.str("token")
    if not token.startswith("chat-"):
        raise ConfigError(sec.file, "chat.token", "expected a token starting chat-")
    return ChatSettings(token=token)


CHAT = PlatformConfig(name="chat", read=read_chat, identity="chat_id")


def with_chat(raw: dict) -> dict:
    raw = {**copy.deepcopy(raw), "chat": {"token": "chat-made-up-secret"}}
    raw["people"][0]["chat_id"] = "C-0SW"
    return raw


def test_a_new_platform_is_read_by_what_its_front_end_declares() -> None:
    """No edit in bot/: the front end's declaration brings its section, its key in [[people]] and its secrets."""
    raw = example()
    del raw["slack"], raw["teams"]
    s = config.parse_config(with_chat(raw), "school.toml", None, [*PLATFORMS, CHAT])
    assert s.platform("chat") == ChatSettings(token="chat-made-up-secret")
    assert "chat-made-up-secret" in s.secrets()
    first = s.people[0]
    assert first.identities["chat"] == "C-0SW" and set(first.identities) == {"slack", "teams", "chat"}
    assert Directory(s.people, platforms=s.platforms).by_platform("chat", "c-0sw") == first
    assert (
        Directory(s.people, platforms=s.platforms).by_platform("chat", first.id) is None
    )  # its own ids, not person ids
    for change, expected in [
        (lambda r: r["chat"].update(token="nope"), "school.toml: chat.token: expected a token starting chat-"),
        (lambda r: r["chat"].update(colour="blue"), "school.toml: chat.colour: unknown key"),
        (lambda r: r["people"][1].update(chat_id=3), "school.toml: people[2].chat_id: expected text in quotes"),
    ]:
        broken = with_chat(raw)
        change(broken)
        with pytest.raises(ConfigError) as err:
            config.parse_config(broken, "school.toml", None, [*PLATFORMS, CHAT])
        assert str(err.value).startswith(expected)
    # Without its front end, the section and the key are typos like any other.
    with pytest.raises(ConfigError, match=re.escape("school.toml: chat: unknown section")):
        parse_config({**raw, "chat": {"token": "chat-made-up-secret"}}, "school.toml")
    with pytest.raises(ConfigError, match=re.escape("school.toml: people[1].chat_id: unknown key")):
        parse_config({k: v for k, v in with_chat(raw).items() if k != "chat"}, "school.toml")


def test_secrets_cover_every_front_ends_section(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (
        "SLACK_BOT_TOKEN",
        "SLACK_SIGNING_SECRET",
        "SLACK_APP_TOKEN",
        "MicrosoftAppId",
        "MicrosoftAppPassword",
        "MicrosoftAppTenantId",
        "MicrosoftAppType",
    ):
        monkeypatch.delenv(var, raising=False)
    raw = example()
    raw["slack"].update(bot_token="xoxb-made-up", signing_secret="made-up-signing", app_token="xapp-made-up")
    raw["teams"].update(app_id="00000000-0000-4000-8000-000000000001", app_password="made-up-password", tenant_id="t")
    assert set(parse_config(raw, "s.toml").secrets()) == {
        "xoxb-made-up",
        "made-up-signing",
        "xapp-made-up",
        "made-up-password",
    }


def test_the_disclaimer_answers_retention_is_read_and_a_mistake_names_the_key(tmp_path: Path) -> None:
    raw = example()
    del raw["slack"]
    assert parse_config(raw, "school.toml", tmp_path).records.retention["disclaimers"] == 2190
    raw["records"]["retention"]["disclaimers"] = -1
    with pytest.raises(ConfigError) as caught:
        parse_config(raw, "school.toml", tmp_path)
    assert "records.retention.disclaimers" in str(caught.value) and "a whole number from 0 to 36500" in str(
        caught.value
    )


def test_commands_that_never_talk_to_slack_or_teams_run_without_their_secrets(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The IT person's `policybot backup`, `status`, `check-data` and `export` with the school's file as copied from
    the example (secrets empty, kept in the service's root-only secrets file): they run. `check-config` and `serve`,
    which talk to Slack and Teams, still say which secret is missing."""
    from adapters.cli import main

    for name in (*SECRETS, "SLACK_APP_TOKEN", "MicrosoftAppPassword", "MicrosoftAppTenantId", "POLICYBOT_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    text = EXAMPLE.read_text(encoding="utf-8").replace('path = "data"', f'path = "{tmp_path / "data"}"')
    text = text.replace('app_id = ""', 'app_id = "11111111-2222-3333-4444-555555555555"')  # Teams registered too
    school = tmp_path / "school.toml"
    school.write_text(text, encoding="utf-8")
    config = str(school)

    async def one_record() -> None:  # what a running school has: something to back up
        from bot.store import Store

        store = Store(tmp_path / "data")
        async with store.transaction() as tx:
            tx.put("accounts", "ACC-1", {"name": "Pennington PTA", "status": "active"})
        await store.close()

    asyncio.run(one_record())
    assert main(["check-data", "--config", config]) == 0
    assert main(["backup", "--config", config, "--out", str(tmp_path / "b.tar.gz")]) == 0
    assert main(["export", "--config", config, "--what", "accounts", "--out", str(tmp_path / "a.csv")]) == 0
    assert main(["status", "--config", config]) in (0, 1)  # serve is not running: said, not an error of the file
    capsys.readouterr()
    assert main(["check-config", "--config", config]) == 2
    assert "slack.bot_token: expected the bot token" in capsys.readouterr().err
    assert main(["serve", "--config", config]) == 2
    assert "slack.bot_token" in capsys.readouterr().err
    # A secret that is given is still checked for its shape, whatever the command.
    monkeypatch.setenv("SLACK_BOT_TOKEN", "not-a-bot-token")
    assert main(["backup", "--config", config, "--out", str(tmp_path / "c.tar.gz")]) == 2
    assert "starting xoxb-" in capsys.readouterr().err
