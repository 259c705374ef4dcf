"""Who may read or click what: the one check every turn, home page and shown message passes.

Front ends reach the core's reads and clicks only through `Core` (a turn, a home page, the
rest of a long message, and `Core.admit` for anything added later), and each of them
starts here, with the user id the platform vouched for:

- someone not on the school's staff list is refused (`NotRecognised`);
- someone a procedure's guard stops (bot/declarations.py `Guard`, such as someone recorded
  as having left, after their last day) is refused whatever roles the configuration still
  gives them (`NotAllowed`);
- someone without the role a thing needs, or who is not among the people a message was
  addressed to, is refused (`NotAllowed`).

Every refusal is written to the audit trail ("refused") in the caller's transaction, with
who asked (their person id, or "<platform>:<user id>" for someone unknown), what they asked
for and why it was refused. Roles come from the configuration only, never from a request.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, tzinfo

from bot.config import Person
from bot.declarations import Guard, Reader
from bot.errors import NotAllowed, NotRecognised
from bot.messages import Recipient
from bot.people import Directory
from bot.store import Transaction

REFUSED = "refused"  # the audit action of every refusal
UNKNOWN = (
    "Sorry, I don't know you yet. Please ask the school's policybot administrator to add you to the list of staff, "
    "then try again."
)
NOT_YOURS = (
    "Sorry, that message was meant for someone else, so I can't show it to you. "
    "If you think it should have come to you, please ask a member of SLT."
)
ROLE_NAMES = {"slt": "the Senior Leadership Team", "admin": "an administrator"}


def admit(
    tx: Transaction,
    directory: Directory,
    tz: tzinfo,
    platform: str,
    user: str,
    now: datetime,
    *,
    guards: Sequence[Guard],
    doing: str,
    record: str = "",
    role: str = "",
    to: Recipient | None = None,
) -> Person:
    """The person behind `user` on `platform`, if they may do `doing` now.

    `guards` are the procedures' rules that stop someone at all (the registry's `guards`);
    `role` is a role it needs ("slt", "admin", or "slt,admin" for either); `to`, the
    recipient of a message they want to read. Otherwise the refusal is recorded in `tx`
    and raised: `NotRecognised` for someone not on the staff list, `NotAllowed` for the
    rest. The caller lets `tx` commit, so that the record stays.
    """
    who = directory.by_platform(platform, user)
    if who is None:
        refuse(tx, unknown_actor(platform, user), doing, record, "not on the staff list", now)
        raise NotRecognised(UNKNOWN)
    try:
        today = now.astimezone(tz).date().isoformat()
        for guard in guards:
            guard.check(tx, who, today)
        if role:
            require(who, role, doing)
        if to is not None and not (who.id == to.id if to.kind == "person" else who in directory.members(to.id)):
            raise NotAllowed(NOT_YOURS, why=f"not one of those it was sent to ({to})")
    except NotAllowed as refusal:
        refuse(tx, who.id, doing, record, refusal.why or str(refusal), now)
        raise
    return who


def gone(records: Reader, guards: Sequence[Guard], today: str) -> set[str]:
    """The ids of everyone a guard stops `today` (an ISO date): messages to a role no longer reach them."""
    return set().union(*(guard.barred(records, today) for guard in guards))


def require(who: Person, role: str, doing: str) -> None:
    """Refuse unless `who` holds `role` ("slt", "admin", or "slt,admin" for either)."""
    wanted = [r.strip() for r in role.split(",") if r.strip()]
    if not any(r in who.roles for r in wanted):
        names = " or ".join(ROLE_NAMES.get(r, r) for r in wanted)
        raise NotAllowed(
            f"Only {names} can {doing}. If you think you should be able to, please ask a member of SLT.",
            why=f"needs {role}",
        )


def refuse(tx: Transaction, actor: str, doing: str, record: str, why: str, now: datetime) -> None:
    """Record a refusal in the audit trail: who asked, for what, about which record, and why not."""
    tx.audit(actor, REFUSED, record or doing, at=now, detail=f"{doing}: {why}" if why else doing)


def unknown_actor(platform: str, user: str) -> str:
    """How someone not on the staff list appears in the audit trail (the id is cut short:
    it came in a request)."""
    return f"{platform}:{user[:64]}"
