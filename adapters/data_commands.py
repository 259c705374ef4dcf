"""The data-folder commands of `policybot`: check-data, repair-data, backup, restore, export, dnp-import, purge."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path

from bot import records
from bot.config import Settings
from bot.errors import PolicybotError, StoreLocked
from bot.files import check_outside, write_private
from bot.registry import default_registry
from bot.store import Store
from bot.store.backup import archive, restore, take
from bot.store.repair import check, repair
from bot.timefmt import day, when


def check_data(settings: Settings) -> int:
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


async def repair_data(settings: Settings) -> int:

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


def backup_data(settings: Settings, out: Path) -> int:
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


async def restore_data(settings: Settings, source: Path, replace: bool) -> int:
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


async def records_command(settings: Settings, command: str, args: argparse.Namespace) -> int:
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
            f"Say what to export: --what {'|'.join(records.exports())}, "
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
