"""The incident record: opened while a report is in progress, completed when it is filed,
and its timeline (who did what, when). Only SLT see what is on it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot import answers as shown
from bot.declarations import Reader, Record, Table, first
from bot.messages import Button, Card, person, role
from bot.timefmt import when
from bot.workflow import Answers, Context, Outcome, Step
from workflows.incidents import KINDS, SYSTEM, TABLE, URGENCY, higher, kind_label
from workflows.incidents.cards import alert_card, data_of, owner_line, show_button


def log(inc: dict[str, Any], ctx: Context, what: str, by: str | None = None) -> None:
    """Add a line to the incident's timeline: who, what, when."""
    inc.setdefault("timeline", []).append({"at": ctx.now.isoformat(), "by": by or ctx.actor.id, "what": what})


def save(out: Outcome, inc: dict[str, Any], action: str, before: str | None = None, detail: str = "") -> None:
    out.put(
        TABLE,
        inc["id"],
        inc,
        action=action,
        before=before,
        after=inc["status"],
        detail=detail,
        expect_version=inc.get("version"),
    )


def details_of(kind: str, answers: Answers, ctx: Context) -> list[list[str]]:
    """The report's answers as label/text pairs, read the way the reporter saw them."""
    found = KINDS.get(kind)
    rows: list[list[str]] = []
    if found is None:
        return [[k, str(v)] for k, v in answers.items() if not k.startswith("_")]
    for step in found.steps:
        if step.key not in answers or (step.when is not None and not step.when(answers)):
            continue
        if step.options is not None:
            step = Step(
                key=step.key,
                prompt=step.prompt,
                kind=step.kind,
                label=step.label,
                choices=tuple(step.options(answers, ctx)),
            )
        rows.append([step.title, shown.show(step, answers[step.key], ctx.directory, ctx.settings.school.tz)])
    return rows


def _new_record(kind: str, urgency: str, answers: Answers, ctx: Context, *, complete: bool) -> dict[str, Any]:
    number = ctx.next_id(TABLE)
    inc: dict[str, Any] = {
        "number": number,
        "kind": kind,
        "status": "open",
        "report_complete": complete,
        "urgency": urgency,
        "reporter": ctx.actor.id,
        "reported_at": ctx.now.isoformat(),
        "alerted_at": ctx.now.isoformat(),
        "answers": {k: v for k, v in answers.items() if not k.startswith("_")},
        "details": details_of(kind, answers, ctx),
        "files_sent": int(answers.get("_files_sent", 0)),
        "owner": None,
        "owned_at": None,
        "assessment": None,
        "notes": [],
        "outcome": "",
        "reporter_message": "",
        "closed_by": None,
        "closed_at": None,
        "timeline": [],
    }
    inc["id"] = f"INC-{number}"
    return inc


def open_incident(
    kind: str, urgency: str, answers: Answers, ctx: Context, out: Outcome, *, why: str = ""
) -> dict[str, Any]:
    """Create the incident now, while the report is still in progress, and alert SLT at once.

    The incident's number is kept in the conversation's answers as `_incident`, so the
    rest of the report lands on the same record.
    """
    inc = _new_record(kind, urgency, answers, ctx, complete=False)
    log(inc, ctx, f"Report started by {ctx.actor.name}")
    log(inc, ctx, f"SLT alerted ({URGENCY[urgency]}){': ' + why if why else ''}", by=SYSTEM)
    answers["_incident"] = inc["id"]
    out.put(TABLE, inc["id"], inc, action="incident_opened", before=None, after="open", detail=f"{kind}, {urgency}")
    out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}")
    return inc


def draft(answers: Answers, ctx: Context) -> dict[str, Any] | None:
    """The incident a report in progress already opened (SLT were alerted), if any."""
    iid = answers.get("_incident")
    return ctx.get(TABLE, iid) if iid else None


def sync_draft(
    answers: Answers,
    ctx: Context,
    out: Outcome,
    inc: dict[str, Any] | None = None,
    *,
    action: str = "",
    detail: str = "",
) -> None:
    """Copy a report in progress onto its incident, so SLT see it even if it is never finished.

    `inc` is the incident as the step already changed it (see `ask_for_help`): one write."""
    inc = inc if inc is not None else draft(answers, ctx)
    if inc is None or inc.get("report_complete"):
        return
    inc["answers"] = {k: v for k, v in answers.items() if not k.startswith("_")}
    inc["details"] = details_of(inc["kind"], answers, ctx)
    inc.pop("report_stopped_at", None)  # carrying on after a cancel: the report is in progress again
    out.put(
        TABLE,
        inc["id"],
        inc,
        action=action,
        before=inc["status"] if action else None,
        detail=detail,
        expect_version=inc["version"],
    )


def on_cancel(answers: Answers, ctx: Context, out: Outcome) -> list[str]:
    """The reporter cancelled a report that had already alerted SLT: the incident stays, with
    what they had answered, and SLT are told it will not be finished. Returns what stays."""
    iid = answers.get("_incident")
    inc = ctx.get(TABLE, iid) if iid else None
    if inc is None or inc.get("report_complete") or inc["status"] != "open":
        return []
    inc["answers"] = {k: v for k, v in answers.items() if not k.startswith("_")}
    inc["details"] = details_of(inc["kind"], answers, ctx)
    inc["report_stopped_at"] = ctx.now.isoformat()
    log(inc, ctx, f"{ctx.actor.name} cancelled the report before finishing it")
    save(out, inc, "incident_report_cancelled", before=inc["status"])
    out.send(
        role("slt"),
        Card(
            f"{inc['id']}: the report was cancelled before it was finished",
            "The person reporting it stopped before the end, so no more answers will come. "
            "What they had answered is on the record.",
            buttons=(show_button(inc),),
            tone="warning",
        ),
    )
    given = len(inc["details"])
    what = f"the {given} answer(s) you had given" if given else "no answers from you"
    return [
        f"Kept: incident {inc['id']} stays open with the Senior Leadership Team, with {what}. "
        "They may get in touch with you. Type /my-reports to see it."
    ]


def file_report(
    kind: str, urgency: str, answers: Answers, ctx: Context, out: Outcome, *, also: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The reporter submitted: complete (or create) the incident and tell SLT and the reporter.

    `also` names people of SLT to alert by name as well, each with the reason ({"swhitfield":
    "the headteacher"}); the timeline and the reporter's thank-you say so.
    """
    clean = {k: v for k, v in answers.items() if not k.startswith("_")}
    existing = ctx.get(TABLE, answers["_incident"]) if answers.get("_incident") else None
    also = dict(also or {})
    named = [f"{ctx.directory.name(pid)} ({why})" for pid, why in also.items()]
    if existing is None:
        inc = _new_record(kind, urgency, answers, ctx, complete=True)
        log(inc, ctx, f"Reported by {ctx.actor.name}")
        log(inc, ctx, f"SLT alerted ({URGENCY[urgency]})", by=SYSTEM)
        for line in named:
            log(inc, ctx, f"{line} alerted by name", by=SYSTEM)
        out.put(
            TABLE, inc["id"], inc, action="incident_reported", before=None, after="open", detail=f"{kind}, {urgency}"
        )
        out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}")
    else:
        inc = existing
        before = inc["urgency"]
        inc.update(
            answers=clean,
            details=details_of(kind, answers, ctx),
            report_complete=True,
            urgency=higher(before, urgency),
            files_sent=max(int(inc.get("files_sent", 0)), int(answers.get("_files_sent", 0))),
        )
        log(inc, ctx, f"Report completed by {ctx.actor.name}")
        for line in named:
            log(inc, ctx, f"{line} alerted by name", by=SYSTEM)
        save(out, inc, "incident_reported", before=inc["status"])
        out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True)
        out.send(
            role("slt"),
            Card(
                f"{inc['id']}: the report is now complete",
                "The full report can be seen with Show details.",
                buttons=(show_button(inc),),
            ),
        )
    for pid, why in also.items():
        out.send(
            person(pid),
            Card(
                f"Incident {inc['id']}: {kind_label(inc['kind'])} ({URGENCY[inc['urgency']]}) - for you as {why}",
                f"{ctx.directory.name(pid)}, you are alerted by name as {why}, as well as SLT. "
                "Details are shown privately when you ask; each viewing is recorded.\n" + owner_line(inc, ctx),
                buttons=(show_button(inc),),
                tone="urgent" if inc["urgency"] == "urgent" else "warning",
            ),
            private=True,
        )
    told = " and ".join([", ".join(named), "the Senior Leadership Team"]) if named else "The Senior Leadership Team"
    out.tell(
        Card(
            f"Thank you: your report is {inc['id']}",
            f"{told} have been told and will take it from here. Please don't discuss it more widely. "
            "Type /my-reports at any time to see where it has got to.",
            tone="success",
        )
    )
    return inc


def ask_for_help(inc: dict[str, Any] | None, answers: Answers, step: Step, ctx: Context, out: Outcome) -> str:
    """The reporter is stuck on a step: tell SLT (privately: who, which incident, which step)
    and note it on the incident's timeline (saved by `sync_draft`). Returns what to tell the
    reporter, built from what was done."""
    if inc is None:
        return "I couldn't find your report to tell SLT through, so please find a member of SLT in person now."
    # "Step 2 (Removed from 'Recently deleted')": the checklist's own number, and what the step is.
    number = step.prompt.split(":")[0] if step.prompt.startswith("Step ") else ""
    name = f"{number} ({step.title})" if number else step.title
    asked = answers.setdefault("_help_asked", {})
    if step.key in asked:
        return (
            f"I told SLT you need help with this step at {when(asked[step.key], ctx.settings.school.tz)} "
            f"({inc['id']}). If nobody has been in touch, please find a member of SLT in person."
        )
    asked[step.key] = ctx.now.isoformat()
    log(inc, ctx, f"{ctx.actor.name} asked for help with: {name}")
    if inc["urgency"] != "urgent":
        inc["urgency"] = "urgent"
        out.send(
            role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True
        )  # the channel's card shows it too
    buttons = [show_button(inc)]
    if not inc.get("owner"):
        buttons.append(Button(action="incidents.own", label="Take ownership", data=data_of(inc), style="primary"))
    out.send(
        role("slt"),
        Card(
            f"{inc['id']}: {ctx.actor.name} needs help now",
            f"{ctx.actor.name} is stuck on this step and needs a member of SLT to help: {name}.\n"
            "Please get in touch with them now.",
            buttons=tuple(buttons),
            tone="urgent",
        ),
        private=True,
    )
    return (
        f"I have told the Senior Leadership Team ({inc['id']}) that you need help with this step: {name}. "
        "One of them should get in touch with you soon."
    )


def on_file(answers: Answers, ctx: Context, out: Outcome) -> None:
    """A file was sent into a report: never opened or kept; only the fact is recorded."""
    answers["_files_sent"] = int(answers.get("_files_sent", 0)) + 1
    iid = answers.get("_incident")
    inc = ctx.get(TABLE, iid) if iid else None
    if inc is not None:
        inc["files_sent"] = int(inc.get("files_sent", 0)) + 1
        log(
            inc,
            ctx,
            "The reporter sent a file into the chat. It was not opened or kept; they were asked to delete the message.",
        )
        save(out, inc, "incident_file_refused")
    out.tell(
        Card(
            "Please delete that message too",
            "I don't open or keep files or pictures, and I've noted only that one was sent. "
            "Please delete the message with the file from this chat now, and don't forward it to anyone. "
            "Describe what it showed in words instead, then carry on with the last question.",
            tone="warning",
        )
    )


# ---- what the core needs from this module (collected by bot/registry.py) ---------------------


def _retention(record: Record, _records: Reader) -> datetime | None:
    return first(record, "closed_at", "reported_at") if record.get("status") in ("closed", "resolved") else None


TABLES = (
    Table(
        TABLE,
        export=True,
        columns=("id", "kind", "urgency", "status", "reported_at", "owner", "closed_at"),
        retention=_retention,
        waiting="open incidents",
        waiting_status="open",
        named_by="incident",
    ),
)
