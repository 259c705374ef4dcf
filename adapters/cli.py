"""The `policybot` command: chat in the terminal, serve Slack and Teams, and admin tasks."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from adapters.console import ConsoleChat, load_clock
from adapters.data_commands import backup_data, check_data, records_command, repair_data, restore_data
from adapters.platforms import load_config
from adapters.serve_command import serve
from adapters.slack.manifest import manifest
from adapters.slack.settings import slack_settings
from adapters.status import status
from adapters.teams.package import write_package
from bot import records
from bot.clock import Clock
from bot.config import Settings
from bot.core import Core
from bot.errors import PolicybotError
from bot.files import check_outside, write_private
from bot.registry import default_registry


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--config",
        metavar="FILE",
        help="the school's configuration file (default: $POLICYBOT_CONFIG, else the built-in sample school)",
    )
    parser = argparse.ArgumentParser(
        prog="policybot", description="Runs the school's social media policy as chat workflows.", parents=[common]
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chat = sub.add_parser("chat", parents=[common], help="chat with the bot in this terminal (the default)")
    chat.add_argument("--as", dest="as_person", default="", metavar="NAME", help="who you are at the start")
    serve = sub.add_parser("serve", parents=[common], help="run the Slack and Teams server")
    serve.add_argument("--host", help="address to listen on (default: [server] host)")
    serve.add_argument("--port", type=int, help="port to listen on (default: [server] port)")
    serve.add_argument(
        "--access-log",
        action="store_true",
        help="log a line for every HTTP request (refused requests are always logged)",
    )
    sub.add_parser("check-config", parents=[common], help="check the configuration file and say what it sets up")
    sub.add_parser("status", parents=[common], help="say whether policybot serve is working and what is waiting")
    sub.add_parser(
        "check-data",
        parents=[common],
        help="check every file in the data folder and say what is damaged (changes nothing)",
    )
    sub.add_parser(
        "repair-data",
        parents=[common],
        help=(
            "set damaged lines of the journal and audit trail aside in a file of their own, keep everything else "
            "(stop policybot first)"
        ),
    )
    bak = sub.add_parser(
        "backup",
        parents=[common],
        help="copy the data folder and audit trail into one archive, safe while policybot runs",
    )
    bak.add_argument("--out", required=True, metavar="FILE.tar.gz", help="where to write the backup")
    res = sub.add_parser(
        "restore",
        parents=[common],
        help="put a backup in place as the data folder (stop policybot first)",
    )
    res.add_argument("--from", dest="source", required=True, metavar="FILE.tar.gz", help="the backup to restore")
    res.add_argument(
        "--replace",
        action="store_true",
        help="move the data folder there now aside (kept, not deleted) and put the backup in its place",
    )
    exp = sub.add_parser("export", parents=[common], help="write records to a file for SLT, governors or an inspection")
    # Every table a workflow module declares for export (bot/declarations.py), and the audit trail.
    exp.add_argument("--what", choices=records.exports(), help="which records")
    exp.add_argument(
        "--person",
        metavar="NAME",
        help="everything held about one person (a subject access request), instead of --what",
    )
    exp.add_argument(
        "--format",
        choices=("csv", "json"),
        default="csv",
        help="csv opens in a spreadsheet (default); json keeps every detail",
    )
    exp.add_argument("--out", required=True, metavar="FILE", help="where to write it")
    dnp = sub.add_parser(
        "dnp-import",
        parents=[common],
        help="import the do-not-publish list from a CSV file with columns name and class",
    )
    dnp.add_argument("--csv", required=True, metavar="FILE", help="the CSV file (a header row, then one pupil per row)")
    dnp.add_argument("--replace", action="store_true", help="replace the whole list instead of adding to it")
    pur = sub.add_parser("purge", parents=[common], help="delete records kept longer than [records] retention allows")
    pur.add_argument("--dry-run", action="store_true", help="only list what would be deleted")
    man = sub.add_parser(
        "slack-manifest", parents=[common], help="print the Slack app manifest (paste it when creating the Slack app)"
    )
    man.add_argument(
        "--url", default="", help="the public https address of policybot serve (not needed with Socket Mode)"
    )
    pkg = sub.add_parser(
        "teams-package", parents=[common], help="write the Microsoft Teams app package (a zip to upload in Teams admin)"
    )
    pkg.add_argument("--out", required=True, metavar="FILE.zip", help="where to write the package")
    pkg.add_argument(
        "--website", default="https://www.example.com/", help="the school's website (https), shown in the app's details"
    )
    pkg.add_argument("--privacy", default="", help="privacy notice address (https; default: the website)")
    pkg.add_argument("--terms", default="", help="terms of use address (https; default: the website)")
    return parser


# Commands that read and write the data folder but never talk to Slack or Teams: the platforms' secrets (kept in
# the service's secrets file) are not needed to run them.
OFFLINE = ("status", "check-data", "repair-data", "backup", "restore", "export", "dnp-import", "purge")


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `policybot` console script."""
    args = _parser().parse_args(argv)
    command = args.command or "chat"
    logging.basicConfig(
        level=logging.WARNING if command == "chat" else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        settings = load_config(args.config, offline=command in OFFLINE)
        if command == "check-config":
            return _check(settings)
        if command == "status":
            return asyncio.run(status(settings))
        if command == "check-data":
            return check_data(settings)
        if command == "repair-data":
            return asyncio.run(repair_data(settings))
        if command == "backup":
            return backup_data(settings, Path(args.out))
        if command == "restore":
            return asyncio.run(restore_data(settings, Path(args.source), args.replace))
        if command in ("export", "dnp-import", "purge"):
            return asyncio.run(records_command(settings, command, args))
        if command == "slack-manifest":
            return _slack_manifest(settings, args.url)
        if command == "teams-package":
            return _teams_package(settings, args)
        if command == "serve":
            return asyncio.run(serve(settings, args.host, args.port, args.access_log))
        return asyncio.run(_chat(settings, args.as_person))
    except PolicybotError as exc:
        print(f"policybot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _check(settings: Settings) -> int:
    print(f"{settings.source}: OK for {settings.school.name} ({len(settings.people)} people).")
    platforms = "; ".join(f"{name.title()}: {'off' if on is None else 'on'}" for name, on in settings.platforms.items())
    print(f"  {platforms}; data in {settings.storage_path}")
    return 0


def _slack_manifest(settings: Settings, url: str) -> int:

    slack = slack_settings(settings)
    if slack is None:
        raise PolicybotError(
            f"{settings.source}: there is no [slack] section, so there is no Slack app to describe. "
            "See config.example.toml."
        )
    if not slack.socket_mode and not url.startswith("https://"):
        raise PolicybotError(
            "Without Socket Mode, Slack needs the public https address of policybot serve: "
            "add --url https://YOUR-HOST (or set [slack] app_token to use Socket Mode, which needs no public address)."
        )
    print(json.dumps(manifest(settings, default_registry(), url), indent=2))
    return 0


def _teams_package(settings: Settings, args: argparse.Namespace) -> int:

    out = Path(args.out)
    check_outside(out, settings.storage_path)
    with tempfile.TemporaryDirectory() as folder:  # made aside, then put in place whole: never written through a link
        made = Path(folder) / "package.zip"
        data = write_package(
            made,
            settings,
            default_registry(),
            website=args.website,
            privacy=args.privacy or args.website,
            terms=args.terms or args.website,
        )
        out.parent.mkdir(parents=True, exist_ok=True)
        write_private(out, made.read_bytes(), mode=0o644)
    print(
        f"Wrote {out}: Teams app '{data['name']['full']}' for bot {data['id']} with "
        f"{len(data['bots'][0]['commandLists'][0]['commands'])} commands."
    )
    if "example.com" in args.website:
        print(
            "  Tip: give --website (and --privacy, --terms) with your school's real https addresses before uploading."
        )
    print("  Upload it in the Teams admin centre: Teams apps > Manage apps > Upload new app.")
    return 0


async def _chat(settings: Settings, as_person: str) -> int:

    # The simulated clock (/advance) is kept with the data, so records made "tomorrow" stay in the past.
    clock_file = settings.storage_path / "chat-clock.json"
    core = Core.open(settings, clock=Clock(offset=load_clock(clock_file)))
    try:
        chat = ConsoleChat(core, clock_file=clock_file)
        await chat.run(as_person=as_person)
    finally:
        await core.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
