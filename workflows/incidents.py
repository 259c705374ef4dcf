"""Incidents, handled by SLT to closure (the policy's "Roles & Responsibilities" and "Behaviour").

"SLT: taking a lead role in investigating any reported incidents; making an initial
assessment when an incident is reported and involving appropriate staff and external
agencies as required." Every report (abuse, a compromising image, a journalist, a
pupil's contact) becomes an incident with a number. The alert in SLT's channel carries
only its type, number and urgency; the details are shown privately to a member of SLT
who asks, and every viewing is written on the incident's timeline, as safeguarding
systems do. SLT take ownership, record an initial assessment, add notes, close with an
outcome and reopen. An incident nobody owns is chased until somebody takes it. The
reporter sees the status of their own reports, never SLT's notes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot import answers as shown
from bot.errors import AlreadyDecided, Expired
from bot.messages import Button, Card, Choice, person, role
from bot.timefmt import when
from bot.workflow import Answers, Command, Context, Invalid, Outcome, Step, Workflow, filled

TABLE = "incidents"
SYSTEM = "policybot"
URGENCY = {"urgent": "URGENT", "high": "high", "normal": "normal"}
_RANK = {"urgent": 0, "high": 1, "normal": 2}


@dataclass(frozen=True)
class Kind:
    """A kind of incident: how it is named, and the questions its report asks."""

    name: str  # "abuse"
    label: str  # "Abuse reported online"
    workflow: str  # "report_abuse"
    steps: tuple[Step, ...] = ()


# Filled in by each reporting module when it is imported (static data, not state).
KINDS: dict[str, Kind] = {}


def register(kind: Kind) -> Kind:
    """Make a kind of incident known to the SLT views."""
    KINDS[kind.name] = kind
    return kind


def kind_label(name: str) -> str:
    return KINDS[name].label if name in KINDS else name.replace("_", " ").capitalize()


def higher(a: str, b: str) -> str:
    """The more urgent of two urgencies."""
    return a if _RANK.get(a, 2) <= _RANK.get(b, 2) else b


# ---- the record -------------------------------------------------------------------


def _log(inc: dict[str, Any], ctx: Context, what: str, by: str | None = None) -> None:
    """Add a line to the incident's timeline: who, what, when."""
    inc.setdefault("timeline", []).append({"at": ctx.now.isoformat(), "by": by or ctx.actor.id, "what": what})


def _save(out: Outcome, inc: dict[str, Any], action: str, before: str | None = None, detail: str = "") -> None:
    out.put(TABLE, inc["id"], inc, action=action, before=before, after=inc["status"], detail=detail, expect_version=inc.get("version"))


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
            step = Step(step.key, step.prompt, step.kind, step.label, tuple(step.options(answers, ctx)))
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


def open_incident(kind: str, urgency: str, answers: Answers, ctx: Context, out: Outcome, *, why: str = "") -> dict[str, Any]:
    """Create the incident now, while the report is still in progress, and alert SLT at once.

    The incident's number is kept in the conversation's answers as `_incident`, so the
    rest of the report lands on the same record.
    """
    inc = _new_record(kind, urgency, answers, ctx, complete=False)
    _log(inc, ctx, f"Report started by {ctx.actor.name}")
    _log(inc, ctx, f"SLT alerted ({URGENCY[urgency]}){': ' + why if why else ''}", by=SYSTEM)
    answers["_incident"] = inc["id"]
    out.put(TABLE, inc["id"], inc, action="incident_opened", before=None, after="open", detail=f"{kind}, {urgency}")
    out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}")
    return inc


def draft(answers: Answers, ctx: Context) -> dict[str, Any] | None:
    """The incident a report in progress already opened (SLT were alerted), if any."""
    iid = answers.get("_incident")
    return ctx.get(TABLE, iid) if iid else None


def sync_draft(answers: Answers, ctx: Context, out: Outcome, inc: dict[str, Any] | None = None, *, action: str = "", detail: str = "") -> None:
    """Copy a report in progress onto its incident, so SLT see it even if it is never finished.

    `inc` is the incident as the step already changed it (see `ask_for_help`): one write."""
    inc = inc if inc is not None else draft(answers, ctx)
    if inc is None or inc.get("report_complete"):
        return
    inc["answers"] = {k: v for k, v in answers.items() if not k.startswith("_")}
    inc["details"] = details_of(inc["kind"], answers, ctx)
    inc.pop("report_stopped_at", None)  # carrying on after a cancel: the report is in progress again
    out.put(TABLE, inc["id"], inc, action=action, before=inc["status"] if action else None, detail=detail, expect_version=inc["version"])


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
    _log(inc, ctx, f"{ctx.actor.name} cancelled the report before finishing it")
    _save(out, inc, "incident_report_cancelled", before=inc["status"])
    out.send(
        role("slt"),
        Card(
            f"{inc['id']}: the report was cancelled before it was finished",
            "The person reporting it stopped before the end, so no more answers will come. What they had answered is on the record.",
            buttons=(_show(inc),),
            tone="warning",
        ),
    )
    given = len(inc["details"])
    what = f"the {given} answer(s) you had given" if given else "no answers from you"
    return [f"Kept: incident {inc['id']} stays open with the Senior Leadership Team, with {what}. They may get in touch with you. Type /my-reports to see it."]


def file_report(kind: str, urgency: str, answers: Answers, ctx: Context, out: Outcome, *, also: Mapping[str, str] | None = None) -> dict[str, Any]:
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
        _log(inc, ctx, f"Reported by {ctx.actor.name}")
        _log(inc, ctx, f"SLT alerted ({URGENCY[urgency]})", by=SYSTEM)
        for line in named:
            _log(inc, ctx, f"{line} alerted by name", by=SYSTEM)
        out.put(TABLE, inc["id"], inc, action="incident_reported", before=None, after="open", detail=f"{kind}, {urgency}")
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
        _log(inc, ctx, f"Report completed by {ctx.actor.name}")
        for line in named:
            _log(inc, ctx, f"{line} alerted by name", by=SYSTEM)
        _save(out, inc, "incident_reported", before=inc["status"])
        out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True)
        out.send(role("slt"), Card(f"{inc['id']}: the report is now complete", "The full report can be seen with Show details.", buttons=(_show(inc),)))
    for pid, why in also.items():
        out.send(
            person(pid),
            Card(
                f"Incident {inc['id']}: {kind_label(inc['kind'])} ({URGENCY[inc['urgency']]}) - for you as {why}",
                f"{ctx.directory.name(pid)}, you are alerted by name as {why}, as well as SLT. Details are shown privately when you ask; each viewing is recorded.\n" + _owner_line(inc, ctx),
                buttons=(_show(inc),),
                tone="urgent" if inc["urgency"] == "urgent" else "warning",
            ),
            private=True,
        )
    told = " and ".join([", ".join(named), "the Senior Leadership Team"]) if named else "The Senior Leadership Team"
    out.tell(
        Card(
            f"Thank you: your report is {inc['id']}",
            f"{told} have been told and will take it from here. Please don't discuss it more widely. Type /my-reports at any time to see where it has got to.",
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
        return f"I told SLT you need help with this step at {when(asked[step.key], ctx.settings.school.tz)} ({inc['id']}). If nobody has been in touch, please find a member of SLT in person."
    asked[step.key] = ctx.now.isoformat()
    _log(inc, ctx, f"{ctx.actor.name} asked for help with: {name}")
    if inc["urgency"] != "urgent":
        inc["urgency"] = "urgent"
        out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True)  # the channel's card shows it too
    buttons = [_show(inc)]
    if not inc.get("owner"):
        buttons.append(Button("incidents.own", "Take ownership", _data(inc), "primary"))
    out.send(
        role("slt"),
        Card(
            f"{inc['id']}: {ctx.actor.name} needs help now",
            f"{ctx.actor.name} is stuck on this step and needs a member of SLT to help: {name}.\nPlease get in touch with them now.",
            buttons=tuple(buttons),
            tone="urgent",
        ),
        private=True,
    )
    return f"I have told the Senior Leadership Team ({inc['id']}) that you need help with this step: {name}. One of them should get in touch with you soon."


def on_file(answers: Answers, ctx: Context, out: Outcome) -> None:
    """A file was sent into a report: never opened or kept; only the fact is recorded."""
    answers["_files_sent"] = int(answers.get("_files_sent", 0)) + 1
    iid = answers.get("_incident")
    inc = ctx.get(TABLE, iid) if iid else None
    if inc is not None:
        inc["files_sent"] = int(inc.get("files_sent", 0)) + 1
        _log(inc, ctx, "The reporter sent a file into the chat. It was not opened or kept; they were asked to delete the message.")
        _save(out, inc, "incident_file_refused")
    out.tell(
        Card(
            "Please delete that message too",
            "I don't open or keep files or pictures, and I've noted only that one was sent. "
            "Please delete the message with the file from this chat now, and don't forward it to anyone. "
            "Describe what it showed in words instead, then carry on with the last question.",
            tone="warning",
        )
    )


# ---- what SLT see -------------------------------------------------------------------


def _show(inc: Mapping[str, Any]) -> Button:
    return Button("incidents.show", f"Show details of {inc['id']}", _data(inc))


def _data(inc: Mapping[str, Any]) -> dict[str, str]:
    return {"incident": inc["id"], "record": f"{TABLE}/{inc['id']}"}


def age(since: str | datetime, now: datetime) -> str:
    """'45 min', '3 h 10 min', '2 days'."""
    start = datetime.fromisoformat(since) if isinstance(since, str) else since
    minutes = max(0, int((now - start).total_seconds() // 60))
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        h, m = divmod(minutes, 60)
        return f"{h} h {m} min" if m else f"{h} h"
    return f"{minutes // (24 * 60)} days"


def _owner_line(inc: Mapping[str, Any], ctx: Context) -> str:
    if inc["status"] == "closed":
        return f"Closed by {ctx.directory.name(inc['closed_by'])} on {when(inc['closed_at'], ctx.settings.school.tz)}."
    if inc.get("owner"):
        return f"Owned by {ctx.directory.name(inc['owner'])} since {when(inc['owned_at'], ctx.settings.school.tz)}."
    return "Nobody has taken ownership yet."


def alert_card(inc: Mapping[str, Any], ctx: Context) -> Card:
    """The card in SLT's channel: type, number and urgency only, nothing about anyone."""
    body = "Details are shown privately to a member of SLT who asks; each viewing is recorded.\n" + _owner_line(inc, ctx)
    buttons = [_show(inc)]
    if inc["status"] == "open" and not inc.get("owner"):
        buttons.append(Button("incidents.own", "Take ownership", _data(inc), "primary"))
    tone = "urgent" if inc["urgency"] == "urgent" and inc["status"] == "open" else "warning" if inc["status"] == "open" else "info"
    return Card(f"Incident {inc['id']}: {kind_label(inc['kind'])} ({URGENCY[inc['urgency']]})", body, buttons=tuple(buttons), tone=tone)


def details_card(inc: Mapping[str, Any], ctx: Context) -> Card:
    """Everything on the record, for one member of SLT in private."""
    tz = ctx.settings.school.tz
    fields: list[tuple[str, str]] = [
        (
            "Status",
            ("open" if inc["status"] == "open" else "closed")
            + ("" if inc["report_complete"] else " (the reporter cancelled before finishing the report)" if inc.get("report_stopped_at") else " (the reporter has not finished the report yet)"),
        ),
        ("Urgency", URGENCY[inc["urgency"]]),
        ("Reported by", f"{ctx.directory.name(inc['reporter'])}, {when(inc['reported_at'], tz)}"),
        ("Owner", ctx.directory.name(inc["owner"]) if inc.get("owner") else "nobody yet"),
    ]
    fields += [(label, text) for label, text in inc.get("details", [])]
    if inc.get("files_sent"):
        fields.append(("Files", f"The reporter sent {inc['files_sent']} file(s) into the chat. They were not opened or kept."))
    a = inc.get("assessment")
    if a:
        fields.append(("Initial assessment", f"Severity {a['severity']}; involve: {a['involve_text']}\n{a['summary']}\n- {ctx.directory.name(a['by'])}, {when(a['at'], tz)}"))
    for n in inc.get("notes", []):
        fields.append(("Note", f"{n['text']}\n- {ctx.directory.name(n['by'])}, {when(n['at'], tz)}"))
    if inc.get("outcome"):
        fields.append(("Outcome", inc["outcome"]))
    if inc.get("reporter_message"):
        fields.append(("Told the reporter", inc["reporter_message"]))
    fields.append(("Timeline", "\n".join(f"{when(t['at'], tz)} - {t['what']}" for t in inc.get("timeline", []))))
    data = _data(inc)
    buttons: list[Button] = []
    if inc["status"] == "open":
        if not inc.get("owner"):
            buttons.append(Button("incidents.own", "Take ownership", data, "primary"))
        elif inc["owner"] != ctx.actor.id:
            buttons.append(Button("incidents.own", f"Take over from {ctx.directory.name(inc['owner'])}", {**data, "takeover": "yes"}))
        buttons.append(Button("incidents.assess", "Initial assessment" if not a else "Update the assessment", data))
        buttons.append(Button("incidents.note", "Add a note", data))
        buttons.append(Button("incidents.close", "Close with an outcome", data, "danger"))
    else:
        buttons.append(Button("incidents.note", "Add a note", data))
        buttons.append(Button("incidents.reopen", "Reopen", data))
    return Card(f"{inc['id']}: {kind_label(inc['kind'])} (private to you)", "This is confidential. Please don't copy it into shared channels.", fields=tuple(fields), buttons=tuple(buttons))


def _incident(ctx: Context, data: Mapping[str, Any]) -> dict[str, Any]:
    ctx.require("slt", "read or act on incidents")
    inc = ctx.get(TABLE, str(data.get("incident", "")))
    if inc is None:
        raise Expired("I can't find that incident. Type /incidents to see the open ones.")
    return inc


def _open(inc: Mapping[str, Any], ctx: Context) -> None:
    if inc["status"] == "closed":
        raise AlreadyDecided(
            f"{inc['id']} was closed by {ctx.directory.name(inc['closed_by'])} on {when(inc['closed_at'], ctx.settings.school.tz)}, so nothing was changed. Reopen it first if there is more to do."
        )


# ---- SLT actions ---------------------------------------------------------------------


def show(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Show one member of SLT the details, privately, and record that they looked."""
    inc = _incident(ctx, data)
    _log(inc, ctx, f"Details viewed by {ctx.actor.name}")
    _save(out, inc, "incident_viewed", before=inc["status"])
    out.tell(details_card(inc, ctx), private=True)


def take_ownership(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    inc = _incident(ctx, data)
    _open(inc, ctx)
    if inc.get("owner") == ctx.actor.id:
        out.tell(Card(f"{inc['id']} is already yours", "You already own this incident, so nothing was changed."), ephemeral=True)
        return
    if inc.get("owner") and data.get("takeover") != "yes":
        raise AlreadyDecided(
            f"{ctx.directory.name(inc['owner'])} took ownership of {inc['id']} on {when(inc['owned_at'], ctx.settings.school.tz)}, so nothing was changed. "
            "If you need to take it over, choose Show details, then Take over."
        )
    _own(inc, ctx, out)
    _save(out, inc, "incident_owned", before=inc["status"])
    out.tell(Card(f"You own {inc['id']}", "Thank you. SLT will stop being reminded about it. Use Show details to assess it, add notes and close it.", buttons=(_show(inc),), tone="success"))


def _own(inc: dict[str, Any], ctx: Context, out: Outcome) -> None:
    previous = inc.get("owner")
    inc.update(owner=ctx.actor.id, owned_at=ctx.now.isoformat())
    if previous:
        _log(inc, ctx, f"Ownership taken over from {ctx.directory.name(previous)} by {ctx.actor.name}")
        out.send(person(previous), Card(f"{inc['id']} has a new owner", f"{ctx.actor.name} has taken over {inc['id']} from you."))
    else:
        _log(inc, ctx, f"Ownership taken by {ctx.actor.name}")
    out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True)
    out.send(
        person(inc["reporter"]),
        Card(f"Your report {inc['id']}", f"{ctx.actor.name} from the Senior Leadership Team is now looking after your report. Please speak to them if anything changes."),
    )


def begin(workflow: str, *, must_be_open: bool | None) -> Any:
    """An action that asks SLT some questions about one incident."""

    def action(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
        inc = _incident(ctx, data)
        if must_be_open is True:
            _open(inc, ctx)
        if must_be_open is False and inc["status"] != "closed":
            raise AlreadyDecided(f"{inc['id']} is still open, so there is nothing to reopen.")
        out.begin(workflow, {"incident": inc["id"]})

    return action


SEVERITY = (
    Choice("low", "Low"),
    Choice("medium", "Medium"),
    Choice("high", "High"),
    Choice("critical", "Critical"),
)
INVOLVE = (
    Choice("police", "The police (101, or 999 in an emergency)"),
    Choice("lado", "The LADO (an allegation about an adult working with children)"),
    Choice("social_care", "Children's social care"),
    Choice("platform", "The platform (report the post or account)"),
    Choice("parents", "Parents or carers: ask them to remove the post and invite them to discuss it"),
    Choice("complaints", "The complaints procedure"),
    Choice("behaviour", "The behaviour policy (pupils)"),
    Choice("disciplinary", "The disciplinary policy (staff)"),
    Choice("none", "Nobody else for now"),
)
_NEXT = {
    "police": "Police: call 999 if anyone is in danger now, otherwise 101; note the reference number here.",
    "lado": "LADO: contact them within one working day, before any internal investigation, and note their advice here.",
    "social_care": "Children's social care: make the referral today and note the reference here.",
    "platform": "Platform: report the post or account through the platform's own reporting tools.",
    "parents": "Parents or carers: ask them to remove the post and invite them in to discuss it; if needed, point them to the complaints procedure.",
}


def only_none(value: list[str], _answers: Answers, _ctx: Context) -> list[str]:
    if "none" in value and len(value) > 1:
        raise Invalid("You chose 'Nobody else for now' and others too. Please choose either the people to involve, or 'Nobody else for now'.")
    return value


not_blank = filled("Please write a few words, so the record makes sense to whoever reads it later.")


def _context_incident(answers: Answers, ctx: Context) -> dict[str, Any]:
    return _incident(ctx, {"incident": answers["_context"].get("incident", "")})


def record_assessment(answers: Answers, ctx: Context, out: Outcome) -> None:
    inc = _context_incident(answers, ctx)
    _open(inc, ctx)
    involve = [c.label.split(" (")[0].split(":")[0] for c in INVOLVE if c.value in answers["involve"]]
    first = inc.get("assessment") is None
    inc["assessment"] = {
        "severity": answers["severity"],
        "involve": answers["involve"],
        "involve_text": ", ".join(involve),
        "summary": answers["summary"],
        "by": ctx.actor.id,
        "at": ctx.now.isoformat(),
    }
    if not inc.get("owner"):
        _own(inc, ctx, out)
    word = "Initial assessment" if first else "Assessment updated"
    _log(inc, ctx, f"{word} by {ctx.actor.name}: severity {answers['severity']}; involve: {', '.join(involve)}. {answers['summary']}")
    _save(out, inc, "incident_assessed", before=inc["status"], detail=f"severity {answers['severity']}; involve {','.join(answers['involve'])}")
    steps = [_NEXT[v] for v in answers["involve"] if v in _NEXT]
    body = "Recorded on the incident's timeline." + ("\nNext steps:\n" + "\n".join(f"- {s}" for s in steps) if steps else "")
    out.tell(Card(f"{word} recorded for {inc['id']}", body, buttons=(_show(inc),), tone="success"))


def record_note(answers: Answers, ctx: Context, out: Outcome) -> None:
    inc = _context_incident(answers, ctx)
    inc.setdefault("notes", []).append({"by": ctx.actor.id, "at": ctx.now.isoformat(), "text": answers["note"]})
    _log(inc, ctx, f"Note added by {ctx.actor.name}")
    _save(out, inc, "incident_note_added", before=inc["status"])
    out.tell(Card(f"Note added to {inc['id']}", "Only SLT can see it.", buttons=(_show(inc),), tone="success"))


def record_close(answers: Answers, ctx: Context, out: Outcome) -> None:
    inc = _context_incident(answers, ctx)
    _open(inc, ctx)
    inc.update(status="closed", outcome=answers["outcome"], reporter_message=answers.get("reporter_message", ""), closed_by=ctx.actor.id, closed_at=ctx.now.isoformat())
    if not inc.get("owner"):
        inc.update(owner=ctx.actor.id, owned_at=ctx.now.isoformat())
        _log(inc, ctx, f"Ownership taken by {ctx.actor.name}")
    _log(inc, ctx, f"Closed by {ctx.actor.name}. Outcome: {answers['outcome']}")
    _save(out, inc, "incident_closed", before="open")
    out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True)
    told = f"\nA message from SLT: {inc['reporter_message']}" if inc["reporter_message"] else ""
    out.send(person(inc["reporter"]), Card(f"Your report {inc['id']} is closed", f"The Senior Leadership Team have closed your report. Thank you for raising it.{told}"))
    out.tell(Card(f"{inc['id']} closed", "The reporter has been told it is closed" + (" with your message." if told else " (without your notes)."), buttons=(_show(inc),), tone="success"))


def record_reopen(answers: Answers, ctx: Context, out: Outcome) -> None:
    inc = _context_incident(answers, ctx)
    if inc["status"] != "closed":
        raise AlreadyDecided(f"{inc['id']} is already open, so nothing was changed.")
    inc.update(status="open", closed_by=None, closed_at=None)
    _log(inc, ctx, f"Reopened by {ctx.actor.name}: {answers['reason']}")
    _save(out, inc, "incident_reopened", before="closed")
    out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True)
    out.send(person(inc["reporter"]), Card(f"Your report {inc['id']} is open again", "The Senior Leadership Team have reopened your report. You don't need to do anything unless they ask."))
    out.tell(Card(f"{inc['id']} reopened", f"It is open again and owned by {ctx.directory.name(inc['owner'])}.", buttons=(_show(inc),), tone="success"))


# ---- commands --------------------------------------------------------------------------


def list_incidents(text: str, ctx: Context, out: Outcome) -> None:
    """SLT: open incidents (type, number, urgency, owner, age); '/incidents closed' for closed."""
    ctx.require("slt", "see incidents")
    closed = text.strip().lower().startswith("closed")
    found = [i for i in ctx.all(TABLE) if (i["status"] == "closed") == closed]
    found.sort(key=lambda i: (_RANK.get(i["urgency"], 2), i["reported_at"]))
    out.audit("incidents_listed", TABLE, detail="closed" if closed else "open")
    if not found:
        out.tell(Card("Incidents", "There are no closed incidents." if closed else "There are no open incidents. Type /incidents closed to see closed ones."))
        return
    fields = []
    for inc in found:
        owner = ctx.directory.name(inc["owner"]) if inc.get("owner") else "NO OWNER"
        fields.append((f"{inc['id']}: {kind_label(inc['kind'])}", f"{URGENCY[inc['urgency']]} - owner: {owner} - reported {age(inc['reported_at'], ctx.now)} ago"))
    title = "Closed incidents" if closed else "Open incidents"
    out.tell(Card(title, f"{len(found)} incident(s). Choose one to see its details (the viewing is recorded).", fields=tuple(fields), buttons=tuple(_show(i) for i in found[:20])), private=True)


_REPORTER_STATUS = {
    "draft": "you haven't finished this report; SLT have been alerted",
    "stopped": "you cancelled this report before finishing it; SLT were alerted and have what you had answered",
    "waiting": "with the Senior Leadership Team, waiting for someone to take it on",
}


def my_reports(_text: str, ctx: Context, out: Outcome) -> None:
    """A reporter's own reports and their status, never SLT's notes or assessment."""
    mine = sorted(ctx.find(TABLE, reporter=ctx.actor.id), key=lambda i: i["number"])
    if not mine:
        out.tell(Card("Your reports", "You haven't reported anything. If you need to: /report-abuse, /compromising-image, /media-enquiry or /pupil-contact."))
        return
    tz = ctx.settings.school.tz
    fields = []
    for inc in mine:
        if inc["status"] == "closed":
            status = f"closed on {when(inc['closed_at'], tz)}"
            if inc.get("reporter_message"):
                status += f"\nA message from SLT: {inc['reporter_message']}"
        elif inc.get("report_stopped_at") and not inc.get("report_complete"):
            status = _REPORTER_STATUS["stopped"]
        elif not inc.get("report_complete"):
            status = _REPORTER_STATUS["draft"]
        elif inc.get("owner"):
            status = f"being handled by {ctx.directory.name(inc['owner'])}"
        else:
            status = _REPORTER_STATUS["waiting"]
        fields.append((f"{inc['id']}: {kind_label(inc['kind'])}", f"Reported {when(inc['reported_at'], tz)}: {status}"))
    out.tell(Card("Your reports", "", fields=tuple(fields)), private=True)


# ---- chasing ---------------------------------------------------------------------------


def interval(urgency: str, ctx: Context) -> timedelta:
    """How often SLT are reminded about an incident nobody has taken."""
    conf = ctx.settings.incidents
    if urgency == "urgent":
        return timedelta(minutes=conf.urgent_reminder_minutes)
    if urgency == "high":
        return timedelta(hours=conf.high_reminder_hours)
    return timedelta(hours=conf.reminder_hours)


def chase_unowned(ctx: Context) -> Iterable[tuple[str, Outcome]]:
    """Remind SLT once per interval about each open incident that nobody owns."""
    for inc in ctx.all(TABLE):
        if inc["status"] != "open" or inc.get("owner"):
            continue
        n = int((ctx.now - datetime.fromisoformat(inc["alerted_at"])) / interval(inc["urgency"], ctx))
        if n < 1:
            continue
        out = Outcome(actor=SYSTEM)
        waited = age(inc["alerted_at"], ctx.now)
        _log(inc, ctx, f"SLT reminded: nobody has taken ownership after {waited}", by=SYSTEM)
        _save(out, inc, "incident_chased", before="open")
        out.send(
            role("slt"),
            Card(
                f"Still needs an owner: {inc['id']} ({URGENCY[inc['urgency']]})",
                f"{kind_label(inc['kind'])}, reported {waited} ago, and nobody has taken it yet. Please can one of you take ownership?",
                buttons=(_show(inc), Button("incidents.own", "Take ownership", _data(inc), "primary")),
                tone="urgent" if inc["urgency"] == "urgent" else "warning",
            ),
        )
        yield f"incident-unowned:{inc['id']}:{inc['alerted_at']}:{n}", out


WORKFLOWS = (
    Workflow(
        name="incident_assess",
        title="Initial assessment",
        steps=(
            Step("severity", "How severe is it?", "choice", "Severity", SEVERITY),
            Step(
                "involve",
                "Who needs to be involved? Choose all that apply (numbers separated by commas).",
                "multi",
                "Involve",
                INVOLVE,
                check=only_none,
            ),
            Step(
                "summary",
                "Your initial assessment in a few lines: what happened, the risk, and what happens next.",
                label="Assessment",
                check=not_blank,
                example="A parent posted a photo of a pupil in the class Facebook group. Low risk; I have asked them to remove it and will call them today",
            ),
        ),
        on_complete=record_assessment,
        role="slt",
        submit_label="Record the assessment",
    ),
    Workflow(
        name="incident_note",
        title="Add a note",
        steps=(Step("note", "What would you like to note? Only SLT will see it.", label="Note", check=not_blank, example="Spoke to the parent at 15:30; they have removed the post"),),
        on_complete=record_note,
        role="slt",
        confirm=False,
    ),
    Workflow(
        name="incident_close",
        title="Close an incident",
        steps=(
            Step("outcome", "What was the outcome? (This stays with SLT.)", label="Outcome", check=not_blank, example="The post was removed and the parent met the headteacher. No further action"),
            Step(
                "reporter_message",
                "Anything you would like the person who reported it to be told? They will not see the outcome or your notes otherwise.",
                label="Message to the reporter",
                optional=True,
                example="Thank you for reporting this. It has been dealt with",
            ),
        ),
        on_complete=record_close,
        role="slt",
        submit_label="Close the incident",
    ),
    Workflow(
        name="incident_reopen",
        title="Reopen an incident",
        steps=(Step("reason", "Why is it being reopened?", label="Reason", check=not_blank, example="The same account posted again this morning"),),
        on_complete=record_reopen,
        role="slt",
        confirm=False,
    ),
)

COMMANDS = (
    Command("incidents", "SLT: see open incidents (add 'closed' for closed ones)", list_incidents, role="slt"),
    Command("my-reports", "see the status of incidents you reported", my_reports),
)

ACTIONS = {
    "incidents.show": show,
    "incidents.own": take_ownership,
    "incidents.assess": begin("incident_assess", must_be_open=True),
    "incidents.note": begin("incident_note", must_be_open=None),
    "incidents.close": begin("incident_close", must_be_open=True),
    "incidents.reopen": begin("incident_reopen", must_be_open=False),
}

SCHEDULES = (chase_unowned,)
