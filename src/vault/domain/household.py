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
            raise SecondHead(
                "该户已有户主，一户只能有一名户主。",
                "This household already has a head; a household has exactly one head.",
                field="relationship",
            )
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
