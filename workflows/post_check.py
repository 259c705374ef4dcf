"""/post-check: before anything goes out on a school account ("Use of images", "Tone", and copyright under
"Behaviour" and "Legal considerations").

A runner of an active account (or an administrator) describes the post, never sending the image itself,
and answers what the policy asks: pupils shown or named, each checked against the do-not-publish list with
the three-way answer /photo-check gives (workflows/dnp_match.py `check_pupil`, never revealing the list);
consent under the school's images procedure and anyone who asked not to be filmed or photographed; dress
and dignity; posting only through the school's account; copyright; the policy's tone key words; nothing
confidential, no personal opinion or gain. The outcome is "Ready to post", or "Not yet" with each missing
thing and what to do, kept on the account's post log with who checked (workflows/post_log.py, which also
asks for the second check `[posting] second_check` may require). Anyone else who types /post-check, and
anyone who types /post-check rules, reads what the check asks and why, so every member of staff can learn it.
"""

from __future__ import annotations

from typing import Any

from bot.errors import Expired
from bot.messages import Button, Card, Choice
from bot.people import fold
from bot.workflow import Answers, Command, Context, Outcome, Step, Workflow, filled
from workflows.accounts import active_accounts, get_account, label
from workflows.post_log import TABLE, WAITING, second_checkers, send_second_check
from workflows.post_rules import (
    ASKED_NOT,
    CONSENT,
    COPYRIGHT,
    HOW,
    KEY_WORDS,
    check_pupils,
    missing,
    people_shown,
    pupil_checks,
    rules_card,
    shown_name,
    shown_rows,
    tell_pupils,
)

NAME = "post_check"
RULES_WORDS = ("rules", "rule", "what", "help", "?", "learn", "explain", "questions")


def accounts_for(ctx: Context) -> list[dict[str, Any]]:
    """The live accounts the actor may check a post for: those they run, or every one for an administrator."""
    return [a for a in active_accounts(ctx) if ctx.actor.is_admin or ctx.actor.id in a.get("runners", ())]


def account_options(_answers: Answers, ctx: Context) -> tuple[Choice, ...]:
    return tuple(Choice(a["id"], label(a)) for a in accounts_for(ctx))


STEPS = (
    Step(
        key="account", prompt="Which account is the post for?", kind="choice", label="Account", options=account_options
    ),
    Step(
        key="description",
        prompt=(
            "What is the post? Paste the caption, or describe it in a few words (links are fine). Please don't "
            "send the picture itself: I don't open or keep files."
        ),
        label="The post",
        check=filled("Please write a few words about the post, so the check is about something."),
        max_length=600,
        example="Photo of Year 4's relay team at sports day, caption 'Well run, Year 4!'",
    ),
    Step(key="shows_pupils", prompt="Does the post show or name any pupils?", kind="yesno", label="Shows pupils"),
    Step(
        key="pupils",
        prompt=(
            "Which pupils does it name, or show so they could be recognised? Give each first and last name, and "
            "their class if you know it, separated by semicolons (for example: Zoe Amos, Year 3; Sam Patel, 4B)."
        ),
        label="Pupils",
        check=check_pupils,
        when=lambda a: bool(a.get("shows_pupils")),
        then=tell_pupils,
        max_length=1500,
        example="Zoe Amos, Year 3; Sam Patel, 4B",
    ),
    Step(
        key="shows_others",
        prompt="Does it show or name anyone else who could be recognised (staff, parents, visitors)?",
        kind="yesno",
        label="Shows other people",
    ),
    Step(
        key="consent",
        prompt=(
            "Has permission been given, under the school's digital and video images procedure, for everyone who "
            "can be identified in it? (The school office keeps the consent records.)"
        ),
        kind="choice",
        label="Consent for everyone identifiable",
        choices=CONSENT,
        when=people_shown,
    ),
    Step(
        key="asked_not",
        prompt="Has anyone in it asked not to be filmed or photographed?",
        kind="choice",
        label="Asked not to be photographed",
        choices=ASKED_NOT,
        when=people_shown,
    ),
    Step(
        key="dignity",
        prompt="Are the pupils appropriately dressed, and shown with dignity (nobody could be made fun of)?",
        kind="yesno",
        label="Dressed and shown with dignity",
        when=lambda a: bool(a.get("shows_pupils")),
    ),
    Step(
        key="school_account",
        prompt="Will it go out only through the school's account, never from anyone's personal account?",
        kind="yesno",
        label="Only through the school's account",
    ),
    Step(
        key="copyright",
        prompt="Whose is the picture, video or text?",
        kind="choice",
        label="Copyright",
        choices=COPYRIGHT,
    ),
    Step(
        key="holder",
        prompt="Who holds the copyright and gave permission?",
        label="Permission from",
        check=filled("Please name who gave permission (a person or an organisation)."),
        when=lambda a: a.get("copyright") == "permission",
        max_length=200,
        example="Sarah Jones, the photographer at sports day",
    ),
    Step(
        key="permission_on",
        prompt="When did they give permission? (for example: yesterday, or 20/11)",
        kind="date",
        label="Permission given on",
        when=lambda a: a.get("copyright") == "permission",
        direction="past",
    ),
    Step(
        key="tone",
        prompt="Read it once more against the policy's tone checklist:\n- "
        + "\n- ".join(KEY_WORDS)
        + "\nDoes it meet them?",
        kind="yesno",
        label="Tone checklist",
    ),
    Step(
        key="confidential",
        prompt="Is it free of confidential information (no personal details, nothing private to the school)?",
        kind="yesno",
        label="No confidential information",
    ),
    Step(
        key="personal",
        prompt="Is it free of personal opinion, and of anything for anyone's personal gain?",
        kind="yesno",
        label="No personal opinion or gain",
    ),
)


def file_check(answers: Answers, ctx: Context, out: Outcome) -> None:
    """Work out the outcome, keep it on the account's post log, and say what to do next."""
    account = get_account(ctx, answers["account"])
    if account is None or account["id"] not in {a["id"] for a in accounts_for(ctx)}:
        raise Expired("That account is no longer one you can check posts for, so nothing was kept.")
    checks = pupil_checks(answers, ctx)
    gaps = missing(answers, checks)
    rule = ctx.settings.posting.second_check
    second = not gaps and (rule == "always" or (rule == "pupils" and bool(answers.get("shows_pupils"))))
    status = "not_yet" if gaps else WAITING if second else "ready"
    number = ctx.next_id(TABLE)
    post: dict[str, Any] = {
        "id": f"P-{number}",
        "number": number,
        "account": account["id"],
        "description": answers["description"],
        "answers": {k: v for k, v in answers.items() if not k.startswith("_") and k != "description"},
        "pupils": [
            {"name": n, "class": k, "shown": shown_name(n, k), "answer": found.words, "verdict": found.verdict}
            for n, k, found in checks
        ],
        "shown": [list(row) for row in shown_rows(answers, ctx)],
        "missing": [list(m) for m in gaps],
        "outcome": status,
        "status": status,
        "checked_by": ctx.actor.id,
        "checked_at": ctx.now.isoformat(),
        "files_sent": int(answers.get("_files_sent", 0)),
        "asked": second_checkers(ctx, account, ctx.actor.id) if second else [],
        "second_check": "waiting" if second else "",
        "second_check_by": None,
        "second_checked_at": None,
        "second_check_reason": "",
    }
    out.put(TABLE, post["id"], post, action="post_checked", after=status, detail=f"{account['id']}: {status}")
    where = label(account)
    if gaps:
        out.tell(
            Card(
                f"Not yet: post {post['id']}",
                f"Please don't post this on {where} yet. Here is what is missing and what to do. When it is sorted, "
                "type /post-check to check it again. This check is kept on the account's post log.",
                fields=tuple(gaps),
                tone="warning",
            )
        )
    elif second:
        send_second_check(post, ctx, out)
        names = ", ".join(ctx.directory.name(p) for p in post["asked"]) or "nobody (please tell an administrator)"
        why = "it shows pupils" if rule == "pupils" else "the school asks for it for every post"
        out.tell(
            Card(
                f"Waiting for a second check: post {post['id']}",
                f"Everything you answered is in order. Because {why}, a second person must confirm it before it goes "
                f"out on {where}, so please don't post it yet. I have sent it to: {names}. I'll tell you when one of "
                "them answers.",
            )
        )
    else:
        out.tell(
            Card(
                f"Ready to post: post {post['id']}",
                f"Everything you answered is in order, so it is ready to post on {where}, through the school's "
                "account. This check is kept on the account's post log.",
                tone="success",
            )
        )


def on_file(answers: Answers, _ctx: Context, out: Outcome) -> None:
    """A picture sent into the check: never opened or kept (as everywhere in policybot); only the fact is noted."""
    answers["_files_sent"] = int(answers.get("_files_sent", 0)) + 1
    out.tell(
        Card(
            "Please describe it in words instead",
            "I don't open or keep files or pictures, so the picture itself is not part of the check. Please delete "
            "the message with the file from this chat, describe the post in words, then carry on with the last "
            "question.",
            tone="warning",
        )
    )


def start(answers: Answers, ctx: Context, _out: Outcome) -> None:
    """With only one account to choose, it is chosen already."""
    mine = accounts_for(ctx)
    if not mine:
        raise Expired("You don't run a school account in the register, so there is no post to check. " + HOW)
    if len(mine) == 1:
        answers["account"] = mine[0]["id"]


def post_check(text: str, ctx: Context, out: Outcome) -> None:
    """/post-check: the check for those who may post; the rules for anyone else, or anyone who asks for them."""
    words = fold(text).split()
    if words and words[0] in RULES_WORDS:
        out.tell(rules_card(ctx))
        return
    if not accounts_for(ctx):
        note = (
            "You don't run a school account in the register, so you can't check a post yourself; here is what the "
            "check asks, so you know the rules. If you help with an account, ask whoever runs it.\n\n"
        )
        out.tell(rules_card(ctx, note))
        return
    if any(d["workflow"] == NAME for d in ctx.drafts()):
        data = {"workflow": NAME}
        out.tell(
            Card(
                "You have a post check in progress",
                "You started checking a post and haven't finished. Carry on where you left off, or cancel it and "
                "type /post-check again to check another.",
                buttons=(
                    Button(action="conversation.resume", label="Carry on", data=data, style="primary"),
                    Button(action="conversation.cancel", label="Cancel it", data=data, style="danger"),
                ),
            )
        )
        return
    out.begin(NAME)


WORKFLOWS = (
    Workflow(
        name=NAME,
        title="Check a post",
        intro="I'll ask what the policy asks before anything goes out on a school account. You can type back, "
        "cancel or help at any time.",
        steps=STEPS,
        on_start=start,
        on_complete=file_check,
        on_file=on_file,
        submit_label="Check it",
    ),
)

COMMANDS = (
    Command(
        "post-check",
        "check a post before it goes out on a school account (/post-check rules: what it asks, for anyone)",
        post_check,
        aliases=("post check", "check a post", "before you post"),
    ),
)
