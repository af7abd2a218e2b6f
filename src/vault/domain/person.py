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
