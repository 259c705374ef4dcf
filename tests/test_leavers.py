"""Leavers: accounts transferred (the new runner accepts) or closed, rota days handed over, daily reminders."""

from __future__ import annotations

from datetime import timedelta

from tests.harness import TestBot, button


async def seed(bot: TestBot, rota: bool = True) -> None:
    """Two accounts Emma Clarke runs: one left with a single runner when she goes, one keeping two."""
    async with bot.store.transaction() as tx:
        tx.put(
            "accounts",
            "ACC-1",
            {
                "name": "Year 6 Trips",
                "platform_label": "Facebook",
                "handle": "@PenningtonY6",
                "runners": ["eclarke", "treid"],
                "status": "active",
            },
        )
        tx.put(
            "accounts",
            "ACC-2",
            {
                "name": "School Choir",
                "platform_label": "Instagram",
                "handle": "@choir",
                "runners": ["eclarke", "treid", "jbennett"],
                "status": "active",
            },
        )
        if rota:
            weekly = {
                "mon": "eclarke",
                "tue": "treid",
                "wed": "eclarke",
                "thu": "treid",
                "fri": "treid",
                "sat": None,
                "sun": None,
            }
            tx.put(
                "rota",
                "ACC-1",
                {"account": "ACC-1", "weekly": weekly, "overrides": {"2026-11-20": "eclarke", "2026-12-05": "eclarke"}},
            )
            tx.put("rota", "ACC-2", {"account": "ACC-2", "weekly": {**weekly, "tue": "jbennett"}, "overrides": {}})


async def record_leaver(bot: TestBot, by: str = "swhitfield") -> None:
    await bot.answer_all(by, "/leaver", "Emma Clarke", "18/12/2026", "submit")


async def test_a_leaver_with_a_sole_runner_account_cannot_finish_until_it_is_transferred(bot: TestBot) -> None:
    await seed(bot)
    await record_leaver(bot)
    summary = bot.last("swhitfield")
    assert "Emma Clarke is recorded as leaving on Fri 18 Dec 2026" in summary.body
    assert "Taken off (two or more runners remain): School Choir (@choir)" in summary.body
    assert bot.store.get("people", "eclarke")["leaving"]["status"] == "open"

    choir = bot.store.get("accounts", "ACC-2")
    assert choir["runners"] == ["treid", "jbennett"] and choir["status"] == "active"
    trips = bot.store.get("accounts", "ACC-1")
    assert trips["status"] == "transferring" and trips["runners"] == ["eclarke", "treid"]

    # The leaver hears that confidentiality continues.
    told = bot.last("eclarke")
    assert "confidentiality must be maintained on social media even after you leave" in told.body

    # The administrators are led through it; rota days on the choir account need cover.
    admin = bot.outbox.cards("pshah")
    handover = next(c for c in admin if c.title == "Account to transfer or close: Year 6 Trips")
    assert "would be left with 1 runner(s) (Tom Reid)" in handover.body
    cover = next(c for c in admin if c.title == "Rota days need cover")
    assert "School Choir (@choir): Mondays, Wednesdays" in cover.body and "/rota-set" in cover.body
    choir_rota = bot.store.get("rota", "ACC-2")
    assert choir_rota["weekly"]["mon"] is None and choir_rota["weekly"]["tue"] == "jbennett"

    # Finishing is refused while Year 6 Trips waits.
    await bot.click("swhitfield", button(summary, "Finish this leaver"))
    refused = bot.last("swhitfield")
    assert refused.title == "Not finished yet" and "Year 6 Trips (@PenningtonY6)" in refused.body
    assert bot.store.get("people", "eclarke")["leaving"]["status"] == "open"
    assert bot.store.audit(action="leaver_finish_refused")

    # Transfer: the new runner is asked and must accept; declining changes nothing.
    await bot.click("pshah", button(handover, "Transfer"))
    await bot.say("pshah", "Emma Clarke")
    assert "is leaving, so can't take the account on" in bot.last("pshah").body
    await bot.say("pshah", "Gary Lowe")
    assert "volunteer or parent can help but not replace" in bot.last("pshah").body
    await bot.say("pshah", "Jo Bennett")
    offer = bot.last("jbennett")
    assert offer.title == "Will you help run Year 6 Trips?"
    await bot.click("jbennett", button(offer, "I can't take this on"))
    assert bot.store.get("accounts", "ACC-1")["runners"] == ["eclarke", "treid"]
    assert "can't take Year 6 Trips on" in bot.last("pshah").body
    await bot.click("jbennett", button(offer, "I accept"))  # the old offer no longer stands
    assert "no longer open" in bot.last("jbennett").body

    await bot.click("pshah", button(bot.last("pshah"), "Transfer"))
    await bot.say("pshah", "Jo Bennett")
    await bot.click("treid", button(bot.last("jbennett"), "I accept"))  # only the person asked can accept
    assert "no longer open" in bot.last("treid").body
    await bot.click("jbennett", button(bot.last("jbennett"), "I accept"))
    trips = bot.store.get("accounts", "ACC-1")
    assert trips["runners"] == ["treid", "jbennett"] and trips["status"] == "active" and "handover" not in trips
    assert trips["handovers"][0]["to"] == "jbennett"
    # Emma's rota days on that account go to Jo, including future one-off days; past days stay as they were.
    rota = bot.store.get("rota", "ACC-1")
    assert rota["weekly"]["mon"] == rota["weekly"]["wed"] == "jbennett" and rota["weekly"]["tue"] == "treid"
    assert rota["overrides"] == {"2026-11-20": "eclarke", "2026-12-05": "jbennett"}
    assert "Mondays, Wednesdays, Sat 5 Dec 2026" in bot.last("jbennett").body

    settled = bot.last("pshah")
    assert settled.title == "All of Emma Clarke's accounts are settled"
    await bot.click("pshah", button(settled, "Finish this leaver"))
    assert bot.store.get("people", "eclarke")["leaving"]["status"] == "finished"
    assert [e["action"] for e in bot.store.audit(record="people/eclarke")] == [
        "leaver_recorded",
        "leaver_finish_refused",
        "leaver_finished",
    ]


async def test_closing_the_account_settles_it_once_confirmed_on_the_platform(bot: TestBot) -> None:
    await seed(bot, rota=False)  # no monitoring rota: nothing to hand over, and no trouble
    await record_leaver(bot, by="pshah")
    assert "rota" not in bot.last("pshah").body.lower()
    handover = next(c for c in bot.outbox.cards("pshah") if c.title.startswith("Account to transfer or close"))
    await bot.click("pshah", button(handover, "It is closed on the platform"))
    await bot.say("pshah", "no")
    assert "close (or delete) the account on the platform itself first" in bot.last("pshah").body
    assert bot.store.get("accounts", "ACC-1")["status"] == "transferring"
    await bot.say("pshah", "yes")
    trips = bot.store.get("accounts", "ACC-1")
    assert trips["status"] == "closed" and trips["closed_by"] == "pshah"
    assert "has been closed" in bot.last("treid").title
    await bot.click("pshah", button(handover, "Transfer"))  # a late click on the old card
    assert "already been closed" in bot.last("pshah").body
    await bot.say("dokafor", "/leavers")
    assert "Nothing waiting; ready to finish" in bot.last("dokafor").fields[0][1]


async def test_administrators_are_reminded_daily_until_settled(bot: TestBot) -> None:
    def handovers(bot: TestBot) -> list:  # the leaver's cards, not other reminders (such as rota gaps)
        return [c for c in bot.outbox.cards("pshah") if c.title.startswith("Account to transfer")]

    await seed(bot)
    await record_leaver(bot)
    before = len(handovers(bot))
    await bot.tick()  # they were told today already
    assert len(handovers(bot)) == before

    bot.clock.advance(timedelta(hours=22))  # Thursday 08:00
    await bot.tick()
    reminder = handovers(bot)[-1]
    assert reminder.title == "Account to transfer or close: Year 6 Trips" and "A daily reminder" in reminder.body
    await bot.tick()
    assert len(handovers(bot)) == before + 1

    bot.clock.advance(timedelta(days=1))
    await bot.tick()
    assert len(handovers(bot)) == before + 2
    await bot.click("pshah", button(reminder, "It is closed"))
    await bot.say("pshah", "yes")
    after = len(handovers(bot))
    bot.clock.advance(timedelta(days=1))
    await bot.tick()
    assert len(handovers(bot)) == after


async def test_only_slt_or_administrators_record_leavers(bot: TestBot) -> None:
    await seed(bot)
    await bot.say("treid", "/leaver")
    assert "Only the Senior Leadership Team or an administrator" in bot.last("treid").body
    assert bot.store.get("people", "eclarke") is None
    await bot.say("treid", "/leavers")
    assert "Only the Senior Leadership Team or an administrator" in bot.last("treid").body
    await record_leaver(bot)
    await bot.click("treid", button(bot.last("swhitfield"), "Finish this leaver"))
    assert "Only the Senior Leadership Team or an administrator" in bot.last("treid").body
    handover = next(c for c in bot.outbox.cards("pshah") if c.title.startswith("Account to transfer or close"))
    await bot.click("swhitfield", button(handover, "Transfer"))  # administrators transfer accounts
    assert "Only an administrator can transfer accounts" in bot.last("swhitfield").body
    assert bot.store.get("accounts", "ACC-1")["status"] == "transferring"
