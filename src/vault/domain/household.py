"""The Household aggregate (户): a household number, an address and its members."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event

from vault.errors import DomainError

HEAD = "02"


class SecondHead(DomainError):
    """A household already has a head (户主); it cannot have two."""

    default_code = "HOUSEHOLD_SECOND_HEAD"


def second_head() -> SecondHead:
    """Return the error for a second head (户主) of one household."""
    return SecondHead(
        "该户已有户主，一户只能有一名户主。",
        "This household already has a head; a household has exactly one head.",
        field="relationship",
    )


class Household(Aggregate):
    """A registered household; members are referred to by person id only."""

    class Established(Aggregate.Created):
        village_code: str
        actor: dict[str, Any]
        source: dict[str, Any]
        pii: dict[str, Any]

    @classmethod
    def establish(cls, **attributes: Any) -> Household:
        """Create a household, taking ``__init__``'s arguments by keyword, without coercion."""
        return cls._create(cls.Established, **attributes)

    @event(Established)
    def __init__(
        self,
        village_code: str,
        actor: dict[str, Any],
        source: dict[str, Any],
        pii: dict[str, Any],
    ) -> None:
        self.village_code = village_code
        self.pii = dict(pii)
        self.members: list[UUID] = []
        self.head: UUID | None = None

    def add_member(
        self,
        person_id: UUID,
        relationship: str | None,
        actor: dict[str, Any],
        source: dict[str, Any],
    ) -> None:
        """Add a person; raise ``SecondHead`` if they are a second head (户主)."""
        if relationship == HEAD and self.head is not None:
            raise second_head()
        # trigger_event runs the @event method below with these keywords, without the
        # argument coercion of calling it, which an import pays once per member.
        self.trigger_event(
            self.MemberJoined,
            person_id=person_id,
            actor=actor,
            source=source,
            pii_subject=person_id,
            pii={"relationship": relationship},
        )

    def add_members(
        self,
        person_ids: list[UUID],
        head: UUID | None,
        actor: dict[str, Any],
        source: dict[str, Any],
    ) -> None:
        """Add several persons in one event; ``head`` is the one among them who is head.

        An import adds a batch's members of a household this way: one event per
        household and batch instead of one per person. The head's id is personal
        data of the household and is encrypted under the household's key; each
        member's relationship stays in their own ``Person.Registered``. ``source``
        names the first member's row. Raises ``SecondHead`` when the household has
        a head already, and ``ValueError`` when ``head`` is not among ``person_ids``.
        """
        if head is not None and head not in person_ids:
            raise ValueError("the head must be one of the persons added")
        if head is not None and self.head is not None:
            raise second_head()
        self.trigger_event(
            self.MembersJoined,
            members=list(person_ids),
            actor=actor,
            source=source,
            pii={"head": str(head)} if head is not None else {},
        )

    class MembersJoined(Aggregate.Event):
        members: list[UUID]
        actor: dict[str, Any]
        source: dict[str, Any]
        pii: dict[str, Any]

    @event(MembersJoined)
    def _members_joined(
        self,
        members: list[UUID],
        actor: dict[str, Any],
        source: dict[str, Any],
        pii: dict[str, Any],
    ) -> None:
        self.members.extend(members)
        if pii.get("head"):
            self.head = UUID(pii["head"])

    class MemberJoined(Aggregate.Event):
        person_id: UUID
        actor: dict[str, Any]
        source: dict[str, Any]
        # The relationship is the member's personal data, so it is encrypted under the
        # member's key: erasing the member makes it unreadable here too.
        pii_subject: UUID
        pii: dict[str, Any]

    @event(MemberJoined)
    def _member_joined(
        self,
        person_id: UUID,
        actor: dict[str, Any],
        source: dict[str, Any],
        pii_subject: UUID,
        pii: dict[str, Any],
    ) -> None:
        self.members.append(person_id)
        if pii.get("relationship") == HEAD:
            self.head = person_id
