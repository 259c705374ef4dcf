"""Issue 16, item 11: what the bot says about training, the headteacher, report kinds and the rota is true."""

from __future__ import annotations

import io
import re
import tomllib
from importlib import resources

import pytest

from adapters.console import ConsoleChat
from adapters.platforms import parse_config
from bot.config import Settings
from bot.errors import ConfigError
from bot.registry import default_registry
from tests.harness import TestBot, add_account


async def test_training_is_recorded_for_everyone_named_at_once(bot: TestBot) -> None:
    await bot.answer_all("pshah", "/training", "Emma Clarke, Tom Reid", "yesterday", "Social media policy induction")
    summary = bot.last("pshah")
    assert dict(summary.fields)["People"] == "Emma Clarke, Tom Reid"
    await bot.say("pshah", "submit")
    assert bot.last("pshah").body == "Emma Clarke, Tom Reid: Social media policy induction on Tue 24 Nov 2026."
    for pid in ("eclarke", "treid"):
        assert bot.store.get("people", pid)["training"] == [
            {"date": "2026-11-24", "what": "Social media policy induction", "by": "pshah"}
        ]
        assert bot.last(pid).title == "Your training has been recorded"
    assert len(bot.store.audit(action="training_recorded")) == 2


def _settings(**school: str) -> Settings:
    """The sample school with `school` changed ("" removes the key)."""
    raw = tomllib.loads(resources.files("bot").joinpath("sample_school.toml").read_text(encoding="utf-8"))
    raw["school"].update(school)
    if not school.get("headteacher", "x"):
        raw["school"].pop("headteacher")
    return parse_config(raw, "school.toml")


JOURNALIST = (
    "/media-enquiry",
    "Westmorland Gazette",
    "Sam Hart, 01234 000000",
    "phone",
    "Asked about a parent's post on our page",
    "tomorrow 12:00",
    "no",
    "submit",
)


async def test_a_media_enquiry_alerts_the_configured_headteacher_by_name_as_well_as_slt(bot: TestBot) -> None:
    assert bot.settings.school.headteacher == "swhitfield"  # the sample school names one
    await bot.answer_all("treid", *JOURNALIST)
    to_head = [c for c in bot.outbox.cards("swhitfield") if c.title.startswith("Incident INC-1")]
    assert [c.title for c in to_head] == [
        "Incident INC-1: Journalist contact (high)",
        "Incident INC-1: Journalist contact (high) - for you as the headteacher",
    ]
    assert "Sarah Whitfield, you are alerted by name as the headteacher" in to_head[1].body
    assert [c.title for c in bot.outbox.cards("dokafor") if c.title.startswith("Incident INC-1")] == [
        "Incident INC-1: Journalist contact (high)"
    ]
    thanks = next(c for c in bot.outbox.cards("treid") if c.title.startswith("Thank you"))
    assert thanks.body.startswith("Sarah Whitfield (the headteacher) and the Senior Leadership Team have been told")
    assert "Sarah Whitfield (the headteacher) alerted by name" in [
        t["what"] for t in bot.store.get("incidents", "INC-1")["timeline"]
    ]


async def test_with_no_headteacher_configured_staff_are_told_truthfully_that_slt_were_alerted() -> None:
    bot = TestBot(settings=_settings(headteacher=""))
    await bot.say("treid", "/media-enquiry")
    assert "headteacher" not in bot.last("treid").body
    await bot.answer_all("treid", *JOURNALIST[1:])
    thanks = next(c for c in bot.outbox.cards("treid") if c.title.startswith("Thank you"))
    assert thanks.body.startswith("The Senior Leadership Team have been told")
    assert "headteacher" not in " ".join(c.body for c in bot.outbox.cards("treid"))
    assert not [c for c in bot.outbox.cards("swhitfield") if "for you as" in c.title]
    await bot.close()


def test_the_headteacher_must_be_someone_listed_and_one_of_slt() -> None:
    with pytest.raises(ConfigError, match=r"school.headteacher.*'nobody' is not the id of anyone"):
        _settings(headteacher="nobody")
    with pytest.raises(ConfigError, match=r"school.headteacher.*'treid' must also have roles = \[\"slt\"\]"):
        _settings(headteacher="treid")
    assert _settings(headteacher="DOkafor").school.headteacher == "dokafor"


def test_every_kind_of_unacceptable_conduct_the_policy_names_can_be_reported() -> None:
    from workflows.incidents.abuse import KINDS

    policy = resources.files("bot").joinpath("policy.txt").read_text(encoding="utf-8")
    named = re.search(r"Unacceptable conduct, \(e\.g\. ([^)]*)\)", policy)
    assert named, "the policy's list of unacceptable conduct"
    words = [w for w in re.split(r"[,\s]+", named.group(1)) if w not in ("or", "a", "breach", "of", "content", "")]
    assert "defamatory" in words and len(words) >= 7
    labels = " ".join(c.label.lower() for c in KINDS)
    missing = [w for w in words if w.rstrip("g").rstrip("n")[:6] not in labels]
    assert not missing, f"report kinds lack: {missing}"


async def test_a_defamatory_post_can_be_reported(bot: TestBot) -> None:
    evidence = "A parent posted that a teacher was sacked from her last school, which is untrue."
    await bot.answer_all(
        "eclarke",
        "/report-abuse",
        "no",
        "somewhere else",
        "A parents' Facebook group",
        "defamatory",
        "staff",
        "parent",
        "nothing",
        evidence,
        "skip",
        "submit",
    )
    inc = bot.store.get("incidents", "INC-1")
    assert inc["answers"]["kind"] == "defamatory"
    assert ["Kind", "Defamatory (untrue claims that damage someone's reputation)"] in inc["details"]


# ---- the rota --------------------------------------------------------------------------


def test_no_summary_button_reads_change_change() -> None:
    for wf in default_registry().workflows.values():
        for step in wf.steps:
            assert not step.title.lower().startswith("change"), (
                f"{wf.name}.{step.key}: the summary would show 'Change: {step.title}'"
            )


async def test_rota_set_summary_names_what_each_button_changes(bot: TestBot) -> None:
    await add_account(bot)
    await bot.answer_all("pshah", "/rota-set", "1", "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid")
    labels = [b.label for b in bot.last("pshah").buttons]
    assert "Change: What to change" in labels and "Change: Change" not in labels


async def test_only_a_closed_account_means_no_open_account_not_an_empty_register(bot: TestBot) -> None:
    await add_account(bot, status="closed")
    await bot.say("jbennett", "/rota")
    assert bot.last("jbennett").body.startswith(
        "There is no open school account in the register (the one in it is closed), so there is no rota."
    )
    await bot.say("pshah", "/rota-set")
    assert "There is no open school account in the register (the one in it is closed)" in bot.last("pshah").body
    await bot.say("eclarke", "/log-comment")
    assert "There is no open school account in the register (the one in it is closed)" in bot.last("eclarke").body
    for who in ("jbennett", "pshah", "eclarke"):
        assert "no school accounts in the register" not in bot.last(who).body


async def test_empty_register_still_says_so(bot: TestBot) -> None:
    await bot.say("jbennett", "/rota")
    assert bot.last("jbennett").body.startswith("There are no school accounts in the register yet")


async def test_a_gap_alert_shows_the_rota_as_it_is_once_the_gap_is_filled(bot: TestBot) -> None:
    await add_account(bot)
    await bot.tick()  # a new account with no rota: seven days with nobody on duty
    alert = next(m for m in reversed(bot.outbox.messages("swhitfield")) if (m.key or "").startswith("rota-gap"))
    assert alert.card.title == "Nobody is monitoring Pennington PTA (@PenningtonPTA) on 7 day(s)" and alert.key
    await bot.answer_all("pshah", "/rota-set", "1", "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid", "submit")
    assert "The gap alert sent to administrators and SLT has been updated to match." in bot.last("pshah").body
    for who in ("swhitfield", "dokafor", "pshah"):
        update = (
            bot.outbox.messages(who)[-1]
            if who != "pshah"
            else next(m for m in reversed(bot.outbox.messages(who)) if m.key == alert.key)
        )
        assert update.key == alert.key and update.replace  # the same card, edited in place on every copy
        assert update.card.title == "Filled: Pennington PTA (@PenningtonPTA) has someone monitoring on every day listed"
        assert "Now covered: Wed 25 Nov 2026, Thu 26 Nov 2026" in update.card.body and not update.card.buttons
    gap_messages = [m for _, m in bot.outbox.sent if (m.key or "").startswith("rota-gap")]
    await bot.tick()
    await bot.tick()
    assert [
        m for _, m in bot.outbox.sent if (m.key or "").startswith("rota-gap")
    ] == gap_messages  # nothing more to say


async def test_a_gap_filled_by_cover_for_one_day_leaves_the_rest_listed(bot: TestBot) -> None:
    await add_account(bot)
    await bot.answer_all("pshah", "/rota-set", "1", "Mon-Fri: Emma Clarke", "submit")
    await bot.tick()
    gap = next(c for c in reversed(bot.outbox.cards("swhitfield")) if c.title.startswith("Nobody is monitoring"))
    assert "Sat 28 Nov 2026, Sun 29 Nov 2026" in gap.body
    await bot.answer_all("pshah", "/rota-set", "2", "Saturday", "skip", "Tom Reid", "submit")
    update = bot.outbox.messages("swhitfield")[-1]
    assert update.replace and update.card.title == "Nobody is monitoring Pennington PTA (@PenningtonPTA) on 1 day(s)"
    assert "on: Sun 29 Nov 2026." in update.card.body and "Now covered: Sat 28 Nov 2026." in update.card.body


async def test_a_rota_change_the_scheduler_finds_updates_the_alert_too(bot: TestBot) -> None:
    await add_account(bot)
    await bot.answer_all("pshah", "/rota-set", "1", "Mon-Fri: Emma Clarke", "submit")
    await bot.tick()
    async with bot.store.transaction() as tx:  # changed behind the workflows' back (as a restore might)
        rota = tx.get("rota", "ACC-1")
        tx.put(
            "rota",
            "ACC-1",
            {
                **{k: v for k, v in rota.items() if k not in ("id", "version")},
                "weekly": dict.fromkeys(("mon", "tue", "wed", "thu", "fri", "sat", "sun"), "treid"),
            },
        )
    await bot.tick()
    update = bot.outbox.messages("dokafor")[-1]
    assert update.replace and update.card.title.startswith("Filled:")


async def test_in_the_terminal_chat_slt_read_the_alert_as_it_now_stands() -> None:
    bot = TestBot()
    out = io.StringIO()
    console = ConsoleChat(bot.core, out)
    await console.start("pshah")
    await add_account(bot)
    await console.settle()
    assert (
        'a message for Sarah Whitfield: "Nobody is monitoring Pennington PTA (@PenningtonPTA) on 7 day(s)"'
        in out.getvalue()
    )
    for line in ("/rota-set", "1", "Mon-Fri: Emma Clarke; Sat-Sun: Tom Reid", "submit", "/as swhitfield"):
        await console.line(line)
    shown = out.getvalue().split("You are now Sarah Whitfield")[1]
    assert "Filled: Pennington PTA (@PenningtonPTA) has someone monitoring on every day listed" in shown
    assert "Nobody is monitoring" not in shown
    await bot.close()


async def test_a_gap_alert_for_an_account_since_closed_says_so(bot: TestBot) -> None:
    await add_account(bot)
    await bot.tick()
    async with bot.store.transaction() as tx:
        acc = tx.get("accounts", "ACC-1")
        tx.put(
            "accounts", "ACC-1", {**{k: v for k, v in acc.items() if k not in ("id", "version")}, "status": "closed"}
        )
    await bot.tick()
    update = bot.outbox.messages("swhitfield")[-1]
    assert update.replace and update.card.title == "Closed: Pennington PTA (@PenningtonPTA)" and not update.card.buttons
    assert bot.store.all("rota_gap_alerts") == []
    await bot.tick()
    assert bot.outbox.messages("swhitfield")[-1] is update
