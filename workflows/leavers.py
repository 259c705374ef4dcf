"""Leavers: the administrator "controls the process for managing an account after the lead
staff member has left the organisation (closing or transferring)" (Roles & Responsibilities),
every account keeps "at least two staff members" (Process for creating new accounts), and
"staff must ensure that confidentiality is maintained on social media even after they
leave the employment of the School" (Behaviour).

SLT or an administrator records that someone is leaving, with the date. For each account
they run: if two or more runners remain, the leaver is simply taken off; otherwise the
administrators are led through transferring it (a new runner, who must accept) or closing
it (confirmed closed on the platform): that is account_handover.py. Their rota days go to
the new runner, or back to the administrators for cover. Until every account is settled
the administrators are reminded daily, and the leaver cannot be marked finished. The
leaver is reminded that confidentiality continues.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.config import Person
from bot.declarations import Guard, Reader, Record
from bot.errors import Expired, NotAllowed
from bot.messages import Button, Card, person, role
from bot.scheduler import daily_slot
from bot.timefmt import day
from bot.workflow import Answers, Command, Context, Invalid, Outcome, Step, Workflow
from workflows import accounts, people
from workflows.account_handover import hand_over_rota, strip, unsettled
from workflows.handover_cards import handover_card


def _open_leaver(ctx: Context, pid: str) -> None:
    if not people.is_leaving(ctx, pid):
        raise Expired(f"{ctx.directory.name(pid)} has no leaving in progress, so nothing was changed.")


def check_person(value: str, _answers: Answers, ctx: Context) -> str:
    if people.is_leaving(ctx, value):
        raise Invalid(
            f"{ctx.directory.name(value)}'s leaving is already in progress. Type /leavers to see where it is up to."
        )
    return value


def start_leaver(_answers: Answers, ctx: Context, _out: Outcome) -> None:
    ctx.require("slt,admin", "record that someone is leaving")


def record_leaver(answers: Answers, ctx: Context, out: Outcome) -> None:
    """File the leaving date, settle what can be settled, and lead admins through the rest."""
    ctx.require("slt,admin", "record that someone is leaving")
    pid, date = answers["person"], answers["date"]
    name = ctx.directory.name(pid)
    people.record_leaving(ctx, out, pid, date)
    removed: list[dict[str, Any]] = []
    handover: list[dict[str, Any]] = []
    cover: list[str] = []
    for acc in accounts.every_account(ctx):
        if pid not in acc.get("runners", []) or acc.get("status") == "closed":
            continue
        remaining = [r for r in acc["runners"] if r != pid and not people.is_leaving(ctx, r)]
        acc_doc = strip(acc)
        if len(remaining) >= 2:
            acc_doc["runners"] = [r for r in acc["runners"] if r != pid]
            out.put(
                accounts.TABLE,
                acc["id"],
                acc_doc,
                action="runner_removed",
                detail=f"{name} leaving {date}",
                expect_version=acc["version"],
            )
            removed.append(acc)
            days = hand_over_rota(ctx, acc["id"], pid, None, out)
            if days:
                cover.append(f"{acc['name']} ({acc['handle']}): {', '.join(days)}")
        else:
            acc_doc["handover"] = {"leaver": pid, "date": date, "state": "open"}
            acc_doc["status"] = "transferring"
            out.put(
                accounts.TABLE,
                acc["id"],
                acc_doc,
                action="account_handover_started",
                detail=f"{name} leaving {date}",
                expect_version=acc["version"],
            )
            handover.append({**acc_doc, "id": acc["id"]})
    lines = [f"{name} is recorded as leaving on {day(date)}."]
    if removed:
        lines.append(
            "Taken off (two or more runners remain): "
            + ", ".join(f"{a['name']} ({a['handle']})" for a in removed)
            + "."
        )
    if handover:
        lines.append(
            f"{len(handover)} account(s) must be transferred or closed; the administrators have been sent each one."
        )
    if cover:
        lines.append(
            "Their rota days on those accounts now need someone else to monitor; "
            "the administrators have been asked to update the rota."
        )
    if not handover:
        lines.append("Nothing is waiting, so you can finish this now.")
    out.tell(
        Card(
            "Leaver recorded",
            "\n".join(lines),
            buttons=(Button(action="leavers.finish", label="Finish this leaver", data={"person": pid}),),
            tone="success",
        )
    )
    for acc in handover:
        out.send(role("admins"), handover_card(acc, ctx), key=f"handover:{acc['id']}")
    if cover:
        out.send(
            role("admins"),
            Card(
                "Rota days need cover",
                f"{name} is leaving on {day(date)} and has been taken off these accounts, "
                "so their monitoring days need someone else:\n"
                + "\n".join(cover)
                + "\nPlease give each day to another runner with /rota-set.",
                tone="warning",
            ),
        )
    out.send(
        person(pid),
        Card(
            "Before you leave: confidentiality continues",
            f"The school has recorded that you are leaving on {day(date)}. Thank you for everything you have done. "
            "Please remember the social media policy: confidentiality must be maintained on social media even "
            "after you leave the school. "
            "Please don't share anything about pupils, families or colleagues that you learned at work, "
            "and don't post on the school's behalf after you leave.",
        ),
    )


def finish(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Mark the leaving finished; refused while any account still waits."""
    ctx.require("slt,admin", "finish a leaver")
    pid = str(data.get("person", ""))
    _open_leaver(ctx, pid)
    waiting = unsettled(ctx, pid)
    name = ctx.directory.name(pid)
    if waiting:
        out.audit("leaver_finish_refused", f"{people.TABLE}/{pid}", detail=", ".join(a["id"] for a in waiting))
        out.tell(
            Card(
                "Not finished yet",
                f"{name} still runs {len(waiting)} account(s) that would be left with fewer than two runners: "
                + ", ".join(f"{a['name']} ({a['handle']})" for a in waiting)
                + ". Each must be transferred to a new runner (who accepts) or closed on the platform first. "
                "The administrators have the buttons for each.",
                tone="warning",
            )
        )
        return
    people.finish_leaving(ctx, out, pid)
    out.tell(
        Card(
            "Leaver finished",
            f"{name}'s leaving is complete: every account they ran is transferred or closed.",
            tone="success",
        )
    )


def list_leavers(_text: str, ctx: Context, out: Outcome) -> None:
    """/leavers (SLT, admins): leavers in progress and what each still waits for."""
    ctx.require("slt,admin", "see leavers")
    fields, buttons = [], []
    for p in ctx.directory.people:
        leaving = people.leaving(ctx, p.id)
        if leaving.get("status") != "open":
            continue
        waiting = unsettled(ctx, p.id)
        text = f"Leaving {day(leaving['date'])}. " + (
            "Waiting: " + ", ".join(f"{a['name']} ({a['handle']})" for a in waiting)
            if waiting
            else "Nothing waiting; ready to finish."
        )
        fields.append((p.name, text))
        buttons.append(Button(action="leavers.finish", label=f"Finish: {p.name}", data={"person": p.id}))
    if not fields:
        out.tell(Card("Leavers", "Nobody's leaving is in progress. Record one with /leaver."))
        return
    out.tell(Card("Leavers in progress", "", fields=tuple(fields), buttons=tuple(buttons)))


def daily_reminders(ctx: Context) -> list[tuple[str, Outcome]]:
    """Each day from 08:00, remind administrators of every account still waiting."""
    slot = daily_slot(ctx)
    if slot is None:
        return []
    due = []
    for acc in accounts.every_account(ctx):
        h = acc.get("handover")
        if not h or acc.get("status") == "closed":
            continue
        started = people.leaving(ctx, h["leaver"]).get("recorded_at", "")
        if started and datetime.fromisoformat(started).astimezone(ctx.settings.school.tz).date().isoformat() == slot:
            continue  # the administrators were told today already
        out = Outcome(actor="policybot")
        out.send(
            role("admins"),
            handover_card(acc, ctx, "A daily reminder: this account is still waiting."),
            key=f"handover:{acc['id']}",
        )
        due.append((f"handover-remind:{acc['id']}:{slot}", out))
    return due


WORKFLOWS = (
    Workflow(
        name="leaver",
        command="leaver",
        title="Record a leaver",
        summary="record that someone is leaving; their accounts are transferred or closed (SLT, administrators)",
        aliases=("record a leaver",),
        intro=(
            "I'll record the leaving date, take them off accounts that keep two runners, "
            "and lead the administrators through the rest."
        ),
        steps=(
            Step(key="person", prompt="Who is leaving?", kind="person", label="Leaving", check=check_person),
            Step(
                key="date",
                prompt="What is their last day? (for example 18/12/2026; it may have passed already)",
                kind="date",
                label="Last day",
                direction="any",
            ),
        ),
        on_start=start_leaver,
        role="slt,admin",
        on_complete=record_leaver,
        submit_label="Record the leaver",
    ),
)

COMMANDS = (
    Command(
        "leavers",
        "see leavers in progress and what they wait for (SLT, administrators)",
        list_leavers,
        role="slt,admin",
    ),
)

ACTIONS = {
    "leavers.finish": finish,
}

SCHEDULES = (daily_reminders,)


# ---- what the core needs from this module (collected by bot/registry.py) ---------------------


def left_on(record: Record | None, today: str) -> str:
    """The last day of someone whose people record says they have left before `today` (ISO dates), else ""."""
    leaving = (record or {}).get("leaving") or {}
    last_day = str(leaving.get("date") or "") if isinstance(leaving, dict) else ""
    return last_day if last_day and last_day < today else ""


def refuse_if_left(records: Reader, who: Person, today: str) -> None:
    """Someone recorded as having left (after their last day, an ISO date) can no longer act
    or read through policybot, whatever roles the configuration still gives them."""
    last_day = left_on(records.get("people", who.id), today)
    if last_day:
        raise NotAllowed(
            f"Our records show you left the school on {day(last_day)}, so policybot no longer acts for you. "
            "If this is wrong, please ask the school office to correct it.",
            why=f"left on {last_day}",
        )


def gone(records: Reader, today: str) -> set[str]:
    """The ids of everyone who has left before `today`: messages to a role no longer reach them."""
    return {r["id"] for r in records.where("people", lambda r: bool(left_on(r, today)))}


GUARDS = (Guard("left the school", check=refuse_if_left, barred=gone),)
