"""Who may do what: every privileged action tried by staff, a leaver, an unknown user, SLT and an administrator, on every front end.

Roles come from the configuration only; the engine checks the acting person on every
action, whichever front end it came through. Each refusal is answered kindly and lands
in the audit trail; an unknown user changes nothing at all. (The HTTP layers are tested
for the same refusals in test_slack.py and test_teams.py; `policybot export` and `purge`
run on the server itself, so access to them is access to the server.)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from bot.config import load_config
from bot.engine import NotRecognised
from bot.messages import Inbound
from tests.harness import TestBot, add_account, read_policy
from tests.test_incidents import report_abuse

SLACK = {"swhitfield": "U0SW", "dokafor": "U0DO", "pshah": "U0PS", "eclarke": "U0EC", "treid": "U0TR", "jbennett": "U0JB"}
TEAMS = {pid: f"a1000000-0000-4000-8000-00000000000{n}" for n, pid in enumerate(SLACK, 1)}
PLATFORMS = ("console", "slack", "teams")


def settings_with_ids() -> Any:
    base = load_config(None)
    people = tuple(replace(p, slack_id=SLACK.get(p.id, ""), teams_id=TEAMS.get(p.id, "")) for p in base.people)
    return replace(base, people=people)


def user_of(platform: str, pid: str) -> str:
    return {"console": pid, "slack": SLACK.get(pid, "U0NOBODY"), "teams": TEAMS.get(pid, "f0000000-0000-4000-8000-00000000dead")}[platform]


async def world() -> tuple[TestBot, dict[str, str]]:
    """The sample school with an application waiting for SLT, an open incident, and a leaver."""
    bot = TestBot(settings_with_ids())
    await school_accounts(bot)
    await read_policy(bot.core, "eclarke", "treid")
    await bot.answer_all("eclarke", "/new-account", "1", "Year 6 Trip", "Trip updates for parents", "Year 6 parents", "Newsletter", "Emma Clarke, Tom Reid", "2")
    while "submit" not in " ".join(b.label.lower() for b in bot.last("eclarke").buttons):
        await bot.say("eclarke", "yes")
    await bot.say("eclarke", "submit")
    incident = await report_abuse(bot, "treid")
    # David Okafor (SLT in the configuration) left yesterday.
    async with bot.store.transaction() as tx:
        tx.put("people", "dokafor", {"leaving": {"date": "2026-11-24", "status": "open"}})
    app = bot.store.all("applications")[0]["id"]
    return bot, {"application": app, "incident": incident}


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
    ("edit the rota", command("/rota-set"), {"admin"}),
    ("record training", command("/training"), {"admin"}),
    ("record a leaver", command("/leaver"), {"slt", "admin"}),
    ("view the do-not-publish list", command("/dnp-list"), {"slt", "admin"}),
    ("change the do-not-publish list", command("/dnp-add"), {"slt", "admin"}),
    ("see who has not read the policy", command("/policy-status"), {"slt", "admin"}),
]
PERSONAS = {"staff": "jbennett", "leaver (SLT who has left)": "dokafor", "SLT": "swhitfield", "administrator": "pshah"}
ROLES = {"jbennett": set(), "dokafor": set(), "swhitfield": {"slt"}, "pshah": {"admin"}}


@pytest.mark.parametrize("platform", PLATFORMS)
@pytest.mark.parametrize(("what", "how", "allowed"), TABLE, ids=[row[0] for row in TABLE])
async def test_only_the_right_role_succeeds_and_every_refusal_is_audited(platform: str, what: str, how: Any, allowed: set[str]) -> None:
    for persona, pid in PERSONAS.items():
        bot, ref = await world()
        kind, fields = how(ref)
        event = Inbound(platform, user_of(platform, pid), "action" if kind == "action" else "text", text=fields.get("text", ""), action=fields.get("action", ""), data=fields.get("data", {}))
        refused_before = len(bot.store.audit(action="refused"))
        await bot.send(event)
        reply = bot.last(pid)
        refused = bot.store.audit(action="refused")[refused_before:]
        if ROLES[pid] & allowed:
            assert not refused and reply.title != "Sorry", f"{persona} should be able to {what} on {platform}: {reply.title} {reply.body}"
        else:
            assert reply.title == "Sorry" and reply.body, f"{persona} must not {what} on {platform}"
            assert [e["actor"] for e in refused] == [pid], f"the refusal of {persona} to {what} is not audited"
        await bot.close()


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_an_unknown_user_changes_nothing(platform: str) -> None:
    bot, ref = await world()
    seq = bot.store.seq
    for _what, how, _allowed in TABLE:
        kind, fields = how(ref)
        event = Inbound(platform, user_of(platform, "stranger"), "action" if kind == "action" else "text", text=fields.get("text", ""), action=fields.get("action", ""), data=fields.get("data", {}))
        with pytest.raises(NotRecognised):
            await bot.send(event)
    assert bot.store.seq == seq
    await bot.close()


async def test_nothing_about_an_incident_reaches_someone_who_is_not_slt() -> None:
    bot, _ref = await world()
    details = "A comment calling a Year 5 child names"
    for pid in ("jbennett", "pshah", "eclarke"):
        assert not [c for c in bot.outbox.cards(pid) if details in c.body or any(details in v for _k, v in c.fields)], pid
    bot.clock.advance(timedelta(hours=5))
    await bot.tick()  # chasing reminders go to SLT only, without the details
    for pid in ("jbennett", "pshah", "eclarke"):
        assert not [c for c in bot.outbox.cards(pid) if details in c.body or any(details in v for _k, v in c.fields)], pid
    await bot.close()
