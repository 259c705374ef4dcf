"""Issue 16, item 11: what the bot says about training, the headteacher, report kinds and the rota is true."""

from __future__ import annotations

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
