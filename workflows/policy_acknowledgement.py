"""Reading the policy: "SLT must be satisfied that anyone running a social media account on
behalf of The School has read and understood this policy" (Process for creating new accounts),
and "Staff know the contents of" the policy (Roles & Responsibilities).

`/policy` shows a short summary by section with the full text on request, and records
"I have read and understood it" with the policy version from `[school] policy_version`.
When that version changes, everyone who had confirmed an older one is asked again;
anyone who has not confirmed the current version is reminded weekly (Monday morning),
and SLT can see who they are with `/policy-status`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

from bot.messages import Button, Card, person
from bot.scheduler import weekly_slot
from bot.timefmt import day
from bot.workflow import Command, Context, Outcome
from workflows import disclaimer, people, policy_review
from workflows.people_status import runner_line

HEADINGS = (
    "Roles & Responsibilities",
    "Process for creating new accounts",
    "Monitoring",
    "Behaviour",
    "Legal considerations",
    "Handling abuse",
    "Tone",
    "Use of images",
    "Personal use",
    "Monitoring posts about The School",
)

SUMMARY = (
    (
        "Who it applies to",
        "All staff, and everything posted online that represents the school, at any time and from anywhere. "
        "A personal account that mentions the school needs a disclaimer that you are not speaking for the school.",
    ),
    (
        "Roles & responsibilities",
        "SLT arrange training, investigate incidents and approve new accounts. "
        "Administrators create accounts, keep logins secure and close or transfer accounts when their lead leaves. "
        "Everyone knows this policy, attends training and looks after what they post.",
    ),
    (
        "Creating new accounts",
        "Make a business case to SLT (/new-account): aim, audience, how it will be promoted, "
        "at least two named people to run it, open or private. "
        "Everyone running an account must have read this policy and been trained.",
    ),
    (
        "Monitoring",
        "School accounts are checked regularly, preferably 7 days a week, holidays included. "
        "Every comment, query or complaint gets a reply within 24 hours (next working day at weekends), "
        "even if only to acknowledge it.",
    ),
    (
        "Behaviour",
        "Be professional and respectful. Never use a school account for personal gain. "
        "Confidentiality continues even after you leave the school. "
        "Say who you are. If a journalist gets in touch, follow the media policy first. "
        "Report unacceptable conduct to a senior member of staff straight away.",
    ),
    (
        "Legal considerations",
        "Respect copyright and ask permission where needed. Follow data protection law and keep confidences.",
    ),
    (
        "Handling abuse",
        "Deal with offensive comments swiftly and sensitively: block, report or delete, and explain why. "
        "Report abuse by colleagues through the school's agreed protocols.",
    ),
    (
        "Tone",
        "Suit the audience while staying professional: engaging, conversational, informative, "
        "and friendly where the platform fits.",
    ),
    (
        "Use of images",
        "Follow the school's image permissions. Respect anyone who asks not to be photographed. "
        "Only share pupil pictures through school accounts. "
        "Pupils must be appropriately dressed, never ridiculed, "
        "and never on the do-not-publish list (check with /photo-check). "
        "Delete a compromising picture at once and tell SLT.",
    ),
    (
        "Personal use",
        "Never follow or engage with current or former pupils under 18 on a personal account. "
        "Excessive personal use during work may lead to disciplinary action.",
    ),
    (
        "Parents and posts about the school",
        "Parents are told about acceptable use. Inappropriate posts: ask for removal, invite a conversation, "
        "and use the complaints procedure if needed. "
        "The school keeps an eye on public posts about it.",
    ),
)


@cache
def policy_text() -> str:
    """The policy as shipped with policybot (bot/policy.txt)."""
    return resources.files("bot").joinpath("policy.txt").read_text(encoding="utf-8")


def policy_sections() -> list[tuple[str, str]]:
    """The full text split at the policy's own headings: [(heading, text), ...]."""
    sections: list[tuple[str, list[str]]] = [("Introduction and scope", [])]
    for line in policy_text().splitlines():
        if line.strip() in HEADINGS:
            sections.append((line.strip(), []))
        else:
            sections[-1][1].append(line)
    out = []
    for heading, lines in sections:
        text = "\n".join(lines).strip()
        while "\n\n\n" in text:
            text = text.replace("\n\n\n", "\n\n")
        out.append((heading, text))
    return out


def policy_card(ctx: Context, note: str = "") -> Card:
    """The summary with the buttons to read everything and to confirm."""
    version = ctx.settings.school.policy_version
    body = f"{note}\n\n" if note else ""
    body += (
        f"Here is a short summary of {ctx.settings.school.name}'s social media policy (version {version}). "
        "Please read the full text too, then confirm."
    )
    if review := policy_review.review_line(ctx):
        body += f" {review}"
    return Card(
        "The school's social media policy",
        body,
        fields=SUMMARY,
        buttons=_read_buttons(version),
    )


def _read_buttons(version: str) -> tuple[Button, ...]:
    """Show the full policy, and confirm having read this version of it."""
    return (
        Button(action="policy_acknowledgement.full", label="Show the full policy", data={"version": version}),
        Button(
            action="policy_acknowledgement.ack",
            label="I have read and understood it",
            data={"version": version},
            style="primary",
        ),
    )


def _ask_card(version: str, note: str) -> Card:
    return Card(
        "Please read the social media policy",
        f"{note}\n\nType /policy to read a short summary and the full text, "
        "then choose 'I have read and understood it'.",
        buttons=_read_buttons(version),
    )


def show_policy(_text: str, ctx: Context, out: Outcome) -> None:
    """/policy: the summary by section, the full text on request, and the confirmation."""
    note = ""
    ack = people.policy_ack(ctx, ctx.actor.id)
    if people.acknowledged(ctx, ctx.actor.id):
        note = f"You confirmed reading this version on {day(ack['at'][:10])}. Thank you."
    elif ack:
        note = (
            f"The policy has been updated since you last confirmed it (you read version {ack.get('version')}). "
            "Please read it again."
        )
    out.tell(policy_card(ctx, note))


def full_text(_data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Send the whole policy, one card per section."""
    sections = policy_sections()
    for n, (heading, text) in enumerate(sections, 1):
        out.tell(Card(f"Social media policy ({n} of {len(sections)}): {heading}", text))
    version = ctx.settings.school.policy_version
    out.tell(
        Card(
            "That is the whole policy",
            "When you have read it, please confirm.",
            buttons=(
                Button(
                    action="policy_acknowledgement.ack",
                    label="I have read and understood it",
                    data={"version": version},
                    style="primary",
                ),
            ),
        )
    )


def acknowledge(data: Mapping[str, Any], ctx: Context, out: Outcome) -> None:
    """Record that the person read and understood the current version."""
    version = ctx.settings.school.policy_version
    if str(data.get("version", "")) != version:
        out.tell(
            policy_card(
                ctx,
                f"The policy has changed since that message was sent (it is now version {version}), "
                "so I have not recorded it. Please read the current version below.",
            ),
            ephemeral=True,
        )
        return
    ack = people.policy_ack(ctx, ctx.actor.id)
    if ack.get("version") == version:
        out.tell(
            Card(
                "Already recorded",
                f"You already confirmed reading version {version} on {day(ack['at'][:10])}. Thank you.",
            ),
            ephemeral=True,
        )
        return
    people.record_acknowledgement(ctx, out, ctx.actor.id, version)
    out.tell(
        Card(
            "Thank you",
            f"I have recorded that you have read and understood the social media policy (version {version}).",
            tone="success",
        )
    )


def not_acknowledged(ctx: Context) -> list[str]:
    """Ids of everyone in the school's list who has not confirmed the current version."""
    return [p.id for p in ctx.directory.people if not people.acknowledged(ctx, p.id)]


def policy_status(_text: str, ctx: Context, out: Outcome) -> None:
    """/policy-status (SLT, admins): who has not confirmed the current policy, and everyone's record."""
    ctx.require("slt,admin", "see who has read the policy")
    version = ctx.settings.school.policy_version
    missing = not_acknowledged(ctx)
    if missing:
        body = (
            f"{len(missing)} of {len(ctx.directory.people)} people have not confirmed reading version {version}: "
            + ", ".join(ctx.directory.name(p) for p in missing)
            + ". They are reminded every Monday."
        )
    else:
        body = f"Everyone has confirmed reading version {version}."
    body += f"\n\nDisclaimers on personal accounts (/disclaimer): {disclaimer.status_text(ctx)}"
    fields = tuple((p.describe(), runner_line(ctx, p.id).split(" - ", 1)[1]) for p in ctx.directory.people)
    out.tell(Card("Policy and training records", body, fields=fields), private=True)


def reask_on_change(ctx: Context) -> list[tuple[str, Outcome]]:
    """Everyone who confirmed an older version is asked to read the new one."""
    version = ctx.settings.school.policy_version
    due = []
    for p in ctx.directory.people:
        ack = people.policy_ack(ctx, p.id)
        if ack and ack.get("version") != version:
            out = Outcome(actor="policybot")
            note = (
                f"The school's social media policy has been updated (now version {version}; "
                f"you last confirmed version {ack.get('version')}). Please read it again."
            )
            out.send(person(p.id), _ask_card(version, note))
            due.append((f"policy-reask:{version}:{p.id}", out))
    return due


def _weekly_key(ctx: Context, pid: str) -> str | None:
    """The key of this week's reminder to `pid`, or None when none is due (not Monday, read, or left)."""
    slot = weekly_slot(ctx)
    if slot is None or people.acknowledged(ctx, pid):
        return None
    leaving = people.leaving(ctx, pid)
    if leaving and leaving.get("date", "9999") <= ctx.today.isoformat():
        return None  # someone who has left is not asked any more
    return f"policy-remind:{slot}:{ctx.settings.school.policy_version}:{pid}"


def monday_card_due(ctx: Context, pid: str) -> bool:
    """True when this tick sends `pid` the Monday reminder (workflows/disclaimer_reminders.py adds its question)."""
    key = _weekly_key(ctx, pid)
    return key is not None and not ctx.reminded(key)


def weekly_reminders(ctx: Context) -> list[tuple[str, Outcome]]:
    """Each Monday, a reminder to everyone who has not confirmed the current version."""
    from workflows.disclaimer_reminders import join  # here, not at the top: it imports this module

    if weekly_slot(ctx) is None:
        return []
    version = ctx.settings.school.policy_version
    due = []
    for pid in not_acknowledged(ctx):
        key = _weekly_key(ctx, pid)
        if key is None or ctx.reminded(key):
            continue
        out = Outcome(actor="policybot")
        card = _ask_card(
            version,
            "A weekly reminder: you have not yet confirmed that you have read the school's social media "
            f"policy (version {version}).",
        )
        out.send(person(pid), join(ctx, pid, card))
        due.append((key, out))
    return due


COMMANDS = (
    Command(
        "policy",
        "read the school's social media policy and confirm you have read it",
        show_policy,
        aliases=("social media policy", "read the policy"),
    ),
    Command(
        "policy-status",
        "see who has not confirmed reading the policy, and training records (SLT, admins)",
        policy_status,
        role="slt,admin",
    ),
)

ACTIONS = {
    "policy_acknowledgement.full": full_text,
    "policy_acknowledgement.ack": acknowledge,
}

SCHEDULES = (reask_on_change, weekly_reminders)
