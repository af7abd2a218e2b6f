"""The Person aggregate: one resident of the registry, and the events that change it.

Clear attributes are the coarse values that projections may keep readable (village
code, sex, birth year, resident category, record status). Every other attribute sits
in ``pii``, a mapping of field key to value that the storage layer encrypts under the
person's own data key before anything is written.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.domain import Aggregate, event
from eventsourcing.utils import get_topic

ACTIVE = "active"
# Registered but needing a person's attention, such as a resident with no ID number.
FLAGGED = "flagged"


class Person(Aggregate):
    """A resident registered in the registry."""

    class Registered(Aggregate.Created):
        village_code: str
        sex: str
        birth_year: int | None
        resident_category: str | None
        record_status: str
        household_id: UUID | None
        actor: dict[str, Any]
        source: dict[str, Any]
        pii: dict[str, Any]

    @event(Registered)
    def __init__(
        self,
        village_code: str,
        sex: str,
        birth_year: int | None,
        resident_category: str | None,
        record_status: str,
        household_id: UUID | None,
        actor: dict[str, Any],
        source: dict[str, Any],
        pii: dict[str, Any],
    ) -> None:
        self.village_code = village_code
        self.sex = sex
        self.birth_year = birth_year
        self.resident_category = resident_category
        self.household_id = household_id
        self.record_status = record_status
        self.pii = dict(pii)

    @classmethod
    def registered_event(cls, person_id: UUID, **attributes: Any) -> Person.Registered:
        """Return the event that registers a new person, without building the aggregate.

        ``attributes`` are ``__init__``'s arguments by keyword. An import saves this
        event directly: it never uses the new aggregate, and building it (argument
        coercion, the mutator, ``__init__``) costs more per row than the event does.
        ``Registered(...).mutate(None)`` gives the same ``Person`` that calling the
        class would. The id is chosen by the caller because the person's key and
        encrypted fields are made before the event.
        """
        return cls.Registered(
            originator_topic=get_topic(cls),
            originator_id=person_id,
            originator_version=cls.INITIAL_VERSION,
            timestamp=cls.Registered.create_timestamp(),
            **attributes,
        )

    def field(self, key: str) -> Any:
        """Return the value of a clear or personal field, or ``None`` when unset."""
        if key in ("village_code", "sex", "birth_year", "resident_category", "record_status"):
            return getattr(self, key)
        return self.pii.get(key)

    class IdNumberCorrected(Aggregate.Event):
        sex: str
        birth_year: int | None
        actor: dict[str, Any]
        source: dict[str, Any]
        pii: dict[str, Any]

    @event(IdNumberCorrected)
    def correct_id_number(
        self,
        sex: str,
        birth_year: int | None,
        actor: dict[str, Any],
        source: dict[str, Any],
        pii: dict[str, Any],
    ) -> None:
        """Replace the ID number (and what it implies) after a second person approved it."""
        self.sex = sex
        self.birth_year = birth_year
        self.pii.update(pii)
