"""Training: SLT are "facilitating training and guidance on Social Media use", staff are
"attending appropriate training", and SLT "must be satisfied that anyone running a social
media account ... has received appropriate training" (Roles & Responsibilities; Process
for creating new accounts).

Administrators record who was trained (one person, or everyone at a session at once),
when and in what; the approval card of an
application and the account register show it beside each runner (`runner_line`).
Training lapses after `[records] training_valid_months` (workflows/people.py decides;
workflows/training_expiry.py reminds): a session recorded for someone whose training
had lapsed renews it, and the reply says so.
"""

from __future__ import annotations

from bot.messages import Card, person
from bot.timefmt import day
from bot.workflow import Answers, Context, Outcome, Step, Workflow, filled
from workflows import people


def record_training(answers: Answers, ctx: Context, out: Outcome) -> None:
    """Add the training to each person's record and let each of them know."""
    ctx.require("admin", "record training")
    entry = people.training_entry(answers["date"], answers["what"], ctx.actor.id)
    renewed, still_lapsed = [], []
    for pid in answers["people"]:
        before = people.training_standing(ctx, pid)
        after = people.add_training(ctx, out, pid, entry)
        if not after.current:
            still_lapsed.append(pid)
        elif before.last is not None and not before.current:
            renewed.append(pid)
        until = f" It counts until {day(after.lapses)}." if after.current and after.lapses else ""
        if pid != ctx.actor.id:
            out.send(
                person(pid),
                Card(
                    "Your training has been recorded",
                    f"{ctx.actor.name} recorded your training: {answers['what']} on {day(answers['date'])}."
                    + (
                        until
                        if after.current
                        else " That was longer ago than training counts for here, so please ask an administrator "
                        "about a refresher session."
                    )
                    + " Thank you.",
                ),
            )
    names = ", ".join(ctx.directory.name(pid) for pid in answers["people"])
    body = f"{names}: {answers['what']} on {day(answers['date'])}."
    if renewed:
        body += " This renews the lapsed training of " + ", ".join(ctx.directory.name(p) for p in renewed) + "."
    if still_lapsed:
        months = ctx.settings.records.training_valid_months
        body += (
            f" Training counts for {months} months, so this session has already lapsed: "
            + ", ".join(ctx.directory.name(p) for p in still_lapsed)
            + (" still count" if len(still_lapsed) > 1 else " still counts")
            + " as untrained until a newer session is recorded with /training."
        )
    out.tell(Card("Training recorded", body, tone="warning" if still_lapsed else "success"))


WORKFLOWS = (
    Workflow(
        name="training",
        command="training",
        title="Record training",
        summary="record that someone has had social media training (administrators)",
        aliases=("record training",),
        role="admin",
        steps=(
            Step(
                key="people",
                prompt=(
                    "Who was trained? "
                    "Give one name, or several separated by commas (for example: Emma Clarke, Tom Reid)."
                ),
                kind="people",
                label="People",
            ),
            Step(
                key="date",
                prompt="On what date did it take place? (for example today, yesterday, or 25/11/2026)",
                kind="date",
                label="Date",
                direction="past",
            ),
            Step(
                key="what",
                prompt="What was the training? (for example: 'Social media policy induction with the DSL')",
                label="Training",
                check=filled(
                    "Please say in a few words what the training was, for example 'Social media policy induction'."
                ),
                max_length=300,
            ),
        ),
        on_complete=record_training,
        submit_label="Record it",
    ),
)
