"""Application recorders that commit extra rows in the events' own transaction.

``Application.save(..., vault_rows=[(sql, rows), ...])`` hands its keyword arguments to
the recorder, whose ``_insert_events`` hook runs inside the transaction that inserts
the events. The import ledger and blind-index rows go this way, so that a crash can
never leave events without their ledger entry, or a ledger entry without its events.
The SQL arrives already translated into the backend's dialect.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

ROWS_KEYWORD = "vault_rows"


def _write_rows(cursor: Any, kwargs: dict[str, Any]) -> None:
    for sql, rows in kwargs.get(ROWS_KEYWORD) or ():
        if rows:
            cursor.executemany(sql, rows)


class SQLiteRegistryRecorder(SQLiteApplicationRecorder):
    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        _write_rows(c, kwargs)
        return super()._insert_events(c, stored_events, **kwargs)


class PostgresRegistryRecorder(PostgresApplicationRecorder):
    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        _write_rows(curs, kwargs)
        super()._insert_events(curs, stored_events, **kwargs)
