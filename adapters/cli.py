"""The `policybot` command: chat in the terminal, serve Slack and Teams, and admin tasks."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import logging
import signal
import sys
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from aiohttp import web

from adapters.console import ConsoleChat, load_clock
from adapters.platforms import load_config
from adapters.server import FRONT_ENDS, build_app
from adapters.slack.manifest import manifest
from adapters.slack.settings import slack_settings
from adapters.status import status
from adapters.teams import check_host
from adapters.teams.package import write_package
from bot import records
from bot.clock import Clock
from bot.config import Settings
from bot.core import Core
from bot.errors import PolicybotError, StoreLocked
from bot.files import check_outside, write_private
from bot.registry import default_registry
from bot.store import Store
from bot.store.backup import archive, restore, take
from bot.store.repair import check, repair
from bot.timefmt import day, when

log = logging.getLogger("policybot")
GC_YOUNG = 10_000  # new objects between the cyclic collector's young-generation passes in `serve`


def settle_memory() -> None:
    """Set the cyclic garbage collector up for a long-running server, once it has started.

    What was loaded at start (the store's records, the libraries) lives as long as the
    process: out of the collector's reach, its full passes no longer pause every request
    while they walk it (77 ms measured with a small store, more with years of records).
    A young-generation pass every 700 new objects (the default) came about 50 times a
    second in a burst and took 5-8% of the time answering it; every 10,000 it is 1-2
    passes (6-10 ms a second). Nothing here relies on cycles being freed sooner.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG, *gc.get_threshold()[1:])


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
    exp.add_argument(
        "--what", choices=("accounts", "applications", "incidents", "items", "audit", "people"), help="which records"
    )
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
        settings = load_config(args.config)
        if command == "check-config":
            return _check(settings)
        if command == "status":
            return asyncio.run(status(settings))
        if command == "check-data":
            return _check_data(settings)
        if command == "repair-data":
            return asyncio.run(_repair_data(settings))
        if command == "backup":
            return _backup(settings, Path(args.out))
        if command == "restore":
            return asyncio.run(_restore(settings, Path(args.source), args.replace))
        if command in ("export", "dnp-import", "purge"):
            return asyncio.run(_records_command(settings, command, args))
        if command == "slack-manifest":
            return _slack_manifest(settings, args.url)
        if command == "teams-package":
            return _teams_package(settings, args)
        if command == "serve":
            return asyncio.run(_serve(settings, args.host, args.port, args.access_log))
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


def _check_data(settings: Settings) -> int:
    """Say what the data folder holds and what is damaged in it; 1 when something is."""

    folder = settings.storage_path
    if not folder.is_dir():
        print(f"There is no data folder at {folder} yet: policybot makes it when it first starts.")
        return 0
    report = check(folder)
    print(f"Data folder {folder}:")
    for line in report.summary:
        print(f"  {line}")
    for name in report.unfinished:
        print(
            f"  {name}: its last line is unfinished: "
            "a change being written when policybot stopped, which nobody was told was saved. "
            "policybot drops it when it next starts."
        )
    if not report.damage:
        print("Nothing is damaged.")
        return 0
    print("Damaged:")
    for damage in report.damage:
        print(f"  {damage}")
    print("policybot will not start until this is dealt with. Nothing has been changed.")
    if any(d.file == "live.json" for d in report.damage):
        print(
            "live.json holds every record as of its last checkpoint and cannot be repaired line by line: "
            "restore the data folder from your backup (see docs/reliability.md)."
        )
    else:
        print(
            "To set the damaged lines aside in a file of their own in the data folder and keep everything else, "
            "stop policybot and run: "
            f"policybot repair-data --config {settings.source} (see docs/reliability.md)."
        )
    return 1


async def _repair_data(settings: Settings) -> int:

    folder = settings.storage_path
    try:
        done = await repair(folder, datetime.now(UTC))
    except StoreLocked:
        raise PolicybotError(
            f"policybot is running and using the data folder {folder}. Stop it first, then run this again."
        ) from None
    if not done:
        print(f"Nothing in {folder} is damaged, so nothing was changed.")
        return 0
    for aside in done:
        lines = ", ".join(map(str, aside.lines))
        print(f"  {aside.file}: line{'s' if len(aside.lines) > 1 else ''} {lines} set aside in {folder / aside.into}")
    print("Every other line is kept, and the repair is in the audit trail. policybot can start again.")
    print(
        "What the damaged lines held is not in policybot any more: "
        "look at the file(s) above to see whether anything needs doing again."
    )
    return 0


def _backup(settings: Settings, out: Path) -> int:
    """Copy the data folder while policybot may be running, and say what was copied."""
    folder = settings.storage_path
    check_outside(out, folder)  # never into the data folder, never through a link into it
    try:
        taken = take(folder, datetime.now(UTC))
    except OSError as exc:
        raise PolicybotError(
            f"I couldn't read the data folder {folder}: {exc.strerror}. Run this as the user policybot runs as. "
            "Nothing was written."
        ) from None
    write_private(out, archive(taken))
    m = taken.manifest
    tables, entries = len(m["tables"]), m["audit_entries"]
    last = when(m["last_change_at"], settings.school.tz) if m["last_change_at"] else "no time recorded"
    print(f"Backed up the data folder {folder} to {out}:")
    print(
        f"  {m['records']:,} record{'s' * (m['records'] != 1)} in {tables} table{'s' * (tables != 1)}"
        f" and {entries:,} audit entr{'ies' if entries != 1 else 'y'},"
    )
    print(f"  everything saved up to change {m['change']:,} (the last change recorded: {last}).")
    print("Only you can read the file. It holds personal information: keep it safe, and keep a copy off this server.")
    return 0


async def _restore(settings: Settings, source: Path, replace: bool) -> int:
    """Put a backup in place as the data folder, then check that the store opens and nothing is damaged."""
    folder = settings.storage_path
    try:
        done = await restore(source, folder, datetime.now(UTC), replace=replace)
    except StoreLocked:
        raise PolicybotError(
            f"policybot is running and using the data folder {folder}. Stop it first, then run this again. "
            "Nothing was changed."
        ) from None
    m = done.backup.manifest
    print(
        f"Checked {source}: a backup made {when(m['made_at'], settings.school.tz)} of {m.get('records')} records and "
        f"{m.get('audit_entries')} audit entries, up to change {m.get('change')}; every file matches its checksum."
    )
    if done.aside is not None:
        print(
            f"The data folder that was there is kept, moved aside to {done.aside}. "
            "Delete it once you no longer need it."
        )
    print(
        f"Restored into {folder}. The store opens: {done.records:,} record{'s' * (done.records != 1)} in "
        f"{done.tables} table{'s' * (done.tables != 1)}, "
        f"{done.audit_entries:,} audit entries."
    )
    for line in done.report.summary:
        print(f"  {line}")
    if done.report.damage:
        print("But check-data finds damage:")
        for damage in done.report.damage:
            print(f"  {damage}")
        return 1
    print("check-data: nothing is damaged. You can start policybot again.")
    return 0


async def _records_command(settings: Settings, command: str, args: argparse.Namespace) -> int:
    """export, dnp-import and purge: they open the data folder themselves (so the bot must not be running)."""

    now = datetime.now(UTC)
    if command == "dnp-import":
        path = Path(args.csv)
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise PolicybotError(f"I can't find {path}. Check the file name and folder.") from None
        except (OSError, UnicodeDecodeError) as exc:
            raise PolicybotError(
                f"I couldn't read {path}: {getattr(exc, 'strerror', None) or 'it is not a UTF-8 text file'}. "
                "Save it from your spreadsheet as 'CSV UTF-8' and try again."
            ) from None
        try:
            pupils = default_registry().importers["dnp"](text)
        except ValueError as exc:
            raise PolicybotError(f"{path}: {exc} Nothing was imported.") from None
    if command == "export" and bool(args.what) == bool(args.person):
        raise PolicybotError(
            "Say what to export: --what accounts|applications|incidents|items|audit|people, "
            "or --person NAME for everything about one person."
        )
    if command == "export":
        check_outside(Path(args.out), settings.storage_path)  # the data folder is the store's alone

    try:
        store = Store(settings.storage_path)
    except StoreLocked:
        raise PolicybotError(
            f"policybot is running and using the data folder {settings.storage_path}, so its records can't be read "
            "or changed safely now. "
            "Stop the bot (for example out of hours), run this again, then start the bot."
        ) from None
    try:
        if command == "export":
            out = Path(args.out)
            try:
                if args.person:
                    found = records.export_person(store, settings, args.person, args.format, out)
                    count = sum(len(v) for v in found["records"].values()) + len(found["audit"])
                    what = f"everything held about {found['subject']}"
                else:
                    count = records.export(store, settings, args.what, args.format, out)
                    what = f"{args.what}"
            except records.RecordsError as exc:
                raise PolicybotError(str(exc)) from None
            except OSError as exc:
                raise PolicybotError(
                    f"I couldn't write {out}: {exc.strerror}. Check the folder exists and you can write to it."
                ) from None
            if args.person:
                action, record = (
                    "subject_access_export",
                    (f"people/{found['configuration']['id']}" if found["configuration"] else found["subject"]),
                )
            else:
                action, record = "exported", args.what
            async with store.transaction() as tx:
                tx.audit(
                    records.CLI_ACTOR,
                    action,
                    record,
                    at=now,
                    detail=f"{what}: {count} records, {args.format}, to {out.name}",
                )
            empty = (
                f" There are no {args.what} records yet, so the file has only the header."
                if not count and args.what and args.format == "csv"
                else ""
            )
            print(
                f"Wrote {count} records ({what}) to {out}.{empty} It holds personal information: "
                "keep it safe and delete it when done."
            )
        elif command == "dnp-import":
            added, skipped, removed = await records.import_dnp(store, pupils, now, replace=args.replace)
            print(
                f"Do-not-publish list: {added} pupil(s) added, {skipped} already on it"
                + (f", {removed} earlier entries replaced" if args.replace else "")
                + "."
            )
        elif args.dry_run:
            due = records.past_retention(store, settings, now)
            for e in due:
                print(f"  {e.table}/{e.key}: past the {e.days}-day retention period (since {day(e.since.date())})")
            print(
                f"{len(due)} record(s) are past their retention period."
                + (" Run 'policybot purge' to delete them." if due else " Nothing to delete.")
            )
        else:
            due = await records.purge(store, settings, now)
            for e in due:
                print(f"  deleted {e.table}/{e.key} (since {day(e.since.date())}, {e.days}-day period)")
            print(f"Deleted {len(due)} record(s) past their retention period; each deletion is in the audit trail.")
    finally:
        await store.close()
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
        if as_person:
            chat.channel.active = as_person
        await chat.run()
    finally:
        await core.close()
    return 0


async def _until_stopped() -> None:
    """Wait for SIGINT (Ctrl-C) or SIGTERM (a service manager's stop): a clean stop, after which `serve` exits 0.

    A second signal while stopping is not caught again: it stops policybot at once (exit 130
    for Ctrl-C), as a person pressing Ctrl-C twice expects.
    """
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()

    def stopping(sig: signal.Signals) -> None:
        log.info("policybot received %s", sig.name)
        for each in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(each)
        stop.set()

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stopping, sig)
    try:
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)


async def _serve(settings: Settings, host: str | None, port: int | None, access_log: bool = False) -> int:

    host = host or settings.server.host
    port = port if port is not None else settings.server.port

    check_host(settings, host)
    core = Core.open(settings)
    runner = None
    try:
        app = await build_app(core)
        if not app[FRONT_ENDS]:
            raise PolicybotError(
                f"{settings.source}: nothing to serve; "
                "add a [slack] or [teams] section (see config.example.toml), or use 'policybot chat'."
            )
        core.start_background()
        # A line per request costs more than acknowledging it; refusals are logged by the handlers.
        runner = web.AppRunner(app) if access_log else web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        log.info("policybot serving %s on http://%s:%s", ", ".join(app[FRONT_ENDS]), host, port)
        settle_memory()
        await _until_stopped()
        log.info("policybot stopping: finishing what it has started and saving everything")
    finally:
        if runner is not None:
            with contextlib.suppress(Exception):
                await runner.cleanup()
        await core.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
