"""Application recorders that commit extra rows in the events' own transaction.

``Application.save(..., vault_rows=[(sql, rows), ...])`` hands its keyword arguments to
the recorder, whose ``_insert_events`` hook runs inside the transaction that inserts
the events. The import ledger and blind-index rows go this way, so that a crash can
never leave events without their ledger entry, or a ledger entry without its events.
The SQL arrives already translated into the backend's dialect.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from eventsourcing.persistence import InterfaceError, OperationalError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry

from vault.store.database import SQLITE_WRITER_PRAGMA

ROWS_KEYWORD = "vault_rows"
# A callable (cursor, notification ids) run in the same transaction after the events
# are inserted, with the ids in the order of the events.
AFTER_INSERT_KEYWORD = "vault_after_insert"


def _write_rows(cursor: Any, kwargs: dict[str, Any]) -> None:
    for sql, rows in kwargs.get(ROWS_KEYWORD) or ():
        if rows:
            cursor.executemany(sql, rows)


class SQLiteRegistryRecorder(SQLiteApplicationRecorder):
    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        c.execute(SQLITE_WRITER_PRAGMA)
        _write_rows(c, kwargs)
        notification_ids = super()._insert_events(c, stored_events, **kwargs)
        after = kwargs.get(AFTER_INSERT_KEYWORD)
        if after is not None and notification_ids:
            after(c, notification_ids)
        return notification_ids


# A plain multi-row INSERT in PostgreSQL's form: no ON CONFLICT, no RETURNING, one
# placeholder per column.
_PLAIN_INSERT = re.compile(
    r"INSERT INTO (?P<table>[\w\".]+) \((?P<columns>\w+(?:, \w+)*)\)"
    r" VALUES \(%s(?:, %s)*\)"
)


def _copy_rows(cursor: Any, kwargs: dict[str, Any]) -> None:
    """Write the rows of plain INSERTs with COPY, any other statement with ``executemany``.

    ``executemany`` sends one statement per row, even pipelined; COPY streams them
    all, which made an import's blind-index, key and ledger rows several times
    cheaper. The transaction and the outcome are the same: a duplicate key fails
    either way.
    """
    for sql, rows in kwargs.get(ROWS_KEYWORD) or ():
        if not rows:
            continue
        plain = _PLAIN_INSERT.fullmatch(sql)
        if plain is None:
            cursor.executemany(sql, rows)
            continue
        with cursor.copy(f"COPY {plain['table']} ({plain['columns']}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)


class PostgresRegistryRecorder(PostgresApplicationRecorder):
    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        """Insert the extra rows with COPY, then the events, then run the callback.

        All in one transaction. eventsourcing runs its whole transaction in pipeline
        mode, where COPY is not allowed, so here the pipeline starts only after the
        rows are copied. The events are inserted as eventsourcing inserts them,
        under its table lock.
        """
        after = kwargs.get(AFTER_INSERT_KEYWORD)
        if not kwargs.get(ROWS_KEYWORD) and after is None:
            return super().insert_events(stored_events, **kwargs)
        failure: Exception | None = None
        notification_ids: Sequence[int] | None = None
        with self.datastore.get_connection() as connection, connection.transaction():
            with connection.cursor() as cursor:
                _copy_rows(cursor, kwargs)
            if stored_events:
                with connection.pipeline() as pipeline, connection.cursor() as cursor:
                    try:
                        self._insert_stored_events(cursor, stored_events, **kwargs)
                        # Sync here so that a duplicate event raises now, not at commit.
                        pipeline.sync()
                        notification_ids = self._fetch_ids_after_insert_events(
                            cursor, stored_events, **kwargs
                        )
                    except Exception as error:  # raised again below
                        # Raised after the pipeline has closed, which psycopg expects.
                        failure = error
            if failure is not None:
                raise failure
            if after is not None and notification_ids:
                with connection.cursor() as cursor:
                    after(cursor, notification_ids)
        return notification_ids
