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

from eventsourcing.persistence import (
    InterfaceError,
    OperationalError,
    ProgrammingError,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import retry
from psycopg import sql as pgsql

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
        """Copy the extra rows, then the events, then run the callback, in one transaction.

        Without extra rows or a callback this is eventsourcing's own insert.
        """
        after = kwargs.get(AFTER_INSERT_KEYWORD)
        if not kwargs.get(ROWS_KEYWORD) and after is None:
            return super().insert_events(stored_events, **kwargs)
        notification_ids: list[int] = []
        with (self.datastore.get_connection() as connection, connection.transaction(),
              connection.cursor() as cursor):
            _copy_rows(cursor, kwargs)
            if stored_events:
                notification_ids = self._copy_events(cursor, stored_events)
            if after is not None and notification_ids:
                after(cursor, notification_ids)
        return notification_ids

    def _copy_events(self, cursor: Any, stored_events: Sequence[StoredEvent]) -> list[int]:
        """Insert ``stored_events`` with binary COPY and return their notification ids.

        eventsourcing inserts events as an array of a composite type, which psycopg
        writes as escaped text (a regular expression per event) and which cost an
        import more than its own rows. COPY writes the same four columns in binary.
        The rest is as eventsourcing does it: its table lock, so that events commit
        in the order of their notification ids, and its NOTIFY. Under that lock no
        other transaction takes notification ids, so the ids above the highest one
        before the copy are this copy's.
        """
        self._lock_table(cursor)
        self._notify_channel(cursor)
        table = pgsql.SQL("{}.{}").format(
            pgsql.Identifier(self.datastore.schema), pgsql.Identifier(self.events_table_name))
        cursor.execute(pgsql.SQL(
            "SELECT COALESCE(MAX(notification_id), 0) AS last FROM {}").format(table))
        before = cursor.fetchone()["last"]
        with cursor.copy(pgsql.SQL(
                "COPY {} (originator_id, originator_version, topic, state)"
                " FROM STDIN (FORMAT BINARY)").format(table)) as copy:
            copy.set_types([self.datastore.originator_id_type, "int8", "text", "bytea"])
            for event in stored_events:
                copy.write_row((event.originator_id, event.originator_version, event.topic,
                                event.state))
        cursor.execute(pgsql.SQL(
            "SELECT notification_id FROM {} WHERE notification_id > %s"
            " ORDER BY notification_id").format(table), (before,))
        notification_ids = [row["notification_id"] for row in cursor.fetchall()]
        if len(notification_ids) != len(stored_events):
            raise ProgrammingError(
                f"expected {len(stored_events)} notification ids, found {len(notification_ids)}")
        return notification_ids
