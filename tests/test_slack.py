"""Slack end to end over real HTTP: signed requests into policybot's server, a local fake Slack Web API."""

from __future__ import annotations

import copy
import json
import time
from pathlib import Path
from typing import Any

import pytest

from bot.store.tuning import StoreTuning
from tests.disk import Disk
from tests.fakes.slack_api import FakeSlack, sign
from tests.harness import person_record, put_person, read_policy, ready_record
from tests.slack_world import (
    DO,
    EC,
    JB,
    PS,
    SECRET,
    SLT_CHANNEL,
    SW,
    TR,
    Clients,
    Workspace,
    dm,
    has_buttons,
    open_workspace,
    text_of,
)


async def apply(ws: Workspace, user: str = EC) -> None:
    """A complete application for a Facebook account, submitted to SLT."""
    await read_policy(ws.core, "eclarke", "treid")
    await ws.command(user, "/new-account")
    await ws.choose(user, dm(user), "facebook")
    await ws.say(user, "Year 6 Trip")
    await ws.say(user, "To share trip updates with parents")
    await ws.say(user, "Parents and carers of Year 6")
    await ws.say(user, "In the newsletter")
    await ws.pick_people(user, dm(user), [EC, TR])
    await ws.act(user, dm(user), "Private")
    while "Please check your answers" not in text_of(ws.fake.last(dm(user))):
        await ws.act(user, dm(user), "Yes")
    await ws.act(user, dm(user), "Submit")


async def test_requests_without_a_valid_signature_get_401_and_change_nothing(slack: Workspace) -> None:
    assert slack.sender is not None
    seq = slack.core.store.seq
    body = "command=%2Fnew-account&user_id=U0EC&text=&trigger_id=1.1.x"
    stale = sign(SECRET, body, int(time.time()) - 6 * 60)
    wrong = sign("not-the-secret", body)
    for headers in ({}, wrong, stale, {"X-Slack-Request-Timestamp": "soon", "X-Slack-Signature": "v0=00"}):
        resp = await slack.sender.post(body, "application/x-www-form-urlencoded", headers)
        assert resp.status == 401
    await slack.settle()
    assert slack.core.store.seq == seq and slack.fake.calls == []


async def test_new_account_in_slack_from_command_to_decision(slack: Workspace) -> None:
    await apply(slack)
    assert "sent" in text_of(slack.fake.last(dm(EC))).lower()
    card = copy.deepcopy(slack.fake.last(SLT_CHANNEL))  # as SLT's screens show it before anyone decides
    shown = text_of(card)
    assert "Year 6 Trip" in shown and has_buttons(card)

    # Not SLT: refused privately, and the refusal is on the record.
    await slack.act(TR, SLT_CHANNEL, "Approve", message=card)
    refusal = [c for c in slack.fake.ok("chat.postEphemeral") if c.args.get("user") == TR]
    assert refusal and "SLT" in str(refusal[-1].args)
    assert slack.core.store.audit(action="refused", actor="treid")
    assert slack.core.store.all("applications")[0]["status"] == "submitted"

    await slack.act(SW, SLT_CHANNEL, "Approve", message=card)
    decided = slack.fake.last(SLT_CHANNEL)
    assert not has_buttons(decided) and "Sarah Whitfield" in text_of(decided)
    assert [c for c in slack.fake.ok("chat.update") if c.args["channel"] == SLT_CHANNEL]
    assert "approved" in text_of(slack.fake.last(dm(EC))).lower()
    # A second, late decision changes nothing.
    await slack.act(DO, SLT_CHANNEL, "Approve", message=card)
    assert slack.core.store.all("applications")[0]["decided_by"] == "swhitfield"

    # The administrator records the account; it joins the register.
    async with slack.core.store.transaction() as tx:  # both runners have read the policy and been trained
        for pid in ("eclarke", "treid"):
            put_person(tx, pid, ready_record())
    await slack.act(PS, dm(PS), "Record the new account")
    await slack.say(PS, "@PenningtonY6")
    await slack.say(PS, "school password manager, Social Media folder")
    await slack.act(PS, dm(PS), "Add to the register")
    account = slack.core.store.all("accounts")[0]
    assert account["handle"] == "@PenningtonY6" and account["runners"] == ["eclarke", "treid"]
    assert "register" in text_of(slack.fake.last(dm(TR)))


async def test_slack_errors_are_retried_from_the_outbox_and_sent_once(
    slack: Workspace, tmp_path: Path, fake: FakeSlack
) -> None:
    from datetime import timedelta

    fake.fail("chat.postMessage", 429, times=1, retry_after=1)
    fake.fail("chat.postMessage", 500, times=2)
    resp = await slack.command(EC, "/new-account")
    assert resp.status == 200
    assert not fake.posted(dm(EC))  # Slack is down: nothing shown yet, but it is kept
    assert slack.core.delivery.waiting() >= 1
    for _ in range(4):
        slack.clock.advance(timedelta(minutes=1))
        await slack.core.delivery.flush()
    asked = [m for m in fake.posted(dm(EC)) if "Which platform" in text_of(m)]
    assert len(asked) == 1 and slack.core.delivery.waiting() == 0


async def test_a_rate_limited_message_waits_as_long_as_slack_asks(slack: Workspace, fake: FakeSlack) -> None:
    from datetime import timedelta

    fake.fail("chat.postMessage", 429, times=1, retry_after=30)
    await slack.command(EC, "/new-account")
    assert not fake.posted(dm(EC))
    slack.clock.advance(timedelta(seconds=20))
    await slack.core.delivery.flush()
    assert not fake.posted(dm(EC))  # Slack said 30 seconds: not before
    slack.clock.advance(timedelta(seconds=15))
    await slack.core.delivery.flush()
    assert len([m for m in fake.posted(dm(EC)) if "Which platform" in text_of(m)]) == 1


async def test_a_message_owed_survives_a_restart_and_is_sent_once(tmp_path: Path, fake: FakeSlack) -> None:
    from datetime import timedelta

    clients = Clients()
    ws = await open_workspace(tmp_path, fake, clients)
    fake.fail("chat.postMessage", 503, times=1)
    await ws.command(EC, "/new-account")
    assert ws.core.delivery.waiting() >= 1
    assert ws.sender is not None
    await ws.sender.close()
    await clients.close()
    await ws.core.close()  # the server stops with the message still owed

    again = await open_workspace(tmp_path, fake, clients)
    again.clock.advance(timedelta(minutes=5))
    await again.core.delivery.flush()
    assert len([m for m in fake.posted(dm(EC)) if "Which platform" in text_of(m)]) == 1
    await again.core.delivery.flush()
    assert len([m for m in fake.posted(dm(EC)) if "Which platform" in text_of(m)]) == 1
    assert again.sender is not None
    await again.sender.close()
    await clients.close()
    await again.core.close()


async def test_retried_and_duplicate_events_apply_once(slack: Workspace) -> None:
    from tests.fakes.slack_api import dm_event

    assert slack.sender is not None
    await slack.command(EC, "/new-account")
    await slack.choose(EC, dm(EC), "facebook")
    event = dm_event(EC, "Year 6 Trip")
    for retry in (None, 1, 2):
        resp = await slack.sender.event(event, retry=retry)
        assert resp.status == 200
        await slack.settle()
    convo = slack.core.store.get("conversations", "eclarke:new_account")
    assert convo is not None and convo["answers"].get("account_name") == "Year 6 Trip"
    assert "aim" not in convo["answers"]  # the repeats did not answer the next question


async def test_typed_answers_in_the_dm_work(slack: Workspace) -> None:
    await slack.command(EC, "/new-account")
    await slack.say(EC, "facebook")
    assert "What would you like the account to be called?" in text_of(slack.fake.last(dm(EC)))
    await slack.say(EC, "back")
    assert "Which platform" in text_of(slack.fake.last(dm(EC)))


async def test_a_report_reaches_slt_with_only_what_they_need_and_files_are_never_fetched(slack: Workspace) -> None:
    from tests.fakes.slack_api import dm_event

    assert slack.sender is not None
    await slack.command(JB, "/report-abuse")
    await slack.say(JB, "no")  # nobody in immediate danger
    for answer in ("1", "A local community Facebook group", "threatening", "pupil", "unknown", "nothing"):
        await slack.say(JB, answer)
    # A picture is sent: it is never downloaded, and the person is asked to delete it.
    await slack.sender.event(
        dm_event(
            JB, "here it is", files=[{"id": "F0PIC", "name": "x.png", "url_private": "https://files.slack.com/x.png"}]
        )
    )
    await slack.settle()
    assert not [c for c in slack.fake.calls if c.method.startswith("files.")]
    assert "delete" in "\n".join(text_of(m) for m in slack.fake.posted(dm(JB))[-2:]).lower()
    secret_detail = "A parent posted the child's full name and school photo"
    for answer in (secret_detail, "skip", "submit"):
        await slack.say(JB, answer)
    channel = "\n".join(text_of(m) for m in slack.fake.posted(SLT_CHANNEL))
    assert "INC-1" in channel
    assert secret_detail not in channel and "x.png" not in channel and "Jo Bennett" not in channel
    # The details are shown to a member of SLT privately, not in the channel.
    await slack.act(SW, SLT_CHANNEL, "Show details")
    private = "\n".join(text_of(m) for m in slack.fake.posted(dm(SW))) + str(
        [c.args for c in slack.fake.ok("chat.postEphemeral")]
    )
    assert secret_detail in private
    assert secret_detail not in "\n".join(text_of(m) for m in slack.fake.posted(SLT_CHANNEL))


async def test_socket_mode_needs_no_public_url_and_behaves_the_same(tmp_path: Path, fake: FakeSlack) -> None:
    from tests.fakes.slack_api import block_actions, command_form, find_element

    clients = Clients()
    ws = await open_workspace(tmp_path, fake, clients, socket=True)
    try:
        assert ws.sender is None  # no signing secret, no /slack/events: Slack is reached over the WebSocket
        ack = await fake.push("slash_commands", command_form(EC, "/new-account"))
        assert ack["envelope_id"]  # acknowledged at once
        await ws.settle()
        await ws.core.delivery.flush()
        question = fake.last(dm(EC))
        assert "Which platform" in text_of(question)
        block, select = find_element(question, "static_select")
        option = next(o for o in select["options"] if o["value"] == "facebook")
        action = {k: select[k] for k in ("action_id", "type")} | {"selected_option": option}
        await fake.push("interactive", block_actions(EC, dm(EC), question, block, action))
        await ws.settle()
        await ws.core.delivery.flush()
        assert "What would you like the account to be called?" in text_of(fake.last(dm(EC)))
        assert [c for c in fake.ok("apps.connections.open") if c.token.startswith("xapp-")]
    finally:
        await clients.close()
        await ws.core.close()


def test_slack_manifest_lists_every_command_and_the_events_url(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    from adapters.cli import main
    from bot.registry import default_registry
    from tests.slack_world import write_config

    config = write_config(tmp_path, "http://127.0.0.1:9/api/")
    assert main(["slack-manifest", "--config", str(config)]) == 2  # no public address and no Socket Mode
    assert "--url" in capsys.readouterr().err
    assert main(["slack-manifest", "--config", str(config), "--url", "https://policybot.pennington.example"]) == 0
    data = json.loads(capsys.readouterr().out)
    commands = {c["command"]: c for c in data["features"]["slash_commands"]}
    assert {f"/{name}" for name, _s, _r in default_registry().menu()} | {"/policybot"} == set(commands)
    assert {c["url"] for c in commands.values()} == {"https://policybot.pennington.example/slack/events"}
    assert data["settings"]["interactivity"]["request_url"] == "https://policybot.pennington.example/slack/events"
    assert data["settings"]["event_subscriptions"]["bot_events"] == ["app_home_opened", "message.im"]
    assert {"commands", "chat:write", "im:write", "im:history"} <= set(data["oauth_config"]["scopes"]["bot"])

    socket = write_config(tmp_path, "http://127.0.0.1:9/api/", socket=True)
    assert main(["slack-manifest", "--config", str(socket)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["settings"]["socket_mode_enabled"] is True and "request_url" not in data["settings"]["interactivity"]
    assert all("url" not in c for c in data["features"]["slash_commands"])


async def test_policybot_command_reaches_every_command(slack: Workspace) -> None:
    await slack.command(EC, "/policybot", "new-account", channel=dm(EC))
    assert "Which platform" in text_of(slack.fake.last(dm(EC)))
    await slack.command(TR, "/policybot", "", channel=dm(TR))
    assert "here is what I can do" in text_of(slack.fake.last(dm(TR)))


async def test_reject_asks_the_reason_in_a_modal(slack: Workspace) -> None:
    import json as _json

    assert slack.sender is not None
    await apply(slack)
    await slack.act(DO, SLT_CHANNEL, "Reject")
    opened = slack.fake.ok("views.open")
    assert opened, "Reject should open a modal for the reason"
    view = opened[-1].args["view"]
    view = _json.loads(view) if isinstance(view, str) else view
    assert view["callback_id"] == "pb.modal" and "Why is the application not approved?" in _json.dumps(view["blocks"])
    reason = "Please use the existing school page for trip updates."
    submission = {
        "type": "view_submission",
        "team": {"id": "T0PENN", "domain": "pennington"},
        "user": {"id": DO, "username": "dokafor", "team_id": "T0PENN"},
        "api_app_id": "A0POLICY",
        "token": "fake-verification-token",
        "trigger_id": "9.9.faketrigger",
        "view": {
            **view,
            "id": "V0MODAL",
            "hash": "1.abc",
            "state": {"values": {"pb.modal.answer": {"text": {"type": "plain_text_input", "value": reason}}}},
        },
    }
    resp = await slack.sender.interact(submission)
    assert resp.status == 200
    await slack.settle()
    app = slack.core.store.all("applications")[0]
    assert app["status"] == "rejected" and app["reason"] == reason and app["decided_by"] == "dokafor"
    assert reason in text_of(slack.fake.last(dm(EC)))
    assert not has_buttons(slack.fake.last(SLT_CHANNEL))


async def test_app_home_shows_what_is_waiting_and_slt_see_what_to_decide(slack: Workspace) -> None:
    assert slack.sender is not None
    await apply(slack)
    await slack.command(TR, "/new-account")  # a draft left unfinished

    async def home(user: str) -> str:
        event = {
            "type": "event_callback",
            "team_id": "T0PENN",
            "api_app_id": "A0POLICY",
            "event_id": f"EvHome{user}",
            "event": {"type": "app_home_opened", "user": user, "channel": dm(user), "tab": "home"},
        }
        resp = await slack.sender.event(event)  # type: ignore[union-attr]
        assert resp.status == 200
        await slack.settle()
        published = [c for c in slack.fake.ok("views.publish") if c.args.get("user_id") == user]
        assert published, f"no home tab for {user}"
        view = published[-1].args["view"]
        view = json.loads(view) if isinstance(view, str) else view
        assert view["type"] == "home"
        return json.dumps(view)

    staff = await home(TR)
    assert "Unfinished" in staff and "new account" in staff and "Applications to decide" not in staff
    head = await home(SW)
    assert "Applications to decide" in head and "A-1 Year 6 Trip" in head and "Open incidents" in head


def test_the_committed_slack_manifest_is_current(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.platforms import load_config
    from adapters.slack.manifest import manifest
    from bot.registry import default_registry

    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("SLACK_SIGNING_SECRET", "placeholder")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-placeholder")
    expected = manifest(load_config(root / "config.example.toml"), default_registry(), "https://YOUR-HOST")
    committed = json.loads(
        "\n".join(
            line
            for line in (root / "slack-manifest.yml").read_text(encoding="utf-8").splitlines()
            if not line.startswith("#")
        )
    )
    # If this fails after adding a command: regenerate slack-manifest.yml as its first lines say.
    assert committed == expected


@pytest.mark.parametrize("slack", [{"timeout": 0.3}], indirect=True, ids=["timeout=0.3"])
async def test_a_slack_timeout_is_retried_from_the_outbox(slack: Workspace, fake: FakeSlack) -> None:
    from datetime import timedelta

    fake.fail("chat.postMessage", 503, times=2, delay=1.0)  # Slack hangs longer than we wait, twice
    await slack.command(EC, "/new-account")
    assert not fake.posted(dm(EC)) and slack.core.delivery.waiting() >= 1
    for _ in range(4):
        slack.clock.advance(timedelta(minutes=1))
        await slack.core.delivery.flush()
    assert len([m for m in fake.posted(dm(EC)) if "Which platform" in text_of(m)]) == 1
    assert slack.core.delivery.waiting() == 0


async def test_a_request_acknowledged_before_a_crash_is_handled_on_restart(tmp_path: Path, fake: FakeSlack) -> None:
    from bot.messages import Inbound

    clients = Clients()
    ws = await open_workspace(tmp_path, fake, clients)
    await ws.command(EC, "/new-account")
    # Saved and acknowledged, then the process died before handling it.
    await ws.core.accept(Inbound("slack", EC, "text", text="facebook", event_id="EvLost1"), {"channel": dm(EC)})
    assert ws.sender is not None
    await ws.sender.close()
    await clients.close()
    await ws.core.close()
    again = await open_workspace(tmp_path, fake, clients)  # on start, the saved request is handled, once
    await again.settle()
    convo = again.core.store.get("conversations", "eclarke:new_account")
    assert convo is not None and convo["answers"] == {"platform": "facebook"}
    assert again.core.unhandled() == []
    assert again.sender is not None
    await again.sender.close()
    await clients.close()
    await again.core.close()


async def test_a_long_card_is_cut_cleanly_and_the_rest_shown_on_request(slack: Workspace) -> None:
    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    long = " ".join(f"Line {n} of the notes about the trip." for n in range(400))
    async with slack.core.store.transaction() as tx:
        queue(tx, [Outbound(person("eclarke"), Card("Trip notes", long))], slack.clock.now())
    await slack.core.delivery.flush()
    shown = slack.fake.last(dm(EC))
    section = next(b for b in shown["blocks"] if b["type"] == "section")["text"]["text"]
    assert len(section) <= 3000 and section.endswith("(shortened to fit in Slack)") and "Line 399" not in section
    await slack.act(EC, dm(EC), "Show the full text")
    pieces = [c.args["text"] for c in slack.fake.ok("chat.postEphemeral")]
    assert len(pieces) >= 2 and all(len(p) <= 3000 for p in pieces)
    assert "Line 0 of" in pieces[0] and "Line 399 of the notes about the trip." in pieces[-1]
    # Someone else pressing the button sees nothing of it.
    await slack.act(TR, dm(EC), "Show the full text", message=shown)
    refused = slack.fake.ok("chat.postEphemeral")[-1].args
    assert refused["user"] == TR and "meant for someone else" in refused["text"] and "Line" not in refused["text"]


async def test_the_command_is_acknowledged_while_the_store_is_busy(slack: Workspace) -> None:
    import asyncio

    assert slack.sender is not None
    async with slack.core.store.lock:  # something else holds the store for longer than Slack waits
        resp = await asyncio.wait_for(slack.sender.command(EC, "/new-account", channel=dm(EC)), timeout=10)
        assert resp.status == 200
        assert slack.fake.ok("chat.postMessage") == []  # acknowledged before any work was done
    await slack.settle()
    assert "Which platform" in text_of(slack.fake.last(dm(EC)))
    assert slack.core.unhandled() == []  # saved late, then cleared by its turn: not handled again on restart


SLOW_DISK = Disk()  # the store's fsync in the next test: held until the test frees it


@pytest.mark.parametrize(
    "slack",
    [{"accept_wait": 0.2, "tuning": StoreTuning(fsync=SLOW_DISK.fsync)}],
    indirect=True,
    ids=["accept_wait=0.2,slow disk"],
)
async def test_the_command_is_acknowledged_while_the_disk_is_slow(slack: Workspace) -> None:
    import asyncio

    assert slack.sender is not None
    SLOW_DISK.free.clear()  # the disk takes its time: nothing reaches it until freed
    disk_free = SLOW_DISK.free
    try:
        resp = await asyncio.wait_for(slack.sender.command(EC, "/new-account", channel=dm(EC)), timeout=5)
        assert resp.status == 200  # answered in Slack's time although the disk had not finished
        assert slack.fake.ok("chat.postMessage") == []
    finally:
        disk_free.set()
    assert SLOW_DISK.calls  # the store used the slow disk
    await slack.settle()
    assert "Which platform" in text_of(slack.fake.last(dm(EC)))
    assert len([m for m in slack.fake.posted(dm(EC)) if "Which platform" in text_of(m)]) == 1
    assert slack.core.unhandled() == []  # on disk late, then cleared by its turn: not handled again on restart


async def test_approval_cards_by_dm_are_all_updated_after_a_decision(tmp_path: Path, fake: FakeSlack) -> None:
    clients = Clients()
    ws = await open_workspace(tmp_path, fake, clients, slt_channel="")
    try:
        await apply(ws)
        copies = {slt: copy.deepcopy(fake.last(dm(slt))) for slt in (SW, DO)}
        assert all("Year 6 Trip" in text_of(m) and has_buttons(m) for m in copies.values())
        await ws.act(DO, dm(DO), "Approve")
        for slt, before in copies.items():
            now = next(m for m in fake.posted(dm(slt)) if m["ts"] == before["ts"])
            assert "David Okafor" in text_of(now) and not has_buttons(now)
    finally:
        if ws.sender:
            await ws.sender.close()
        await clients.close()
        await ws.core.close()


async def test_a_command_whose_text_says_payload_is_understood(slack: Workspace, fake: FakeSlack) -> None:
    # slack-bolt reads any form body containing the word "payload" as a button click's payload.
    await slack.command(EC, "/policybot", text="new-account payload")
    assert [m for m in fake.posted(dm(EC)) if "Which platform" in text_of(m)]


async def test_someone_not_on_the_staff_list_is_told_their_member_id_and_nothing_is_kept(
    slack: Workspace, fake: FakeSlack
) -> None:
    await slack.command("U0STRANGER", "/new-account")
    told = [c.args for c in fake.ok("chat.postEphemeral") if c.args.get("user") == "U0STRANGER"]
    assert told and "don't know you yet" in told[-1]["text"] and "U0STRANGER" in told[-1]["text"]
    assert slack.core.store.count("inbox") == 0  # answered, so not handled again at the next start


async def test_a_bug_behind_a_slash_command_is_answered_kindly_with_a_reference_in_the_log(
    slack: Workspace, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import re

    assert slack.sender is not None

    async def broken(*_args: Any, **_kw: Any) -> str:
        raise RuntimeError("a bug in saving the request")

    slack.core.accept = broken  # type: ignore[method-assign]
    caplog.set_level(logging.WARNING)
    from urllib.parse import urlencode

    from tests.fakes.slack_api import command_form

    body = urlencode(command_form(EC, "/new-account"))
    async with slack.sender.session.post(
        slack.sender.url,
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)},
    ) as resp:
        answer = await resp.text()
        status = resp.status
    assert status == 200  # Slack shows a 200 answer's words to the person who typed the command
    found = re.search(r"reference ([0-9A-F]{8})", answer)
    assert found and "Traceback" not in answer and "RuntimeError" not in answer and "try again" in answer
    logged = [r for r in caplog.records if found.group(1) in r.getMessage()]
    assert logged and logged[0].levelno == logging.ERROR and logged[0].exc_info is not None


async def test_a_bug_behind_a_click_is_told_to_the_person_privately(
    slack: Workspace, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import re

    await slack.command(EC, "/new-account")

    async def broken(*_args: Any, **_kw: Any) -> str:
        raise RuntimeError("a bug in saving the request")

    slack.core.accept = broken  # type: ignore[method-assign]
    caplog.set_level(logging.WARNING)
    await slack.choose(EC, dm(EC), "facebook")
    told = [c.args["text"] for c in fake.ok("chat.postEphemeral") if c.args.get("user") == EC]
    assert told and re.search(r"reference [0-9A-F]{8}", told[-1]) and "Traceback" not in told[-1]
    ref = re.search(r"reference ([0-9A-F]{8})", told[-1]).group(1)  # type: ignore[union-attr]
    assert [r for r in caplog.records if ref in r.getMessage() and r.exc_info]


def broken_clock() -> float:
    raise RuntimeError("a bug in checking the signature's age")


@pytest.mark.parametrize("slack", [{"wall_time": broken_clock}], indirect=True, ids=["broken_clock"])
async def test_a_bug_in_the_route_itself_is_a_kind_answer_with_a_reference(
    slack: Workspace, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import re

    assert slack.sender is not None
    caplog.set_level(logging.WARNING)
    body = "command=%2Fnew-account&user_id=U0EC"
    async with slack.sender.session.post(
        slack.sender.url,
        data=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(SECRET, body)},
    ) as resp:
        answer, status = await resp.text(), resp.status
    found = re.search(r"reference ([0-9A-F]{8})", answer)
    assert status == 500 and found and "Traceback" not in answer and "RuntimeError" not in answer
    assert [r for r in caplog.records if found.group(1) in r.getMessage() and r.exc_info]


async def leave(ws: Workspace, pid: str, day: str = "2026-11-24") -> None:
    """Record that someone left the school on `day` (the day before the workspace's today)."""
    async with ws.core.store.transaction() as tx:
        put_person(tx, pid, person_record(leaving=day))


async def test_approve_clicked_by_someone_not_on_the_staff_list_changes_nothing_and_is_audited(
    slack: Workspace, fake: FakeSlack
) -> None:
    await apply(slack)
    await slack.act("U0STRANGER", SLT_CHANNEL, "Approve")
    assert slack.core.store.all("applications")[0]["status"] == "submitted"
    told = [c.args["text"] for c in fake.ok("chat.postEphemeral") if c.args.get("user") == "U0STRANGER"]
    assert told and "don't know you yet" in told[-1] and "U0STRANGER" in told[-1]
    refused = slack.core.store.audit(action="refused", actor="slack:U0STRANGER")
    assert (
        len(refused) == 1
        and refused[0]["record"] == "applications/A-1"
        and "new_account.approve" in refused[0]["detail"]
    )


async def slt_long_card(ws: Workspace, body: str) -> dict[str, Any]:
    """A card to SLT too long for one Slack message, as the SLT channel shows it."""
    from bot.engine import queue
    from bot.messages import Card, Outbound, role

    async with ws.core.store.transaction() as tx:
        queue(tx, [Outbound(role("slt"), Card("Incident INC-9: the full notes", body))], ws.clock.now())
    await ws.core.delivery.flush()
    return copy.deepcopy(ws.fake.last(SLT_CHANNEL))


async def test_an_slt_member_who_has_left_cannot_read_the_full_text_of_an_slt_card(
    slack: Workspace, fake: FakeSlack
) -> None:
    secret = "Notes about the child involved"
    card = await slt_long_card(slack, " ".join(f"{secret}, line {n}." for n in range(400)))
    await leave(slack, "dokafor")
    await slack.act(DO, SLT_CHANNEL, "Show the full text", message=card)
    shown = [c.args["text"] for c in fake.ok("chat.postEphemeral") if c.args.get("user") == DO]
    assert shown and "left the school" in shown[-1] and all("line 399" not in t for t in shown)
    refused = slack.core.store.audit(action="refused", actor="dokafor")
    assert len(refused) == 1 and "full text" in refused[0]["detail"]
    # A member of SLT who is still here reads it all.
    await slack.act(SW, SLT_CHANNEL, "Show the full text", message=card)
    assert any("line 399." in c.args["text"] for c in fake.ok("chat.postEphemeral") if c.args.get("user") == SW)
    # Someone not on the staff list is refused too, and that is audited.
    await slack.act("U0STRANGER", SLT_CHANNEL, "Show the full text", message=card)
    assert all(
        "line" not in c.args["text"] for c in fake.ok("chat.postEphemeral") if c.args.get("user") == "U0STRANGER"
    )
    assert slack.core.store.audit(action="refused", actor="slack:U0STRANGER")


async def test_the_full_text_is_escaped_once(slack: Workspace, fake: FakeSlack) -> None:
    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    long = " ".join(f"Line {n}: Tom & Jerry <3 the trip." for n in range(300))
    async with slack.core.store.transaction() as tx:
        queue(tx, [Outbound(person("eclarke"), Card("Trip notes", long))], slack.clock.now())
    await slack.core.delivery.flush()
    await slack.act(EC, dm(EC), "Show the full text")
    pieces = [c.args["text"] for c in fake.ok("chat.postEphemeral") if c.args.get("user") == EC]
    # Slack shows "&amp;" as "&" and "&lt;" as "<": escaped twice, a teacher would read "&amp;lt;3".
    assert (
        "Tom &amp; Jerry &lt;3" in pieces[0]
        and "&amp;amp;" not in "".join(pieces)
        and "&amp;lt;" not in "".join(pieces)
    )


async def test_the_home_tab_of_someone_who_has_left_shows_nothing_to_decide_and_is_audited(
    slack: Workspace, fake: FakeSlack
) -> None:
    assert slack.sender is not None
    await apply(slack)
    await leave(slack, "dokafor")
    event = {
        "type": "event_callback",
        "team_id": "T0PENN",
        "api_app_id": "A0POLICY",
        "event_id": "EvHomeDO",
        "event": {"type": "app_home_opened", "user": DO, "channel": dm(DO), "tab": "home"},
    }
    resp = await slack.sender.event(event)
    assert resp.status == 200
    await slack.settle()
    published = [c for c in fake.ok("views.publish") if c.args.get("user_id") == DO]
    assert published
    view = json.dumps(published[-1].args["view"])
    assert (
        "left the school" in view
        and "Applications to decide" not in view
        and "Open incidents" not in view
        and "Year 6 Trip" not in view
    )
    assert len(slack.core.store.audit(action="refused", actor="dokafor")) == 1


async def test_a_persons_messages_arrive_in_the_order_they_were_written_when_one_fails(
    slack: Workspace, fake: FakeSlack
) -> None:
    from datetime import timedelta

    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    fake.fail("chat.postMessage", 500, times=1)  # Slack fails the first message once
    async with slack.core.store.transaction() as tx:
        queue(
            tx,
            [
                Outbound(person(pid), Card(f"Note {n}", f"Note {n} for {pid}"))
                for n, pid in enumerate(["eclarke", "eclarke", "treid", "eclarke"])
            ],
            slack.clock.now(),
        )
    await slack.core.delivery.flush()
    assert [text_of(m).split(":")[0] for m in fake.posted(dm(EC))] == []  # held back behind note 0
    assert [text_of(m).split(":")[0] for m in fake.posted(dm(TR))] == ["Note 2"]  # someone else's are not held
    for _ in range(3):
        slack.clock.advance(timedelta(minutes=1))
        await slack.core.delivery.flush()
    assert [text_of(m).split(":")[0] for m in fake.posted(dm(EC))] == ["Note 0", "Note 1", "Note 3"]
    assert slack.core.delivery.waiting() == 0


async def test_a_message_given_up_holds_back_nothing(slack: Workspace, fake: FakeSlack) -> None:
    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    fake.fail("chat.postMessage", 404, times=1, html=True)  # refused for good: given up and recorded
    async with slack.core.store.transaction() as tx:
        queue(tx, [Outbound(person("eclarke"), Card(f"Note {n}", "x")) for n in range(3)], slack.clock.now())
    await slack.core.delivery.flush()
    assert [text_of(m).split(":")[0] for m in fake.posted(dm(EC))] == ["Note 1", "Note 2"]
    assert slack.core.store.count("undelivered") == 1 and slack.core.delivery.waiting() == 0


async def test_after_a_429_nothing_goes_to_that_method_until_retry_after_has_passed(
    tmp_path: Path, fake: FakeSlack
) -> None:
    import asyncio

    from bot.clock import Clock
    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    clients = Clients()
    ws = await open_workspace(tmp_path, fake, clients, clock=Clock())  # real time: Retry-After is in real seconds
    try:
        fake.fail("chat.postMessage", 429, times=1, retry_after=1)
        people = ("eclarke", "treid", "jbennett", "pshah")
        async with ws.core.store.transaction() as tx:
            queue(tx, [Outbound(person(pid), Card("A note", f"For {pid}")) for pid in people], ws.clock.now())
        for _ in range(50):  # passes of the delivery loop, until everything is sent (at most 5 seconds)
            await ws.core.delivery.flush()
            if ws.core.delivery.waiting() == 0:
                break
            await asyncio.sleep(0.1)
        posts = [c for c in fake.calls if c.method == "chat.postMessage"]
        limited, later = posts[0], posts[1:]
        assert limited.status == 429
        # Nothing more reached chat.postMessage until Retry-After had passed (times as the fake Slack saw them)...
        assert later and all(c.at >= limited.at + 1.0 for c in later), [round(c.at - limited.at, 3) for c in later]
        # ...while other methods went on (Slack limits each method on its own).
        assert [c for c in fake.calls if c.method == "conversations.open" and limited.at < c.at < limited.at + 1.0]
        assert sorted(c.args["channel"] for c in later if c.status == 200) == sorted(
            f"D{fake_id[1:]}" for fake_id in ("U0EC", "U0TR", "U0JB", "U0PS")
        )
        assert ws.core.delivery.waiting() == 0
    finally:
        if ws.sender:
            await ws.sender.close()
        await clients.close()
        await ws.core.close()


async def test_a_message_still_failing_after_a_day_is_given_up_and_holds_back_nothing_more(
    slack: Workspace, fake: FakeSlack
) -> None:
    from datetime import timedelta

    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    async def write(title: str) -> None:
        async with slack.core.store.transaction() as tx:
            queue(tx, [Outbound(person("eclarke"), Card(title, "x"))], slack.clock.now())

    fake.fail("chat.postMessage", 500, times=100_000)  # Slack fails every post, for more than a day
    await write("Note 0")
    for _ in range(23 * 6):  # the delivery loop's passes, 10 minutes apart, for 23 hours
        slack.clock.advance(timedelta(minutes=10))
        await slack.core.delivery.flush()
    await write("Note 1")  # held back behind note 0
    for _ in range(2 * 6):
        slack.clock.advance(timedelta(minutes=10))
        await slack.core.delivery.flush()
    assert [u["title"] for u in slack.core.store.all("undelivered")] == ["Note 0"]  # given up, and recorded
    fake.failures.clear()  # Slack is back
    slack.clock.advance(timedelta(minutes=10))
    await slack.core.delivery.flush()
    assert [text_of(m).split(":")[0] for m in fake.posted(dm(EC))] == ["Note 1"]
    assert slack.core.delivery.waiting() == 0


async def test_cards_for_slt_no_longer_reach_a_member_who_has_left(tmp_path: Path, fake: FakeSlack) -> None:
    clients = Clients()
    ws = await open_workspace(tmp_path, fake, clients, slt_channel="")  # SLT cards go to each member's DM
    try:
        await leave(ws, "dokafor")
        await apply(ws)
        assert "Year 6 Trip" in text_of(fake.last(dm(SW)))
        assert not [m for m in fake.posted(dm(DO)) if "Year 6 Trip" in text_of(m)]
    finally:
        if ws.sender:
            await ws.sender.close()
        await clients.close()
        await ws.core.close()


async def test_a_private_note_waits_out_a_short_rate_limit_instead_of_being_lost(
    slack: Workspace, fake: FakeSlack
) -> None:
    fake.fail("chat.postEphemeral", 429, times=1, retry_after=1)
    await slack.command("U0STRANGER", "/new-account")  # someone not on the staff list, in a channel
    told = [c for c in fake.calls if c.method == "chat.postEphemeral" and c.args.get("user") == "U0STRANGER"]
    assert [c.status for c in told] == [429, 200] and told[1].at >= told[0].at + 1.0
    assert "don't know you yet" in told[1].args["text"]


async def test_a_bug_behind_show_the_full_text_is_told_to_the_person_with_a_reference(
    slack: Workspace, fake: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import re

    from bot.engine import queue
    from bot.messages import Card, Outbound, person

    async with slack.core.store.transaction() as tx:
        queue(tx, [Outbound(person("eclarke"), Card("Trip notes", "word " * 2000))], slack.clock.now())
    await slack.core.delivery.flush()

    async def broken(*_args: Any, **_kw: Any) -> None:
        raise RuntimeError("a bug in the access check")

    slack.core.admit = broken  # type: ignore[method-assign]
    caplog.set_level(logging.WARNING)
    await slack.act(EC, dm(EC), "Show the full text")
    told = [c.args["text"] for c in fake.ok("chat.postEphemeral") if c.args.get("user") == EC]
    found = re.search(r"reference ([0-9A-F]{8})", told[-1]) if told else None
    assert found and "RuntimeError" not in told[-1]
    assert [r for r in caplog.records if found.group(1) in r.getMessage() and r.exc_info]


async def test_waiting_brings_back_the_button_an_administrator_was_refused(slack: Workspace) -> None:
    """Issue 16 item 8: "Record the new account" is refused until the runners are trained;
    afterwards /waiting shows it again with its button, in Slack too."""
    await apply(slack)
    await slack.act(SW, SLT_CHANNEL, "Approve")
    await slack.act(PS, dm(PS), "Record the new account")
    assert "Not yet: training or policy reading needed" in text_of(slack.fake.last(dm(PS)))
    async with slack.core.store.transaction() as tx:
        for pid in ("eclarke", "treid"):
            put_person(tx, pid, ready_record())
    await slack.command(PS, "/waiting")
    shown = [text_of(m) for m in slack.fake.posted(dm(PS))]
    assert any("What is waiting for you" in t and "Approved accounts to record" in t for t in shown)
    record = next(
        m for m in reversed(slack.fake.posted(dm(PS))) if "Please create an account: Year 6 Trip" in text_of(m)
    )
    assert has_buttons(record)
    await slack.act(PS, dm(PS), "Record the new account", message=record)
    await slack.say(PS, "@PenningtonY6")
    await slack.say(PS, "school password manager, Social Media folder")
    await slack.act(PS, dm(PS), "Add to the register")
    assert [a["handle"] for a in slack.core.store.all("accounts")] == ["@PenningtonY6"]
    # Both copies of the card (the first, and the one /waiting sent) now say it is done, with no button left.
    assert not [
        text_of(m) for m in slack.fake.posted(dm(PS)) if has_buttons(m) and "Please create an account" in text_of(m)
    ]
    assert len([m for m in slack.fake.posted(dm(PS)) if "Account created: Year 6 Trip" in text_of(m)]) == 2


async def test_unreachable_in_slack_lists_staff_slack_cannot_reach_and_refuses_staff(slack: Workspace) -> None:
    """/unreachable is an ordinary command in Slack too;
    Slack tells the core whom it cannot reach (staff with no slack_id)."""
    from dataclasses import replace

    from adapters.slack.channel import TABLES, SlackChannel
    from bot.people import Directory

    await slack.command(SW, "/unreachable")
    assert "Everyone is reachable" in text_of(
        slack.fake.last(dm(SW))
    )  # every member of staff has a slack_id; the volunteer needs none
    await slack.command(EC, "/unreachable")
    refusal = [c.args["text"] for c in slack.fake.ok("chat.postEphemeral") if c.args.get("user") == EC]
    assert refusal and "Only the Senior Leadership Team or an administrator" in refusal[-1]
    assert slack.core.store.audit(action="refused", actor="eclarke")

    # The same school with Jo Bennett's slack_id left out, as Slack's channel would see it on start.
    people = Directory([replace(p, identities={}) if p.id == "jbennett" else p for p in slack.core.people.people])
    await SlackChannel(
        slack.front.client, slack.front.settings, slack.core.records("slack", TABLES), people
    ).publish_reachability()
    await slack.command(SW, "/unreachable")
    shown = text_of(slack.fake.last(dm(SW)))
    assert "Jo Bennett" in shown and "Slack: no slack_id in the configuration" in shown and "Copy member ID" in shown
    assert "Gary Lowe" not in shown and "Emma Clarke" not in shown


async def test_a_runner_whose_training_has_lapsed_is_shown_so_on_slts_card_in_slack(slack: Workspace) -> None:
    """Issue 19 §3: training 25 months old counts as lapsed; SLT read it on the approval card, and
    the administrator is refused "Record the new account" with the lapse named."""
    async with slack.core.store.transaction() as tx:
        put_person(tx, "eclarke", ready_record())
        put_person(tx, "treid", person_record(trained="2024-10-20"))  # 25 months before 25 Nov 2026
    await apply(slack)
    card = text_of(slack.fake.last(SLT_CHANNEL))
    assert "Tom Reid - read the policy on Wed 25 Nov 2026; training lapsed on Tue 20 Oct 2026" in card
    assert "Emma Clarke - read the policy on Fri 20 Nov 2026; trained on Fri 20 Nov 2026" in card
    await slack.act(SW, SLT_CHANNEL, "Approve")
    await slack.act(PS, dm(PS), "Record the new account")
    refused = text_of(slack.fake.last(dm(PS)))
    assert "Not yet: training or policy reading needed" in refused
    assert "Tom Reid (training lapsed on Tue 20 Oct 2026)" in refused
    assert slack.core.store.all("accounts") == []
