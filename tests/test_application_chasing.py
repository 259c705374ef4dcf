"""Applications that wait (workflows/application_chasing.py), end to end with the clock: sent to SLT again each
working day after `decide_within_days`, to the headteacher by name after twice that, to the administrators each
working day until an approved account is recorded; the applicant told, /my-applications, restarts."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adapters.platforms import load_config
from bot.messages import Card
from tests.harness import APPLICATION, TestBot, button, person_record, put_person, read_policy, text

STILL = "Still to decide"
HEAD = "For the headteacher"
CREATE = "Still to create"


def moment(iso: str) -> datetime:
    """A wall-clock time in London; in winter (GMT) it is also UTC."""
    return datetime.fromisoformat(iso).replace(tzinfo=UTC)


async def go_to(bot: TestBot, when: datetime) -> None:
    bot.clock.advance(when - bot.clock.now())


async def apply(bot: TestBot, name: str = "Year 6 Trips") -> str:
    await read_policy(bot.core, "eclarke", "treid")
    answers = list(APPLICATION)
    answers[2] = name
    await bot.answer_all("eclarke", *answers, "submit")
    return bot.store.find("applications", applicant="eclarke", account_name=name)[-1]["id"]


def titled(bot: TestBot, who: str, start: str) -> list[Card]:
    return [c for c in bot.outbox.cards(who) if c.title.startswith(start)]


async def days(bot: TestBot, first: str, last: str, hour: str = "09:00") -> dict[str, list[str]]:
    """Tick twice at `hour` each day from `first` to `last`; what each person received that day, by title."""
    seen: dict[str, list[str]] = {}
    d = datetime.fromisoformat(first).date()
    while d <= datetime.fromisoformat(last).date():
        before = len(bot.outbox.sent)
        await go_to(bot, moment(f"{d.isoformat()} {hour}"))
        await bot.tick()
        await bot.tick()
        seen[d.isoformat()] = [f"{to}: {m.card.title}" for to, m in bot.outbox.sent[before:]]
        d += timedelta(days=1)
    return seen


def chased_on(seen: dict[str, list[str]], who: str, start: str) -> list[str]:
    return [d for d, lines in seen.items() if any(line.startswith(f"{who}: {start}") for line in lines)]


async def test_sent_to_slt_again_after_three_working_days_not_counting_the_weekend(bot: TestBot) -> None:
    app_id = await apply(bot)  # Wednesday 25 November, 10:00
    original = bot.last("dokafor")
    seen = await days(bot, "2026-11-25", "2026-12-03")
    # Thursday, Friday and Monday are the three working days; Saturday and Sunday do not count.
    assert chased_on(seen, "dokafor", STILL) == ["2026-12-01", "2026-12-02", "2026-12-03"]
    assert chased_on(seen, "swhitfield", STILL) == ["2026-12-01", "2026-12-02", "2026-12-03"]
    card = titled(bot, "dokafor", STILL)[0]
    assert "waited 3 working days" in card.body and "sent to SLT on Wed 25 Nov 2026" in card.body
    assert [b.label for b in card.buttons] == [b.label for b in original.buttons] == ["Approve", "Reject"]
    assert {m.key for m in bot.outbox.messages("dokafor") if m.card.title.startswith(STILL)} == {f"approval:{app_id}"}
    assert "Tue 1 Dec 2026: Sent to SLT again after 3 working days without a decision" in text(card)
    assert "waited 4 working days" in titled(bot, "dokafor", STILL)[1].body

    app = bot.store.get("applications", app_id)
    assert [h["to"] for h in app["history"]] == ["slt", "slt", "slt"]
    assert len(bot.store.audit(action="application_chased")) == 3
    # The applicant hears of the first reminder only, not every day.
    told = titled(bot, "eclarke", f"Application {app_id}: SLT reminded")
    assert len(told) == 1 and "waited 3 working days" in told[0].body and "each working day" in told[0].body


async def test_nothing_before_the_morning_reminder_time(bot: TestBot) -> None:
    await apply(bot)
    await go_to(bot, moment("2026-12-01 07:59"))
    await bot.tick()
    assert not titled(bot, "dokafor", STILL)
    await go_to(bot, moment("2026-12-01 08:00"))
    await bot.tick()
    assert len(titled(bot, "dokafor", STILL)) == 1


async def test_bank_holidays_are_not_counted_and_nothing_is_chased_on_them() -> None:
    bot = TestBot(start=moment("2026-12-22 10:00"))  # Tuesday 22 December
    await apply(bot)
    seen = await days(bot, "2026-12-22", "2027-01-05")
    # Working days: 23, 24, 29 December (25 and 28 are bank holidays in England, 26-27 the weekend);
    # 1 January is a bank holiday too.
    assert chased_on(seen, "dokafor", STILL) == ["2026-12-30", "2026-12-31", "2027-01-04", "2027-01-05"]
    for holiday in ("2026-12-25", "2026-12-28", "2027-01-01"):
        assert not [line for line in seen[holiday] if "A-1" in line or "Application" in line], holiday
    # Twice three working days: 23, 24, 29, 30, 31 December and 4 January.
    assert chased_on(seen, "swhitfield", HEAD) == ["2027-01-05"]
    await bot.close()


async def test_after_twice_as_long_it_goes_to_the_headteacher_by_name_once(bot: TestBot) -> None:
    app_id = await apply(bot)
    seen = await days(bot, "2026-11-25", "2026-12-07")
    assert chased_on(seen, "swhitfield", HEAD) == ["2026-12-04"]  # six working days: Thu 26 Nov to Thu 3 Dec
    assert chased_on(seen, "dokafor", HEAD) == []
    head = titled(bot, "swhitfield", HEAD)[0]
    assert "waited 6 working days" in head.body and "as headteacher" in head.body
    assert [b.label for b in head.buttons] == ["Approve", "Reject"]
    assert [m.key for m in bot.outbox.messages("swhitfield") if m.card.title.startswith(HEAD)] == [f"approval:{app_id}"]
    after = titled(bot, "dokafor", STILL)[-1]  # Monday 7 December
    assert "The headteacher, Sarah Whitfield, has been sent it too." in after.body
    assert "Sent to the headteacher, Sarah Whitfield, after 6 working days" in text(after)
    told = titled(bot, "eclarke", f"Application {app_id}: SLT reminded")
    assert len(told) == 2 and "headteacher, Sarah Whitfield" in told[1].body
    await bot.say("eclarke", "/my-applications")
    where = bot.last("eclarke").fields[0][1]
    assert "Waiting for SLT to decide, since Wed 25 Nov 2026" in where
    assert "reminded them 5 times, most recently on Mon 7 Dec 2026" in where
    assert "went to the headteacher, Sarah Whitfield, on Fri 4 Dec 2026" in where


async def test_with_no_headteacher_named_slt_are_told_nobody_else_was() -> None:
    sample = load_config(None)
    bot = TestBot(replace(sample, school=replace(sample.school, headteacher="")))
    app_id = await apply(bot)
    await days(bot, "2026-11-25", "2026-12-04")
    assert not titled(bot, "swhitfield", HEAD)
    card = titled(bot, "dokafor", STILL)[-1]
    assert "no headteacher is named in policybot's settings" in card.body and "nobody else has been told" in card.body
    told = titled(bot, "eclarke", f"Application {app_id}: SLT reminded")
    assert len(told) == 2 and "headteacher" not in told[1].body and "reminded SLT again" in told[1].body
    assert [h["to"] for h in bot.store.get("applications", app_id)["history"]][-2:] == ["slt", "nobody"]
    await bot.close()


async def test_deciding_from_an_old_copy_updates_every_copy_and_ends_the_chasing(bot: TestBot) -> None:
    app_id = await apply(bot)
    original = bot.last("dokafor")
    await days(bot, "2026-11-26", "2026-12-04")
    chased = titled(bot, "swhitfield", HEAD)[0]
    await bot.click("dokafor", button(original, "Approve"))  # the card of Wednesday 25 November
    for who in ("swhitfield", "dokafor"):
        updates = [m for m in bot.outbox.messages(who) if m.replace and m.key == f"approval:{app_id}"]
        assert updates and not updates[-1].card.buttons and "Approved by David Okafor" in updates[-1].card.body, who
    await bot.click("swhitfield", button(chased, "Approve"))  # the headteacher's copy, too late
    assert "already approved" in bot.last("swhitfield").body
    assert bot.store.get("applications", app_id)["decided_by"] == "dokafor"
    seen = await days(bot, "2026-12-07", "2026-12-08")
    assert chased_on(seen, "dokafor", STILL) == [] and chased_on(seen, "swhitfield", HEAD) == []


async def test_an_approved_account_goes_to_the_administrators_each_working_day_until_recorded(bot: TestBot) -> None:
    app_id = await apply(bot)
    await bot.click("swhitfield", button(bot.last("swhitfield"), "Approve"))  # Wednesday
    seen = await days(bot, "2026-11-25", "2026-12-01")
    assert chased_on(seen, "pshah", CREATE) == ["2026-11-26", "2026-11-27", "2026-11-30", "2026-12-01"]
    card = titled(bot, "pshah", CREATE)[-1]
    assert "SLT approved application A-1 on Wed 25 Nov 2026" in card.body
    assert [m.key for m in bot.outbox.messages("pshah") if m.card.title.startswith(CREATE)] == [f"create:{app_id}"] * 4
    told = titled(bot, "eclarke", f"Application {app_id}: administrators reminded")
    assert len(told) == 1 and "approved your application" in told[0].body
    await bot.say("eclarke", "/my-applications")
    where = bot.last("eclarke").fields[0][1]
    assert "Approved by Sarah Whitfield on Wed 25 Nov 2026; waiting for an administrator" in where
    assert "reminded them 4 times" in where

    async with bot.store.transaction() as tx:  # the runners are trained, so it can be recorded
        for pid in ("eclarke", "treid"):
            put_person(tx, pid, person_record(read="2025-1", trained="2026-11-20"))
    await bot.click("pshah", button(card, "Record the new account"))  # from Tuesday's reminder
    await bot.answer_all("pshah", "@PenningtonY6", "school password manager, Social Media folder", "submit")
    assert bot.store.get("applications", app_id)["status"] == "created"
    assert any(m.replace and m.key == f"create:{app_id}" for m in bot.outbox.messages("pshah"))
    seen = await days(bot, "2026-12-02", "2026-12-03")
    assert chased_on(seen, "pshah", CREATE) == []
    await bot.say("eclarke", "/my-applications")
    assert "Account created: recorded in the register as ACC-" in bot.last("eclarke").fields[0][1]


async def test_my_applications_says_where_each_one_is(bot: TestBot) -> None:
    waiting = await apply(bot, "Year 6 Trips")
    rejected = await apply(bot, "Choir News")
    await bot.say("eclarke", "/my-applications")
    fields = dict(bot.last("eclarke").fields)
    assert fields[f"{waiting}: Year 6 Trips"].startswith("Waiting for SLT to decide, since Wed 25 Nov 2026.")
    assert "reminded" not in fields[f"{waiting}: Year 6 Trips"]
    await bot.click("dokafor", button(titled(bot, "dokafor", f"New account application {rejected}")[0], "Reject"))
    await bot.say("dokafor", "The choir already shares news on the school website.")
    await days(bot, "2026-12-01", "2026-12-02")
    await bot.say("eclarke", "/my-applications")
    fields = dict(bot.last("eclarke").fields)
    assert "reminded them twice, most recently on Wed 2 Dec 2026" in fields[f"{waiting}: Year 6 Trips"]
    assert fields[f"{rejected}: Choir News"].startswith("Decided: not approved, by David Okafor on Wed 25 Nov 2026.")
    assert "Reason: The choir already shares news" in fields[f"{rejected}: Choir News"]
    assert not [c for c in bot.outbox.cards("dokafor") if rejected in c.title and c.title.startswith(STILL)]


async def test_a_withdrawn_application_is_never_chased(bot: TestBot) -> None:
    app_id = await apply(bot)
    async with bot.store.transaction() as tx:
        tx.put("applications", app_id, {**tx.get("applications", app_id), "status": "withdrawn"})
    seen = await days(bot, "2026-12-01", "2026-12-04")
    assert chased_on(seen, "dokafor", STILL) == [] and chased_on(seen, "pshah", CREATE) == []


async def test_an_applicant_who_has_left_is_not_told_and_slt_hear_why(bot: TestBot) -> None:
    app_id = await apply(bot)
    async with bot.store.transaction() as tx:
        put_person(tx, "eclarke", person_record(read="2025-1", leaving="2026-11-27"))
    before = len(bot.outbox.cards("eclarke"))
    await days(bot, "2026-12-01", "2026-12-04")
    assert len(bot.outbox.cards("eclarke")) == before
    card = titled(bot, "dokafor", STILL)[0]
    assert "Emma Clarke, left the school on Fri 27 Nov 2026" in card.body and "reject it" in card.body
    assert [h["to"] for h in bot.store.get("applications", app_id)["history"]] == [
        "slt",
        "slt",
        "slt",
        "slt",
        "headteacher",
    ]


async def test_ticks_and_restarts_send_each_chase_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    bot = TestBot(path=data)
    app_id = await apply(bot)
    await bot.click("dokafor", button(bot.last("dokafor"), "Approve"))
    second = await apply(bot, "Choir News")
    await go_to(bot, moment("2026-12-01 08:30"))
    await bot.tick()
    await bot.tick()
    assert len(titled(bot, "dokafor", STILL)) == 1 and len(titled(bot, "pshah", CREATE)) == 1
    await bot.close()

    back = TestBot(path=data, start=moment("2026-12-01 09:00"))
    await back.tick()
    await back.tick()
    assert not [m for _to, m in back.outbox.sent if m.card.title.startswith((STILL, CREATE, HEAD))]
    assert [h["to"] for h in back.store.get("applications", second)["history"]] == ["slt"]
    assert [h["to"] for h in back.store.get("applications", app_id)["history"]] == ["admins"]
    await back.close()

    tomorrow = TestBot(path=data, start=moment("2026-12-02 09:00"))
    await tomorrow.tick()
    assert len(titled(tomorrow, "dokafor", STILL)) == 1 and len(titled(tomorrow, "pshah", CREATE)) == 1
    await tomorrow.close()


async def test_the_weekly_digest_lists_applications_waiting_too_long(bot: TestBot) -> None:
    late = await apply(bot, "Year 6 Trips")
    approved = await apply(bot, "Choir News")
    await bot.click("dokafor", button(titled(bot, "dokafor", f"New account application {approved}")[0], "Approve"))
    await go_to(bot, moment("2026-11-30 09:00"))  # Monday: two working days, not yet late for SLT
    await bot.tick()
    digest = dict(titled(bot, "dokafor", "Weekly social media digest")[-1].fields)
    assert digest["Applications waiting"] == (
        f"Approved, not yet recorded by an administrator: {approved} Choir News (approved Wed 25 Nov 2026). "
        "Type /waiting to decide or record them."
    )
    await go_to(bot, moment("2026-12-07 09:00"))
    await bot.tick()
    digest = dict(titled(bot, "dokafor", "Weekly social media digest")[-1].fields)
    assert (
        f"Waiting longer than 3 working days for SLT to decide: {late} Year 6 Trips (7 working days)."
        in (digest["Applications waiting"])
    )
