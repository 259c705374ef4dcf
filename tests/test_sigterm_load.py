"""SIGTERM (a service manager's stop) while a burst of Slack requests is being answered, against the real process."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import signal
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from aiohttp.test_utils import TestServer

from bot.store import JOURNAL, Store, backup
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
        f'backup_dir = "{tmp_path / "backups"}"',
        'backup_time = "00:00"',  # due whenever policybot starts with records to back up
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
    (tmp_path / "backups").mkdir()
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
            # Four requests are half received when the stop comes (their senders finish them once policybot has
            # stopped listening, or never): they are never acknowledged, so Slack sends them again. Four come after
            # policybot has stopped.
            halves, late = answers[:4], answers[-4:]
            burst = answers[4:-4]
            half_sent = [await send_half(serve.port, body, secret) for body in halves]
            sent = [(body, asyncio.create_task(post(session, body, "application/json"))) for body in burst]
            await first_answered([task for _, task in sent])
            assert serve.proc is not None
            serve.proc.send_signal(signal.SIGTERM)
            await stopped_listening(serve.port)
            statuses = {body: await send_rest(*half) for body, half in zip(halves[:3], half_sent, strict=False)}
            statuses |= {body: await task for body, task in sent}
            code = await asyncio.to_thread(serve.proc.wait, 10)  # raises if it takes over 10 s, stuck sender or not
            assert code == 0, serve.log()[-3000:]
            half_sent[3][1].close()
            statuses[halves[3]] = 0
            for body in late:
                statuses[body] = await post(session, body, "application/json")
            assert [statuses[b] for b in halves + late] == [0] * 8  # not acknowledged: Slack will send them again
            acknowledged = [b for b in answers if statuses[b] == 200]
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
                for body in halves:  # and nothing half received was applied
                    user = json.loads(body)["event"]["user"]
                    assert store.get("conversations", f"p{int(user[1:])}:new_account")["answers"] == {}
            finally:
                await store.close()
            assert not (data / JOURNAL).exists() or (data / JOURNAL).stat().st_size == 0

            await serve.start()  # the next start is clean, and makes the night's backup (its time has passed)
            # Slack retries what was not acknowledged, and may retry what was: applied once either way.
            retried = [b for b in answers if statuses[b] != 200] + acknowledged[:5]
            assert all(
                s == 200
                for s in await asyncio.gather(*(post(session, b, "application/json", retry=1) for b in retried))
            )
            assert await serve.drained()
            assert await nightly_made(session, serve.url)
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
    [made] = list((tmp_path / "backups").iterdir())
    assert made.name.startswith("policybot-") and backup.open_archive(made).manifest["records"] > 0


Half = tuple[asyncio.StreamReader, asyncio.StreamWriter, bytes]


async def send_half(port: int, body: str, secret: str) -> Half:
    """A signed Slack request of which only the headers and half the body have been sent (the rest is returned)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    data = body.encode()
    head = [
        "POST /slack/events HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(data)}",
        "Connection: close",
        *(f"{k}: {v}" for k, v in sign(secret, body).items()),
    ]
    writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + data[: len(data) // 2])
    await writer.drain()
    return reader, writer, data[len(data) // 2 :]


async def send_rest(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, rest: bytes) -> int:
    """Finish a request `send_half` began; its HTTP status (0: no answer)."""
    with contextlib.suppress(OSError):
        writer.write(rest)
        await writer.drain()
    try:
        line = await asyncio.wait_for(reader.readline(), 10)
    except OSError:
        line = b""
    writer.close()
    return int(line.split()[1]) if line.startswith(b"HTTP/") else 0


async def stopped_listening(port: int, limit: float = 10.0) -> None:
    """Wait until policybot refuses new connections: it has begun to stop (at most `limit` seconds)."""
    for _ in range(int(limit * 100)):
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            return
        writer.close()
        await asyncio.sleep(0.01)
    raise AssertionError("policybot kept listening after SIGTERM")


async def nightly_made(session: aiohttp.ClientSession, url: str, limit: float = 30.0) -> bool:
    """True once /healthz says the night's backup was made (at most `limit` seconds)."""
    for _ in range(int(limit * 10)):
        async with session.get(f"{url}/healthz") as resp:
            if ((await resp.json()).get("backups") or {}).get("last"):
                return True
        await asyncio.sleep(0.1)
    return False
