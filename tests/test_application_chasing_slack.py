"""A chased application in Slack, over real HTTP against the fake Web API: the copy sent again to the SLT
channel has working buttons, and Approve pressed on it updates every copy, the first one included."""

from __future__ import annotations

from datetime import UTC, datetime

from tests.fakes.slack_api import FakeSlack
from tests.slack_world import EC, SLT_CHANNEL, SW, Workspace, dm, has_buttons, text_of
from tests.test_slack import apply


async def test_approve_pressed_on_the_chased_copy_updates_every_copy(slack: Workspace, fake: FakeSlack) -> None:
    await apply(slack)  # Wednesday 25 November
    first = fake.last(SLT_CHANNEL)
    assert has_buttons(first)
    slack.clock.advance(datetime(2026, 12, 1, 8, 30, tzinfo=UTC) - slack.clock.now())  # Tuesday: 3 working days
    await slack.core.tick()
    await slack.core.flush()
    copies = fake.posted(SLT_CHANNEL)
    assert len(copies) == 2
    chased = copies[-1]
    assert "Still to decide" in text_of(chased) and "waited 3 working days" in text_of(chased)
    assert has_buttons(chased)
    told = [text_of(m) for m in fake.posted(dm(EC))]  # among the morning's other messages (the disclaimer question)
    assert any("reminded them today" in t for t in told)

    await slack.act(SW, SLT_CHANNEL, "Approve", message=chased)
    assert slack.core.store.all("applications")[0]["status"] == "approved"
    updated = {c.args["ts"] for c in fake.ok("chat.update") if c.args["channel"] == SLT_CHANNEL}
    assert updated == {first["ts"], chased["ts"]}
    for message in fake.posted(SLT_CHANNEL):
        assert not has_buttons(message) and "Approved by Sarah Whitfield" in text_of(message)
    await slack.core.tick()  # the same morning again: nothing more is chased
    await slack.core.flush()
    assert len(fake.posted(SLT_CHANNEL)) == 2
