"""SLT's handling of an incident: details shown privately, ownership, an initial assessment,
notes, closing with an outcome and reopening (the lists, /incidents and /my-reports, are in lists.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import AlreadyDecided, Expired
from bot.messages import Card, Choice, person, role
from bot.timefmt import when
from bot.workflow import ActionHandler, Answers, Context, FollowUp, Invalid, Outcome, Step, filled
from workflows.incidents import TABLE
from workflows.incidents.cards import alert_card, details_card, show_button
from workflows.incidents.record import log, save


def _incident(ctx: Context, data: Mapping[str, Any]) -> dict[str, Any]:
    ctx.require("slt", "read or act on incidents")
    inc = ctx.get(TABLE, str(data.get("incident", "")))
    if inc is None:
        raise Expired("I can't find that incident. Type /incidents to see the open ones.")
    return inc


def _open(inc: Mapping[str, Any], ctx: Context) -> None:
    if inc["status"] == "closed":
        raise AlreadyDecided(
            f"{inc['id']} was closed by {ctx.directory.name(inc['closed_by'])} on "
            f"{when(inc['closed_at'], ctx.settings.school.tz)}, so nothing was changed. "
            "Reopen it first if there is more to do."
        )


# ---- SLT actions ---------------------------------------------------------------------


def show(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Show one member of SLT the details, privately, and record that they looked."""
    inc = _incident(ctx, data)
    log(inc, ctx, f"Details viewed by {ctx.actor.name}")
    save(out, inc, "incident_viewed", before=inc["status"])
    out.tell(details_card(inc, ctx), private=True)


def take_ownership(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    inc = _incident(ctx, data)
    _open(inc, ctx)
    if inc.get("owner") == ctx.actor.id:
        out.tell(
            Card(f"{inc['id']} is already yours", "You already own this incident, so nothing was changed."),
            ephemeral=True,
        )
        return
    if inc.get("owner") and data.get("takeover") != "yes":
        raise AlreadyDecided(
            f"{ctx.directory.name(inc['owner'])} took ownership of {inc['id']} on "
            f"{when(inc['owned_at'], ctx.settings.school.tz)}, so nothing was changed. "
            "If you need to take it over, choose Show details, then Take over."
        )
    _own(inc, ctx, out)
    save(out, inc, "incident_owned", before=inc["status"])
    out.tell(
        Card(
            f"You own {inc['id']}",
            "Thank you. SLT will stop being reminded about it. Use Show details to assess it, add notes and close it.",
            buttons=(show_button(inc),),
            tone="success",
        )
    )


def _own(inc: dict[str, Any], ctx: Context, out: Outcome) -> None:
    previous = inc.get("owner")
    inc.update(owner=ctx.actor.id, owned_at=ctx.now.isoformat())
    if previous:
        log(inc, ctx, f"Ownership taken over from {ctx.directory.name(previous)} by {ctx.actor.name}")
        out.send(
            person(previous),
            Card(f"{inc['id']} has a new owner", f"{ctx.actor.name} has taken over {inc['id']} from you."),
        )
    else:
        log(inc, ctx, f"Ownership taken by {ctx.actor.name}")
    out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True)
    out.send(
        person(inc["reporter"]),
        Card(
            f"Your report {inc['id']}",
            f"{ctx.actor.name} from the Senior Leadership Team is now looking after your report. "
            "Please speak to them if anything changes.",
        ),
    )


def ask_about(follow_up: FollowUp, *, must_be_open: bool | None) -> ActionHandler:
    """An action that asks SLT the follow-up's questions about one incident."""

    def action(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
        inc = _incident(ctx, data)
        if must_be_open is True:
            _open(inc, ctx)
        if must_be_open is False and inc["status"] != "closed":
            raise AlreadyDecided(f"{inc['id']} is still open, so there is nothing to reopen.")
        out.ask(follow_up, about={"incident": inc["id"]})

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
    "parents": (
        "Parents or carers: ask them to remove the post and invite them in to discuss it; if needed, "
        "point them to the complaints procedure."
    ),
}


def only_none(value: list[str], _answers: Answers, _ctx: Context) -> list[str]:
    if "none" in value and len(value) > 1:
        raise Invalid(
            "You chose 'Nobody else for now' and others too. "
            "Please choose either the people to involve, or 'Nobody else for now'."
        )
    return value


not_blank = filled("Please write a few words, so the record makes sense to whoever reads it later.")


def record_assessment(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    inc = _incident(ctx, about)
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
    log(
        inc,
        ctx,
        f"{word} by {ctx.actor.name}: severity {answers['severity']}; involve: {', '.join(involve)}. "
        f"{answers['summary']}",
    )
    save(
        out,
        inc,
        "incident_assessed",
        before=inc["status"],
        detail=f"severity {answers['severity']}; involve {','.join(answers['involve'])}",
    )
    steps = [_NEXT[v] for v in answers["involve"] if v in _NEXT]
    body = "Recorded on the incident's timeline." + (
        "\nNext steps:\n" + "\n".join(f"- {s}" for s in steps) if steps else ""
    )
    out.tell(Card(f"{word} recorded for {inc['id']}", body, buttons=(show_button(inc),), tone="success"))


def record_note(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    inc = _incident(ctx, about)
    inc.setdefault("notes", []).append({"by": ctx.actor.id, "at": ctx.now.isoformat(), "text": answers["note"]})
    log(inc, ctx, f"Note added by {ctx.actor.name}")
    save(out, inc, "incident_note_added", before=inc["status"])
    out.tell(Card(f"Note added to {inc['id']}", "Only SLT can see it.", buttons=(show_button(inc),), tone="success"))


def record_close(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    inc = _incident(ctx, about)
    _open(inc, ctx)
    inc.update(
        status="closed",
        outcome=answers["outcome"],
        reporter_message=answers.get("reporter_message", ""),
        closed_by=ctx.actor.id,
        closed_at=ctx.now.isoformat(),
    )
    if not inc.get("owner"):
        inc.update(owner=ctx.actor.id, owned_at=ctx.now.isoformat())
        log(inc, ctx, f"Ownership taken by {ctx.actor.name}")
    log(inc, ctx, f"Closed by {ctx.actor.name}. Outcome: {answers['outcome']}")
    save(out, inc, "incident_closed", before="open")
    out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True)
    told = f"\nA message from SLT: {inc['reporter_message']}" if inc["reporter_message"] else ""
    out.send(
        person(inc["reporter"]),
        Card(
            f"Your report {inc['id']} is closed",
            f"The Senior Leadership Team have closed your report. Thank you for raising it.{told}",
        ),
    )
    out.tell(
        Card(
            f"{inc['id']} closed",
            "The reporter has been told it is closed" + (" with your message." if told else " (without your notes)."),
            buttons=(show_button(inc),),
            tone="success",
        )
    )


def record_reopen(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    inc = _incident(ctx, about)
    if inc["status"] != "closed":
        raise AlreadyDecided(f"{inc['id']} is already open, so nothing was changed.")
    inc.update(status="open", closed_by=None, closed_at=None)
    log(inc, ctx, f"Reopened by {ctx.actor.name}: {answers['reason']}")
    save(out, inc, "incident_reopened", before="closed")
    out.send(role("slt"), alert_card(inc, ctx), key=f"incident:{inc['id']}", replace=True)
    out.send(
        person(inc["reporter"]),
        Card(
            f"Your report {inc['id']} is open again",
            "The Senior Leadership Team have reopened your report. You don't need to do anything unless they ask.",
        ),
    )
    out.tell(
        Card(
            f"{inc['id']} reopened",
            f"It is open again and owned by {ctx.directory.name(inc['owner'])}.",
            buttons=(show_button(inc),),
            tone="success",
        )
    )


ASSESS = FollowUp(
    name="incident_assess",
    title="Initial assessment",
    steps=(
        Step(key="severity", prompt="How severe is it?", kind="choice", label="Severity", choices=SEVERITY),
        Step(
            key="involve",
            prompt="Who needs to be involved? Choose all that apply (numbers separated by commas).",
            kind="multi",
            label="Involve",
            choices=INVOLVE,
            check=only_none,
        ),
        Step(
            key="summary",
            prompt="Your initial assessment in a few lines: what happened, the risk, and what happens next.",
            label="Assessment",
            check=not_blank,
            example=(
                "A parent posted a photo of a pupil in the class Facebook group. "
                "Low risk; I have asked them to remove it and will call them today"
            ),
        ),
    ),
    then=record_assessment,
    role="slt",
    submit_label="Record the assessment",
    confirm=True,
)


NOTE = FollowUp(
    name="incident_note",
    title="Add a note",
    steps=(
        Step(
            key="note",
            prompt="What would you like to note? Only SLT will see it.",
            label="Note",
            check=not_blank,
            example="Spoke to the parent at 15:30; they have removed the post",
        ),
    ),
    then=record_note,
    role="slt",
)


CLOSE = FollowUp(
    name="incident_close",
    title="Close an incident",
    steps=(
        Step(
            key="outcome",
            prompt="What was the outcome? (This stays with SLT.)",
            label="Outcome",
            check=not_blank,
            example="The post was removed and the parent met the headteacher. No further action",
        ),
        Step(
            key="reporter_message",
            prompt=(
                "Anything you would like the person who reported it to be told? "
                "They will not see the outcome or your notes otherwise."
            ),
            label="Message to the reporter",
            optional=True,
            example="Thank you for reporting this. It has been dealt with",
        ),
    ),
    then=record_close,
    role="slt",
    submit_label="Close the incident",
    confirm=True,
)


REOPEN = FollowUp(
    name="incident_reopen",
    title="Reopen an incident",
    steps=(
        Step(
            key="reason",
            prompt="Why is it being reopened?",
            label="Reason",
            check=not_blank,
            example="The same account posted again this morning",
        ),
    ),
    then=record_reopen,
    role="slt",
)

FOLLOW_UPS = (ASSESS, NOTE, CLOSE, REOPEN)

ACTIONS = {
    "incidents.show": show,
    "incidents.own": take_ownership,
    "incidents.assess": ask_about(ASSESS, must_be_open=True),
    "incidents.note": ask_about(NOTE, must_be_open=None),
    "incidents.close": ask_about(CLOSE, must_be_open=True),
    "incidents.reopen": ask_about(REOPEN, must_be_open=False),
}
