"""A compromising picture taken by mistake (the policy's "Use of images").

"If a member of staff inadvertently takes a compromising picture which could be
misconstrued or misused, they must delete it immediately and alert SLT." So SLT are
alerted the moment this starts, then the person confirms a checklist step by step:
deleted from the device, removed from "recently deleted", cloud backup or sync checked,
not sent or shared (and with whom if it was), which device, and when it was taken. The
bot never asks for or accepts the picture: if a file is sent, it asks for that message
to be deleted too and records only that a file was sent.
"""

from __future__ import annotations

from bot.messages import Card, Choice
from bot.workflow import Answers, Context, Outcome, Step
from workflows.incidents.report import Alert, Report, not_blank

DONE = (Choice("done", "Yes, done"), Choice("need_help", "I can't, I need help"))
CLOUD = (
    Choice("done", "Checked, and removed from the cloud too"),
    Choice("none", "Checked: the device doesn't back up or sync pictures"),
    Choice("need_help", "I'm not sure how, I need help"),
)
DEVICE = (Choice("school", "A school device"), Choice("personal", "My personal device"))


def ask_to_delete(answers: Answers, _ctx: Context, out: Outcome) -> None:
    """It was shared: whoever has it is asked to delete it, and it goes to nobody else."""
    if answers.get("shared"):
        out.tell(
            Card(
                "Ask for it to be deleted",
                "If you can, ask whoever has it to delete it now, and tell SLT in person too. "
                "Don't forward it to anyone, including SLT.",
                tone="warning",
            )
        )


STEPS = (
    Step(
        key="deleted",
        prompt="Step 1: delete the picture from the device now. Have you deleted it?",
        kind="choice",
        label="Deleted from the device",
        choices=DONE,
    ),
    Step(
        key="recently_deleted",
        prompt=(
            "Step 2: most phones keep deleted pictures for 30 days in 'Recently deleted' (or 'Bin'). "
            "Have you deleted it from there too?"
        ),
        kind="choice",
        label="Removed from 'Recently deleted'",
        choices=DONE,
    ),
    Step(
        key="cloud",
        prompt=(
            "Step 3: check whether the picture was backed up or synced (iCloud Photos, Google Photos, OneDrive, "
            "Dropbox), and delete it there too."
        ),
        kind="choice",
        label="Cloud backup or sync",
        choices=CLOUD,
    ),
    Step(
        key="shared",
        prompt="Step 4: was the picture sent, shared or posted anywhere, even by accident?",
        kind="yesno",
        label="Sent or shared",
        then=ask_to_delete,
    ),
    Step(
        key="shared_with",
        prompt="Who was it sent or shared with, or where was it posted? Give names or places only, not the picture.",
        label="Shared with",
        check=not_blank,
        when=lambda a: bool(a.get("shared")),
        example="my partner's phone, by WhatsApp",
    ),
    Step(
        key="device",
        prompt="Step 5: was it taken on a school device or your personal device?",
        kind="choice",
        label="Device",
        choices=DEVICE,
    ),
    Step(
        key="taken_at",
        prompt="Step 6: when was it taken? (for example: just now, 2h ago, yesterday 14:30)",
        kind="datetime",
        label="Taken",
        direction="past",
    ),
)


def urgency(answers: Answers, _ctx: Context) -> str:
    if answers.get("shared") or "need_help" in (
        answers.get("deleted"),
        answers.get("recently_deleted"),
        answers.get("cloud"),
    ):
        return "urgent"
    return "high"


REPORT = Report(
    name="compromising_image",
    label="Compromising image",
    workflow="compromising_image",
    command="compromising-image",
    title="Compromising picture",
    summary="you took a picture by mistake that could be misconstrued or misused",
    aliases=("compromising image", "compromising picture"),
    intro=(
        "The policy says to delete it immediately and alert SLT. Then we'll go through deleting it step by step. "
        "Never send me the picture."
    ),
    steps=STEPS,
    urgency=urgency,
    # The policy says to alert SLT: that happens before the first question.
    alerts=(
        Alert(
            why="a compromising picture was taken",
            urgency="high",
            title="SLT have been alerted ({incident})",
            body=(
                "Thank you for reporting this straight away. Please don't send me the picture, "
                "and don't show it to anyone. Let's go through the checklist together."
            ),
            resumed="SLT were alerted when you started this before. Let's go through the checklist again.",
        ),
    ),
    help_answer="need_help",
)
