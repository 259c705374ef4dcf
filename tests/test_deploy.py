"""docs/deploy.md and deploy/: the service, the admin command and every policybot command the page shows, run here."""

from __future__ import annotations

import asyncio
import configparser
import getpass
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tomllib
from pathlib import Path

import aiohttp

from adapters.cli import _parser, main
from adapters.platforms import load_config
from adapters.slack.request import EVENTS_PATH
from adapters.teams import ROUTE
from tests.serve_process import free_port

ROOT = Path(__file__).resolve().parent.parent
DOC = (ROOT / "docs" / "deploy.md").read_text(encoding="utf-8")
UNIT = ROOT / "deploy" / "policybot.service"
ADMIN = ROOT / "deploy" / "policybot-admin"
PROGRAM = Path(sys.executable).with_name("policybot")  # this venv's `policybot`, as /opt/policybot/.venv/bin has it
# Commands the page shows that cannot run on this machine: each must be named in its last section.
NOT_HERE = {
    *("apt-get", "useradd", "install", "python3", "/opt/policybot/.venv/bin/pip", "nano", "ln", "certbot", "nginx"),
    "journalctl",
}
NOT_HERE_SYSTEMCTL = {"daemon-reload", "reload"}


def blocks(lang: str) -> list[str]:
    return re.findall(rf"```{lang}\n(.*?)```", DOC, flags=re.S)


def unit() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys keep their case
    parser.read(UNIT, encoding="utf-8")
    return parser


def doc_settings() -> dict:
    """The [storage] and [server] keys the page tells the IT person to set."""
    [toml] = blocks("toml")
    return tomllib.loads(toml)


def env_lines() -> dict[str, str]:
    """The secrets file the page shows: NAME='value' lines."""
    [block] = [b for b in blocks("sh") if "POLICYBOT_CONFIG=" in b]
    return {k: shlex.split(v)[0] for k, v in (line.split("=", 1) for line in block.splitlines() if line.strip())}


def test_the_unit_runs_policybot_serve_as_its_own_user_hardened_and_stops_in_time() -> None:
    service = unit()["Service"]
    assert service["User"] == service["Group"] == "policybot"
    assert service["Restart"] == "on-failure"
    assert service["KillSignal"] == "SIGTERM" and int(service["TimeoutStopSec"]) >= 10  # serve stops within 10 s
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ProtectHome": "yes",
        "PrivateTmp": "yes",
        "StateDirectory": "policybot",
        "EnvironmentFile": "/etc/policybot/policybot.env",
    }.items():
        assert service[key] == value, key
    assert unit()["Install"]["WantedBy"] == "multi-user.target"

    program, *args = shlex.split(service["ExecStart"])
    assert program == "/opt/policybot/.venv/bin/policybot"
    parsed = _parser().parse_args(args)  # policybot's own parser: a real subcommand and real options
    assert parsed.command == "serve" and parsed.config == "/etc/policybot/school.toml"

    # The paths agree with the page, the configuration it shows, and policybot-admin.
    settings = doc_settings()
    writable = [p.lstrip("-") for p in service["ReadWritePaths"].split()]
    state = Path("/var/lib") / service["StateDirectory"]
    assert state in Path(settings["storage"]["path"]).parents and str(state) in writable
    assert settings["storage"]["backup_dir"] in writable
    assert service["WorkingDirectory"] == str(state)
    admin = ADMIN.read_text(encoding="utf-8")
    assert f"{service['EnvironmentFile']}}}" in admin and f"{program}}}" in admin and "-policybot}" in admin
    assert env_lines()["POLICYBOT_CONFIG"] == parsed.config
    for path in (program, parsed.config, service["EnvironmentFile"], settings["storage"]["path"]):
        assert path in DOC, path


def test_systemd_analyze_finds_nothing_wrong_with_the_unit(tmp_path: Path) -> None:
    """Only where systemd-analyze is installed (it is on this machine); the program path is this venv's."""
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        return
    copy = tmp_path / "policybot.service"
    copy.write_text(UNIT.read_text(encoding="utf-8").replace("/opt/policybot/.venv/bin/policybot", str(PROGRAM)))
    done = subprocess.run([analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stderr == "", done.stderr


def test_every_variable_in_the_secrets_file_is_one_the_configuration_reads(tmp_path: Path) -> None:
    example = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    config = tmp_path / "school.toml"
    config.write_text(example.replace('path = "data"', f'path = "{tmp_path / "data"}"', 1), encoding="utf-8")
    names = env_lines()
    assert {"SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "MicrosoftAppPassword"} <= set(names)
    for name in names:
        if name == "POLICYBOT_CONFIG":
            mark = str(config)
        elif name == "MicrosoftAppType":
            mark = "MultiTenant"
        else:
            mark = {"SLACK_BOT_TOKEN": "xoxb-", "SLACK_APP_TOKEN": "xapp-"}.get(name, "") + f"marked-{name.lower()}"
        env = {
            "SLACK_BOT_TOKEN": "xoxb-1",
            "SLACK_SIGNING_SECRET": "s",
            "MicrosoftAppId": "i",
            "MicrosoftAppPassword": "p",
            "MicrosoftAppTenantId": "t",
            name: mark,
        }
        saved = {k: os.environ.get(k) for k in env}
        os.environ.update(env)
        try:
            settings = load_config(None if name == "POLICYBOT_CONFIG" else config)
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        assert mark in repr(settings.source) + repr(settings.platforms), f"{name} is not read by the configuration"


def test_the_configuration_the_page_shows_loads_and_nginx_passes_only_policybots_routes(tmp_path: Path) -> None:
    settings = doc_settings()
    text = school_toml(tmp_path, settings, port=settings["server"]["port"])
    loaded = load_config(text)
    assert loaded.backups.keep == settings["storage"]["backup_keep"] and loaded.server.host == "127.0.0.1"
    [nginx] = blocks("nginx")
    ports = set(re.findall(r"proxy_pass http://127\.0\.0\.1:(\d+);", nginx))
    assert ports == {str(settings["server"]["port"])}
    assert set(re.findall(r"location = (\S+) \{", nginx)) == {EVENTS_PATH, ROUTE}
    assert f"https://policybot.your-school.example{ROUTE}" in DOC and f"your-school.example{EVENTS_PATH}" in DOC


def moved(text: str, root: Path) -> str:
    """The page's paths, moved into a temporary folder (and its policybot to this venv's)."""
    for path in ("/etc/policybot", "/var/lib/policybot", "/var/backups/policybot"):
        text = text.replace(path, f"{root}{path}")
    return text.replace("/opt/policybot/.venv/bin/policybot", str(PROGRAM))


def school_toml(root: Path, settings: dict, port: int) -> Path:
    """config.example.toml with the page's [storage] and [server] keys, no [slack] (as the page says for a school
    without Slack), and [teams] as it comes (no app id: on 127.0.0.1 only, nothing to reach on the internet)."""
    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    text = re.sub(r"\n\[slack\]\n.*?(?=\n# ---- Microsoft Teams)", "\n", text, flags=re.S)
    for section, keys in settings.items():
        for key, value in keys.items():
            value = port if key == "port" else value
            text, n = re.subn(
                rf"(\[{section}\][^\[]*?)^{key} = [^\n]*$",
                lambda m, k=key, v=value: f"{m.group(1)}{k} = {json_value(v)}",
                text,
                count=1,
                flags=re.S | re.M,
            )
            assert n == 1, f"config.example.toml has no {section}.{key} to change"
    path = root / "etc" / "policybot" / "school.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(moved(text, root), encoding="utf-8")
    return path


def json_value(value: object) -> str:
    return str(value) if isinstance(value, int) else f'"{value}"'


async def test_every_policybot_command_on_the_page_runs_in_order_against_a_temporary_folder(tmp_path: Path) -> None:
    port = free_port()
    school_toml(tmp_path, doc_settings(), port)
    (tmp_path / "var" / "lib" / "policybot").mkdir(parents=True)  # systemd's StateDirectory
    (tmp_path / "var" / "backups" / "policybot").mkdir(parents=True)  # step 3
    # The secrets file: the page's POLICYBOT_CONFIG line; this school has no platform secrets (Teams with no app id).
    env_file = tmp_path / "etc" / "policybot" / "policybot.env"
    env_file.write_text(moved(f"POLICYBOT_CONFIG='{env_lines()['POLICYBOT_CONFIG']}'\n", tmp_path), encoding="utf-8")
    env_file.chmod(0o600)
    env = {
        **{k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")},
        "POLICYBOT_ADMIN_ENV_FILE": str(env_file),
        "POLICYBOT_ADMIN_PROGRAM": str(PROGRAM),
        "POLICYBOT_ADMIN_USER": getpass.getuser(),
    }
    as_root = os.geteuid() == 0

    def admin(args: list[str]) -> subprocess.CompletedProcess[str]:
        """`sudo policybot-admin ARGS`: through the script as root; otherwise policybot itself with its settings."""
        command = [str(ADMIN), *args] if as_root else [str(PROGRAM), *args]
        extra = {} if as_root else {"POLICYBOT_CONFIG": str(tmp_path / "etc" / "policybot" / "school.toml")}
        return subprocess.run(command, env=env | extra, capture_output=True, text=True, timeout=60, cwd=tmp_path)

    program, *exec_args = shlex.split(moved(unit()["Service"]["ExecStart"], tmp_path))
    serve: subprocess.Popen[bytes] | None = None
    ran: list[str] = []
    lines = [line.strip() for block in blocks("sh") for line in block.splitlines()]
    try:
        async with aiohttp.ClientSession() as session:
            for line in lines:
                if not line.startswith(("sudo ", "curl ")):
                    continue  # the secrets file's lines
                words = shlex.split(line.removeprefix("sudo "))
                if words[0] == "policybot-admin":
                    args = shlex.split(moved(shlex.join(words[1:]), tmp_path))
                    if not ran:  # the first through the script, as the IT person runs it
                        done = admin(args)
                        assert done.returncode == 0, (line, done.stdout, done.stderr)
                        assert "Traceback" not in done.stdout + done.stderr
                    else:  # the rest in this process (the same command line; starting Python costs seconds)
                        config = str(tmp_path / "etc" / "policybot" / "school.toml")
                        assert await asyncio.to_thread(main, [args[0], "--config", config, *args[1:]]) == 0, line
                    ran.append(words[1])
                elif words[:2] == ["systemctl", "stop"] or (
                    words[0] == "systemctl" and words[1] in ("start", "enable")
                ):
                    if words[1] == "stop":
                        assert serve is not None
                        serve.send_signal(signal.SIGTERM)
                        assert await asyncio.to_thread(serve.wait, 10) == 0
                        serve = None
                    else:
                        assert words[-1] == "policybot" and serve is None
                        serve = await start(program, exec_args, env_file, tmp_path, port, session)
                    ran.append(f"systemctl {words[1]}")
                elif words[0] == "curl":
                    url = words[-1].replace("127.0.0.1:3000", f"127.0.0.1:{port}")
                    async with session.get(url) as resp:
                        assert resp.status == 200 and (await resp.json())["status"] == "ok"
                    ran.append("curl")
                elif words[0] == "systemctl":
                    assert words[1] in NOT_HERE_SYSTEMCTL, line
                else:
                    assert words[0] in NOT_HERE, f"{line!r}: neither run by this test nor named as not run here"
    finally:
        if serve is not None:
            serve.kill()
            serve.wait()
    assert ran.count("systemctl start") + ran.count("systemctl enable") == 3 and ran.count("systemctl stop") == 2
    assert {"check-config", "status", "backup", "restore", "check-data", "curl"} <= set(ran)
    could_not = DOC[DOC.index("## What was tested, and what could not be") :]
    for word in [
        *NOT_HERE - {"/opt/policybot/.venv/bin/pip", "python3", "ln"},
        "pip install",
        "systemctl daemon-reload",
    ]:
        assert f"`{word}" in could_not, word
    assert sorted(p.name for p in (tmp_path / "var" / "lib" / "policybot").iterdir())[0] == "data"
    assert any(p.name.startswith("data.before-restore-") for p in (tmp_path / "var" / "lib" / "policybot").iterdir())


async def start(
    program: str, args: list[str], env_file: Path, root: Path, port: int, session: aiohttp.ClientSession
) -> subprocess.Popen[bytes]:
    """The unit's ExecStart with its EnvironmentFile, as systemd would start it; once /healthz answers."""
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("http_proxy", "https_proxy", "all_proxy")}
    for line in env_file.read_text(encoding="utf-8").splitlines():
        key, value = line.split("=", 1)
        env[key] = shlex.split(value)[0]
    log = (root / "serve.log").open("ab")
    proc = subprocess.Popen([program, *args], env=env, cwd=root, stdout=log, stderr=subprocess.STDOUT)
    for _ in range(300):
        assert proc.poll() is None, (root / "serve.log").read_text()
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as resp:
                if resp.status == 200:
                    return proc
        except aiohttp.ClientConnectionError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("policybot serve did not start")


def test_policybot_admin_says_what_is_missing_rather_than_running_without_its_secrets(tmp_path: Path) -> None:
    env = {**os.environ, "POLICYBOT_ADMIN_ENV_FILE": str(tmp_path / "missing.env"), "POLICYBOT_ADMIN_PROGRAM": "false"}
    done = subprocess.run([str(ADMIN), "status"], env=env, capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    if os.geteuid() == 0:
        assert f"{tmp_path / 'missing.env'} is missing: see docs/deploy.md, step 4." in done.stderr
    else:
        assert "run it with sudo" in done.stderr
