"""Posts about the school found elsewhere (the policy's "Monitoring posts about The School"):
"pro-actively monitor the Internet for public postings about The School" and "respond to social
media comments made by others according to a defined policy or process".

Anyone logs a public post they found, not on a school account (those are /log-comment's), with
/log-post: where, a link or a few words, and what it is. The defined process, by kind:
- praise: thanked and recorded; a question: recorded, with how the school's own account can
  answer it; a complaint: recorded, with the school's complaints procedure
  (`[monitoring] complaints_procedure`, as /log-comment shows it);
- abusive: recorded, and /report-abuse starts with what they said filled in (the way
  /log-comment's "Report it as abuse" starts it);
- a concern or something misleading: SLT choose Respond through the school account, Leave it
  or Escalate (with a short note for the first and last). Every copy of SLT's card shows the
  choice, and whoever logged it is told.
The weekly reminder to look is workflows/lookout.py; a post logged from it counts for that week.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from bot.declarations import Reader, Record, Table, moment
from bot.errors import AlreadyDecided, Expired
from bot.messages import Button, Card, Choice, person, role
from bot.timefmt import when
from bot.workflow import Answers, Context, FollowUp, Invalid, Outcome, Step, Workflow, filled
from workflows import lookout
from workflows.accounts import active_accounts, label
from workflows.incidents.abuse import ELSEWHERE

MENTIONS = "mentions"
SCHOOL = "school_account"
WHERE = (
    Choice("facebook", "Facebook (a page or group that isn't the school's)"),
    Choice("x", "X (Twitter)"),
    Choice("instagram", "Instagram"),
    Choice("tiktok", "TikTok"),
    Choice("news", "A news website"),
    Choice("forum", "A parents' forum or review site (for example Mumsnet, Google reviews)"),
    Choice("other", "Somewhere else"),
    Choice(SCHOOL, "One of the school's own accounts"),
)
# How a place reads in a sentence or on a card: "Facebook", "X (Twitter)", "a news website".
WHERE_NAMES = {c.value: c.label if c.value == "x" else c.label.split(" (")[0] for c in WHERE}
WHERE_NAMES.update(news="a news website", forum="a parents' forum or review site")
KINDS = (
    Choice("praise", "Praise"),
    Choice("question", "A question"),
    Choice("complaint", "A complaint"),
    Choice("concern", "A concern (a worry about the school, a pupil or a member of staff)"),
    Choice("abusive", "Abusive or offensive"),
    Choice("misleading", "Misleading or untrue"),
)
KIND_NAMES = {c.value: c.label.removeprefix("A ").split(" (")[0].lower() for c in KINDS}
TO_SLT = ("concern", "misleading")
DECISIONS = {"respond": "Respond through the school account", "leave": "Leave it", "escalate": "Escalate"}

not_blank = filled("Please write a few words, so the record makes sense to whoever reads it later.")


def not_a_school_account(value: str, _answers: Answers, _ctx: Context) -> str:
    if value == SCHOOL:
        raise Invalid(
            "Posts and comments on the school's own accounts are logged with /log-comment, so whoever runs the "
            "account replies on time. Type cancel, then /log-comment. If it was somewhere else, choose where."
        )
    return value


def described(value: str, _answers: Answers, _ctx: Context) -> str:
    if len(value.strip()) < 3:
        raise Invalid("Please paste a link, or write a few words about what the post says.")
    return value.strip()


def where_text(m: Mapping[str, Any]) -> str:
    """'Facebook', or what they typed for somewhere else."""
    if m.get("where") == "other":
        return str(m.get("where_other", "somewhere else"))
    return WHERE_NAMES.get(str(m.get("where")), str(m.get("where")))


# ---- /log-post --------------------------------------------------------------------------


def log_post(answers: Answers, ctx: Context, out: Outcome) -> None:
    """File the post, then do what the school's process says for its kind."""
    week = (answers.get("_context") or {}).get("lookout")
    mention = {
        "id": f"M-{ctx.next_id(MENTIONS)}",
        "where": answers["where"],
        "where_other": answers.get("where_other", ""),
        "about": answers["about"],
        "kind": answers["kind"],
        "logged_by": ctx.actor.id,
        "logged_at": ctx.now.isoformat(),
        "lookout": week,
        "status": "with_slt" if answers["kind"] in TO_SLT else "recorded",
        "next": "",
        "decision": None,
        "note": "",
        "decided_by": None,
        "decided_at": None,
    }
    kind, mid = mention["kind"], mention["id"]
    lines = [f"Logged as {mid}."]
    if kind == "praise":
        mention["next"] = "Thanked and recorded."
        lines[0] = f"Thank you: it's good to hear. Logged as {mid}."
    elif kind == "question":
        mention["next"] = "Recorded; suggested answering through the school's own account."
        accounts = ", ".join(label(a) for a in active_accounts(ctx))
        lines.append(
            "If the answer isn't private, it may help to answer it publicly through the school's own account, so "
            "others with the same question see it too. Please ask whoever runs the account; don't answer from a "
            "personal account." + (f" The school's accounts: {accounts}." if accounts else "")
        )
    elif kind == "complaint":
        mention["next"] = "Recorded; the complaints procedure was shown."
        lines.append(
            "This is a complaint. The school's complaints procedure: " + ctx.settings.monitoring.complaints_procedure
        )
        lines.append("Please don't reply from a personal account.")
    elif kind == "abusive":
        mention["next"] = "Recorded; a report of abuse was started (/report-abuse)."
        lines.append("You said it is abusive or offensive, so please report it now: what you told me is filled in.")
    else:
        mention["next"] = "Sent to SLT to choose: respond through the school account, leave it, or escalate."
        lines.append(
            "I have sent it to SLT. They will choose whether the school responds through its own account, leaves "
            "it, or escalates it, and I'll tell you what they decide. Please don't reply to it yourself."
        )
        out.send(role("slt"), slt_card(mention, ctx), key=f"mention:{mid}")
    out.put(MENTIONS, mid, mention, action="mention_logged", after=mention["status"], detail=kind)
    out.tell(Card(f"Logged: {mid}", "\n".join(lines), tone="success"), key=f"mention:{mid}:{ctx.actor.id}")
    if week:
        lookout.add_found(str(week), mid, ctx, out)
    if kind == "abusive":
        report_abuse(mention, out)


def report_abuse(mention: Mapping[str, Any], out: Outcome) -> None:
    """Start /report-abuse with what the person already said (`Outcome.begin`, as /log-comment's button does)."""
    about = str(mention["about"])
    links = " ".join(w for w in about.split() if w.startswith(("http://", "https://")))
    known = {
        "where": ELSEWHERE,
        "where_else": where_text(mention),
        "evidence": f"A post on {where_text(mention)}: {about} (logged as {mention['id']})",
    }
    if links:
        known["links"] = links
    out.begin("report_abuse", {"answers": known, "mention": mention["id"]})


# ---- SLT's choice ----------------------------------------------------------------------------


def slt_card(m: Mapping[str, Any], ctx: Context) -> Card:
    """SLT's card: the post, who logged it, and the three choices while nobody has chosen."""
    tz = ctx.settings.school.tz
    fields = [
        ("Where", where_text(m)),
        ("Link or summary", str(m["about"])),
        ("Logged", f"by {ctx.directory.name(m['logged_by'])}, {when(m['logged_at'], tz)}"),
    ]
    title = f"Post about the school ({KIND_NAMES.get(m['kind'], m['kind'])}): {m['id']}"
    if m["decision"]:
        choice = f"{DECISIONS[m['decision']]}: by {ctx.directory.name(m['decided_by'])}, {when(m['decided_at'], tz)}"
        fields.append(("SLT chose", choice + (f". {m['note']}" if m.get("note") else "")))
        return Card(title, "SLT have chosen what to do about this post.", fields=tuple(fields), tone="success")
    data = {"mention": m["id"]}
    return Card(
        title,
        "Someone found this public post about the school. Please choose what the school does: respond through its "
        "own account, leave it, or escalate it. The first choice made is recorded for everyone.",
        fields=tuple(fields),
        buttons=(
            Button(action="mentions.respond", label="Respond through the school account", data=data, style="primary"),
            Button(action="mentions.leave", label="Leave it", data=data),
            Button(action="mentions.escalate", label="Escalate", data=data, style="danger"),
        ),
        tone="warning",
    )


def _undecided(data: Mapping[str, Any], ctx: Context) -> dict[str, Any]:
    ctx.require("slt", "choose what the school does about a post found elsewhere")
    m = ctx.get(MENTIONS, str(data.get("mention", "")))
    if m is None:
        raise Expired("I can't find that post any more. It may have been removed under the retention rules.")
    if m["decision"]:
        raise AlreadyDecided(
            f"{ctx.directory.name(m['decided_by'])} already chose '{DECISIONS[m['decision']]}' for {m['id']} on "
            f"{when(m['decided_at'], ctx.settings.school.tz)}, so nothing was changed."
        )
    return m


TOLD = {
    "respond": "SLT decided the school will respond to it through its own account. "
    "You don't need to do anything more; thank you for logging it.",
    "leave": "SLT looked at it and decided to leave it: the school won't respond. Thank you for logging it.",
    "escalate": "SLT are taking it further. You don't need to do anything more; thank you for logging it.",
}


def _decide(m: dict[str, Any], decision: str, note: str, ctx: Context, out: Outcome) -> None:
    """Record SLT's choice, show it on every copy of SLT's card and tell whoever logged the post."""
    m.update(status="decided", decision=decision, note=note, decided_by=ctx.actor.id, decided_at=ctx.now.isoformat())
    m["next"] = f"SLT chose: {DECISIONS[decision]}."
    out.put(
        MENTIONS,
        m["id"],
        m,
        action="mention_decided",
        before="with_slt",
        after="decided",
        detail=decision,
        expect_version=m["version"],
    )
    out.send(role("slt"), slt_card(m, ctx), key=f"mention:{m['id']}", replace=True)
    out.send(person(m["logged_by"]), Card(f"The post you logged: {m['id']}", TOLD[decision], tone="success"))
    if m["logged_by"] != ctx.actor.id:
        out.tell(
            Card(
                f"Recorded: {DECISIONS[decision]}",
                f"Recorded for {m['id']}, and {ctx.directory.name(m['logged_by'])} has been told.",
                tone="success",
            )
        )


def leave(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    _decide(_undecided(data, ctx), "leave", "", ctx, out)


def _with_note(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    _decide(_undecided(about, ctx), about["decision"], answers["note"], ctx, out)


RESPOND_NOTE = FollowUp(
    name="mentions_respond",
    title="Respond through the school account",
    steps=(
        Step(
            key="note",
            prompt="In a few words: who will respond, on which school account, and what will they say?",
            label="Note",
            check=not_blank,
            max_length=500,
            example="Emma to post the correct trip dates on the school Facebook page today",
        ),
    ),
    then=_with_note,
    role="slt",
)
ESCALATE_NOTE = FollowUp(
    name="mentions_escalate",
    title="Escalate a post about the school",
    steps=(
        Step(
            key="note",
            prompt="In a few words: escalated to whom, and why?",
            label="Note",
            check=not_blank,
            max_length=500,
            example="Passed to the chair of governors and the local authority press office",
        ),
    ),
    then=_with_note,
    role="slt",
)


def respond(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    m = _undecided(data, ctx)
    out.ask(RESPOND_NOTE, about={"mention": m["id"], "decision": "respond"})


def escalate(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    m = _undecided(data, ctx)
    out.ask(ESCALATE_NOTE, about={"mention": m["id"], "decision": "escalate"})


# ---- for /waiting and the digest -----------------------------------------------------------


def waiting(ctx: Context) -> list[tuple[str, str, Card, str]]:
    """For SLT: posts waiting for their choice, (section, line, card, key)."""
    if not ctx.actor.is_slt:
        return []
    found = sorted(ctx.find(MENTIONS, status="with_slt"), key=lambda m: m["logged_at"])
    return [
        (
            "Posts about the school to decide",
            f"{m['id']}: {KIND_NAMES.get(m['kind'], m['kind'])} on {where_text(m)}",
            slt_card(m, ctx),
            f"mention:{m['id']}",
        )
        for m in found
    ]


def digest_line(ctx: Context, since: datetime) -> tuple[str, str]:
    """The week's posts found elsewhere by kind, and those still waiting for SLT's choice."""
    week = ctx.where(MENTIONS, lambda m: (moment(m.get("logged_at")) or since) >= since)
    counts = [(KIND_NAMES[c.value], sum(m["kind"] == c.value for m in week)) for c in KINDS]
    text = (
        f"{len(week)} logged in the last 7 days: " + ", ".join(f"{n} {name}" for name, n in counts if n) + "."
        if week
        else "None logged in the last 7 days."
    )
    waiting = sorted((m["id"] for m in ctx.find(MENTIONS, status="with_slt")), key=lambda i: int(i.split("-")[1]))
    text += (
        f" Waiting for an SLT choice: {', '.join(waiting)} (type /waiting)."
        if waiting
        else " None waiting for an SLT choice."
    )
    return "Posts about the school found elsewhere", text


# ---- what the core needs from this module (collected by bot/registry.py) ----------------------------


def _retention(record: Record, _records: Reader) -> datetime | None:
    """Kept from when it was logged; one still waiting for SLT's choice is live."""
    return None if record.get("status") == "with_slt" else moment(record.get("logged_at"))


WORKFLOWS = (
    Workflow(
        name="log_post",
        command="log-post",
        title="Log a post about the school",
        summary="log a public post about the school you found elsewhere (not on a school account)",
        aliases=("log post", "log a post", "post about the school"),
        intro=(
            "The policy asks us to keep an eye on public posts about the school made elsewhere, and to respond in "
            "a planned way. Tell me about one you found. (For a comment on one of the school's own accounts, use "
            "/log-comment instead.)"
        ),
        steps=(
            Step(
                key="where",
                prompt="Where did you see it?",
                kind="choice",
                label="Where",
                choices=WHERE,
                check=not_a_school_account,
            ),
            Step(
                key="where_other",
                prompt="Which site or app? (a group's name is fine)",
                label="Where (other)",
                check=not_blank,
                max_length=200,
                when=lambda a: a.get("where") == "other",
                example="the Pennington Community Noticeboard website",
            ),
            Step(
                key="about",
                prompt="Paste a link to it, or say in a few words what it says (no full names of pupils, please).",
                label="Link or summary",
                check=described,
                max_length=500,
                example="https://www.facebook.com/groups/example/posts/123",
            ),
            Step(key="kind", prompt="What is it?", kind="choice", label="What it is", choices=KINDS),
        ),
        on_complete=log_post,
        submit_label="Log it",
    ),
)

FOLLOW_UPS = (RESPOND_NOTE, ESCALATE_NOTE)

ACTIONS = {
    "mentions.respond": respond,
    "mentions.leave": leave,
    "mentions.escalate": escalate,
}

DIGEST = (digest_line,)

TABLES = (
    Table(
        MENTIONS,
        export=True,
        columns=("id", "logged_at", "logged_by", "where", "kind", "status", "decision", "decided_by", "decided_at"),
        retention=_retention,
        waiting="posts about the school for SLT to choose on",
        waiting_status="with_slt",
        named_by="mention",
    ),
)
