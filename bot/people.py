"""The school's people: look-up by id, by platform id, by role and by name."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

from bot.config import Person


def fold(text: str) -> str:
    """Lower-case, strip accents and extra spaces, so names compare as people read them."""
    decomposed = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(plain.casefold().replace(",", " ").split())


class Directory:
    """Who is who. Roles come from the configuration only, never from a request."""

    def __init__(self, people: Iterable[Person], away: Iterable[str] = (), platforms: Iterable[str] = ()) -> None:
        self.people = tuple(people)
        self.away = frozenset(away)  # ids of people who have left: no longer among a role's members
        self._by_id = {p.id: p for p in self.people}
        # Platforms that name people by their own ids (`Person.identities`): the front ends
        # that declare a key in [[people]], and any a person has an id on.
        self.platforms = frozenset(platforms) | {name for p in self.people for name in p.identities}
        # First entry wins, as a scan would. Ids compare ignoring case (Entra object ids are
        # written either way; chat platforms' member ids are upper case).
        self._by_identity = {
            (name, uid.lower()): p for p in reversed(self.people) for name, uid in p.identities.items()
        }

    def get(self, person_id: str) -> Person | None:
        return self._by_id.get(person_id)

    def name(self, person_id: str) -> str:
        p = self._by_id.get(person_id)
        return p.name if p else person_id

    def names_by_identity(self, platform: str) -> bool:
        """Whether `platform` names people by its own ids, rather than by their person ids (the terminal)."""
        return platform in self.platforms

    def by_platform(self, platform: str, user: str) -> Person | None:
        """The person behind a platform's user id; on a platform without ids of its own
        (the terminal), the user is the person id."""
        if self.names_by_identity(platform):
            return self._by_identity.get((platform, user.lower()))
        return self._by_id.get(user.lower())

    def without(self, away: Iterable[str]) -> Directory:
        """The same people, with `away` (people who have left) no longer among any role's
        members; each is still found by id and platform id, for a message to them alone."""
        return Directory(self.people, away, self.platforms)

    def members(self, role: str) -> list[Person]:
        """Everyone holding a role; "staff" is everyone employed by the school."""
        if role == "staff":
            return [p for p in self.people if p.employed and p.id not in self.away]
        if role == "admins":
            role = "admin"
        return [p for p in self.people if role in p.roles and p.id not in self.away]

    def match(self, text: str) -> list[Person]:
        """People whose id or name matches, ignoring case, accents and word order."""
        want = fold(text).lstrip("@")
        if not want:
            return []
        exact = [p for p in self.people if want in (p.id, fold(p.name))]
        if exact:
            return exact
        words = set(want.split())
        by_words = [p for p in self.people if words == set(fold(p.name).split())]
        if by_words:
            return by_words
        return [p for p in self.people if all(any(part.startswith(w) for part in fold(p.name).split()) for w in words)]
