"""Keeping the do-not-publish list in chat (SLT and administrators): /dnp-add, /dnp-remove, /dnp-list.

The list can also be imported from a CSV (`policybot dnp-import`, see photo_check.parse_dnp_csv).
Every change and every viewing of the list is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from bot.messages import Card
from bot.workflow import Answers, Command, Context, FollowUp, Invalid, Outcome, Step, Workflow
from workflows.dnp_match import class_key, class_name, name_key
from workflows.photo_check import TABLE, entry, matches, record_key


def full_name(value: str, _answers: Answers, _ctx: Context) -> str:
    if len(name_key(value)) < 2:
        raise Invalid("Please give the pupil's first and last name.")
    return " ".join(value.split())


def start_keeper(_answers: Answers, ctx: Context, _out: Outcome) -> None:
    ctx.require("slt,admin", "change the do-not-publish list")


def add_entry(answers: Answers, ctx: Context, out: Outcome) -> None:
    ctx.require("slt,admin", "change the do-not-publish list")
    key = record_key(answers["name"], answers["class"])
    same = [e for e in matches(ctx, answers["name"]) if class_name(e["class"]) == class_name(answers["class"])]
    if ctx.get(TABLE, key) or same:
        out.tell(
            Card(
                "Already on the list",
                f"{answers['name']} ({answers['class']}) is already on the do-not-publish list. Nothing was changed.",
            )
        )
        return
    out.put(
        TABLE,
        key,
        entry(answers["name"], answers["class"], ctx.actor.id, ctx.now.isoformat(), "chat"),
        action="dnp_added",
        detail=answers["class"],
    )
    out.tell(
        Card(
            "Added to the do-not-publish list",
            f"{answers['name']} ({answers['class']}) is now on the list. "
            "Staff checking with /photo-check will be told not to publish.",
            tone="success",
        ),
        private=True,
    )


def _remove(name: str, klass: str, ctx: Context, out: Outcome) -> None:
    """Take the pupil called `name` (in class `klass`, if given) off the list; ask the class if several match."""
    ctx.require("slt,admin", "change the do-not-publish list")
    found = matches(ctx, name)
    if klass:
        found = [e for e in found if class_name(e["class"]) == class_name(klass)]
    if not found:
        out.tell(
            Card(
                "Not on the list",
                f"Nobody called {name}{' in ' + klass if klass else ''} is on the do-not-publish list, "
                "so nothing was changed.",
            ),
            private=True,
        )
        return
    if len(found) > 1:
        classes = ", ".join(sorted(e["class"] for e in found))
        out.tell(Card("Which class?", f"There is more than one {name} on the list ({classes})."), private=True)
        out.ask(WHICH_CLASS, about={"name": name})
        return
    e = found[0]
    out.delete(TABLE, e["id"], action="dnp_removed", detail=e["class"])
    out.tell(
        Card(
            "Removed from the do-not-publish list",
            f"{e['name']} ({e['class']}) is no longer on the list.",
            tone="success",
        ),
        private=True,
    )


def remove_in_class(answers: Answers, about: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    _remove(about["name"], answers["class"], ctx, out)


# Asked when several pupils on the list share the name to remove.
WHICH_CLASS = FollowUp(
    name="dnp_remove_class",
    title="Remove from the do-not-publish list",
    steps=(Step(key="class", prompt="Which class is the pupil in?", label="Class", max_length=50),),
    then=remove_in_class,
)


def remove_entry(answers: Answers, ctx: Context, out: Outcome) -> None:
    _remove(answers["name"], "", ctx, out)


def list_entries(_text: str, ctx: Context, out: Outcome) -> None:
    """/dnp-list (SLT, admins): the whole list, privately."""
    ctx.require("slt,admin", "see the do-not-publish list")
    entries = sorted(ctx.all(TABLE), key=lambda e: (class_key(e["class"]), name_key(e["name"])))
    out.audit("dnp_list_viewed", TABLE, detail=f"{len(entries)} entries")
    if not entries:
        out.tell(
            Card(
                "Do-not-publish list",
                "The list is empty. Add a pupil with /dnp-add, or import a CSV with: policybot dnp-import --csv FILE",
            ),
            private=True,
        )
        return
    lines = [f"{e['name']} ({e['class']})" for e in entries]
    out.tell(Card("Do-not-publish list (confidential)", f"{len(entries)} pupil(s):\n" + "\n".join(lines)), private=True)


WORKFLOWS = (
    Workflow(
        name="dnp_add",
        command="dnp-add",
        role="slt,admin",
        title="Add to the do-not-publish list",
        summary="add a pupil to the do-not-publish list (SLT, administrators)",
        steps=(
            Step(key="name", prompt="What is the pupil's full name?", label="Pupil", check=full_name, max_length=100),
            Step(
                key="class", prompt="Which class are they in? (for example Year 3 or Oak)", label="Class", max_length=50
            ),
        ),
        on_complete=add_entry,
        submit_label="Add to the list",
        on_start=start_keeper,
    ),
    Workflow(
        name="dnp_remove",
        command="dnp-remove",
        role="slt,admin",
        title="Remove from the do-not-publish list",
        summary="take a pupil off the do-not-publish list (SLT, administrators)",
        steps=(
            Step(key="name", prompt="What is the pupil's full name?", label="Pupil", check=full_name, max_length=100),
        ),
        on_complete=remove_entry,
        submit_label="Remove from the list",
        on_start=start_keeper,
    ),
)

FOLLOW_UPS = (WHICH_CLASS,)

COMMANDS = (Command("dnp-list", "see the do-not-publish list (SLT, administrators)", list_entries, role="slt,admin"),)
