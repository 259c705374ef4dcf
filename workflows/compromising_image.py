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
from bot.workflow import Answers, Context, Outcome, Step, Workflow
from workflows import incidents

DONE = (Choice("done", "Yes, done"), Choice("need_help", "I can't, I need help"))
CLOUD = (
    Choice("done", "Checked, and removed from the cloud too"),
    Choice("none", "Checked: the device doesn't back up or sync pictures"),
    Choice("need_help", "I'm not sure how, I need help"),
)
DEVICE = (Choice("school", "A school device"), Choice("personal", "My personal device"))

STEPS = (
    Step(
        "deleted",
        "Step 1: delete the picture from the device now. Have you deleted it?",
        "choice",
        "Deleted from the device",
        DONE,
    ),
    Step(
        "recently_deleted",
        "Step 2: most phones keep deleted pictures for 30 days in 'Recently deleted' (or 'Bin'). Have you deleted it from there too?",
        "choice",
        "Removed from 'Recently deleted'",
        DONE,
    ),
    Step(
        "cloud",
        "Step 3: check whether the picture was backed up or synced (iCloud Photos, Google Photos, OneDrive, Dropbox), and delete it there too.",
        "choice",
        "Cloud backup or sync",
        CLOUD,
    ),
    Step("shared", "Step 4: was the picture sent, shared or posted anywhere, even by accident?", "yesno", "Sent or shared"),
    Step(
        "shared_with",
        "Who was it sent or shared with, or where was it posted? Give names or places only, not the picture.",
        label="Shared with",
        check=incidents.not_blank,
        when=lambda a: bool(a.get("shared")),
        example="my partner's phone, by WhatsApp",
    ),
    Step("device", "Step 5: was it taken on a school device or your personal device?", "choice", "Device", DEVICE),
    Step("taken_at", "Step 6: when was it taken? (for example: just now, 2h ago, yesterday 14:30)", "datetime", "Taken", direction="past"),
)


def urgency(answers: Answers) -> str:
    if answers.get("shared") or "need_help" in (answers.get("deleted"), answers.get("recently_deleted"), answers.get("cloud")):
        return "urgent"
    return "high"


def on_start(answers: Answers, ctx: Context, out: Outcome) -> None:
    """The policy says to alert SLT: that happens before the first question."""
    unfinished = [i for i in ctx.find(incidents.TABLE, reporter=ctx.actor.id, kind="compromising_image", status="open") if not i["report_complete"]]
    if unfinished:
        # They started before and stopped: SLT already know, so carry on with the same incident.
        answers["_incident"] = unfinished[-1]["id"]
        out.tell(Card(f"Carrying on with {unfinished[-1]['id']}", "SLT were alerted when you started this before. Let's go through the checklist again.", tone="warning"))
        return
    inc = incidents.open_incident("compromising_image", "high", answers, ctx, out, why="a compromising picture was taken")
    out.tell(
        Card(
            f"SLT have been alerted ({inc['id']})",
            "Thank you for reporting this straight away. Please don't send me the picture, and don't show it to anyone. Let's go through the checklist together.",
            tone="warning",
        )
    )


def on_answer(key: str, answers: Answers, ctx: Context, out: Outcome) -> None:
    inc = incidents.draft(answers, ctx)
    action = ""
    if answers.get(key) == "need_help":
        step = next(s for s in STEPS if s.key == key)
        told = incidents.ask_for_help(inc, answers, step, ctx, out)
        action = "incident_help_asked"
        out.tell(Card("SLT will help", f"That's fine. {told} Please carry on with the rest of the checklist.", tone="warning"))
    if key == "shared" and answers.get("shared"):
        out.tell(
            Card(
                "Ask for it to be deleted",
                "If you can, ask whoever has it to delete it now, and tell SLT in person too. Don't forward it to anyone, including SLT.",
                tone="warning",
            )
        )
    incidents.sync_draft(answers, ctx, out, inc, action=action, detail=key if action else "")


def submit(answers: Answers, ctx: Context, out: Outcome) -> None:
    incidents.file_report("compromising_image", urgency(answers), answers, ctx, out)


KIND = incidents.register(incidents.Kind("compromising_image", "Compromising image", "compromising_image", STEPS))

WORKFLOWS = (
    Workflow(
        name="compromising_image",
        command="compromising-image",
        title="Compromising picture",
        summary="you took a picture by mistake that could be misconstrued or misused",
        aliases=("compromising image", "compromising picture"),
        intro="The policy says to delete it immediately and alert SLT. Then we'll go through deleting it step by step. Never send me the picture.",
        steps=STEPS,
        on_complete=submit,
        on_start=on_start,
        on_answer=on_answer,
        on_file=incidents.on_file,
        on_cancel=incidents.on_cancel,
        submit_label="Send to SLT",
    ),
)
