"""The account's post log (table `posts`): every /post-check, its outcome and who checked it, and the
second pair of eyes the school may ask for ("Use of images": staff exercise their professional judgement
about whether an image is appropriate; `[posting] second_check`).

A post that needs a second check goes, as a card with Confirm and Not yet, to the account's other runners
and the administrators (to SLT when nobody else can); any of them, or SLT, may answer it, never the person
who checked it. The checker is told the answer and every copy of the card shows it, so nobody answers twice.
SLT and administrators read an account's log from /accounts or with /post-log; the weekly digest counts
the checks and the "not yet"s. The conversation that fills the log is workflows/post_check.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.declarations import Reader, Record, Table, first
from bot.errors import AlreadyDecided, Expired, NotAllowed
from bot.messages import Button, Card, person
from bot.people import fold
from bot.timefmt import when
from bot.workflow import Answers, Command, Context, FollowUp, Outcome, Step, filled
from workflows.accounts import every_account, get_account, label

TABLE = "posts"
WAITING = "waiting"  # a post's status while it waits for a second check
OUTCOMES = {"ready": "Ready to post", "not_yet": "Not yet", WAITING: "Waiting for a second check"}
LOG_LENGTH = 10  # the latest checks an account's post log shows


def card_key(post_id: str, pid: str) -> str:
    """The key of one person's copy of a post's second-check card (each copy is updated when it is answered)."""
    return f"second-check:{post_id}:{pid}"


def live_runners(ctx: Context, account: Mapping[str, Any]) -> list[str]:
    """The account's runners who are on the staff list and have not left."""
    return [r for r in account.get("runners", ()) if ctx.directory.get(r) is not None and r not in ctx.directory.away]


def second_checkers(ctx: Context, account: Mapping[str, Any], checker: str) -> list[str]:
    """Who is asked for a second check: the account's other runners and the administrators, or SLT if nobody else."""
    asked = [r for r in live_runners(ctx, account) if r != checker]
    asked += [p.id for p in ctx.directory.members("admins") if p.id != checker and p.id not in asked]
    if not asked:
        asked = [p.id for p in ctx.directory.members("slt") if p.id != checker]
    return asked


def may_second_check(ctx: Context, post: Mapping[str, Any]) -> bool:
    """True when the actor may answer this post's second check (another runner, an administrator or SLT)."""
    me = ctx.actor
    if me.id == post["checked_by"]:
        return False
    account = get_account(ctx, post["account"]) or {}
    return me.is_slt or me.is_admin or me.id in live_runners(ctx, account)


def _account_name(ctx: Context, account_id: str) -> str:
    account = get_account(ctx, account_id)
    return label(account) if account else account_id


def summary_fields(post: Mapping[str, Any], ctx: Context) -> tuple[tuple[str, str], ...]:
    """What a second checker reads: the post, the pupils' answers, and the answers given, by whom."""
    tz = ctx.settings.school.tz
    rows = [
        ("Account", _account_name(ctx, post["account"])),
        ("The post", post["description"]),
        ("Checked by", f"{ctx.directory.name(post['checked_by'])}, {when(post['checked_at'], tz)}"),
    ]
    if post.get("pupils"):
        rows.append(("Pupils", "\n".join(f"{p['shown']}: {p['answer']}" for p in post["pupils"])))
    rows += [(title, text) for title, text in post.get("shown", ())]
    return tuple(rows)


def second_check_card(post: Mapping[str, Any], ctx: Context, outcome: str = "") -> Card:
    """The card another runner, an administrator or SLT answers; with `outcome`, how it was answered (no buttons)."""
    title = f"Second check: post {post['id']} for {_account_name(ctx, post['account'])}"
    if outcome:
        return Card(
            title, outcome, fields=summary_fields(post, ctx), tone="success" if "Confirmed" in outcome else "info"
        )
    data = {"post": post["id"]}
    return Card(
        title,
        f"{ctx.directory.name(post['checked_by'])} checked this post before it goes out, and every answer is in "
        "order. The school asks a second person to confirm it first. Please read it and confirm, or say what is "
        "not right yet. It is not posted until someone confirms.",
        fields=summary_fields(post, ctx),
        buttons=(
            Button(action="post_log.confirm", label="Confirm: ready to post", data=data, style="primary"),
            Button(action="post_log.not_yet", label="Not yet", data=data, style="danger"),
        ),
    )


def send_second_check(post: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Send the second-check card to those it asks (`post["asked"]`, from `second_checkers`)."""
    for pid in post["asked"]:
        out.send(person(pid), second_check_card(post, ctx), key=card_key(post["id"], pid))


def _waiting_post(data: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    """The post a second-check button names, if the actor may answer it and it still waits."""
    post = ctx.get(TABLE, str(data.get("post", "")))
    if post is None:
        raise Expired("I can't find that post check any more. It may have been removed under the retention rules.")
    if post["checked_by"] == ctx.actor.id:
        raise NotAllowed(
            "You checked this post yourself, so someone else needs to give it the second check: another person "
            "who runs the account, an administrator or SLT. They have the card; I'll tell you when they answer.",
            why="the person who checked a post cannot give it its second check",
        )
    if not may_second_check(ctx, post):
        raise NotAllowed(
            "Only the people who run this account, administrators and SLT can give a post its second check. "
            "If you think you should be able to, please ask a member of SLT.",
            why="not a runner of the account, an administrator or SLT",
        )
    if post["status"] != WAITING:
        at = when(post["second_checked_at"], ctx.settings.school.tz)
        raise AlreadyDecided(
            f"Post {post['id']} already had its second check: {post['second_check'].replace('_', ' ')} by "
            f"{ctx.directory.name(post['second_check_by'])} on {at}, so nothing was changed."
        )
    return post


def _answered(post: dict[str, Any], answer: str, ctx: Context, out: Outcome, reason: str = "") -> None:
    """Record the second check and show it on every copy of the card."""
    post.update(
        status="ready" if answer == "confirmed" else "not_yet",
        second_check=answer,
        second_check_by=ctx.actor.id,
        second_checked_at=ctx.now.isoformat(),
        second_check_reason=reason,
    )
    out.put(
        TABLE,
        post["id"],
        post,
        action=f"post_second_check_{answer}",
        before=WAITING,
        after=post["status"],
        expect_version=post["version"],
    )
    word = "Confirmed: ready to post" if answer == "confirmed" else "Not yet"
    shown = f"{word}, by {ctx.directory.name(ctx.actor.id)} on {when(ctx.now, ctx.settings.school.tz)}."
    if reason:
        shown += f"\nWhy: {reason}"
    # Every copy sent, and the one the person answered on (SLT may answer one from /waiting).
    for pid in dict.fromkeys([*post.get("asked", ()), ctx.actor.id]):
        out.send(person(pid), second_check_card(post, ctx, shown), key=card_key(post["id"], pid), replace=True)


def confirm(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """A second person confirms: the post is ready, and the checker is told."""
    post = _waiting_post(data, ctx)
    _answered(post, "confirmed", ctx, out)
    out.send(
        person(post["checked_by"]),
        Card(
            f"Post {post['id']}: ready to post",
            f"{ctx.actor.name} confirmed your post for {_account_name(ctx, post['account'])}, so it is ready to post. "
            "Please post it through the school's account.",
            fields=(("The post", post["description"]),),
            tone="success",
        ),
    )


def not_yet(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """A second person says not yet: first ask why, for the checker to read."""
    post = _waiting_post(data, ctx)
    out.ask(WHY_NOT_YET, about={"post": post["id"]})


def record_not_yet(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """The reason is given: the post is not ready, and the checker reads why."""
    post = _waiting_post(about, ctx)
    _answered(post, "not_yet", ctx, out, reason=answers["reason"])
    out.send(
        person(post["checked_by"]),
        Card(
            f"Post {post['id']}: not yet",
            f"{ctx.actor.name} looked at your post for {_account_name(ctx, post['account'])} and it is not ready to "
            f"post yet.\nTheir reason: {answers['reason']}\nPlease sort it out with them, then type /post-check to "
            "check it again.",
            fields=(("The post", post["description"]),),
            tone="warning",
        ),
    )
    out.tell(Card("Second check recorded", f"Post {post['id']} is marked not yet, and the checker has your reason."))


WHY_NOT_YET = FollowUp(
    name="post_second_check_no",
    title="Second check: not yet",
    steps=(
        Step(
            key="reason",
            prompt="What is not right yet? The person who checked it will read this.",
            label="Reason",
            check=filled("Please say in a few words what needs to change, so they can put it right."),
            max_length=500,
            example="One child at the back is not on our consent list; please crop them out",
        ),
    ),
    then=record_not_yet,
)


# ---- the post log, for SLT and administrators -------------------------------------------


def log_card(account: Mapping[str, Any], ctx: Context) -> Card:
    """The account's latest checks, newest first: outcome, checker, second checker."""
    tz = ctx.settings.school.tz
    posts = sorted(ctx.find(TABLE, account=account["id"]), key=lambda p: p.get("number", 0), reverse=True)
    if not posts:
        return Card(f"Post log: {label(account)}", "Nobody has checked a post for this account with /post-check yet.")
    fields = []
    for p in posts[:LOG_LENGTH]:
        lines = [p["description"], f"Checked by {ctx.directory.name(p['checked_by'])}"]
        if p.get("second_check") in ("confirmed", "not_yet"):
            lines.append(
                f"Second check: {p['second_check'].replace('_', ' ')} by {ctx.directory.name(p['second_check_by'])}"
                + (f" ({p['second_check_reason']})" if p.get("second_check_reason") else "")
            )
        elif p["status"] == WAITING:
            lines.append("Second check: waiting")
        if p.get("missing"):
            lines.append("Missing: " + "; ".join(what for what, _todo in p["missing"]))
        fields.append((f"{p['id']}, {when(p['checked_at'], tz)}: {OUTCOMES[p['status']]}", "\n".join(lines)))
    more = (
        f" The latest {LOG_LENGTH} are shown; `policybot export --what posts` has them all."
        if len(posts) > LOG_LENGTH
        else ""
    )
    return Card(f"Post log: {label(account)}", f"{len(posts)} check(s) before posting.{more}", fields=tuple(fields))


def show_log(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """The post log button on the register (/accounts)."""
    ctx.require("slt,admin", "see an account's post log")
    account = get_account(ctx, str(data.get("account", "")))
    if account is None:
        raise Expired("That account is no longer in the register.")
    out.audit("post_log_viewed", f"accounts/{account['id']}")
    out.tell(log_card(account, ctx))


def post_log(text: str, ctx: Context, out: Outcome) -> None:
    """/post-log [account]: one account's log, or the accounts to choose from."""
    want = fold(text)
    accounts = sorted(every_account(ctx), key=lambda a: a.get("created_at", ""))
    found = [a for a in accounts if want and want in (fold(a["id"]), fold(a["name"]), fold(a.get("handle", "")))]
    if len(found) == 1:
        show_log({"account": found[0]["id"]}, ctx, out)
        return
    if not accounts:
        out.tell(Card("Post log", "There are no school accounts in the register yet, so there is no post log."))
        return
    note = f"I couldn't find an account called '{text.strip()}'. " if want else ""
    out.tell(
        Card(
            "Post log",
            f"{note}Choose an account to see its latest post checks (or type /post-log and its number).",
            buttons=tuple(
                Button(action="post_log.show", label=f"{a['id']}: {a['name']}", data={"account": a["id"]})
                for a in accounts[:20]
            ),
        )
    )


def second_checks(ctx: Context) -> list[tuple[str, Card, str]]:
    """Posts waiting for a second check the actor may give: (line, card, key), for /waiting and the home page."""
    out = []
    for p in sorted(ctx.find(TABLE, status=WAITING), key=lambda p: p.get("number", 0)):
        if may_second_check(ctx, p):
            line = f"{p['id']} for {_account_name(ctx, p['account'])}, checked by {ctx.directory.name(p['checked_by'])}"
            out.append((line, second_check_card(p, ctx), card_key(p["id"], ctx.actor.id)))
    return out


def digest_line(ctx: Context, since: datetime) -> tuple[str, str] | None:
    """The weekly digest's count of the week's checks and "not yet"s; None in a week with no post checked or waiting."""
    checked = [p for p in ctx.all(TABLE) if (first(p, "checked_at") or since) >= since]
    second_no = [p for p in checked if p.get("second_check") == "not_yet"]
    second_no += [
        p
        for p in ctx.find(TABLE, second_check="not_yet")
        if p not in second_no and (first(p, "second_checked_at") or since) >= since
    ]
    waiting = ctx.find(TABLE, status=WAITING)
    if not checked and not second_no and not waiting:
        return None
    not_yet_count = sum(1 for p in checked if p["outcome"] == "not_yet")
    text = f"{len(checked)} checked in the last 7 days; {not_yet_count} 'not yet' when checked"
    text += f", {len(second_no)} 'not yet' at the second check." if second_no else "."
    if waiting:
        text += f" {len(waiting)} waiting for a second check now (/waiting shows them to whoever can confirm)."
    return "Posts checked before publishing", text


COMMANDS = (
    Command("post-log", "see an account's latest post checks (SLT, administrators)", post_log, role="slt,admin"),
)
ACTIONS = {"post_log.confirm": confirm, "post_log.not_yet": not_yet, "post_log.show": show_log}
FOLLOW_UPS = (WHY_NOT_YET,)
DIGEST = (digest_line,)


# ---- what the core needs from this module (collected by bot/registry.py) ---------------------


def _retention(record: Record, _records: Reader) -> datetime | None:
    return first(record, "checked_at")


TABLES = (
    Table(
        TABLE,
        export=True,
        columns=(
            "id",
            "account",
            "description",
            "outcome",
            "status",
            "missing",
            "checked_by",
            "checked_at",
            "second_check",
            "second_check_by",
            "second_checked_at",
            "answers",
        ),
        retention=_retention,
        named_by="post",
        waiting="posts waiting for a second check",
        waiting_status=WAITING,
    ),
)
