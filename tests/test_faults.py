"""Faults against the real server process: SIGKILL in the middle of a burst, then a restart."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bot.store import JOURNAL, Store, StoreTuning
from tests.disk import Disk
from tests.fakes.bf_connector import FakeConnector
from tests.harness import put_disclaimer
from tests.serve_process import ServeProcess
from tests.teams_client import personal, start_teams

STAFF = 24
TENANT = "9d1e2f3a-0000-4000-8000-00000000fa17"  # made up
ASKS_NAME = "What would you like the account to be called?"


async def first_answered(tasks: list[asyncio.Task[int]], limit: float = 10.0) -> None:
    """Wait until one request of a burst has been answered (at most `limit` seconds), so a kill
    lands in the middle of the burst however busy the machine is, not before its first answer."""
    deadline = asyncio.get_running_loop().time() + limit
    while not any(t.done() and t.result() == 200 for t in tasks) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.01)


def teams_id(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def write_config(folder: Path) -> Path:
    lines = [
        "[school]",
        'name = "Fault Test Primary"',
        f'policy_agreed = "{date.today().isoformat()}"',  # not due for review while the test runs
        "[storage]",
        f'path = "{folder / "data"}"',
        "[teams]",
        'app_id = ""',
    ]
    for i in range(STAFF):
        roles = '["slt", "admin"]' if i == 0 else "[]"
        lines += [
            "[[people]]",
            f'id = "p{i}"',
            f'name = "Person {i} Example"',
            f"roles = {roles}",
            f'teams_id = "{teams_id(i)}"',
        ]
    path = folder / "school.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def all_answered(folder: Path) -> None:
    """Everyone has answered /disclaimer: serve runs by the real clock, and on a working day it would ask them,
    by Teams, before they have opened a chat (messages the outbox keeps for them, so it never drains)."""
    store = Store(folder / "data")
    try:
        async with store.transaction() as tx:
            for i in range(STAFF):
                put_disclaimer(tx, f"p{i}", version="1", on=datetime.now(UTC).isoformat())
    finally:
        await store.close()


def activity(i: int, text: str, n: int, service_url: str) -> dict[str, Any]:
    return {
        "type": "message",
        "id": f"fault-{n}",
        "timestamp": "2026-11-25T10:00:00.000Z",
        "serviceUrl": service_url,
        "channelId": "msteams",
        "from": {"id": f"29:p{i}", "name": f"Person {i}", "aadObjectId": teams_id(i)},
        "conversation": {"conversationType": "personal", "tenantId": TENANT, "id": f"a:personal-{teams_id(i)}"},
        "recipient": {"id": "28:policybot-test", "name": "policybot"},
        "channelData": {"tenant": {"id": TENANT}},
        "text": text,
    }


async def post(session: aiohttp.ClientSession, url: str, act: dict[str, Any]) -> int:
    """The status, or 0 when the server was gone (Teams would send the activity again)."""
    try:
        async with session.post(f"{url}/api/messages", json=act, timeout=aiohttp.ClientTimeout(total=10)) as resp:
            await resp.read()
            return resp.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


async def test_sigkill_mid_burst_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    fake = FakeConnector()
    fake.installed = {teams_id(i) for i in range(STAFF)}
    connector = TestServer(fake.app(), host="127.0.0.1", port=0)
    await connector.start_server()
    service = str(connector.make_url("/"))
    serve = ServeProcess(write_config(tmp_path), tmp_path / "serve.log")
    await all_answered(tmp_path)
    ids = itertools.count(1)
    await serve.start()
    try:
        async with aiohttp.ClientSession() as session:
            # Everyone starts an application; each is acknowledged before the next wave.
            starts = [activity(i, "new account", next(ids), service) for i in range(1, STAFF)]
            first = await asyncio.gather(*(post(session, serve.url, a) for a in starts))
            assert all(200 <= s < 300 for s in first), (first, serve.log()[-3000:])
            assert await serve.drained()
            # Everyone answers the first question at once, and the server dies mid-burst.
            answers = [activity(i, "facebook", next(ids), service) for i in range(1, STAFF)]
            sent: list[tuple[dict[str, Any], asyncio.Task[int]]] = []
            for n, act in enumerate(answers):
                sent.append((act, asyncio.create_task(post(session, serve.url, act))))
                if n == STAFF // 2:
                    await first_answered([task for _, task in sent])
                    serve.kill()
            statuses = {act["id"]: await task for act, task in sent}
            acknowledged = [a for a in answers if 200 <= statuses[a["id"]] < 300]
            assert 0 < len(acknowledged) < len(answers), statuses  # the kill really landed mid-burst

            await serve.start()
            # Teams re-sends what was not acknowledged; it may also re-send what was.
            retried = [a for a in answers if not 200 <= statuses[a["id"]] < 300] + acknowledged[:5]
            assert all(200 <= s < 300 for s in await asyncio.gather(*(post(session, serve.url, a) for a in retried)))
            assert await serve.drained()
    finally:
        serve.stop()
        await connector.close()

    store = Store(tmp_path / "data")
    try:
        for i in range(1, STAFF):
            convo = store.get("conversations", f"p{i}:new_account")
            assert convo is not None, f"person {i}'s application was lost"
            # Answered exactly once: a doubled answer would have answered the next question too.
            assert convo["answers"] == {"platform": "facebook"}, convo["answers"]
            assert convo["step"] == "account_name"
    finally:
        await store.close()
    asked = [c.conversation for c in fake.calls if c.method == "POST" and ASKS_NAME in c.text()]
    # Everyone was asked the next question. Delivery sends one message at a time, so at most
    # the single message in flight at the instant of the kill can have gone twice.
    assert set(asked) == {f"a:personal-{teams_id(i)}" for i in range(1, STAFF)}
    assert len(asked) - len(set(asked)) <= 1
    assert "Traceback" not in serve.log()


async def test_disk_refusing_writes_tells_the_person_and_keeps_serving(tmp_path: Path) -> None:
    teams, connector, client, core = await start_teams(tmp_path)
    try:
        await teams.install("eclarke")
        core.store.checkpoint()  # closes the journal; its place is then taken by a folder
        journal = tmp_path / "data" / JOURNAL
        journal.unlink(missing_ok=True)
        journal.mkdir()
        assert await teams.say("eclarke", "new account") < 500
        told = teams.fake.last(personal("eclarke")).text()
        assert "couldn't save that, so nothing has changed" in told and "reference" in told
        assert str(tmp_path) not in told  # no paths or error codes for a teacher
        assert core.store.get("conversations", "eclarke:new_account") is None
        journal.rmdir()  # the disk is back: the same message now works
        assert await teams.say("eclarke", "new account") < 500
        assert "Which platform is the account for?" in teams.fake.last(personal("eclarke")).text()
    finally:
        await client.close()
        await connector.close()
        await core.close()
    again = Store(tmp_path / "data")
    try:
        assert again.get("conversations", "eclarke:new_account") is not None
    finally:
        await again.close()


async def test_connector_down_then_back_delivers_once(tmp_path: Path) -> None:
    teams, connector, client, core = await start_teams(tmp_path)
    fake = teams.fake
    port = connector.port
    try:
        await teams.install("eclarke")
        before = len(fake.to(personal("eclarke")))
        await connector.close()  # the Bot Framework is unreachable: connections are refused
        assert await teams.say("eclarke", "help") < 500  # the person is still answered by HTTP status
        assert core.delivery.waiting() == 1
        connector = TestServer(fake.app(), host="127.0.0.1", port=port)
        await connector.start_server()  # back
        for _ in range(3):
            core.clock.advance(timedelta(minutes=11))
            await core.delivery.flush()
        assert len(fake.to(personal("eclarke"))) == before + 1  # delivered, once
        assert "here is what I can do" in fake.last(personal("eclarke")).text()
        assert core.delivery.waiting() == 0
    finally:
        await client.close()
        await connector.close()
        await core.close()


async def test_no_secret_appears_in_the_log_of_a_full_run(tmp_path: Path) -> None:
    import secrets
    from urllib.parse import urlencode

    from tests.fakes.slack_api import FakeSlack, command_form, dm_event, sign

    fake = FakeSlack()
    slack_server = TestServer(fake.app(), host="127.0.0.1", port=0)
    await slack_server.start_server()
    fake.base_url = str(slack_server.make_url("")).rstrip("/")
    made_up = {
        "bot_token": "xoxb-" + secrets.token_hex(12),
        "signing_secret": secrets.token_hex(16),
        "app_token": "xapp-" + secrets.token_hex(12),
        "app_password": secrets.token_urlsafe(24),
    }
    config = (
        write_config(tmp_path)
        .read_text(encoding="utf-8")
        .replace(
            '[teams]\napp_id = ""',
            '[teams]\napp_id = "0f0f0f0f-1111-4222-8333-444444444444"\napp_password = '
            f'"{made_up["app_password"]}"\ntenant_id = "{TENANT}"\n'
            f'[slack]\nbot_token = "{made_up["bot_token"]}"\nsigning_secret = '
            f'"{made_up["signing_secret"]}"\napp_token = "{made_up["app_token"]}"\n'
            f'api_url = "{fake.base_url}/api/"\nslt_channel = "C0SLT"',
        )
    )
    config = config.replace('teams_id = "00000001-', 'slack_id = "U0P1"\nteams_id = "00000001-')
    path = tmp_path / "secret.toml"
    path.write_text(config, encoding="utf-8")
    serve = ServeProcess(path, tmp_path / "serve.log")
    await serve.start()
    try:
        async with aiohttp.ClientSession() as session:

            async def slack(body: str, content_type: str, secret: str) -> int:
                async with session.post(
                    f"{serve.url}/slack/events",
                    data=body.encode(),
                    headers={"Content-Type": content_type, **sign(secret, body)},
                ) as resp:
                    return resp.status

            good = made_up["signing_secret"]
            assert (
                await slack(urlencode(command_form("U0P1", "/new-account")), "application/x-www-form-urlencoded", good)
                == 200
            )
            assert await slack(json.dumps(dm_event("U0P1", "facebook")), "application/json", good) == 200
            assert (
                await slack(
                    urlencode(command_form("U0NOBODY", "/policybot")), "application/x-www-form-urlencoded", good
                )
                == 200
            )
            assert (
                await slack(
                    urlencode(command_form("U0P1", "/new-account")), "application/x-www-form-urlencoded", "wrong"
                )
                == 401
            )
            teams = activity(1, "help", 1, "http://127.0.0.1:9/")
            async with session.post(
                f"{serve.url}/api/messages", json=teams, headers={"Authorization": "Bearer " + made_up["app_password"]}
            ) as resp:
                assert resp.status == 401
            await asyncio.sleep(0.5)  # let the bot answer through the fake Slack
        assert [c for c in fake.ok("chat.postMessage")]  # the run really talked to Slack
    finally:
        serve.stop()
        await slack_server.close()
    log = serve.log()
    assert "policybot serving" in log
    for name, secret in made_up.items():
        assert secret not in log, f"the {name} appears in the log"


async def test_sigkill_mid_burst_of_slack_answers_loses_nothing(tmp_path: Path) -> None:
    import secrets
    from urllib.parse import urlencode

    from tests.fakes.slack_api import FakeSlack, command_form, dm_event, sign
    from tests.slack_world import text_of

    fake = FakeSlack()
    slack_server = TestServer(fake.app(), host="127.0.0.1", port=0)
    await slack_server.start_server()
    fake.base_url = str(slack_server.make_url("")).rstrip("/")
    secret = secrets.token_hex(16)
    lines = [
        "[school]",
        'name = "Fault Test Primary"',
        "[storage]",
        f'path = "{tmp_path / "data"}"',
        "[slack]",
        f'bot_token = "xoxb-{secrets.token_hex(8)}"',
        f'signing_secret = "{secret}"',
        f'api_url = "{fake.base_url}/api/"',
    ]
    for i in range(STAFF):
        roles = '["slt", "admin"]' if i == 0 else "[]"
        lines += [
            "[[people]]",
            f'id = "p{i}"',
            f'name = "Person {i} Example"',
            f"roles = {roles}",
            f'slack_id = "U{i:04d}"',
        ]
    config = tmp_path / "slack.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    serve = ServeProcess(config, tmp_path / "serve.log")
    await serve.start()

    async def post(session: aiohttp.ClientSession, body: str, content_type: str, retry: int | None = None) -> int:
        headers = {"Content-Type": content_type, **sign(secret, body)}
        if retry is not None:
            headers["X-Slack-Retry-Num"] = str(retry)
        try:
            async with session.post(
                f"{serve.url}/slack/events",
                data=body.encode(),
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=10),
            ) as resp:
                return resp.status
        except (aiohttp.ClientError, TimeoutError):
            return 0

    try:
        async with aiohttp.ClientSession() as session:
            starts = [
                urlencode(command_form(f"U{i:04d}", "/new-account", channel=f"D{i:04d}")) for i in range(1, STAFF)
            ]
            assert all(
                s == 200
                for s in await asyncio.gather(*(post(session, b, "application/x-www-form-urlencoded") for b in starts))
            )
            assert await serve.drained()
            answers = [json.dumps(dm_event(f"U{i:04d}", "facebook", event_id=f"EvFault{i}")) for i in range(1, STAFF)]
            sent = []
            for n, body in enumerate(answers):
                sent.append((body, asyncio.create_task(post(session, body, "application/json"))))
                if n == STAFF // 2:
                    await first_answered([task for _, task in sent])
                    serve.kill()
            statuses = {body: await task for body, task in sent}
            acknowledged = [b for b in answers if statuses[b] == 200]
            assert 0 < len(acknowledged) < len(answers), statuses
            await serve.start()
            # Slack retries what was not acknowledged, and may retry what was.
            retried = [b for b in answers if statuses[b] != 200] + acknowledged[:5]
            assert all(
                s == 200
                for s in await asyncio.gather(*(post(session, b, "application/json", retry=1) for b in retried))
            )
            await asyncio.sleep(0.5)
            assert await serve.drained()
    finally:
        serve.stop()
        await slack_server.close()
    store = Store(tmp_path / "data")
    try:
        for i in range(1, STAFF):
            convo = store.get("conversations", f"p{i}:new_account")
            assert convo is not None and convo["answers"] == {"platform": "facebook"}, (i, convo and convo["answers"])
        assert store.all("inbox") == []
    finally:
        await store.close()
    asked = [ch for (ch, _ts), m in fake.messages.items() if ASKS_NAME in text_of(m)]
    assert len(set(asked)) == STAFF - 1  # everyone was asked the next question
    assert len(asked) - len(set(asked)) <= 1
    assert "Traceback" not in serve.log()


async def test_sigterm_and_sigint_stop_serve_cleanly_with_exit_code_0(tmp_path: Path) -> None:
    """A service manager's stop (SIGTERM) and Ctrl-C (SIGINT) are clean stops: exit 0, every
    change saved (the journal checkpointed into live.json), and the next start is clean."""
    fake = FakeConnector()
    fake.installed = {teams_id(1)}
    connector = TestServer(fake.app(), host="127.0.0.1", port=0)
    await connector.start_server()
    service = str(connector.make_url("/"))
    serve = ServeProcess(write_config(tmp_path), tmp_path / "serve.log")
    await all_answered(tmp_path)
    data = tmp_path / "data"
    try:
        async with aiohttp.ClientSession() as session:
            for n, (sig, text) in enumerate(((signal.SIGTERM, "new account"), (signal.SIGINT, "facebook")), 1):
                await serve.start()
                assert 200 <= await post(session, serve.url, activity(1, text, n, service)) < 300
                assert await serve.drained()
                assert serve.stop_with(sig) == 0, serve.log()[-2000:]
                assert (
                    not (data / JOURNAL).exists() or (data / JOURNAL).stat().st_size == 0
                )  # everything is in live.json
                assert (data / "live.json").exists()
            await serve.start()  # and the next start is clean
            assert await serve.drained()
            assert serve.stop_with(signal.SIGTERM) == 0
    finally:
        serve.stop()
        await connector.close()
    log = serve.log()
    assert "Traceback" not in log and log.count("policybot stopping") == 3
    store = Store(data)
    try:
        convo = store.get("conversations", "p1:new_account")
        assert convo is not None and convo["answers"] == {"platform": "facebook"}
    finally:
        await store.close()


async def test_a_failing_disk_tells_people_and_administrators_once_and_policybot_carries_on_without_a_restart(
    tmp_path: Path,
) -> None:
    """fsync fails (a disk error, a file system gone read-only): each person is told their
    message was not saved, the administrators are told once (not once a message), and when
    the disk works again policybot saves again by itself, with no restart, and tells them."""
    disk = Disk()
    teams, connector, client, core = await start_teams(
        tmp_path, tuning=StoreTuning(recover_every=0.0, fsync=disk.fsync)
    )

    def admin_messages() -> list[str]:
        return [c.text() for c in teams.fake.to(personal("pshah"))]

    try:
        await teams.install("eclarke")
        await teams.install("pshah")
        disk.error = OSError(5, "Input/output error")
        for _ in range(3):
            assert (
                await teams.post(
                    teams.activity("eclarke", "message", text="new account", textFormat="plain"), flush=False
                )
            )[0] < 500
            await core.backlog.idle()
            told = teams.fake.last(personal("eclarke")).text()
            assert (
                "couldn't save that, so nothing has changed" in told
                and "try again in a few minutes" in told
                and str(tmp_path) not in told
            )
        await asyncio.gather(*core._alerts)
        alerts = [t for t in admin_messages() if "policybot cannot save anything" in t]
        assert len(alerts) == 1 and "Input/output error" in alerts[0] and "no restart" in alerts[0]

        disk.error = None  # the disk works again: no restart
        assert await teams.say("eclarke", "new account") < 500
        assert "Which platform is the account for?" in teams.fake.last(personal("eclarke")).text()
        await asyncio.gather(*core._alerts)
        await core.delivery.flush()
        back = [t for t in admin_messages() if "policybot can save again" in t]
        assert len(back) == 1 and "Input/output error" in back[0]
        assert len([t for t in admin_messages() if "policybot cannot save anything" in t]) == 1
    finally:
        await client.close()
        await connector.close()
        await core.close()
    again = Store(tmp_path / "data")
    try:
        assert again.get("conversations", "eclarke:new_account") is not None
        assert again.audit(action="store_recovered")
    finally:
        await again.close()
