"""SIGTERM (a service manager's stop) while a burst of Slack requests is being answered, against the real process."""

from __future__ import annotations

import asyncio
import json
import secrets
import signal
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer

from bot.store import JOURNAL, Store
from tests.fakes.slack_api import FakeSlack, command_form, dm_event, sign
from tests.serve_process import ServeProcess
from tests.slack_world import text_of
from tests.test_faults import ASKS_NAME, first_answered

STAFF = 30


def slack_config(tmp_path: Path, fake: FakeSlack, secret: str) -> Path:
    lines = [
        "[school]",
        'name = "Stop Test Primary"',
        "[storage]",
        f'path = "{tmp_path / "data"}"',
        "[slack]",
        f'bot_token = "xoxb-{secrets.token_hex(8)}"',
        f'signing_secret = "{secret}"',
        f'api_url = "{fake.base_url}/api/"',
    ]
    for i in range(STAFF):
        roles = '["slt", "admin"]' if i == 0 else "[]"
        lines += ["[[people]]", f'id = "p{i}"', f'name = "Person {i} Example"', f"roles = {roles}"]
        lines += [f'slack_id = "U{i:04d}"']
    config = tmp_path / "slack.toml"
    config.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return config


async def test_sigterm_mid_burst_exits_0_in_time_keeps_every_acknowledged_request_and_applies_none_twice(
    tmp_path: Path,
) -> None:
    fake = FakeSlack()
    slack_server = TestServer(fake.app(), host="127.0.0.1", port=0)
    await slack_server.start_server()
    fake.base_url = str(slack_server.make_url("")).rstrip("/")
    secret = secrets.token_hex(16)
    serve = ServeProcess(slack_config(tmp_path, fake, secret), tmp_path / "serve.log")
    data = tmp_path / "data"

    async def post(session: aiohttp.ClientSession, body: str, content_type: str, retry: int | None = None) -> int:
        """The status, or 0 when policybot was stopping or stopped (Slack would retry)."""
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

    await serve.start()
    try:
        async with aiohttp.ClientSession() as session:
            form = "application/x-www-form-urlencoded"
            starts = [
                urlencode(command_form(f"U{i:04d}", "/new-account", channel=f"D{i:04d}")) for i in range(1, STAFF)
            ]
            assert all(s == 200 for s in await asyncio.gather(*(post(session, b, form) for b in starts)))
            assert await serve.drained()
            # Everyone answers at once; the service manager stops policybot in the middle of it.
            answers = [json.dumps(dm_event(f"U{i:04d}", "facebook", event_id=f"EvStop{i}")) for i in range(1, STAFF)]
            late = answers[-4:]  # these four come after policybot has stopped
            sent = []
            for n, body in enumerate(answers[:-4]):
                sent.append((body, asyncio.create_task(post(session, body, "application/json"))))
                if n == STAFF // 3:
                    await first_answered([task for _, task in sent])
                    assert serve.proc is not None
                    serve.proc.send_signal(signal.SIGTERM)  # and the rest of the burst comes on regardless
                    in_flight = sum(not task.done() for _, task in sent)
            statuses = {body: await task for body, task in sent}
            assert serve.proc is not None
            code = await asyncio.to_thread(serve.proc.wait, 10)  # raises if it takes over 10 s
            assert code == 0, serve.log()[-3000:]
            for body in late:
                statuses[body] = await post(session, body, "application/json")
            acknowledged = [b for b in answers if statuses[b] == 200]
            assert in_flight > 0 and acknowledged, statuses  # the stop really landed with requests in flight
            assert [statuses[b] for b in late] == [0] * 4  # nobody answers now: Slack will retry them
            assert set(statuses.values()) <= {0, 200}, statuses  # refused connections, never an error

            # Stopped: every acknowledged answer is on disk, handled, and checkpointed into live.json.
            store = Store(data)
            try:
                for body in acknowledged:
                    user = json.loads(body)["event"]["user"]
                    convo = store.get("conversations", f"p{int(user[1:])}:new_account")
                    assert convo is not None and convo["answers"] == {"platform": "facebook"}, (user, convo)
                assert store.all("inbox") == []  # nothing acknowledged was left unhandled
            finally:
                await store.close()
            assert not (data / JOURNAL).exists() or (data / JOURNAL).stat().st_size == 0

            await serve.start()  # the next start is clean
            # Slack retries what was not acknowledged, and may retry what was: applied once either way.
            retried = [b for b in answers if statuses[b] != 200] + acknowledged[:5]
            assert all(
                s == 200
                for s in await asyncio.gather(*(post(session, b, "application/json", retry=1) for b in retried))
            )
            assert await serve.drained()
            assert serve.stop_with(signal.SIGTERM, wait=10) == 0
    finally:
        serve.stop()
        await slack_server.close()
    store = Store(data)
    try:
        for i in range(1, STAFF):
            convo = store.get("conversations", f"p{i}:new_account")
            assert convo is not None and convo["answers"] == {"platform": "facebook"}, (i, convo and convo["answers"])
            assert convo["step"] == "account_name"  # answered once: a second answer would have answered the name
    finally:
        await store.close()
    asked = [ch for (ch, _ts), m in fake.messages.items() if ASKS_NAME in text_of(m)]
    assert len(set(asked)) == STAFF - 1  # everyone was asked the next question
    assert len(asked) - len(set(asked)) <= 1  # at most the one message being sent at the stop, twice
    log = serve.log()
    assert "Traceback" not in log and log.count("policybot stopping") == 2
