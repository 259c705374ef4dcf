"""The conversation of each report type, made from its declaration (report.py).

What every report does alike: SLT are alerted when the declaration says (at the start, or as
the reaction of a yes/no question answered yes), a reporter who cannot do a step asks SLT for help
with one answer, the incident's copy of a report in progress is kept current, a file sent is
never kept, a cancelled report stays with SLT, and filing tells SLT and the reporter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from bot.messages import Card
from bot.workflow import Answers, Context, Outcome, Step, Workflow
from workflows.incidents import REPORTS, TABLE
from workflows.incidents.record import ask_for_help, draft, file_report, on_cancel, on_file, open_incident, sync_draft
from workflows.incidents.report import Alert, Report


def _tone(urgency: str) -> str:
    return "urgent" if urgency == "urgent" else "warning"


def _on_start(report: Report) -> Callable[[Answers, Context, Outcome], None] | None:
    """Alert SLT before the first question, when the declaration says so."""
    alert = next((a for a in report.alerts if not a.step), None)
    if alert is None:
        return None

    def start(answers: Answers, ctx: Context, out: Outcome) -> None:
        unfinished = [
            i
            for i in ctx.find(TABLE, reporter=ctx.actor.id, kind=report.name, status="open")
            if not i["report_complete"]
        ]
        if unfinished and alert.resumed:
            # They started before and stopped: SLT already know, so carry on with the same incident.
            answers["_incident"] = unfinished[-1]["id"]
            out.tell(Card(f"Carrying on with {unfinished[-1]['id']}", alert.resumed, tone="warning"))
            return
        inc = open_incident(report.name, alert.urgency, answers, ctx, out, why=alert.why)
        out.tell(
            Card(
                alert.title.format(incident=inc["id"]), alert.body.format(incident=inc["id"]), tone=_tone(alert.urgency)
            )
        )  # type: ignore[arg-type]

    return start


def _alert_now(report: Report, alert: Alert) -> Callable[[Answers, Context, Outcome], None]:
    """The reaction of the question `alert.step`: answered yes, SLT are alerted before anything else is asked."""
    own = next((s.then for s in report.steps if s.key == alert.step), None)

    def alert_slt(answers: Answers, ctx: Context, out: Outcome) -> None:
        if answers.get(alert.step) and not answers.get("_incident"):
            out.tell(Card(alert.title, alert.body, tone=_tone(alert.urgency)))  # type: ignore[arg-type]
            open_incident(report.name, alert.urgency, answers, ctx, out, why=alert.why)
        if own:
            own(answers, ctx, out)

    return alert_slt


def _steps(report: Report) -> tuple[Step, ...]:
    """The report's questions, each alert beside the question that raises it."""
    raising = {a.step: a for a in report.alerts if a.step}
    return tuple(replace(s, then=_alert_now(report, raising[s.key])) if s.key in raising else s for s in report.steps)


def _on_answer(report: Report) -> Callable[[str, Answers, Context, Outcome], None]:
    """After every answer: ask SLT to help a reporter who is stuck, and keep the incident's copy of
    the report current (each question's own reaction has run already)."""

    def answered(key: str, answers: Answers, ctx: Context, out: Outcome) -> None:
        inc = draft(answers, ctx)
        action = ""
        step = report.step(key)
        if report.help_answer and answers.get(key) == report.help_answer and step is not None:
            told = ask_for_help(inc, answers, step, ctx, out)
            action = "incident_help_asked"
            out.tell(
                Card(
                    "SLT will help",
                    f"That's fine. {told} Please carry on with the rest of the checklist.",
                    tone="warning",
                )
            )
        sync_draft(answers, ctx, out, inc, action=action, detail=key if action else "")

    return answered


def _submit(report: Report) -> Callable[[Answers, Context, Outcome], None]:
    def submit(answers: Answers, ctx: Context, out: Outcome) -> None:
        also = dict(report.also(ctx)) if report.also else {}
        file_report(report.name, report.urgency(answers, ctx), answers, ctx, out, also=also)
        if report.closing:
            out.tell(report.closing(also))

    return submit


def conversation(report: Report) -> Workflow:
    """The conversation that files a report of this type."""
    return Workflow(
        name=report.workflow,
        command=report.command,
        title=report.title,
        summary=report.summary,
        aliases=report.aliases,
        intro=report.intro,
        steps=_steps(report),
        on_complete=_submit(report),
        on_start=_on_start(report),
        on_answer=_on_answer(report),
        on_file=on_file,
        # A report that alerted SLT before it was finished stays with them if it is cancelled.
        on_cancel=on_cancel if report.alerts else None,
        submit_label=report.submit_label,
    )


WORKFLOWS = tuple(conversation(r) for r in REPORTS)
