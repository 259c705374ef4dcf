"""The `policybot` command: chat in the terminal, serve Slack and Teams, and admin tasks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence

from bot.config import Settings, load_config
from bot.core import Core
from bot.errors import PolicybotError

log = logging.getLogger("policybot")


def _parser() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", metavar="FILE", help="the school's configuration file (default: $POLICYBOT_CONFIG, else the built-in sample school)")
    parser = argparse.ArgumentParser(prog="policybot", description="Runs the school's social media policy as chat workflows.", parents=[common])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chat = sub.add_parser("chat", parents=[common], help="chat with the bot in this terminal (the default)")
    chat.add_argument("--as", dest="as_person", default="", metavar="NAME", help="who you are at the start")
    serve = sub.add_parser("serve", parents=[common], help="run the Slack and Teams server")
    serve.add_argument("--host", help="address to listen on (default: [server] host)")
    serve.add_argument("--port", type=int, help="port to listen on (default: [server] port)")
    sub.add_parser("check-config", parents=[common], help="check the configuration file and say what it sets up")
    pkg = sub.add_parser("teams-package", parents=[common], help="write the Microsoft Teams app package (a zip to upload in Teams admin)")
    pkg.add_argument("--out", required=True, metavar="FILE.zip", help="where to write the package")
    pkg.add_argument("--website", default="https://www.example.com/", help="the school's website (https), shown in the app's details")
    pkg.add_argument("--privacy", default="", help="privacy notice address (https; default: the website)")
    pkg.add_argument("--terms", default="", help="terms of use address (https; default: the website)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `policybot` console script."""
    args = _parser().parse_args(argv)
    command = args.command or "chat"
    logging.basicConfig(level=logging.WARNING if command == "chat" else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        settings = load_config(args.config)
        if command == "check-config":
            return _check(settings)
        if command == "teams-package":
            return _teams_package(settings, args)
        if command == "serve":
            return asyncio.run(_serve(settings, args.host, args.port))
        return asyncio.run(_chat(settings, args.as_person))
    except PolicybotError as exc:
        print(f"policybot: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _check(settings: Settings) -> int:
    print(f"{settings.source}: OK for {settings.school.name} ({len(settings.people)} people).")
    print(f"  Slack: {'on' if settings.slack else 'off'}; Teams: {'on' if settings.teams else 'off'}; data in {settings.storage_path}")
    return 0


def _teams_package(settings: Settings, args: argparse.Namespace) -> int:
    from pathlib import Path

    from adapters.teams.package import write_package
    from bot.registry import default_registry

    out = Path(args.out)
    data = write_package(out, settings, default_registry(), website=args.website, privacy=args.privacy or args.website, terms=args.terms or args.website)
    print(f"Wrote {out}: Teams app '{data['name']['full']}' for bot {data['id']} with {len(data['bots'][0]['commandLists'][0]['commands'])} commands.")
    if "example.com" in args.website:
        print("  Tip: give --website (and --privacy, --terms) with your school's real https addresses before uploading.")
    print("  Upload it in the Teams admin centre: Teams apps > Manage apps > Upload new app.")
    return 0


async def _chat(settings: Settings, as_person: str) -> int:
    from adapters.console import ConsoleChat

    core = Core.open(settings)
    try:
        chat = ConsoleChat(core)
        if as_person:
            chat.channel.active = as_person
        await chat.run()
    finally:
        await core.close()
    return 0


async def _serve(settings: Settings, host: str | None, port: int | None) -> int:
    from aiohttp import web

    from adapters.server import build_app

    host = host or settings.server.host
    port = port if port is not None else settings.server.port
    if settings.teams is not None:
        from adapters.teams import check_host

        check_host(settings, host)
    core = Core.open(settings)
    runner = None
    try:
        app = await build_app(core)
        if not app["front_ends"]:
            raise PolicybotError(f"{settings.source}: nothing to serve; add a [slack] or [teams] section (see config.example.toml), or use 'policybot chat'.")
        core.start_background()
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("policybot serving %s on http://%s:%s", ", ".join(app["front_ends"]), host, port)
        await asyncio.Event().wait()
    finally:
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        await core.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
