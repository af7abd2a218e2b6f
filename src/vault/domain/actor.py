"""The actor and the source of a change, stamped on every event."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any
from uuid import UUID


@dataclass(frozen=True, slots=True)
class Actor:
    """An authenticated account acting in one role for one office.

    ``office`` is the division code of the office the account works for (6 to 12
    digits); it is not personal data.
    """

    account_id: UUID
    role: str
    office: str

    def as_dict(self) -> dict[str, Any]:
        return {"account_id": str(self.account_id), "role": self.role, "office": self.office}


@dataclass(frozen=True, slots=True)
class Source:
    """The origin of an event's data: an import batch, a file, a sheet and a row.

    A change made by hand has ``batch_id`` set to the request id and no file.
    """

    batch_id: str
    file_name: str | None = None
    sheet: str | None = None
    row: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
