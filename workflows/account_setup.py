"""Recording a new account once SLT have approved it: an administrator creates it on the
platform, then records its handle and where the login is kept (never the password) in the
school's account register ("creates the account following SLT approval" and "stores account
details, including passwords, securely": the Process for creating new accounts).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from bot.errors import AlreadyDecided, Expired
from bot.messages import Card, person, role
from bot.timefmt import when
from bot.workflow import Answers, Context, FollowUp, Invalid, Outcome, Step
from workflows import accounts
from workflows.new_account import not_blank, platform_name
from workflows.people_status import not_ready

_PASSWORD_WORD = re.compile(r"\b(password|passwd|pwd|passcode|pass|pw|pin)\b\s*(is|:|=|-)?\s*\S+", re.IGNORECASE)


def looks_like_password(text: str) -> bool:
    """True for text that seems to contain a password rather than say where one is kept."""
    if _PASSWORD_WORD.search(text) and re.search(
        r"\b(password|passwd|pwd|passcode|pw|pin)\b\s*(is|:|=|-)", text, re.IGNORECASE
    ):
        return True
    for token in text.split():
        token = token.strip(".,;()\"'")
        if len(token) < 8 or "@" in token or "://" in token:
            continue
        classes = sum(
            (
                any(c.islower() for c in token),
                any(c.isupper() for c in token),
                any(c.isdigit() for c in token),
                any(not c.isalnum() for c in token),
            )
        )
        if classes >= 3:
            return True
    return False


def no_password(value: str, _answers: Answers, _ctx: Context) -> str:
    if looks_like_password(value):
        raise Invalid(
            "That looks like it might be a password, so I have not kept it. Please never send passwords in chat. "
            "Tell me only where the login details are kept, for example: 'the school password manager, "
            "Social Media folder'. "
            "If it was a real password, please change it."
        )
    return value.strip()


def _blocked_untrained(app: Mapping[str, Any], ctx: Context, out: Outcome) -> bool:
    """With `[records] untrained_runner = "block"`, refuse while a runner is not ready."""
    problems = not_ready(ctx, list(app["runners"]))
    if not problems or ctx.settings.records.untrained_runner != "block":
        return False
    out.audit("account_blocked_untrained", f"applications/{app['id']}", detail="; ".join(problems))
    out.tell(
        Card(
            "Not yet: training or policy reading needed",
            "Everyone running a school account must have read the current policy and been trained before the "
            "account is recorded. Still needed: "
            + "; ".join(problems)
            + ". Ask them to type /policy to read and confirm it, record their training with /training, "
            "then choose 'Record the new account' again.",
            tone="warning",
        )
    )
    return True


def record_account(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """The administrator says where the account is and where its login is kept: it joins the register."""
    ctx.require("admin", "record new accounts")
    app = ctx.get("applications", about["application"])
    if app is None or app["status"] != "approved":
        raise AlreadyDecided(
            "That account has already been recorded, or the application is no longer approved. Nothing was changed."
        )
    if _blocked_untrained(app, ctx, out):
        return
    problems = not_ready(ctx, list(app["runners"]))
    number = ctx.next_id(accounts.TABLE)
    acc_id = f"ACC-{number}"
    account = {
        "platform": app["platform"],
        "platform_label": platform_name(app),
        "name": app["account_name"],
        "handle": answers["handle"],
        "aim": app["aim"],
        "audience": app["audience"],
        "visibility": app["visibility"],
        "runners": list(app["runners"]),
        "credentials_location": answers["credentials_location"],
        "application": app["id"],
        "created_by": ctx.actor.id,
        "created_at": ctx.now.isoformat(),
        "status": "active",
    }
    out.put(
        accounts.TABLE,
        acc_id,
        account,
        action="account_created",
        before=None,
        after="active",
        detail=("runners not ready: " + "; ".join(problems)) if problems else "",
    )
    app.update(status="created", account=acc_id)
    out.put(
        "applications",
        app["id"],
        app,
        action="application_account_created",
        before="approved",
        after="created",
        expect_version=app["version"],
    )
    done = Card(
        f"Account created: {account['name']}",
        f"Recorded as {acc_id} ({account['platform_label']} {account['handle']}) "
        f"by {ctx.actor.name} on {when(ctx.now, ctx.settings.school.tz)}.",
        tone="success",
    )
    out.send(role("admins"), done, key=f"create:{app['id']}", replace=True)
    if problems:
        out.tell(
            Card(
                "Recorded, with a warning",
                "The policy asks that everyone running a school account has read it and been trained. Still needed: "
                + "; ".join(problems)
                + ". Please ask them to type /policy, and record their training with /training.",
                tone="warning",
            )
        )
    for runner in sorted(set(account["runners"]) | {app["applicant"]}):
        out.send(
            person(runner),
            Card(
                f"Your new school account is ready: {account['name']}",
                f"{account['platform_label']} {account['handle']} is now in the school's account register. "
                f"It is run by {', '.join(ctx.directory.name(r) for r in account['runners'])}. "
                f"Ask {ctx.actor.name} for the login. Remember: every comment, "
                "query or complaint needs a reply within 24 hours.",
                tone="success",
            ),
        )


# Asked when an administrator chooses "Record the new account".
RECORD_ACCOUNT = FollowUp(
    name="new_account_setup",
    title="Record a new school account",
    steps=(
        Step(
            key="handle",
            prompt="What is the new account's handle or web address? (for example @PenningtonY6)",
            label="Handle",
            check=not_blank,
            max_length=200,
        ),
        Step(
            key="credentials_location",
            prompt=(
                "Where are the login details kept? Tell me the place only, never the password (for example: "
                "'school password manager, Social Media folder')."
            ),
            label="Where the login is kept",
            check=no_password,
        ),
    ),
    then=record_account,
    role="admin",
    confirm=True,
    submit_label="Add to the register",
)


def create(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """An administrator records the account they created."""
    ctx.require("admin", "record new accounts")
    app = ctx.get("applications", str(data.get("application", "")))
    if app is None:
        raise Expired("I can't find that application any more.")
    if app["status"] == "created":
        raise AlreadyDecided(
            f"The account for application {app['id']} was already recorded as {app.get('account', '')}."
        )
    if app["status"] != "approved":
        raise Expired(f"Application {app['id']} is {app['status']}, not approved, so no account should be created.")
    if _blocked_untrained(app, ctx, out):
        return
    out.ask(RECORD_ACCOUNT, about={"application": app["id"]})


FOLLOW_UPS = (RECORD_ACCOUNT,)

ACTIONS = {"new_account.create": create}
