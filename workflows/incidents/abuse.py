"""Reporting abuse seen online (the policy's "Handling abuse" and "Behaviour" sections).

"Handle offensive comments swiftly and with sensitivity. If a conversation turns and
becomes offensive or unacceptable, users should block, report or delete other users or
their comments/posts and should inform the audience exactly why the action was taken.
If you feel that you or someone else is subject to abuse ... this action must be
reported using the agreed school protocols." And "Unacceptable conduct (defamatory,
discriminatory, offensive, harassing content or a breach of data protection,
confidentiality, copyright) ... will be reported as soon as possible to a relevant
senior member of staff." The first question is whether anyone is in immediate danger:
if so the person is told to call 999 and SLT are alerted before anything else is asked.
Evidence is a description and links; a file sent into the chat is never kept.
"""

from __future__ import annotations

from bot.messages import Card, Choice
from bot.workflow import Answers, Context, Invalid, Outcome, Step
from workflows.accounts import active_accounts
from workflows.incidents.report import Alert, Report, not_blank

ELSEWHERE = "elsewhere"
KINDS = (
    Choice("offensive", "Offensive"),
    Choice("bullying", "Bullying"),
    Choice("harassment", "Harassment"),
    Choice("defamatory", "Defamatory (untrue claims that damage someone's reputation)"),
    Choice("discriminatory", "Discriminatory (for example racist, sexist, homophobic)"),
    Choice("threatening", "Threatening"),
    Choice("impersonation", "Impersonation (pretending to be someone)"),
    Choice("confidentiality", "Breach of confidentiality or data protection"),
    Choice("copyright", "Copyright"),
    Choice("other", "Something else"),
)
TARGETS = (
    Choice("pupil", "A pupil"),
    Choice("staff", "A member of staff"),
    Choice("parent", "A parent or carer"),
    Choice("school", "The school"),
)
POSTERS = (
    Choice("pupil", "A pupil"),
    Choice("parent", "A parent or carer"),
    Choice("staff", "A member of staff"),
    Choice("public", "A member of the public"),
    Choice("unknown", "I don't know"),
)
DONE = (
    Choice("blocked", "Blocked the user"),
    Choice("reported", "Reported it to the platform"),
    Choice("removed", "Deleted or hidden it"),
    Choice("nothing", "Nothing yet"),
)
TOLD = (
    Choice("yes", "Yes, I've told them"),
    Choice("not_yet", "Not yet", typed=("no", "n")),
    Choice("not_needed", "Not needed (nobody else could see it)"),
)


def where_options(_answers: Answers, ctx: Context) -> tuple[Choice, ...]:
    """The school's active accounts from the register, then 'somewhere else'."""
    accounts = active_accounts(ctx)  # one being handed over to a new runner is still the school's
    found = tuple(
        Choice(
            a["id"],
            f"{a.get('platform_label', a.get('platform', ''))} {a.get('handle', '')} ({a.get('name', '')})".strip(),
        )
        for a in accounts
    )
    return (*found, Choice(ELSEWHERE, "Somewhere else (a personal account, a group chat, another site)"))


def on_school_account(a: Answers) -> bool:
    return bool(a.get("where")) and a.get("where") != ELSEWHERE


def acted(a: Answers) -> bool:
    return any(v in ("blocked", "removed") for v in a.get("done", []))


def nothing_alone(value: list[str], _answers: Answers, _ctx: Context) -> list[str]:
    if "nothing" in value and len(value) > 1:
        raise Invalid(
            "You chose 'Nothing yet' and something else too. Please choose what you have done, or just 'Nothing yet'."
        )
    return value


def described(value: str, _answers: Answers, _ctx: Context) -> str:
    if len(value.strip()) < 10:
        raise Invalid(
            "Please describe it in a sentence or two: what it said or showed, and when it was posted. "
            "SLT need enough to act on."
        )
    return value.strip()


SUGGESTED = {
    "removed": "We have removed a comment from this page because it broke our community guidelines.",
    "blocked": "We have blocked an account from this page because of posts that broke our community guidelines.",
}


def suggested_wording(answers: Answers) -> str:
    """A short, calm public note that says exactly why the school acted, naming nobody."""
    lines = [SUGGESTED[v] for v in ("removed", "blocked") if v in answers.get("done", [])]
    lines.append(
        "We welcome respectful discussion and want this to be a safe, friendly space for our whole school "
        "community. Thank you for understanding."
    )
    return " ".join(lines)


def offer_wording(answers: Answers, _ctx: Context, out: Outcome) -> None:
    """Not told the audience yet: a calm note they could post."""
    if answers.get("told_audience") == "not_yet":
        out.tell(
            Card(
                "Suggested wording for the audience",
                f'You could post something like this:\n"{suggested_wording(answers)}"\n'
                "Keep it short, name nobody, and don't get drawn into a debate.",
            )
        )


def act_swiftly(answers: Answers, _ctx: Context, out: Outcome) -> None:
    """Nothing done yet about something on a school account: the policy says to act swiftly."""
    if answers.get("done") == ["nothing"] and on_school_account(answers):
        out.tell(
            Card(
                "On a school account, act swiftly",
                "Once you have described it here, hide or delete it and block the user if needed, "
                "as the policy asks. Then tell the audience why.",
                tone="warning",
            )
        )


STEPS = (
    Step(
        key="danger",
        prompt="First: is anyone in immediate danger right now?",
        kind="yesno",
        label="Anyone in immediate danger",
        help=(
            "For example a child who may be harmed today, or a threat to someone's safety. "
            "If you're not sure, answer yes."
        ),
    ),
    Step(key="where", prompt="Where did you see it?", kind="choice", label="Where", options=where_options),
    Step(
        key="where_else",
        prompt="Where is it? Name the site, app or group, and paste a link if there is one.",
        label="Where (not a school account)",
        check=not_blank,
        when=lambda a: a.get("where") == ELSEWHERE,
        example="the Pennington Parents WhatsApp group",
    ),
    Step(key="kind", prompt="What kind of abuse is it?", kind="choice", label="Kind", choices=KINDS),
    Step(
        key="kind_other",
        prompt="In a few words, what kind of thing is it?",
        label="Kind (other)",
        check=not_blank,
        when=lambda a: a.get("kind") == "other",
        example="a fake fundraising page using the school's logo",
    ),
    Step(
        key="target",
        prompt="Who does it target? Choose all that apply (numbers separated by commas).",
        kind="multi",
        label="Targets",
        choices=TARGETS,
    ),
    Step(key="poster", prompt="Who posted it?", kind="choice", label="Posted by", choices=POSTERS),
    Step(
        key="done",
        prompt="What has been done already? Choose all that apply (numbers separated by commas).",
        kind="multi",
        label="Done already",
        choices=DONE,
        check=nothing_alone,
        then=act_swiftly,
    ),
    Step(
        key="told_audience",
        prompt="The policy asks us to tell the audience exactly why we took action. Have you told them?",
        kind="choice",
        label="Audience told why",
        choices=TOLD,
        when=lambda a: on_school_account(a) and acted(a),
        then=offer_wording,
    ),
    Step(
        key="evidence",
        prompt=(
            "Describe what you saw: what it said or showed, and when it was posted. "
            "Please use words only: don't send screenshots or files here."
        ),
        label="What was seen",
        check=described,
        example="A comment under the sports day post calling a teacher names, posted on Saturday evening",
        help=(
            "If it might be an indecent image of a child, do not screenshot, save or forward it: "
            "describe where it is and SLT will act."
        ),
    ),
    Step(
        key="links",
        prompt="Any links to the post or the account that posted it? (paste them, separated by spaces)",
        label="Links",
        optional=True,
        example="https://www.facebook.com/groups/example/posts/123",
    ),
)


def urgency(answers: Answers, _ctx: Context) -> str:
    if answers.get("danger"):
        return "urgent"
    if "pupil" in answers.get("target", []) or answers.get("kind") in (
        "threatening",
        "discriminatory",
        "harassment",
        "bullying",
    ):
        return "high"
    return "normal"


REPORT = Report(
    name="abuse",
    label="Abuse reported online",
    workflow="report_abuse",
    command="report-abuse",
    title="Report abuse online",
    summary="report offensive, abusive or unacceptable content or behaviour online",
    aliases=("report abuse", "report a post", "abuse"),
    intro=(
        "I'll ask a few quick questions and send your report to the Senior Leadership Team. "
        "Please describe things in words: don't send screenshots or files here. "
        "You can type back, cancel or help at any time."
    ),
    steps=STEPS,
    urgency=urgency,
    # Alert SLT the moment someone is in danger, before anything else is asked.
    alerts=(
        Alert(
            step="danger",
            why="someone may be in immediate danger",
            urgency="urgent",
            title="Call 999 now",
            body="If anyone is in immediate danger, call 999 now, before anything else. "
            "I have alerted the Senior Leadership Team at once. "
            "When it is safe, carry on answering here so they have the details.",
        ),
    ),
)
