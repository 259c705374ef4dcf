"""SLT's decision on an application for a new account (the policy's "Following consideration by the SLT an
application will be approved or rejected"): approve, which asks an administrator to create the account, or reject
with a reason the applicant reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.errors import AlreadyDecided, Expired
from bot.messages import Button, Card, person, role
from bot.timefmt import when
from bot.workflow import Answers, Context, FollowUp, Outcome, Step
from workflows.new_account import approval_card, not_blank, platform_name, visibility_name


def _pending(ctx: Context, app_id: str) -> dict[str, Any]:
    app = ctx.get("applications", app_id)
    if app is None:
        raise Expired("I can't find that application any more. It may have been removed under the retention rules.")
    if app["status"] != "submitted":
        raise AlreadyDecided(
            f"Application {app_id} was already {app['status']} by {ctx.directory.name(app['decided_by'])} on "
            f"{when(app['decided_at'], ctx.settings.school.tz)}, so nothing was changed."
        )
    return app


def _decided_text(app: Mapping[str, Any], ctx: Context) -> str:
    word = "Approved" if app["status"] == "approved" else "Rejected"
    text = f"{word} by {ctx.directory.name(app['decided_by'])} on {when(app['decided_at'], ctx.settings.school.tz)}."
    if app.get("reason"):
        text += f"\nReason: {app['reason']}"
    return text


def approve(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """SLT approve: the card shows it everywhere, the applicant hears, admins are asked to create it."""
    ctx.require("slt", "approve or reject applications")
    app = _decide(_pending(ctx, str(data.get("application", ""))), "approved", ctx, out)
    out.send(
        person(app["applicant"]),
        Card(
            f"Application {app['id']} approved",
            f"Good news: SLT approved your application for '{app['account_name']}'. "
            "An administrator will now create the account and let you know.",
            tone="success",
        ),
    )
    out.send(role("admins"), create_card(app, ctx), key=f"create:{app['id']}")


def _decide(app: dict[str, Any], status: str, ctx: Context, out: Outcome, **more: Any) -> dict[str, Any]:
    """Record SLT's decision (`status`: "approved" or "rejected") and show it on every copy of the SLT card
    (the daily reminders and the headteacher's copy of workflows/application_chasing.py share its key)."""
    app.update(status=status, decided_by=ctx.actor.id, decided_at=ctx.now.isoformat(), **more)
    out.put(
        "applications",
        app["id"],
        app,
        action=f"application_{status}",
        before="submitted",
        after=status,
        expect_version=app["version"],
    )
    out.send(role("slt"), approval_card(app, ctx, _decided_text(app, ctx)), key=f"approval:{app['id']}", replace=True)
    return app


def create_card(app: Mapping[str, Any], ctx: Context) -> Card:
    """What administrators see for an approved application: create it, then record it."""
    return Card(
        f"Please create an account: {app['account_name']}",
        f"SLT approved application {app['id']}. Please create the {platform_name(app)} account, "
        "keep the login in the school's secure place, then choose 'Record the new account'.",
        fields=(
            ("Run by", ", ".join(ctx.directory.name(r) for r in app["runners"])),
            ("Open or private", visibility_name(app)),
        ),
        buttons=(
            Button(
                action="new_account.create",
                label="Record the new account",
                data={"application": app["id"]},
                style="primary",
            ),
        ),
    )


def record_rejection(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """The reason is given: the application is rejected, and the applicant is told why."""
    ctx.require("slt", "approve or reject applications")
    app = _decide(_pending(ctx, about["application"]), "rejected", ctx, out, reason=answers["reason"])
    out.send(
        person(app["applicant"]),
        Card(
            f"Application {app['id']} not approved",
            f"SLT did not approve your application for '{app['account_name']}'.\nTheir reason: {app['reason']}\n"
            "If you'd like to talk it through, please speak to a member of SLT. You can apply again with /new-account.",
        ),
    )
    out.tell(
        Card(
            "Rejection recorded",
            f"Application {app['id']} is rejected and the applicant has been told your reason.",
            tone="success",
        )
    )


# Asked when SLT choose Reject: the applicant will read the reason.
REJECT_REASON = FollowUp(
    name="new_account_reject",
    title="Reject an application",
    steps=(
        Step(
            key="reason",
            prompt="Why is the application not approved? The applicant will see this.",
            label="Reason",
            check=not_blank,
            example="We already have a Year 6 account; please share trip news there instead",
        ),
    ),
    then=record_rejection,
    role="slt",
)


def reject(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """SLT reject: first ask the reason, which the applicant will see."""
    ctx.require("slt", "approve or reject applications")
    app = _pending(ctx, str(data.get("application", "")))
    out.ask(REJECT_REASON, about={"application": app["id"]})


FOLLOW_UPS = (REJECT_REASON,)

ACTIONS = {
    "new_account.approve": approve,
    "new_account.reject": reject,
}
