"""A journalist made contact (the policy's "Behaviour" section).

"If a journalist makes contact about posts made using social media staff must follow
the School media policy before responding." The bot says not to respond yet, records
the outlet, the contact, their question and their deadline, and alerts SLT and, by name,
the headteacher (`[school] headteacher` in the configuration), who decide who answers
and what is said. With no headteacher configured, SLT alone are alerted, and told so.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from bot.messages import Card, Choice
from bot.workflow import Answers, Context, Step
from workflows.incidents.report import Report, not_blank

HOW = (
    Choice("phone", "Phone call"),
    Choice("email", "Email"),
    Choice("social", "A message on social media"),
    Choice("in_person", "In person"),
    Choice("other", "Another way"),
)

STEPS = (
    Step(
        key="outlet",
        prompt="Which newspaper, website, station or programme are they from?",
        label="Outlet",
        check=not_blank,
        max_length=200,
        example="the Evening Echo",
    ),
    Step(
        key="contact",
        prompt="Who contacted you? Their name, and their phone number or email if they gave one.",
        label="Journalist",
        check=not_blank,
        max_length=300,
        example="Sam Jones, 07700 900123",
    ),
    Step(key="how", prompt="How did they get in touch?", kind="choice", label="How they got in touch", choices=HOW),
    Step(
        key="question",
        prompt="What did they ask about? Which posts, and what did they want to know?",
        label="Their question",
        check=not_blank,
        example="The photo of the Year 6 trip on our Facebook page: who took it",
    ),
    Step(
        key="deadline",
        prompt=(
            "When do they want a reply by? (for example: in 3 hours, tomorrow 9am, Friday 12:00) "
            "Type skip if they didn't say."
        ),
        kind="datetime",
        label="Their deadline",
        optional=True,
        direction="future",
    ),
    Step(
        key="responded",
        prompt="Have you said anything to them about it yet?",
        kind="yesno",
        label="Already said something",
    ),
    Step(
        key="said",
        prompt="What did you say? As close to your words as you can.",
        label="What was said",
        check=not_blank,
        when=lambda a: bool(a.get("responded")),
        example="I said I couldn't comment and would pass it on",
    ),
)


def urgency(answers: Answers, ctx: Context) -> str:
    deadline = answers.get("deadline")
    if deadline and datetime.fromisoformat(deadline) - ctx.now <= timedelta(hours=24):
        return "urgent"
    return "high"


def headteacher(ctx: Context) -> dict[str, str]:
    """The headteacher, alerted by name as well as SLT (when one is configured)."""
    head = ctx.settings.school.headteacher
    return {head: "the headteacher"} if head and ctx.directory.get(head) else {}


def if_they_call_again(also: Mapping[str, str]) -> Card:
    passed_to = "the headteacher" if also else "the school's leadership team"
    return Card(
        "If they contact you again",
        f"Please don't comment. You can say: \"Thank you, I've passed your enquiry to {passed_to}, "
        'and someone from the school will be in touch." Then tell SLT they called again.',
    )


REPORT = Report(
    name="media_enquiry",
    label="Journalist contact",
    workflow="media_enquiry",
    command="media-enquiry",
    title="A journalist got in touch",
    summary="a journalist contacted you about the school or its social media",
    aliases=("media enquiry", "journalist", "press enquiry"),
    intro=(
        "Please don't respond to the journalist yet: the school's media policy must be followed first, "
        "and the school's leaders will decide who replies. "
        "I'll take a few details, then alert them when you send it."
    ),
    steps=STEPS,
    urgency=urgency,
    also=headteacher,
    closing=if_they_call_again,
)
