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

The package's rooms:
- one module per report type, each one declaration (`Report`, in report.py): its
  questions, urgency, and when SLT are alerted before the report is finished;
- reporting.py turns the declarations into conversations; record.py keeps the incident
  record and its timeline; cards.py is what SLT see;
- slt.py is SLT's handling (details, ownership, assessment, notes, close, reopen);
  lists.py is /incidents and /my-reports; chasing.py reminds SLT of incidents nobody owns.

A new report type is a new module here with its `REPORT`, added to `REPORTS` below.
"""

from __future__ import annotations

from workflows.incidents import abuse, compromising_image, media_enquiry, pupil_contact
from workflows.incidents.report import Report

TABLE = "incidents"
SYSTEM = "policybot"  # who acts when the scheduler or the bot itself writes on the timeline
URGENCY = {"urgent": "URGENT", "high": "high", "normal": "normal"}
RANK = {"urgent": 0, "high": 1, "normal": 2}

# Every report type, in the order /help lists them.
REPORTS: tuple[Report, ...] = (abuse.REPORT, compromising_image.REPORT, media_enquiry.REPORT, pupil_contact.REPORT)
KINDS: dict[str, Report] = {r.name: r for r in REPORTS}


def kind_label(name: str) -> str:
    """How SLT read a kind of incident: 'Abuse reported online'."""
    return KINDS[name].label if name in KINDS else name.replace("_", " ").capitalize()


def higher(a: str, b: str) -> str:
    """The more urgent of two urgencies."""
    return a if RANK.get(a, 2) <= RANK.get(b, 2) else b
