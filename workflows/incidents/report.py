"""A report type, declared once: its conversation, its urgency and when SLT hear of it.

Each report module (abuse.py, compromising_image.py, ...) holds one `Report` beside the
policy words it implements; reporting.py turns it into the conversation, and nothing else
needs writing for a new kind of report. What the reporter is told after one answer (a
warning, suggested wording) is that question's own reaction: `Step(..., then=...)`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.messages import Card
from bot.workflow import Answers, Context, Step, filled

not_blank = filled("Please write a few words, so the record makes sense to whoever reads it later.")


@dataclass(frozen=True)
class Alert:
    """SLT are alerted before the report is finished: at its start (no `step`), or the moment
    the yes/no question `step` is answered yes. The reporter is told `title` and `body`
    ("{incident}" becomes the incident's number)."""

    why: str  # on the incident's timeline: "SLT alerted (URGENT): <why>"
    urgency: str
    title: str
    body: str
    step: str = ""
    # At the start only: a reporter who stopped an earlier report of this kind carries on
    # with the same incident (SLT already know), and is told this instead.
    resumed: str = ""


@dataclass(frozen=True)
class Report:
    """One kind of report: the incident's kind and label, and the conversation that files it."""

    name: str  # the incident's kind: "abuse"
    label: str  # how SLT read the kind: "Abuse reported online"
    workflow: str  # the conversation's name: "report_abuse"
    command: str  # "report-abuse"
    title: str
    summary: str
    intro: str
    steps: tuple[Step, ...]
    urgency: Callable[[Answers, Context], str]
    aliases: tuple[str, ...] = ()
    alerts: tuple[Alert, ...] = ()
    # A choice meaning "I can't, I need help": SLT are asked to help the reporter at once.
    help_answer: str = ""
    # People of SLT alerted by name as well, each with why ({"swhitfield": "the headteacher"}).
    also: Callable[[Context], Mapping[str, str]] | None = None
    # Told to the reporter after the thank-you, given who was alerted by name.
    closing: Callable[[Mapping[str, str]], Card] | None = None
    submit_label: str = "Send to SLT"

    def step(self, key: str) -> Step | None:
        return next((s for s in self.steps if s.key == key), None)
