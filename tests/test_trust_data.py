"""Issue 16, item 11: what the bot says about training, the headteacher, report kinds and the rota is true."""

from __future__ import annotations

import re
import tomllib
from importlib import resources

import pytest

from bot.config import Settings, parse_config
from bot.errors import ConfigError
from tests.harness import TestBot


async def test_training_is_recorded_for_everyone_named_at_once(bot: TestBot) -> None:
    await bot.answer_all("pshah", "/training", "Emma Clarke, Tom Reid", "yesterday", "Social media policy induction")
    summary = bot.last("pshah")
    assert dict(summary.fields)["People"] == "Emma Clarke, Tom Reid"
    await bot.say("pshah", "submit")
    assert bot.last("pshah").body == "Emma Clarke, Tom Reid: Social media policy induction on Tue 24 Nov 2026."
    for pid in ("eclarke", "treid"):
        assert bot.store.get("people", pid)["training"] == [{"date": "2026-11-24", "what": "Social media policy induction", "by": "pshah"}]
        assert bot.last(pid).title == "Your training has been recorded"
    assert len(bot.store.audit(action="training_recorded")) == 2


def _settings(**school: str) -> Settings:
    """The sample school with `school` changed ("" removes the key)."""
    raw = tomllib.loads(resources.files("bot").joinpath("sample_school.toml").read_text(encoding="utf-8"))
    raw["school"].update(school)
    if not school.get("headteacher", "x"):
        raw["school"].pop("headteacher")
    return parse_config(raw, "school.toml")


JOURNALIST = ("/media-enquiry", "Westmorland Gazette", "Sam Hart, 01234 000000", "phone", "Asked about a parent's post on our page", "tomorrow 12:00", "no", "submit")


async def test_a_media_enquiry_alerts_the_configured_headteacher_by_name_as_well_as_slt(bot: TestBot) -> None:
    assert bot.settings.school.headteacher == "swhitfield"  # the sample school names one
    await bot.answer_all("treid", *JOURNALIST)
    to_head = [c for c in bot.outbox.cards("swhitfield") if c.title.startswith("Incident INC-1")]
    assert [c.title for c in to_head] == ["Incident INC-1: Journalist contact (high)", "Incident INC-1: Journalist contact (high) - for you as the headteacher"]
    assert "Sarah Whitfield, you are alerted by name as the headteacher" in to_head[1].body
    assert [c.title for c in bot.outbox.cards("dokafor") if c.title.startswith("Incident INC-1")] == ["Incident INC-1: Journalist contact (high)"]
    thanks = next(c for c in bot.outbox.cards("treid") if c.title.startswith("Thank you"))
    assert thanks.body.startswith("Sarah Whitfield (the headteacher) and the Senior Leadership Team have been told")
    assert "Sarah Whitfield (the headteacher) alerted by name" in [t["what"] for t in bot.store.get("incidents", "INC-1")["timeline"]]


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
    from workflows.report_abuse import KINDS

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
    await bot.answer_all("eclarke", "/report-abuse", "no", "somewhere else", "A parents' Facebook group", "defamatory", "staff", "parent", "nothing", evidence, "skip", "submit")
    inc = bot.store.get("incidents", "INC-1")
    assert inc["answers"]["kind"] == "defamatory"
    assert ["Kind", "Defamatory (untrue claims that damage someone's reputation)"] in inc["details"]
