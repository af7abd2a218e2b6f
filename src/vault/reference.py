"""Adapters over reference tables that libraries ship, for the domain's ports.

``StdnumCountyCodes`` implements ``vault.domain.divisions.CountyCodes`` with the
``cn/loc`` table of python-stdnum (2.2 here). That table lists every GB/T 2260 code
from about 1980 on, each name prefixed with the years it was in use, such as
``[1983-2021]下城区`` or ``[-1991]东郊区,[1992-]东丽区`` for a renamed code.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Any

from stdnum import numdb

__all__ = ["CountyName", "StdnumCountyCodes", "county_codes"]

_PERIOD = re.compile(r"^\[(?P<start>\d*)-(?P<end>\d*)\](?P<name>.+)$")


class CountyName:
    """One name a code bore, with the first and last year of use where known."""

    __slots__ = ("end", "name", "start")

    def __init__(self, name: str, start: int | None, end: int | None) -> None:
        self.name = name
        self.start = start
        self.end = end

    def __repr__(self) -> str:
        return f"CountyName({self.name!r}, {self.start!r}, {self.end!r})"


def _parse_names(value: str) -> list[CountyName]:
    names: list[CountyName] = []
    for part in value.split(","):
        match = _PERIOD.match(part)
        if match is None:
            names.append(CountyName(part, None, None))
            continue
        start = int(match["start"]) if match["start"] else None
        end = int(match["end"]) if match["end"] else None
        names.append(CountyName(match["name"], start, end))
    return names


class StdnumCountyCodes:
    """GB/T 2260 codes of every revision, read once from python-stdnum's ``cn/loc``."""

    def __init__(self) -> None:
        self._names: dict[str, list[CountyName]] = {}
        self._codes_by_name: dict[str, list[str]] = {}
        # NumDB.prefixes is a list of (length, low, high, properties, children). The
        # top level contains the 2-digit provinces, and their children the other 4 digits.
        database: Any = numdb.get("cn/loc")
        for _length, low, high, _props, children in database.prefixes:
            if low != high:
                continue
            for _child_length, child_low, child_high, props, _grandchildren in children:
                if child_low != child_high or "county" not in props:
                    continue
                self._add(low + child_low, _parse_names(props["county"]))

    def _add(self, code: str, names: list[CountyName]) -> None:
        self._names[code] = names
        for entry in names:
            self._codes_by_name.setdefault(entry.name, []).append(code)

    def is_known(self, code6: str) -> bool:
        """Return whether ``code6`` appears in any revision of the table."""
        return code6 in self._names

    def name(self, code6: str) -> str | None:
        """Return the latest name of ``code6``, or ``None`` for an unknown code."""
        names = self._names.get(code6)
        return names[-1].name if names else None

    def names(self, code6: str) -> Sequence[CountyName]:
        """Return every name ``code6`` bore, oldest first."""
        return tuple(self._names.get(code6, ()))

    def codes_named(self, name: str) -> Sequence[str]:
        """Return every code that bore ``name`` in any revision."""
        return tuple(self._codes_by_name.get(name, ()))


@cache
def county_codes() -> StdnumCountyCodes:
    """Return the process-wide county table, built on first use (about 7,000 codes)."""
    return StdnumCountyCodes()
