"""What SLT see of an incident: the alert in their channel (type, number and urgency only)
and the details shown privately to one of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.messages import Button, Card
from bot.timefmt import when
from bot.workflow import Context
from workflows.incidents import TABLE, URGENCY, kind_label


def show_button(inc: Mapping[str, Any]) -> Button:
    return Button(action="incidents.show", label=f"Show details of {inc['id']}", data=data_of(inc))


def data_of(inc: Mapping[str, Any]) -> dict[str, str]:
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


def owner_line(inc: Mapping[str, Any], ctx: Context) -> str:
    if inc["status"] == "closed":
        return f"Closed by {ctx.directory.name(inc['closed_by'])} on {when(inc['closed_at'], ctx.settings.school.tz)}."
    if inc.get("owner"):
        return f"Owned by {ctx.directory.name(inc['owner'])} since {when(inc['owned_at'], ctx.settings.school.tz)}."
    return "Nobody has taken ownership yet."


def alert_card(inc: Mapping[str, Any], ctx: Context) -> Card:
    """The card in SLT's channel: type, number and urgency only, nothing about anyone."""
    body = "Details are shown privately to a member of SLT who asks; each viewing is recorded.\n" + owner_line(inc, ctx)
    buttons = [show_button(inc)]
    if inc["status"] == "open" and not inc.get("owner"):
        buttons.append(Button(action="incidents.own", label="Take ownership", data=data_of(inc), style="primary"))
    tone = (
        "urgent"
        if inc["urgency"] == "urgent" and inc["status"] == "open"
        else "warning"
        if inc["status"] == "open"
        else "info"
    )
    return Card(
        f"Incident {inc['id']}: {kind_label(inc['kind'])} ({URGENCY[inc['urgency']]})",
        body,
        buttons=tuple(buttons),
        tone=tone,
    )


def details_card(inc: Mapping[str, Any], ctx: Context) -> Card:
    """Everything on the record, for one member of SLT in private."""
    tz = ctx.settings.school.tz
    fields: list[tuple[str, str]] = [
        (
            "Status",
            ("open" if inc["status"] == "open" else "closed")
            + (
                ""
                if inc["report_complete"]
                else " (the reporter cancelled before finishing the report)"
                if inc.get("report_stopped_at")
                else " (the reporter has not finished the report yet)"
            ),
        ),
        ("Urgency", URGENCY[inc["urgency"]]),
        ("Reported by", f"{ctx.directory.name(inc['reporter'])}, {when(inc['reported_at'], tz)}"),
        ("Owner", ctx.directory.name(inc["owner"]) if inc.get("owner") else "nobody yet"),
    ]
    fields += [(label, text) for label, text in inc.get("details", [])]
    if inc.get("files_sent"):
        fields.append(
            ("Files", f"The reporter sent {inc['files_sent']} file(s) into the chat. They were not opened or kept.")
        )
    a = inc.get("assessment")
    if a:
        fields.append(
            (
                "Initial assessment",
                f"Severity {a['severity']}; involve: {a['involve_text']}\n{a['summary']}\n"
                f"- {ctx.directory.name(a['by'])}, {when(a['at'], tz)}",
            )
        )
    for n in inc.get("notes", []):
        fields.append(("Note", f"{n['text']}\n- {ctx.directory.name(n['by'])}, {when(n['at'], tz)}"))
    if inc.get("outcome"):
        fields.append(("Outcome", inc["outcome"]))
    if inc.get("reporter_message"):
        fields.append(("Told the reporter", inc["reporter_message"]))
    fields.append(("Timeline", "\n".join(f"{when(t['at'], tz)} - {t['what']}" for t in inc.get("timeline", []))))
    data = data_of(inc)
    buttons: list[Button] = []
    if inc["status"] == "open":
        if not inc.get("owner"):
            buttons.append(Button(action="incidents.own", label="Take ownership", data=data, style="primary"))
        elif inc["owner"] != ctx.actor.id:
            buttons.append(
                Button(
                    action="incidents.own",
                    label=f"Take over from {ctx.directory.name(inc['owner'])}",
                    data={**data, "takeover": "yes"},
                )
            )
        buttons.append(
            Button(
                action="incidents.assess", label="Initial assessment" if not a else "Update the assessment", data=data
            )
        )
        buttons.append(Button(action="incidents.note", label="Add a note", data=data))
        buttons.append(Button(action="incidents.close", label="Close with an outcome", data=data, style="danger"))
    else:
        buttons.append(Button(action="incidents.note", label="Add a note", data=data))
        buttons.append(Button(action="incidents.reopen", label="Reopen", data=data))
    return Card(
        f"{inc['id']}: {kind_label(inc['kind'])} (private to you)",
        "This is confidential. Please don't copy it into shared channels.",
        fields=tuple(fields),
        buttons=tuple(buttons),
    )
