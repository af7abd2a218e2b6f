"""The registry's clock, injected wherever "today" or "now" matters.

Every date the registry prints and every rule on age uses Asia/Shanghai time,
whatever the machine's own time zone is.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


class Clock(Protocol):
    def now(self) -> datetime:
        """Return the current time, aware, in Asia/Shanghai."""
        ...

    def today(self) -> date:
        """Return today's date in Asia/Shanghai."""
        ...


class SystemClock:
    """The machine's clock, seen from Asia/Shanghai."""

    def now(self) -> datetime:
        return datetime.now(SHANGHAI)

    def today(self) -> date:
        return self.now().date()


class FixedClock:
    """A clock that stands still, for tests and reproducible runs."""

    def __init__(self, moment: datetime | date) -> None:
        if not isinstance(moment, datetime):
            moment = datetime(moment.year, moment.month, moment.day, 9, 0, tzinfo=SHANGHAI)
        elif moment.tzinfo is None:
            moment = moment.replace(tzinfo=SHANGHAI)
        self._moment = moment.astimezone(SHANGHAI)

    def now(self) -> datetime:
        return self._moment

    def today(self) -> date:
        return self._moment.date()

    def advance(self, **delta: float) -> None:
        """Move the clock forward by a ``timedelta`` given as keyword arguments."""
        self._moment += timedelta(**delta)
