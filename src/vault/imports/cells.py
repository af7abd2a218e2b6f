"""The cell a reader hands to validation, whatever the file format."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Literal

CellKind = Literal["text", "number", "date", "bool", "empty", "formula"]


@dataclass(frozen=True, slots=True)
class Cell:
    """One cell as the file holds it, before any clean-up.

    ``value`` is ``str`` for text and formulas, ``int | float`` for numbers (also a
    date serial that carries no date format), ``datetime`` or ``date`` for date cells,
    ``bool`` for booleans and ``None`` when empty. ``number_format`` is the cell's
    format string where the file has one; ``date_system`` is 1900 or 1904 so that a
    bare serial can be read as a date.
    """

    value: str | int | float | bool | datetime | date | None
    kind: CellKind
    number_format: str | None = None
    date_system: int = 1900

    def __reduce__(self) -> tuple[Any, ...]:
        # The dataclass default pickles slots through Python-level helpers, which cost
        # more than preparing a row when an import sends rows between processes.
        return (Cell, (self.value, self.kind, self.number_format, self.date_system))

    @property
    def is_empty(self) -> bool:
        return self.kind == "empty" or (isinstance(self.value, str) and not self.value.strip())

    def as_text(self) -> str:
        """Return the cell as the text a person would read, for messages and rejects files."""
        if self.value is None:
            return ""
        if isinstance(self.value, datetime):
            midnight = self.value.hour == self.value.minute == self.value.second == 0
            return self.value.strftime("%Y-%m-%d") if midnight else self.value.isoformat(" ")
        if isinstance(self.value, date):
            return self.value.isoformat()
        if isinstance(self.value, float) and self.value.is_integer():
            return str(int(self.value))
        return str(self.value)


EMPTY = Cell(None, "empty")


def text(value: str) -> Cell:
    """Return a text cell (CSV fields are always text)."""
    return Cell(value, "text") if value != "" else EMPTY
