"""End-to-end benchmark: `policybot serve` against local fakes of Slack and the Bot Framework.

Run by hand from the repository root (takes about four minutes, then stops by itself):

    python bench/run.py            # the full table
    python bench/run.py --quick    # fewer requests, for a smoke run

It starts a fake Slack Web API and a fake Bot Framework connector in this process, writes
a configuration for a school of 200 staff in a temporary folder (half of them on Teams and
half on Slack, SLT and administrators on both, so a reply goes where its person is), starts `policybot serve`
on 127.0.0.1, and drives it with a fixed number of requests at a fixed concurrency:
signed Slack slash commands and button clicks, and Teams message activities. The same
load then goes to a bare slack-bolt app and a bare CloudAdapter echo bot (bench/bare.py),
so the ratios are from one run on one machine (the bare slack-bolt app takes turns with
policybot, round by round). Two more `policybot serve` processes with empty stores, one with
`[server] metrics = "off"`, take the same Slack requests in turns, for the cost of metrics; and
the same requests go over Socket Mode to a third and to a bare bolt Socket Mode app
(bench/socket_mode.py). bench/load.py holds the loads, the rounds and the server subprocess.
The store and scheduler figures come from bench/store.py and bench/tick.py. Nothing here
contacts a host other than 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.load import (  # noqa: E402
    Request,
    Result,
    Server,
    closed_loop,
    drain,
    free_port,
    in_turns,
    paced,
    row,
    start_fake,
)
from bench.socket_mode import socket_mode_runs  # noqa: E402
from tests.fakes.bf_connector import FakeConnector  # noqa: E402

STAFF = 200
TENANT = "9d1e2f3a-0000-4000-8000-00000000beef"  # made up


def teams_id(i: int) -> str:
    return f"{i:08x}-0000-4000-8000-{i:012x}"


def slack_id(i: int) -> str:
    return f"U{i:08d}"


def on_teams(i: int) -> bool:
    """Staff are on one platform, as in a school: even numbers on Teams, odd on Slack (SLT and admins on both)."""
    return i < 5 or i % 2 == 0


def on_slack(i: int) -> bool:
    return i < 5 or not on_teams(i)


def teams_person(i: int) -> int:
    """The staff member (not SLT) who sends Teams request number i."""
    return 6 + 2 * (i % ((STAFF - 6) // 2))


def slack_person(i: int) -> int:
    return 5 + 2 * (i % ((STAFF - 5) // 2))


def write_config(folder: Path, api_url: str, slack: bool, *, variant: str = "", metrics: str = "loopback") -> Path:
    """The school's configuration; `variant` names another data folder and file (a second policybot beside the
    first), `metrics` is its [server] metrics."""
    lines = [
        "[school]",
        'name = "Benchmark Primary School"',
        'policy_agreed = "2026-09-01"',
        "[server]",
        f'metrics = "{metrics}"',
        "[storage]",
        f"path = {json.dumps(str(folder / ('data' + variant)))}",
        "[teams]",
        'app_id = ""',
    ]
    if slack:
        lines += ["[slack]", f"api_url = {json.dumps(api_url)}", 'slt_channel = "C0SLT"']
    for i in range(STAFF):
        roles = '["slt"]' if i < 3 else '["admin"]' if i < 5 else "[]"
        lines += ["[[people]]", f'id = "p{i}"', f'name = "Person {i} Example"', f"roles = {roles}"]
        lines += [f'teams_id = "{teams_id(i)}"'] if on_teams(i) else []
        lines += [f'slack_id = "{slack_id(i)}"'] if on_slack(i) else []
    path = folder / f"bench{variant}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    answered(path)
    return path


def answered(config: Path) -> None:
    """Everyone has answered /disclaimer already, as in a school that has run policybot for a while: otherwise the
    first tick asks all the staff at once, and those Teams cannot reach yet keep the outbox from ever draining."""
    from concurrent.futures import ThreadPoolExecutor

    from adapters.platforms import load_config
    from bot.store import Store
    from tests.harness import put_disclaimer

    settings = load_config(config, offline=True)

    async def put() -> None:
        store = Store(settings.storage_path)
        async with store.transaction() as tx:
            for p in settings.people:
                put_disclaimer(tx, p.id, version=settings.school.policy_version)
        await store.close()

    with ThreadPoolExecutor(1) as worker:  # its own event loop: this is called from inside the bench's
        worker.submit(asyncio.run, put()).result()


def teams_request(base: str, service_url: str, text: str) -> Request:
    """A Teams message activity from one of the staff, as the Teams service posts it."""

    async def send(session: aiohttp.ClientSession, i: int) -> int:
        person = teams_person(i)
        activity = {
            "type": "message",
            "id": f"bench-{i}-{time.monotonic_ns()}",
            "timestamp": "2026-11-25T10:00:00.000Z",
            "serviceUrl": service_url,
            "channelId": "msteams",
            "from": {"id": f"29:p{person}", "name": f"Person {person}", "aadObjectId": teams_id(person)},
            "conversation": {
                "conversationType": "personal",
                "tenantId": TENANT,
                "id": f"a:personal-{teams_id(person)}",
            },
            "recipient": {"id": "28:policybot-bench", "name": "policybot"},
            "channelData": {"tenant": {"id": TENANT}},
            "text": text,
        }
        async with session.post(f"{base}/api/messages", json=activity) as resp:
            await resp.read()
            return resp.status

    return send


def slack_requests(base: str, secret: str) -> tuple[Request, Request]:
    """A signed /new-account slash command, and a signed button click, from one of the staff."""
    from adapters.slack.blocks import BUTTON, button_value
    from bot.messages import Button
    from tests.fakes.slack_api import block_actions, command_form, sign

    async def command(session: aiohttp.ClientSession, i: int) -> int:
        person = slack_person(i)
        body = _form(command_form(slack_id(person), "/new-account"))
        headers = {**sign(secret, body), "Content-Type": "application/x-www-form-urlencoded"}
        async with session.post(f"{base}/slack/events", data=body.encode(), headers=headers) as resp:
            await resp.read()
            return resp.status

    async def click(session: aiohttp.ClientSession, i: int) -> int:
        person = slack_person(i)
        # The "New school social media account" button of the help card, as policybot renders it.
        value = button_value(
            Button(
                action="conversation.start", label="New school social media account", data={"workflow": "new_account"}
            )
        )
        element = {
            "type": "button",
            "action_id": f"{BUTTON}.0",
            "value": value,
            "text": {"type": "plain_text", "text": "New account"},
        }
        message = {"ts": "1700000000.000100", "blocks": [{"type": "actions", "block_id": "b", "elements": [element]}]}
        block = message["blocks"][0]
        payload = block_actions(slack_id(person), "D0BENCH", message, block, block["elements"][0])
        body = _form({"payload": json.dumps(payload)})
        headers = {**sign(secret, body), "Content-Type": "application/x-www-form-urlencoded"}
        async with session.post(f"{base}/slack/events", data=body.encode(), headers=headers) as resp:
            await resp.read()
            return resp.status

    return command, click


def _form(fields: dict[str, str]) -> str:
    from urllib.parse import urlencode

    return urlencode(fields)


async def run(quick: bool) -> None:
    total, concurrency, pace, paced_total = (400, 16, 200, 400) if quick else (3000, 32, 200, 2000)
    folder = Path(tempfile.mkdtemp(prefix="policybot-bench-"))
    connector = FakeConnector()
    connector.installed = {teams_id(i) for i in range(STAFF) if on_teams(i)}
    bf_runner, bf_url = await start_fake(connector.app())
    try:
        from tests.fakes.slack_api import FakeSlack  # type: ignore[attr-defined]

        fake_slack: Any = FakeSlack(check_blocks=False)  # tests check the blocks; here it would slow the load
        slack_runner, slack_url = await start_fake(fake_slack.app())
        fake_slack.base_url = slack_url  # for the Socket Mode URL it hands out
        api_url = slack_url + "/api/"
    except ImportError:
        fake_slack = slack_runner = None
        api_url = ""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "POLICYBOT_CONFIG"):
        env.pop(name, None)
    secret = secrets.token_hex(16)  # made up for this run only
    env.update(SLACK_SIGNING_SECRET=secret, SLACK_BOT_TOKEN="xoxb-bench-" + secrets.token_hex(8), NO_PROXY="127.0.0.1")
    config = write_config(folder, api_url, fake_slack is not None)
    rows: list[str] = []
    scraped = ""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=256)) as session:
        # policybot serve
        port = free_port()
        bot = Server(
            ["-m", "adapters.cli", "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
            port,
            env,
            folder / "serve.log",
        )
        base = f"http://127.0.0.1:{port}"
        try:
            await bot.ready(session, "/healthz")
            ours: dict[str, Result] = {}
            teams = teams_request(base, bf_url + "/", "help")
            await closed_loop("warm-up", session, teams, 100, 8)
            await drain(session, base)
            # A steady rate first (replies delivered as they are owed), then as fast as it goes.
            ours["teams_paced"] = await paced(f"Teams at {pace}/s (policybot)", session, teams, pace, paced_total)
            await drain(session, base)
            ours["teams"] = await closed_loop("Teams activities (policybot)", session, teams, total, concurrency)
            ours["teams"].drained = await drain(session, base)
            bare: dict[str, Result] = {}
            if fake_slack is not None:
                command, click = slack_requests(base, secret)
                await closed_loop("warm-up", session, command, 100, 8)
                await drain(session, base)
                ours["slack_paced"] = await paced(
                    f"Slack commands at {pace}/s (policybot)", session, command, pace, paced_total
                )
                await drain(session, base)
                # The bare bolt app runs alongside, and they take turns in rounds (each policybot followed by
                # its replies, then the next; three times over, the order turned round each time), so all meet
                # the machine as it is then: its speed drifts by a fifth from one minute to the next. Metrics
                # on and off are compared on two more policybot serve processes, both started now with an
                # empty store (the first one has the Teams runs' history in its store).
                on, on_base = policybot(folder, api_url, env, "-metrics-on", "loopback")
                off, off_base = policybot(folder, api_url, env, "-metrics-off", "off")
                bolt_port = free_port()
                bolt = Server(
                    ["bench/bare.py", "slack", str(bolt_port), api_url], bolt_port, env, folder / "bare-slack.log"
                )
                try:
                    await bolt.ready(session, "/slack/events")
                    bare_command, bare_click = slack_requests(f"http://127.0.0.1:{bolt_port}", secret)
                    await closed_loop("warm-up", session, bare_command, 100, 8)
                    fresh = {}
                    for server, url in ((on, on_base), (off, off_base)):
                        await server.ready(session, "/healthz")
                        fresh[url] = slack_requests(url, secret)
                        await closed_loop("warm-up", session, fresh[url][0], 100, 8)
                        await drain(session, url)
                    for kind, n, what in (("slack_cmd", 0, "slash commands"), ("slack_click", 1, "button clicks")):
                        ours[kind], ours[kind + "_on"], ours[kind + "_off"], bare[kind] = await in_turns(
                            session,
                            [
                                (f"Slack {what} (policybot)", (command, click)[n], base),
                                (f"Slack {what} (policybot, new store, metrics on)", fresh[on_base][n], on_base),
                                (f"Slack {what} (policybot, new store, metrics off)", fresh[off_base][n], off_base),
                                (f"Slack {what} (bare slack-bolt)", (bare_command, bare_click)[n], None),
                            ],
                            total,
                            concurrency,
                            rotate=True,
                        )
                    bare_slack_rss = bolt.rss_mb()
                    async with session.get(f"{off_base}/metrics") as resp:
                        assert resp.status == 404, "metrics are off there"
                finally:
                    bolt.stop()
                    on.stop()
                    off.stop()
                async with session.get(f"{base}/metrics") as resp:
                    scraped = await resp.text()
                # Socket Mode: the same requests as envelopes over the fake's WebSocket, policybot (a
                # second `policybot serve`, connected with an app-level token) and a bare bolt
                # AsyncSocketModeHandler app taking turns, as above.
                ours_socket, bare_socket, socket_rss = await socket_mode_runs(
                    session,
                    folder,
                    write_config(folder, api_url, True, variant="-socket"),
                    api_url,
                    env,
                    fake_slack,
                    lambda i: slack_id(slack_person(i)),
                    total,
                    concurrency,
                )
                ours.update(ours_socket)
                bare.update(bare_socket)
            rss = bot.rss_mb()
        finally:
            bot.stop()
        # the bare echo bot, same load
        port = free_port()
        echo = Server(["bench/bare.py", "teams", str(port)], port, env, folder / "bare-teams.log")
        try:
            await echo.ready(session, "/api/messages")
            plain = teams_request(f"http://127.0.0.1:{port}", bf_url + "/", "help")
            await closed_loop("warm-up", session, plain, 100, 8)
            bare["teams"] = await closed_loop(
                "Teams activities (bare CloudAdapter echo)", session, plain, total, concurrency
            )
            bare_teams_rss = echo.rss_mb()
        finally:
            echo.stop()
    await bf_runner.cleanup()
    if slack_runner is not None:
        await slack_runner.cleanup()

    print(
        f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}, {platform.system()} {platform.release()}"
    )
    print(
        f"Load: {total} requests at concurrency {concurrency}, then {paced_total} at a steady {pace}/s; "
        f"{STAFF} staff in the school, half on Teams, half on Slack.\n"
    )
    print(
        "| run | requests | errors | requests/s | ack p50 (ms) | ack p99 (ms) | vs bare "
        "| all handled and replied (s) | RSS after (MB) |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows.append(row(ours["teams"], bare["teams"], rss))
    rows.append(row(ours["teams_paced"]))
    rows.append(row(bare["teams"], rss=bare_teams_rss))
    if "slack_cmd" in ours:
        rows.append(row(ours["slack_cmd"], bare["slack_cmd"]))
        rows.append(row(ours["slack_click"], bare["slack_click"]))
        rows.append(row(ours["slack_cmd_on"], bare["slack_cmd"]))
        rows.append(row(ours["slack_cmd_off"], bare["slack_cmd"]))
        rows.append(row(ours["slack_click_on"], bare["slack_click"]))
        rows.append(row(ours["slack_click_off"], bare["slack_click"]))
        rows.append(row(ours["slack_paced"]))
        rows.append(row(bare["slack_cmd"], rss=bare_slack_rss))
        rows.append(row(bare["slack_click"]))
        rows.append(row(ours["socket_cmd"], bare["socket_cmd"], socket_rss[0]))
        rows.append(row(ours["socket_click"], bare["socket_click"]))
        rows.append(row(bare["socket_cmd"], rss=socket_rss[1]))
        rows.append(row(bare["socket_click"]))
    print("\n".join(rows))
    print(
        "\n'requests/s' counts acknowledgements (what Slack and Teams wait for); "
        "'all handled and replied' is the time from the first request"
        " until every request had been handled and every reply it owed delivered to the fake Slack or connector."
    )
    print(
        f"The fake connector received {len([c for c in connector.calls if c.method == 'POST'])} Teams messages, "
        f"the fake Slack {len(fake_slack.calls) if fake_slack is not None else 0} Web API calls."
    )
    if fake_slack is not None:
        counted = [
            line
            for line in scraped.splitlines()
            if line.startswith(("policybot_requests_total", "policybot_turns_total"))
        ]
        print("policybot's own GET /metrics at the end (metrics on):\n    " + "\n    ".join(counted))
    print(f"Load average at the end: {Path('/proc/loadavg').read_text().strip()}")


def policybot(folder: Path, api_url: str, env: dict[str, str], variant: str, metrics: str) -> tuple[Server, str]:
    """Another `policybot serve` of the same school, with its own (empty) data folder and [server] metrics."""
    port = free_port()
    config = write_config(folder, api_url, True, variant=variant, metrics=metrics)
    server = Server(
        ["-m", "adapters.cli", "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        port,
        env,
        folder / f"serve{variant}.log",
    )
    return server, f"http://127.0.0.1:{port}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests: a smoke run")
    asyncio.run(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
