"""Monitoring: comments, queries and complaints on school accounts, each answered on time.

The policy: "Any comments, queries or complaints made through those accounts must be
responded to within 24 hours (or on the next working day if received at a weekend)".
Staff log what arrives with /log-comment; the due time follows `bot.calendar.response_due`.
"Mark replied" records who and when. A complaint shows the school's complaints
procedure; an abusive comment offers to report it with the details filled in.
The reminders before a reply is due, and the escalation when it is late, are in
workflows/item_reminders.py.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from bot.calendar import response_due
from bot.declarations import Reader, Record, Table, first
from bot.errors import AlreadyDecided, Expired, NotAllowed
from bot.messages import Button, Card, Choice, person, role
from bot.timefmt import when
from bot.workflow import Answers, Command, Context, Invalid, Outcome, Step, Workflow
from workflows.accounts import active_accounts, get_account, label
from workflows.rota_records import no_open_accounts, on_duty

ITEMS = "items"
KINDS = (Choice("comment", "A comment"), Choice("query", "A query (a question)"), Choice("complaint", "A complaint"))
SOURCES = (
    Choice("parent", "A parent or carer"),
    Choice("pupil", "A pupil"),
    Choice("staff", "A member of staff"),
    Choice("public", "A member of the public"),
)
KIND_NAMES = {c.value: c.label.removeprefix("A ").split(" (")[0].lower() for c in KINDS}
# "a comment from a parent or carer", "... from a member of the public".
SOURCE_NAMES = {c.value: c.label[0].lower() + c.label[1:] for c in SOURCES}
# What a logged item's source means for a report of abuse (report_abuse's "poster").
POSTER = {"parent": "parent", "pupil": "pupil", "staff": "staff", "public": "public"}


def account_options(_answers: Answers, ctx: Context) -> tuple[Choice, ...]:
    return tuple(Choice(a["id"], label(a)) for a in active_accounts(ctx))


def not_too_old(value: str, _answers: Answers, ctx: Context) -> str:
    """The reader has refused the future (the step's direction); this refuses the long past."""
    if datetime.fromisoformat(value) < ctx.now - timedelta(days=30):
        raise Invalid(
            "That is more than 30 days ago. Please check the date, or tell an administrator about anything this old."
        )
    return value


def short(value: str, _answers: Answers, _ctx: Context) -> str:
    if len(value.strip()) < 3:
        raise Invalid("Please write a few words about what it says, so whoever replies knows what it is about.")
    return value.strip()


def due_of(received: datetime, ctx: Context) -> datetime:
    """The policy's deadline for something received at `received`, with the school's calendar."""
    school, monitoring = ctx.settings.school, ctx.settings.monitoring
    return response_due(received, tz=school.timezone, nation=school.nation, end_of_day=monitoring.end_of_day)


def from_whom(item: Mapping[str, Any]) -> str:
    """'a parent or carer', 'a member of the public'."""
    return SOURCE_NAMES.get(item["source"], str(item["source"]))


def item_line(item: Mapping[str, Any], ctx: Context) -> str:
    due = datetime.fromisoformat(item["due_at"])
    late = " - OVERDUE" if ctx.now >= due and item["status"] == "open" else ""
    return (
        f'{item["id"]}: {KIND_NAMES.get(item["kind"], item["kind"])} from {from_whom(item)} - "{item["summary"]}" - '
        f"reply due {when(due, ctx.settings.school.tz)}{late}"
    )


def item_card(item: Mapping[str, Any], ctx: Context, title: str, body: str, tone: str = "info") -> Card:
    """An item with its details and, while it is open, Mark replied."""
    account = get_account(ctx, item["account"]) or {"id": item["account"], "name": item["account"]}
    tz = ctx.settings.school.tz
    fields = (
        ("Account", label(account)),
        ("What", f"{KIND_NAMES.get(item['kind'], item['kind']).capitalize()} from {from_whom(item)}"),
        ("Summary", item["summary"]),
        ("Received", when(item["received_at"], tz)),
        ("Reply due", when(item["due_at"], tz)),
    )
    if item["status"] == "replied":
        fields += (("Replied", f"by {ctx.directory.name(item['replied_by'])}, {when(item['replied_at'], tz)}"),)
    buttons = (
        (Button(action="monitoring_items.replied", label="Mark replied", data={"item": item["id"]}, style="primary"),)
        if item["status"] == "open"
        else ()
    )
    return Card(title, body, fields=fields, buttons=buttons, tone=tone)  # type: ignore[arg-type]


def responsible(item: Mapping[str, Any], ctx: Context) -> list[str]:
    """Who should reply now: today's monitor, or (with nobody on duty) everyone who runs the account."""
    account = get_account(ctx, item["account"])
    if account is None:
        return []
    monitor = on_duty(ctx, account, ctx.today)
    return [monitor] if monitor else [r for r in account.get("runners", ()) if ctx.directory.get(r)]


# ---- /log-comment --------------------------------------------------------------------


def log_start(answers: Answers, ctx: Context, out: Outcome) -> None:
    if not active_accounts(ctx):
        raise Expired(
            f"{no_open_accounts(ctx)}, so there is nothing to log a comment against. "
            "Accounts join the register once SLT approve an application (/new-account)."
        )


def log_item(answers: Answers, ctx: Context, out: Outcome) -> None:
    """File the item with its due time, and tell whoever must reply."""
    account = get_account(ctx, answers["account"])
    if account is None:
        raise Expired("That account is no longer in the register, so nothing was logged.")
    received = datetime.fromisoformat(answers["received"]) if answers.get("received") else ctx.now
    due = due_of(received, ctx)
    number = ctx.next_id(ITEMS)
    item = {
        "id": f"IT-{number}",
        "account": account["id"],
        "kind": answers["kind"],
        "source": answers["source"],
        "summary": answers["summary"],
        "abusive": bool(answers.get("abusive")),
        "received_at": received.isoformat(),
        "due_at": due.isoformat(),
        "status": "open",
        "logged_by": ctx.actor.id,
        "logged_at": ctx.now.isoformat(),
        "replied_by": None,
        "replied_at": None,
    }
    out.put(ITEMS, item["id"], item, action="item_logged", after="open", detail=f"{account['id']} {item['kind']}")
    tz = ctx.settings.school.tz
    lines = [f"Logged as {item['id']}. A reply is due by {when(due, tz)}."]
    if due <= ctx.now:
        lines = [
            f"Logged as {item['id']}. A reply was due by {when(due, tz)}, so it is already late: "
            "please reply as soon as you can, then press Mark replied. "
            "SLT and the account's runners will be told it is overdue."
        ]
    buttons = [
        Button(action="monitoring_items.replied", label="Mark replied", data={"item": item["id"]}, style="primary")
    ]
    if item["kind"] == "complaint":
        lines.append(
            "This is a complaint. The school's complaints procedure: " + ctx.settings.monitoring.complaints_procedure
        )
    if item["abusive"]:
        lines.append(
            "You said it is abusive or offensive. Please report it too, so SLT can act: "
            "the details you gave are filled in for you."
        )
        buttons.append(
            Button(
                action="monitoring_items.report", label="Report it as abuse", data={"item": item["id"]}, style="danger"
            )
        )
    out.tell(
        Card(f"Logged: {item['id']}", "\n".join(lines), buttons=tuple(buttons), tone="success"),
        key=f"item:{item['id']}:{ctx.actor.id}",
    )
    for pid in responsible(item, ctx):
        if pid != ctx.actor.id:
            card = item_card(
                item,
                ctx,
                f"New {KIND_NAMES[item['kind']]} to reply to: {label(account)}",
                f"{ctx.actor.name} logged this. Please reply by {when(due, tz)}.",
            )
            out.send(person(pid), card, key=f"item:{item['id']}:{pid}")


# ---- buttons -------------------------------------------------------------------------


def _item_to_act_on(data: Mapping[str, Any], ctx: Context, refused: str) -> dict[str, Any]:
    """The item a button names, if this person may act on it: its account's runners, whoever
    logged it, administrators and SLT. Otherwise `refused` is what they are told."""
    item = ctx.get(ITEMS, str(data.get("item", "")))
    if item is None:
        raise Expired("I can't find that item any more.")
    account = get_account(ctx, item["account"]) or {}
    if not (
        ctx.actor.id in account.get("runners", ())
        or ctx.actor.id == item["logged_by"]
        or ctx.actor.is_admin
        or ctx.actor.is_slt
    ):
        raise NotAllowed(refused)
    return item


def replied(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Mark replied: records who and when; every copy of the item's cards loses its button."""
    item = _item_to_act_on(
        data, ctx, "Only the people who run this account, administrators and SLT can mark it replied."
    )
    if item["status"] == "replied":
        raise AlreadyDecided(
            f"{ctx.directory.name(item['replied_by'])} already marked this replied on "
            f"{when(item['replied_at'], ctx.settings.school.tz)}."
        )
    item.update(status="replied", replied_by=ctx.actor.id, replied_at=ctx.now.isoformat())
    out.put(
        ITEMS, item["id"], item, action="item_replied", before="open", after="replied", expect_version=item["version"]
    )
    late = ctx.now > datetime.fromisoformat(item["due_at"])
    body = f"Marked replied by {ctx.actor.name}, {when(ctx.now, ctx.settings.school.tz)}" + (
        " (after the due time)." if late else "."
    )
    out.tell(
        item_card(item, ctx, f"Replied: {item['id']}", body, tone="success"),
        key=f"item:{item['id']}:{ctx.actor.id}",
        replace=True,
    )
    told = {*responsible(item, ctx), item["logged_by"]}
    if ctx.reminded(f"item-late:{item['id']}"):
        # It was escalated: SLT's copy and every runner's copy lose their button too.
        account = get_account(ctx, item["account"]) or {}
        told |= {r for r in account.get("runners", ()) if ctx.directory.get(r)}
        out.send(
            role("slt"),
            item_card(item, ctx, f"Replied: {item['id']}", body, tone="success"),
            key=f"item:{item['id']}:slt",
            replace=True,
        )
    for pid in sorted(told - {ctx.actor.id}):
        out.send(
            person(pid),
            item_card(item, ctx, f"Replied: {item['id']}", body, tone="success"),
            key=f"item:{item['id']}:{pid}",
            replace=True,
        )


def report(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Start /report-abuse with what the logged item already says."""
    item = _item_to_act_on(
        data,
        ctx,
        "Only the people who run this account, administrators and SLT can report this item from here. "
        "You can still use /report-abuse.",
    )
    received = when(item["received_at"], ctx.settings.school.tz)
    evidence = (
        f"{KIND_NAMES.get(item['kind'], item['kind']).capitalize()} received {received}: "
        f"{item['summary']} (logged as {item['id']})"
    )
    known = {"where": item["account"], "poster": POSTER.get(item["source"], "unknown"), "evidence": evidence}
    out.begin("report_abuse", {"answers": known, "item": item["id"]})


# ---- /open-items ---------------------------------------------------------------------


def open_items(_text: str, ctx: Context, out: Outcome) -> None:
    """Open items on the accounts the person runs (every account for SLT and administrators)."""
    everything = ctx.actor.is_slt or ctx.actor.is_admin
    mine = {a["id"] for a in active_accounts(ctx) if everything or ctx.actor.id in a.get("runners", ())}
    if not mine:
        out.tell(Card("Open items", "You don't run any school accounts, so there is nothing for you to reply to."))
        return
    found = sorted((i for i in ctx.find(ITEMS, status="open") if i["account"] in mine), key=lambda i: i["due_at"])
    if not found:
        out.tell(Card("Open items", "Nothing is waiting for a reply. Thank you!", tone="success"))
        return
    out.tell(
        Card(
            f"Open items ({len(found)})",
            "\n".join(item_line(i, ctx) for i in found),
            buttons=tuple(
                Button(action="monitoring_items.replied", label=f"Mark {i['id']} replied", data={"item": i["id"]})
                for i in found[:10]
            ),
        )
    )


WORKFLOWS = (
    Workflow(
        name="log_comment",
        command="log-comment",
        title="Log a comment, query or complaint",
        summary="log a comment, query or complaint on a school account, so it gets a reply on time",
        aliases=("log comment", "log a comment", "log complaint", "log query"),
        intro=(
            "The policy asks for every comment, query or complaint to get a reply within 24 hours (by the next "
            "working day at a weekend). I'll work out when the reply is due."
        ),
        on_start=log_start,
        steps=(
            Step(
                key="account",
                prompt="Which school account was it on?",
                kind="choice",
                label="Account",
                options=account_options,
            ),
            Step(key="kind", prompt="What is it?", kind="choice", label="Kind", choices=KINDS),
            Step(key="source", prompt="Who is it from?", kind="choice", label="From", choices=SOURCES),
            Step(
                key="summary",
                prompt="In a few words, what does it say? (no full names of pupils, please)",
                label="Summary",
                check=short,
                max_length=300,
                example="A parent asking when the trip coach gets back",
            ),
            Step(
                key="received",
                prompt="When did it arrive? (for example: 2h ago, or yesterday 18:30; type skip if just now)",
                kind="datetime",
                label="Received",
                check=not_too_old,
                optional=True,
                direction="past",
            ),
            Step(
                key="abusive", prompt="Is it abusive, offensive, bullying or harassing?", kind="yesno", label="Abusive"
            ),
        ),
        on_complete=log_item,
        submit_label="Log it",
    ),
)

COMMANDS = (
    Command(
        "open-items",
        "see the comments, queries and complaints still waiting for a reply",
        open_items,
        aliases=("open items", "items"),
    ),
)

ACTIONS = {
    "monitoring_items.replied": replied,
    "monitoring_items.report": report,
}


# ---- what the core needs from this module (collected by bot/registry.py) ---------------------


def _retention(record: Record, _records: Reader) -> datetime | None:
    return first(record, "replied_at", "handled_at", "answered_at")  # one still waiting for a reply is live


TABLES = (
    Table(
        ITEMS,
        export=True,
        columns=("id", "account", "received_at", "due_at", "replied_at"),
        retention=_retention,
        waiting="open monitoring items",
        waiting_status="open",
        named_by="item",
    ),
)
