"""End-to-end benchmark: `policybot serve` against local fakes of Slack and the Bot Framework.

Run by hand from the repository root (takes two or three minutes, then stops by itself):

    python bench/run.py            # the full table
    python bench/run.py --quick    # fewer requests, for a smoke run

It starts a fake Slack Web API and a fake Bot Framework connector in this process, writes
a configuration for a school of 200 staff in a temporary folder (half of them on Teams and
half on Slack, SLT and administrators on both, so a reply goes where its person is), starts `policybot serve`
on 127.0.0.1, and drives it with a fixed number of requests at a fixed concurrency:
signed Slack slash commands and button clicks, and Teams message activities. The same
load then goes to a bare slack-bolt app and a bare CloudAdapter echo bot (bench/bare.py),
so the ratios are from one run on one machine (the bare slack-bolt app takes turns with
policybot, round by round). The store and scheduler figures come from
bench/store.py and bench/tick.py. Nothing here contacts a host other than 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.fakes.bf_connector import FakeConnector  # noqa: E402

STAFF = 200
TENANT = "9d1e2f3a-0000-4000-8000-00000000beef"  # made up


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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
    return path


@dataclass
class Result:
    name: str
    count: int
    errors: int
    seconds: float
    latencies: list[float]
    drained: float | None = None  # seconds after the last acknowledgement until all was handled and replied to

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def pct(self, p: int) -> float:
        return statistics.quantiles(self.latencies, n=100)[p - 1] * 1000 if len(self.latencies) > 1 else float("nan")


Request = Callable[[aiohttp.ClientSession, int], Awaitable[int]]


async def closed_loop(
    name: str, session: aiohttp.ClientSession, request: Request, total: int, concurrency: int
) -> Result:
    """`total` requests, `concurrency` at a time, as fast as the server answers."""
    latencies: list[float] = []
    errors = 0
    counter = iter(range(total))

    async def worker() -> None:
        nonlocal errors
        for i in counter:
            t = time.perf_counter()
            status = await request(session, i)
            latencies.append(time.perf_counter() - t)
            errors += status >= 300

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return Result(name, total, errors, time.perf_counter() - start, latencies)


ROUNDS = 3


async def in_turns(
    session: aiohttp.ClientSession,
    contestants: list[tuple[str, Request, str | None]],
    total: int,
    concurrency: int,
    *,
    rotate: bool = False,
) -> list[Result]:
    """`total` requests to each contestant (name, request, the base URL of a policybot to drain, or None for a
    bare app), in ROUNDS rounds, each contestant taking its turn in every round (with `rotate`, starting with
    the next contestant each round).

    Each round of a policybot's is followed by waiting until it has handled every request
    and delivered every reply (so none of its work is left to slow the next one's round).
    The results add the rounds up: requests over the seconds spent sending them.
    """
    rounds: list[list[Result]] = [[] for _ in contestants]
    for n in range(ROUNDS):
        share = total // ROUNDS + (1 if n < total % ROUNDS else 0)
        order = list(zip(rounds, contestants, strict=True))
        if rotate:  # who goes first changes from round to round
            order = order[n % len(order) :] + order[: n % len(order)]
        for mine, (name, request, base) in order:
            r = await closed_loop(name, session, request, share, concurrency)
            if base is not None:
                r.drained = await drain(session, base)
            mine.append(r)
    return [combined(r) for r in rounds]


def combined(results: list[Result]) -> Result:
    drained = [r.drained for r in results if r.drained is not None]
    return Result(
        results[0].name,
        sum(r.count for r in results),
        sum(r.errors for r in results),
        sum(r.seconds for r in results),
        [x for r in results for x in r.latencies],
        sum(drained) if drained else None,
    )


async def paced(name: str, session: aiohttp.ClientSession, request: Request, rate: float, total: int) -> Result:
    """`total` requests started at a steady `rate` per second, however long each takes."""
    latencies: list[float] = []
    errors = 0

    async def one(i: int) -> None:
        nonlocal errors
        t = time.perf_counter()
        status = await request(session, i)
        latencies.append(time.perf_counter() - t)
        errors += status >= 300

    start = time.perf_counter()
    tasks = []
    for i in range(total):
        delay = start + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return Result(name, total, errors, time.perf_counter() - start, latencies)


class Server:
    """A subprocess serving HTTP on 127.0.0.1, stopped on exit."""

    def __init__(self, args: list[str], port: int, env: dict[str, str], log: Path) -> None:
        self.port = port
        self.log = log.open("wb")
        self.proc = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT
        )

    async def ready(self, session: aiohttp.ClientSession, path: str) -> None:
        for _ in range(200):
            if self.proc.poll() is not None:
                raise SystemExit(f"the server stopped at start-up; see {self.log.name}")
            try:
                async with session.request(
                    "GET" if path == "/healthz" else "POST", f"http://127.0.0.1:{self.port}{path}"
                ) as resp:
                    await resp.read()
                    return
            except aiohttp.ClientConnectionError:
                await asyncio.sleep(0.1)
        raise SystemExit(f"the server did not start; see {self.log.name}")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


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


async def start_fake(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner, f"http://127.0.0.1:{port}"


def row(r: Result, base: Result | None = None, rss: float | None = None) -> str:
    ratio = f"{r.rate / base.rate:.0%}" if base else ""
    mem = f"{rss:.0f}" if rss is not None else ""
    done = f"{r.seconds + r.drained:.1f} ({r.count / (r.seconds + r.drained):,.0f}/s)" if r.drained is not None else ""
    return (
        f"| {r.name} | {r.count} | {r.errors} | {r.rate:,.0f} | {r.pct(50):.1f} | {r.pct(99):.1f} "
        f"| {ratio} | {done} | {mem} |"
    )


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
                    session, folder, api_url, env, fake_slack, total, concurrency
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


def socket_requests(fake: Any, app: str) -> tuple[Request, Request]:
    """The same slash command and click as `slack_requests`, as envelopes down `app`'s Socket Mode connection;
    answered when the fake has the app's acknowledgement."""
    from tests.fakes.slack_api import block_actions, command_form

    async def acked(kind: str, payload: dict[str, Any]) -> int:
        envelope = await fake.send_envelope(kind, payload, app=app)
        await asyncio.wait_for(asyncio.shield(envelope.acked), timeout=30)
        return 200

    async def command(_session: aiohttp.ClientSession, i: int) -> int:
        return await acked("slash_commands", command_form(slack_id(slack_person(i)), "/new-account"))

    async def click(_session: aiohttp.ClientSession, i: int) -> int:
        person = slack_id(slack_person(i))
        message, block, element = _new_account_button()
        return await acked("interactive", block_actions(person, "D0BENCH", message, block, element))

    return command, click


def _new_account_button() -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    """A message with the help card's "New school social media account" button, as policybot renders it."""
    from adapters.slack.blocks import BUTTON, button_value
    from bot.messages import Button

    value = button_value(
        Button(action="conversation.start", label="New school social media account", data={"workflow": "new_account"})
    )
    element = {
        "type": "button",
        "action_id": f"{BUTTON}.0",
        "value": value,
        "text": {"type": "plain_text", "text": "New account"},
    }
    message = {"ts": "1700000000.000100", "blocks": [{"type": "actions", "block_id": "b", "elements": [element]}]}
    return message, message["blocks"][0], element


async def connected(fake: Any, token: str, server: Server) -> str:
    """The fake's name for the app with app-level `token`, once it holds a Socket Mode connection open."""
    for _ in range(300):
        if server.proc.poll() is not None:
            raise SystemExit(f"the server stopped at start-up; see {server.log.name}")
        app = fake._apps.get(token)
        if app is not None and fake.open_socket(app) is not None:
            return app
        await asyncio.sleep(0.1)
    raise SystemExit(f"{server.log.name}: no Socket Mode connection")


async def socket_mode_runs(
    session: aiohttp.ClientSession,
    folder: Path,
    api_url: str,
    env: dict[str, str],
    fake: Any,
    total: int,
    concurrency: int,
) -> tuple[dict[str, Result], dict[str, Result], tuple[float, float]]:
    """policybot serve in Socket Mode and a bare bolt AsyncSocketModeHandler app, on the same fake, in turns."""
    ours_token, bare_token = "xapp-bench-" + secrets.token_hex(8), "xapp-bare-" + secrets.token_hex(8)
    config = write_config(folder, api_url, True, variant="-socket")
    port = free_port()
    # Socket Mode only: no signing secret, so no /slack/events (it still answers /healthz and /metrics).
    socket_env = {k: v for k, v in env.items() if k != "SLACK_SIGNING_SECRET"} | {"SLACK_APP_TOKEN": ours_token}
    bot = Server(
        ["-m", "adapters.cli", "serve", "--config", str(config), "--host", "127.0.0.1", "--port", str(port)],
        port,
        socket_env,
        folder / "serve-socket.log",
    )
    base = f"http://127.0.0.1:{port}"
    bolt = Server(
        ["bench/bare.py", "slack-socket", "0", api_url],
        0,
        socket_env | {"SLACK_APP_TOKEN": bare_token},
        folder / "bare-slack-socket.log",
    )
    try:
        await bot.ready(session, "/healthz")
        ours_app = await connected(fake, ours_token, bot)
        bare_app = await connected(fake, bare_token, bolt)
        command, click = socket_requests(fake, ours_app)
        bare_command, bare_click = socket_requests(fake, bare_app)
        await closed_loop("warm-up", session, command, 100, 8)
        await drain(session, base)
        await closed_loop("warm-up", session, bare_command, 100, 8)
        ours: dict[str, Result] = {}
        bare: dict[str, Result] = {}
        for kind, mine, theirs, what in (
            ("socket_cmd", command, bare_command, "slash commands"),
            ("socket_click", click, bare_click, "button clicks"),
        ):
            ours[kind], bare[kind] = await in_turns(
                session,
                [
                    (f"Slack {what} over Socket Mode (policybot)", mine, base),
                    (f"Slack {what} over Socket Mode (bare slack-bolt)", theirs, None),
                ],
                total,
                concurrency,
            )
        return ours, bare, (bot.rss_mb(), bolt.rss_mb())
    finally:
        bolt.stop()
        bot.stop()


async def drain(session: aiohttp.ClientSession, base: str, limit: float = 120.0) -> float:
    """Seconds until every request is handled and every reply it owes delivered (bounded)."""
    start = time.perf_counter()
    while time.perf_counter() - start < limit:
        async with session.get(f"{base}/healthz") as resp:
            health = await resp.json()
            if health["outbox"] == 0 and health["unhandled"] == 0:
                break
        await asyncio.sleep(0.05)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer requests: a smoke run")
    asyncio.run(run(parser.parse_args().quick))


if __name__ == "__main__":
    main()
