"""A pupil tried to follow or contact a member of staff (the policy's "Pupils" section).

"Staff are not permitted to follow or engage with current or prior pupils/students
(under 18) of the school on any personal social media network account." A member of
staff whose personal account was followed, messaged or tagged by a current or former
pupil under 18 reports it here: the bot reminds them not to engage, records it and
informs SLT, who decide whether the pupil's family or the behaviour policy need to know.
"""

from __future__ import annotations

from bot.messages import Card, Choice
from bot.workflow import Answers, Context, Outcome, Step
from workflows.incidents.report import Report, not_blank
from workflows.new_account import PLATFORMS

PUPIL = (Choice("current", "A current pupil"), Choice("former", "A former pupil, still under 18"))
WHAT = (
    Choice("follow", "A follow or friend request"),
    Choice("message", "A message"),
    Choice("comment", "A comment, tag or mention"),
    Choice("other", "Something else"),
)
ACTION = (
    Choice("ignored", "Ignored or declined it"),
    Choice("blocked", "Blocked them"),
    Choice("reported", "Reported it to the platform"),
    Choice("nothing", "Nothing yet"),
)


def undo_it(answers: Answers, _ctx: Context, out: Outcome) -> None:
    """They engaged: undo it now, and leave the rest to SLT."""
    if answers.get("engaged"):
        out.tell(
            Card(
                "Please undo it now",
                "Please remove the follow or connection now and don't reply any further. "
                "That's all: SLT will talk it through with you.",
                tone="warning",
            )
        )


STEPS = (
    Step(key="platform", prompt="Which platform was it on?", kind="choice", label="Platform", choices=PLATFORMS),
    Step(
        key="pupil_status",
        prompt="Is it a current pupil, or a former pupil who is still under 18?",
        kind="choice",
        label="Pupil",
        choices=PUPIL,
    ),
    Step(
        key="pupil",
        prompt="Who is the pupil? Their name and class or year if you know it (only SLT will see this).",
        label="Pupil's name",
        check=not_blank,
        max_length=200,
        example="Jamie Smith, Year 6",
    ),
    Step(
        key="what",
        prompt="What did they do? Choose all that apply (numbers separated by commas).",
        kind="multi",
        label="What happened",
        choices=WHAT,
    ),
    Step(
        key="when_seen",
        prompt="When did it happen? (for example: yesterday 19:00, 2h ago)",
        kind="datetime",
        label="When",
        direction="past",
    ),
    Step(
        key="engaged",
        prompt="Did you accept, follow back or reply?",
        kind="yesno",
        label="Staff member engaged",
        then=undo_it,
    ),
    Step(
        key="done",
        prompt="What have you done about it? Choose all that apply.",
        kind="multi",
        label="Done already",
        choices=ACTION,
    ),
    Step(
        key="anything_else",
        prompt="Anything else SLT should know? For example, anything worrying in what they said.",
        label="Anything else",
        optional=True,
    ),
)


def urgency(answers: Answers, _ctx: Context) -> str:
    return "high" if answers.get("engaged") or answers.get("anything_else") else "normal"


REPORT = Report(
    name="pupil_contact",
    label="Pupil contact with staff",
    workflow="pupil_contact",
    command="pupil-contact",
    title="A pupil contacted you",
    summary="a current or former pupil (under 18) tried to follow or contact your personal account",
    aliases=("pupil contact", "a pupil followed me"),
    intro=(
        "Thank you for reporting it. Remember: staff must not follow or engage with current or former pupils "
        "under 18 on personal accounts, "
        "so please don't accept or reply. I'll record it and inform SLT."
    ),
    steps=STEPS,
    urgency=urgency,
)
