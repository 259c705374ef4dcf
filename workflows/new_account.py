"""Process for creating new accounts (the policy's section of that name).

"Anyone wishing to create such an account must present a business case to The School
Leadership Team which covers: the aim of the account; the intended audience; how the
account will be promoted; who will run the account (at least two staff members should
be named); will the account be open or private/closed. Following consideration by the
SLT an application will be approved or rejected. In all cases, the SLT must be
satisfied that anyone running a social media account on behalf of The School has read
and understood this policy." The administrator then "creates the account following SLT
approval" and "stores account details, including passwords, securely" -- so the bot
records where the login is kept, never the password (that step is account_setup.py).
SLT's decision, approve or reject, is application_decision.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from bot.declarations import Reader, Record, Table, first
from bot.messages import Button, Card, Choice, role
from bot.timefmt import day, when
from bot.workflow import Answers, Command, Context, Invalid, Outcome, Step, Workflow, filled
from workflows import people
from workflows.people_status import runner_line

PLATFORMS = (
    Choice("facebook", "Facebook"),
    Choice("instagram", "Instagram"),
    Choice("x", "X (Twitter)"),
    Choice("youtube", "YouTube"),
    Choice("linkedin", "LinkedIn"),
    Choice("tiktok", "TikTok"),
    Choice("other", "Another platform"),
)
VISIBILITY = (
    Choice("open", "Open (anyone can see it)"),
    Choice("private", "Private or closed (approved followers only)"),
)


not_blank = filled("Please write a little more, so SLT can understand your plan.")


def two_staff(value: list[str], _answers: Answers, ctx: Context) -> list[str]:
    """At least two different people, at least two of them employed by the school."""
    staff = [pid for pid in value if (p := ctx.directory.get(pid)) is not None and p.employed]
    if len(value) < 2:
        raise Invalid(
            "The policy asks for at least two named people to run every school account. "
            "Please name two or more (you can be one of them), separated by commas."
        )
    if len(staff) < 2:
        raise Invalid(
            "At least two of the people running the account must be school staff; "
            "volunteers and parents can help, but in addition. Please add another member of staff."
        )
    return value


def _unread(answers: Answers, ctx: Context) -> str:
    """Who of the runners named the records do not show as having read the policy ("" when all have)."""
    unread = [pid for pid in answers.get("runners", []) if not people.acknowledged(ctx, pid)]
    names = [("you" if pid == ctx.actor.id else ctx.directory.name(pid)) for pid in unread]
    if not names:
        return ""
    who = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    verb = "have" if len(names) > 1 or names == ["you"] else "has"
    return f"Our records show that {who} {verb} not yet confirmed reading the current social media policy."


def everyone_read(value: bool, answers: Answers, ctx: Context) -> bool:
    """Yes only when true: the records must not say someone named has not confirmed reading it
    (a school that chose `untrained_runner = "warn"` is told instead, by `tell_unread`)."""
    if not value:
        raise Invalid(
            "Everyone running a school account must have read and understood the social media policy first. "
            "Please ask them to read it (type /policy), then answer yes here. Your answers so far are saved."
        )
    unread = _unread(answers, ctx)
    if unread and ctx.settings.records.untrained_runner != "warn":
        raise Invalid(
            f"{unread} Anyone who has not can read and confirm it by typing /policy. When they have, answer yes here. "
            "Your answers so far are saved."
        )
    return value


def tell_unread(answers: Answers, ctx: Context, out: Outcome) -> None:
    """With `untrained_runner = "warn"` a yes is kept although the records disagree: say so, at that question."""
    unread = _unread(answers, ctx)
    if unread:
        out.tell(
            Card(
                title="Please check: the policy",
                body=f"{unread} I have kept your answer, and SLT will see on the approval card who has confirmed "
                "reading it. Anyone who has not can read and confirm it by typing /policy.",
                tone="warning",
            )
        )


STEPS = (
    Step(
        key="platform", prompt="Which platform is the account for?", kind="choice", label="Platform", choices=PLATFORMS
    ),
    Step(
        key="platform_other",
        prompt="Which platform? (for example Threads or Flickr)",
        label="Other platform",
        check=not_blank,
        when=lambda a: a.get("platform") == "other",
    ),
    Step(
        key="account_name",
        prompt="What would you like the account to be called?",
        label="Account name",
        check=not_blank,
        max_length=100,
        example="Pennington Year 6 Trips",
    ),
    Step(
        key="aim",
        prompt="What is the aim of the account? What will it be used for?",
        label="Aim",
        check=not_blank,
        help="For example: 'To share Year 6 trip updates with parents while we are away.'",
    ),
    Step(
        key="audience",
        prompt="Who is the intended audience?",
        label="Audience",
        check=not_blank,
        help="For example: parents and carers of Year 6, or the local community.",
    ),
    Step(
        key="promotion",
        prompt="How will the account be promoted?",
        label="How it will be promoted",
        check=not_blank,
        help="For example: in the school newsletter and on the school website.",
    ),
    Step(
        key="runners",
        prompt=(
            "Who will run the account? Name at least two members of staff (you can be one of them), "
            "separated by commas."
        ),
        kind="people",
        label="Run by",
        check=two_staff,
        help=(
            "Type their names as they appear in the staff list, for example: Emma Clarke, Tom Reid. "
            "Volunteers or parents can be added too, as long as two staff are named."
        ),
    ),
    Step(
        key="visibility",
        prompt="Will the account be open, or private/closed?",
        kind="choice",
        label="Open or private",
        choices=VISIBILITY,
    ),
    Step(
        key="all_read_policy",
        prompt="Has everyone you named read and understood the school's social media policy?",
        kind="yesno",
        label="Everyone named has read the policy",
        check=everyone_read,
        then=tell_unread,
    ),
)


def platform_name(app: Mapping[str, Any]) -> str:
    if app.get("platform") == "other":
        return str(app.get("platform_other", "Another platform"))
    return next((c.label for c in PLATFORMS if c.value == app.get("platform")), str(app.get("platform")))


def visibility_name(app: Mapping[str, Any]) -> str:
    return next((c.label for c in VISIBILITY if c.value == app.get("visibility")), str(app.get("visibility")))


# How SLT read an answer on the approval card, where it is not the answer as it was typed.
ON_CARD: dict[str, Callable[[Mapping[str, Any], Context], str]] = {
    "platform": lambda app, _ctx: platform_name(app),  # "another platform" is named by platform_other
    "runners": lambda app, ctx: "\n".join(
        runner_line(ctx, pid) for pid in app["runners"]
    ),  # each runner's policy and training record
    "visibility": lambda app, _ctx: visibility_name(app),
}
# Questions the card does not repeat: the platform's row names the other platform, and each
# runner's row shows from the records whether they have read the policy.
NOT_ON_CARD = ("platform_other", "all_read_policy")


def business_case(app: Mapping[str, Any], ctx: Context) -> tuple[tuple[str, str], ...]:
    """The application's answers as rows, one per question of STEPS, under the question's label."""
    rows = [
        (step.title, ON_CARD[step.key](app, ctx) if step.key in ON_CARD else str(app.get(step.key, "")))
        for step in STEPS
        if step.key not in NOT_ON_CARD
    ]
    return (("Applicant", ctx.directory.name(app["applicant"])), *rows)


def history_lines(app: Mapping[str, Any], ctx: Context) -> str:
    """The application's chases (workflows/application_chasing.py), one dated line each; "" for none."""
    tz = ctx.settings.school.tz
    return "\n".join(
        f"{day(datetime.fromisoformat(h['at']).astimezone(tz).date())}: {h['note']}" for h in app.get("history", ())
    )


def approval_card(app: Mapping[str, Any], ctx: Context, outcome: str = "") -> Card:
    """What SLT see: the business case, each runner's policy and training status, and any reminders so far."""
    fields = business_case(app, ctx)
    if history := history_lines(app, ctx):
        fields = (*fields, ("Reminders", history))
    if outcome:
        return Card(
            f"Application {app['id']}: {app['account_name']}",
            outcome,
            fields=fields,
            tone="success" if "Approved" in outcome else "info",
        )
    data = {"application": app["id"]}
    return Card(
        f"New account application {app['id']}: {app['account_name']}",
        "Please consider this business case. Approve it, or reject it with a reason for the applicant.",
        fields=fields,
        buttons=(
            Button(action="new_account.approve", label="Approve", data=data, style="primary"),
            Button(action="new_account.reject", label="Reject", data=data, style="danger"),
        ),
    )


def submit(answers: Answers, ctx: Context, out: Outcome) -> None:
    """File the application and send SLT the approval card."""
    number = ctx.next_id("applications")
    app_id = f"A-{number}"
    app = {
        "number": number,
        "applicant": ctx.actor.id,
        **{k: v for k, v in answers.items() if not k.startswith("_")},
        "status": "submitted",
        "submitted_at": ctx.now.isoformat(),
        "decided_by": None,
        "decided_at": None,
        "reason": "",
    }
    app["id"] = app_id
    out.put("applications", app_id, app, action="application_submitted", before=None, after="submitted")
    out.send(role("slt"), approval_card(app, ctx), key=f"approval:{app_id}")
    out.tell(
        Card(
            f"Application {app_id} sent",
            f"Thank you. Your application for '{app['account_name']}' has gone to the Senior Leadership Team. "
            "I'll message you here when they decide. Type /my-applications to check on it.",
            tone="success",
        )
    )


def where_it_is(app: Mapping[str, Any], ctx: Context) -> str:
    """Where an application is, for its applicant: since when it waits, for whom, and how often they were reminded."""
    tz = ctx.settings.school.tz

    def on(stamp: str) -> str:
        return day(datetime.fromisoformat(stamp).astimezone(tz).date())

    def reminded(to: str) -> str:
        times = [h for h in app.get("history", ()) if h.get("to") == to]
        if not times:
            return ""
        n = {1: "once", 2: "twice"}.get(len(times), f"{len(times)} times")
        return f" I have reminded them {n}, most recently on {on(times[-1]['at'])}."

    status = app["status"]
    decider = ctx.directory.name(app.get("decided_by") or "")
    if status == "submitted":
        text = f"Waiting for SLT to decide, since {on(app['submitted_at'])}.{reminded('slt')}"
        head = [h for h in app.get("history", ()) if h.get("to") == "headteacher"]
        if head:
            text += f" It went to the headteacher, {ctx.directory.name(head[0]['who'])}, on {on(head[0]['at'])}."
        return text
    if status == "approved":
        return (
            f"Approved by {decider} on {on(app['decided_at'])}; waiting for an administrator to create it since "
            f"then.{reminded('admins')}"
        )
    if status == "created":
        account = ctx.get("accounts", str(app.get("account") or "")) or {}
        made = f" on {on(account['created_at'])}" if account.get("created_at") else ""
        return f"Account created: recorded in the register as {app.get('account', '')}{made}."
    if status == "rejected":
        text = f"Decided: not approved, by {decider} on {on(app['decided_at'])}."
        return text + (f"\nReason: {app['reason']}" if app.get("reason") else "")
    return str(status)


def my_applications(_text: str, ctx: Context, out: Outcome) -> None:
    mine = sorted(ctx.find("applications", applicant=ctx.actor.id), key=lambda a: a["number"])
    if not mine:
        out.tell(Card("Your applications", "You haven't applied for an account yet. Type /new-account to start."))
        return
    fields = tuple(
        (
            f"{app['id']}: {app['account_name']}",
            f"{where_it_is(app, ctx)}\nSent {when(app['submitted_at'], ctx.settings.school.tz)}.",
        )
        for app in mine
    )
    out.tell(Card("Your applications", "", fields=fields))


WORKFLOWS = (
    Workflow(
        name="new_account",
        command="new-account",
        title="New school social media account",
        summary="apply for a new school social media account (SLT decide)",
        aliases=("new account", "apply for an account"),
        intro=(
            "I'll ask the questions the policy's business case needs, then send it to the Senior Leadership Team. "
            "You can type back, cancel or help at any time."
        ),
        steps=STEPS,
        on_complete=submit,
        submit_label="Submit to SLT",
    ),
)

COMMANDS = (Command("my-applications", "see your account applications and their status", my_applications),)


# ---- what the core needs from this module (collected by bot/registry.py) ---------------------


def _application_retention(record: Record, records: Reader) -> datetime | None:
    if record.get("status") not in ("rejected", "created"):
        return None
    account = records.get("accounts", str(record.get("account") or ""))
    if account is not None and account.get("status") != "closed":
        return None  # the business case of an account still running is kept with it
    return first(record, "decided_at", "submitted_at")


TABLES = (
    Table(
        "applications",
        export=True,
        columns=(
            "id",
            "applicant",
            "account_name",
            "platform",
            "runners",
            "status",
            "submitted_at",
            "decided_by",
            "decided_at",
        ),
        retention=_application_retention,
        waiting="applications to decide",
        waiting_status="submitted",
        named_by="application",
    ),
)
