"""The lists of incidents: /incidents shows SLT the open (or closed) ones, /my-reports shows a reporter the status of
their own reports, never SLT's notes or assessment.
"""

from __future__ import annotations

from bot.messages import Card
from bot.timefmt import when
from bot.workflow import Command, Context, Outcome
from workflows.incidents import RANK, TABLE, URGENCY, kind_label
from workflows.incidents.cards import age, show_button


def list_incidents(text: str, ctx: Context, out: Outcome) -> None:
    """SLT: open incidents (type, number, urgency, owner, age); '/incidents closed' for closed."""
    ctx.require("slt", "see incidents")
    closed = text.strip().lower().startswith("closed")
    found = [i for i in ctx.all(TABLE) if (i["status"] == "closed") == closed]
    found.sort(key=lambda i: (RANK.get(i["urgency"], 2), i["reported_at"]))
    out.audit("incidents_listed", TABLE, detail="closed" if closed else "open")
    if not found:
        out.tell(
            Card(
                "Incidents",
                "There are no closed incidents."
                if closed
                else "There are no open incidents. Type /incidents closed to see closed ones.",
            )
        )
        return
    fields = []
    for inc in found:
        owner = ctx.directory.name(inc["owner"]) if inc.get("owner") else "NO OWNER"
        fields.append(
            (
                f"{inc['id']}: {kind_label(inc['kind'])}",
                f"{URGENCY[inc['urgency']]} - owner: {owner} - reported {age(inc['reported_at'], ctx.now)} ago",
            )
        )
    title = "Closed incidents" if closed else "Open incidents"
    out.tell(
        Card(
            title,
            f"{len(found)} incident(s). Choose one to see its details (the viewing is recorded).",
            fields=tuple(fields),
            buttons=tuple(show_button(i) for i in found[:20]),
        ),
        private=True,
    )


_REPORTER_STATUS = {
    "draft": "you haven't finished this report; SLT have been alerted",
    "stopped": "you cancelled this report before finishing it; SLT were alerted and have what you had answered",
    "waiting": "with the Senior Leadership Team, waiting for someone to take it on",
}


def my_reports(_text: str, ctx: Context, out: Outcome) -> None:
    """A reporter's own reports and their status, never SLT's notes or assessment."""
    mine = sorted(ctx.find(TABLE, reporter=ctx.actor.id), key=lambda i: i["number"])
    if not mine:
        out.tell(
            Card(
                "Your reports",
                "You haven't reported anything. If you need to: /report-abuse, /compromising-image, "
                "/media-enquiry or /pupil-contact.",
            )
        )
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


COMMANDS = (
    Command("incidents", "SLT: see open incidents (add 'closed' for closed ones)", list_incidents, role="slt"),
    Command("my-reports", "see the status of incidents you reported", my_reports),
)
