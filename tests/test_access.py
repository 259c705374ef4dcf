"""Who may do what: every privileged action tried by staff, a leaver, an unknown user, SLT and an administrator,
on every front end.

Roles come from the configuration only; the engine checks the acting person on every
action, whichever front end it came through. Each refusal is answered kindly and lands
in the audit trail; an unknown user changes nothing at all. (The HTTP layers are tested
for the same refusals in test_slack.py and test_teams.py; `policybot export` and `purge`
run on the server itself, so access to them is access to the server.)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.platforms import load_config
from bot.engine import NotRecognised
from bot.errors import NotAllowed
from bot.messages import Inbound, role
from bot.store import iter_tables
from tests.harness import TestBot, add_account, log_post, person_record, put_person, read_policy, report_abuse

SLACK = {
    "swhitfield": "U0SW",
    "dokafor": "U0DO",
    "pshah": "U0PS",
    "eclarke": "U0EC",
    "treid": "U0TR",
    "jbennett": "U0JB",
}
TEAMS = {pid: f"a1000000-0000-4000-8000-00000000000{n}" for n, pid in enumerate(SLACK, 1)}
PLATFORMS = ("console", "slack", "teams")


def settings_with_ids() -> Any:
    base = load_config(None)
    people = tuple(
        replace(p, identities={"slack": SLACK.get(p.id, ""), "teams": TEAMS.get(p.id, "")}) for p in base.people
    )
    return replace(base, people=people)


def user_of(platform: str, pid: str) -> str:
    return {
        "console": pid,
        "slack": SLACK.get(pid, "U0NOBODY"),
        "teams": TEAMS.get(pid, "f0000000-0000-4000-8000-00000000dead"),
    }[platform]


async def world() -> tuple[TestBot, dict[str, str]]:
    """The sample school with an application waiting for SLT, an open incident, and a leaver."""
    bot = TestBot(settings_with_ids())
    await school_accounts(bot)
    await read_policy(bot.core, "eclarke", "treid")
    await bot.answer_all(
        "eclarke",
        "/new-account",
        "1",
        "Year 6 Trip",
        "Trip updates for parents",
        "Year 6 parents",
        "Newsletter",
        "Emma Clarke, Tom Reid",
        "2",
    )
    while "submit" not in " ".join(b.label.lower() for b in bot.last("eclarke").buttons):
        await bot.say("eclarke", "yes")
    await bot.say("eclarke", "submit")
    incident = await report_abuse(bot, "treid")
    mention = await log_post(bot, "treid", "concern")  # a post found elsewhere, waiting for SLT's choice
    # David Okafor (SLT in the configuration) left yesterday.
    async with bot.store.transaction() as tx:
        put_person(tx, "dokafor", person_record(leaving="2026-11-24"))
    app = bot.store.all("applications")[0]["id"]
    await bot.answer_all("eclarke", "/post-check", "Sports day", "yes", "Zoe Amos, Year 4", "no", "1", "1")
    await bot.answer_all("eclarke", *["yes"] * 2, "1", *["yes"] * 3, "submit")
    assert bot.store.get("posts", "P-1")["status"] == "waiting"  # for a second check
    ids = {"application": app, "incident": incident, "post": "P-1", "account": "ACC-1", "mention": mention}
    return bot, {**ids, "emma": "eclarke"}


async def school_accounts(bot: TestBot) -> None:
    await add_account(bot)


def action(name: str, **ids: str) -> Callable[[dict[str, str]], tuple[str, dict[str, Any]]]:
    return lambda ref: ("action", {"action": name, "data": {k: ref[v] for k, v in ids.items()}})


def command(text: str) -> Callable[[dict[str, str]], tuple[str, dict[str, Any]]]:
    return lambda _ref: ("command", {"text": text})


# (what, how, who may) -- every privileged thing a person can ask policybot for.
TABLE = [
    ("approve an application", action("new_account.approve", application="application"), {"slt"}),
    ("reject an application", action("new_account.reject", application="application"), {"slt"}),
    ("read an incident", action("incidents.show", incident="incident"), {"slt"}),
    ("take an incident", action("incidents.own", incident="incident"), {"slt"}),
    ("close an incident", action("incidents.close", incident="incident"), {"slt"}),
    ("list incidents", command("/incidents"), {"slt"}),
    ("respond to a post found elsewhere", action("mentions.respond", mention="mention"), {"slt"}),
    ("leave a post found elsewhere", action("mentions.leave", mention="mention"), {"slt"}),
    ("escalate a post found elsewhere", action("mentions.escalate", mention="mention"), {"slt"}),
    ("edit the rota", command("/rota-set"), {"admin"}),
    ("record training", command("/training"), {"admin"}),
    ("record a leaver", command("/leaver"), {"slt", "admin"}),
    ("view the do-not-publish list", command("/dnp-list"), {"slt", "admin"}),
    ("change the do-not-publish list", command("/dnp-add"), {"slt", "admin"}),
    ("see who has not read the policy", command("/policy-status"), {"slt", "admin"}),
    ("see training records", command("/training-status"), {"slt", "admin"}),
    # Emma Clarke and Tom Reid run the account: Tom (and no staff member who runs nothing) could too.
    ("confirm a post", action("post_log.confirm", post="post"), {"slt", "admin"}),
    ("see a post log", action("post_log.show", account="account"), {"slt", "admin"}),
    # A person's /disclaimer answer is theirs alone: a click naming Emma is refused to everyone else, SLT included.
    ("answer someone else's disclaimer question", action("disclaimer.answer", disclaimer="emma"), set()),
]
PERSONAS = {"staff": "jbennett", "leaver (SLT who has left)": "dokafor", "SLT": "swhitfield", "administrator": "pshah"}
ROLES = {"jbennett": set(), "dokafor": set(), "swhitfield": {"slt"}, "pshah": {"admin"}}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("what", "how", "allowed"), TABLE, ids=[row[0] for row in TABLE])
async def test_only_the_right_role_succeeds_and_every_refusal_is_audited(
    platform: str, what: str, how: Any, allowed: set[str]
) -> None:
    for persona, pid in PERSONAS.items():
        bot, ref = await world()
        kind, fields = how(ref)
        event = Inbound(
            platform,
            user_of(platform, pid),
            "action" if kind == "action" else "text",
            text=fields.get("text", ""),
            action=fields.get("action", ""),
            data=fields.get("data", {}),
        )
        refused_before = len(bot.store.audit(action="refused"))
        await bot.send(event)
        reply = bot.last(pid)
        refused = bot.store.audit(action="refused")[refused_before:]
        if ROLES[pid] & allowed:
            assert not refused and reply.title != "Sorry", (
                f"{persona} should be able to {what} on {platform}: {reply.title} {reply.body}"
            )
        else:
            assert reply.title == "Sorry" and reply.body, f"{persona} must not {what} on {platform}"
            assert [e["actor"] for e in refused] == [pid], f"the refusal of {persona} to {what} is not audited"
        await bot.close()


def tables(bot: TestBot) -> dict[str, list[dict[str, Any]]]:
    """Every record the store holds, table by table (the audit trail is not a table)."""
    return {t: bot.store.all(t) for t in iter_tables(bot.store)}


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_an_unknown_user_changes_nothing_and_every_refusal_is_audited(platform: str) -> None:
    bot, ref = await world()
    before = tables(bot)
    stranger = user_of(platform, "stranger")
    for what, how, _allowed in TABLE:
        kind, fields = how(ref)
        event = Inbound(
            platform,
            stranger,
            "action" if kind == "action" else "text",
            text=fields.get("text", ""),
            action=fields.get("action", ""),
            data=fields.get("data", {}),
        )
        refused_before = len(bot.store.audit(action="refused"))
        with pytest.raises(NotRecognised):
            await bot.send(event)
        refused = bot.store.audit(action="refused")[refused_before:]
        assert [e["actor"] for e in refused] == [f"{platform}:{stranger}"], (
            f"the refusal of a stranger to {what} is not audited"
        )
    assert tables(bot) == before
    await bot.close()


async def test_a_request_from_a_stranger_is_audited_once_even_when_the_platform_sends_it_again() -> None:
    bot, ref = await world()
    event = Inbound(
        "slack",
        "U0NOBODY",
        "action",
        action="new_account.approve",
        data={"application": ref["application"]},
        event_id="action:1.2.3",
    )
    for _ in range(3):  # Slack retries a request it thinks was not answered
        try:
            await bot.send(event)
        except NotRecognised:
            pass
    assert len(bot.store.audit(action="refused", actor="slack:U0NOBODY")) == 1
    await bot.close()


# ---- one access check for every read and every click ------------------------------------------
#
# Every way a front end reads or clicks through the core, each used for something that needs
# SLT: (the core's entry point, what is tried, how). Each must refuse someone who has left,
# an unknown id and the wrong role, with an audit entry for each refusal.


async def click(bot: TestBot, platform: str, user: str, ref: dict[str, str]) -> str:
    """Open an incident from its card (a turn, from a click)."""
    await bot.send(Inbound(platform, user, "action", action="incidents.show", data={"incident": ref["incident"]}))
    return reply_of(bot, platform, user)


async def type_command(bot: TestBot, platform: str, user: str, _ref: dict[str, str]) -> str:
    """List the incidents (a turn, from a typed command)."""
    await bot.send(Inbound(platform, user, "text", text="/incidents"))
    return reply_of(bot, platform, user)


async def see_unreachable(bot: TestBot, platform: str, user: str, _ref: dict[str, str]) -> str:
    """See whom policybot cannot reach (a command every front end offers SLT and administrators)."""
    await bot.send(Inbound(platform, user, "command", command="unreachable"))
    return reply_of(bot, platform, user)


async def open_home(bot: TestBot, platform: str, user: str, _ref: dict[str, str]) -> str:
    """Open the home page (SLT see applications to decide and open incidents there)."""
    card = await bot.core.home(platform, user)
    assert card is not None
    return "\n".join([card.title, card.body, *(f"{k}: {v}" for k, v in card.fields)])


async def read_more(bot: TestBot, platform: str, user: str, _ref: dict[str, str]) -> str:
    """Read the rest of a shortened card sent to SLT ("Show the full text")."""
    await bot.core.admit(platform, user, doing="show the full text of a message", record="outbox/m1", to=role("slt"))
    return "the full text"


def reply_of(bot: TestBot, platform: str, user: str) -> str:
    who = bot.core.directory.by_platform(platform, user)
    assert who is not None
    card = bot.last(who.id)
    return f"{card.title}\n{card.body}"


ENTRY_POINTS = {
    "handle": [
        ("open an incident from its card", click),
        ("list incidents", type_command),
        ("see who policybot cannot reach", see_unreachable),
    ],
    "home": [("open the home page", open_home)],
    "admit": [("read the rest of an SLT card", read_more)],
}
# Core's other methods that take a person's request, and why they are no read or click.
NOT_READS = {"accept": "saves a request before it is acknowledged, before its turn; the turn is checked"}
SLT_ONLY = ("Applications to decide", "Open incidents")


def test_every_way_into_the_core_is_in_the_access_matrix() -> None:
    """A read or click added to Core later must join ENTRY_POINTS, so that it is tested for refusals;
    and a front end uses nothing of Core but its door (DOOR), each part of it documented."""
    import inspect

    from bot.core import Core

    ways_in = {
        name
        for name, method in inspect.getmembers(Core, inspect.iscoroutinefunction)
        if not name.startswith("_") and {"user", "event", "platform"} & set(inspect.signature(method).parameters)
    }
    assert ways_in == set(ENTRY_POINTS) | set(NOT_READS)
    used = {m.group(1) for _path, _n, line in source_lines("adapters") for m in re.finditer(r"\bcore\.(\w+)", line)}
    assert used <= DOOR, f"front ends use {sorted(used - DOOR)} of Core, which is not its door"
    undocumented = [name for name in DOOR if name not in INSTANCE_DOOR and not inspect.getdoc(getattr(Core, name))]
    assert undocumented == []


# Core's door for front ends (bot/core.py): the entry points above, and what a front end needs
# besides: its settings and clock, people to look up, its delivery channel, the outbox, work
# for later, its own records; its metrics (bot/metrics.py: a front end counts its requests there).
DOOR = {
    *ENTRY_POINTS,
    *NOT_READS,
    *("tick", "unhandled", "forget", "inbox_key", "now", "open", "close", "start_background"),
    *(
        "people",
        "person",
        "match",
        "add_channel",
        "wake",
        "flush",
        "deliver_now",
        "later",
        "idle",
        "answering",
        "counts",
        "health",
        "link",
        "records",
    ),
    *("settings", "clock", "metrics"),
}
INSTANCE_DOOR = {"settings", "clock", "metrics"}  # set in Core.__init__, documented there
ROOT = Path(__file__).resolve().parent.parent


def source_lines(folder: str, suffixes: tuple[str, ...] = (".py",)) -> Iterator[tuple[str, int, str]]:
    """(path from the repository root, line number, line) of every source file under `folder`."""
    for path in sorted((ROOT / folder).rglob("*")):
        if path.suffix in suffixes and "__pycache__" not in path.parts:
            for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                yield str(path.relative_to(ROOT)), n, line


# Behind Core's door: its parts, the engine, the store, outbox rows; and the workflows, whose
# features the registry hands out.
AROUND_THE_DOOR = re.compile(
    r"\bcore\.(store|engine|directory|backlog|delivery|registry|priority)\b|\bbot\.(engine|store)\b"
    r"|[\"']outbox[\"']|^\s*(from|import) workflows\b"
)
# `policybot export`, `purge`, `dnp-import`, `check-data` and `repair-data` open the data folder
# while the bot is stopped: there is no running core to go through.
OFFLINE = {
    ("adapters/data_commands.py", "from bot.store import Store"),
    ("adapters/data_commands.py", "from bot.store.repair import check, repair"),
    ("adapters/data_commands.py", "from bot.store.backup import archive, restore, take"),
}


def test_front_ends_reach_the_core_only_through_its_entry_points() -> None:
    """No front end calls the engine directly, around the access check, nor touches the store, the
    outbox, delivery or the backlog behind Core's door, nor imports a workflow."""
    around = [
        f"{path}:{n}: {line.strip()}"
        for path, n, line in source_lines("adapters")
        if AROUND_THE_DOOR.search(line) and (path, line.strip()) not in OFFLINE
    ]
    assert around == []


def test_the_core_names_no_platform() -> None:
    """bot/ knows no platform: a new one is a folder in adapters/ and its config section, with no edit in bot/."""
    named = [
        f"{path}:{n}: {line.strip()}"
        for path, n, line in source_lines("bot", (".py", ".toml", ".txt"))
        if re.search(r"slack|teams", line, re.IGNORECASE)
    ]
    assert named == []


def test_the_core_imports_workflows_in_the_registry_alone() -> None:
    """bot/ knows no procedure: the registry is the one place it imports workflows/."""
    importing = sorted(
        {path for path, _n, line in source_lines("bot") if re.match(r"\s*(from|import) workflows\b", line)}
    )
    # bot/records.py still imports the do-not-publish list's helpers from workflows/photo_check.py: the
    # part of issue 18 that takes procedures out of the core removes it, and then it leaves this list.
    assert importing == ["bot/registry.py"]


ROWS = [(entry, what, how) for entry, ways in ENTRY_POINTS.items() for what, how in ways]


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("entry", "what", "how"), ROWS, ids=[row[1] for row in ROWS])
async def test_every_read_and_click_refuses_a_leaver_a_stranger_and_the_wrong_role_and_audits_it(
    platform: str, entry: str, what: str, how: Any
) -> None:
    bot, ref = await world()
    cases = {
        "SLT": "swhitfield",
        "leaver (SLT who has left)": "dokafor",
        "unknown id": "stranger",
        "wrong role (staff)": "jbennett",
    }
    for persona, pid in cases.items():
        user = user_of(platform, pid)
        refused_before = len(bot.store.audit(action="refused"))
        try:
            shown = await how(bot, platform, user, ref)
        except (NotRecognised, NotAllowed) as refusal:
            shown, raised = f"Sorry\n{refusal}", True
        else:
            raised = False
        refused = bot.store.audit(action="refused")[refused_before:]
        if persona == "SLT":
            assert not raised and not shown.startswith("Sorry") and not refused, (
                f"SLT should be able to {what} on {platform}: {shown}"
            )
        elif entry == "home" and persona.startswith("wrong role"):
            # The home page needs no role: staff open their own, without what only SLT see.
            assert not raised and not refused and not any(s in shown for s in SLT_ONLY), shown
        else:
            assert shown.startswith("Sorry") and not any(s in shown for s in SLT_ONLY), (
                f"{persona} must not {what} on {platform}: {shown}"
            )
            actor = f"{platform}:{user}" if pid == "stranger" else pid
            assert [e["actor"] for e in refused] == [actor], (
                f"the refusal of the {persona} to {what} on {platform} is not audited"
            )
    await bot.close()


async def test_nothing_about_an_incident_reaches_someone_who_is_not_slt() -> None:
    bot, _ref = await world()
    details = "A comment calling a Year 5 child names"
    for pid in ("jbennett", "pshah", "eclarke"):
        assert not [c for c in bot.outbox.cards(pid) if details in c.body or any(details in v for _k, v in c.fields)], (
            pid
        )
    bot.clock.advance(timedelta(hours=5))
    await bot.tick()  # chasing reminders go to SLT only, without the details
    for pid in ("jbennett", "pshah", "eclarke"):
        assert not [c for c in bot.outbox.cards(pid) if details in c.body or any(details in v for _k, v in c.fields)], (
            pid
        )
    await bot.close()
