"""A thin SQL adapter over the event store's own connection pool.

The registry's tables beside the events (accounts, audit records, the key store, the
import ledger, blind indexes, projections) are written through the same pool that
eventsourcing opened, so there is one pool per application to close. SQL is written
once with ``?`` placeholders and ``{table}`` names; the adapter turns them into the
dialect and the schema of the backend.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Literal

Dialect = Literal["sqlite", "postgres"]

TABLES = (
    "settings",
    "data_keys",
    "blind_index",
    "import_ledger",
    "accounts",
    "audit",
    "villages",
    "residents",
    "households",
    "projection_tracking",
    "login_state",
    "requests",
    "totp_steps",
    "sessions",
    "api_tokens",
)

_NAME = re.compile(r"\{([a-z_]+)\}")

# SQLite copies the write-ahead log back into the database (a checkpoint) once the log
# reaches this many pages. Its default is 1,000 (4 MiB). An import writes thousands
# of index pages per batch at random places, so with the default a checkpoint ran
# every few batches. At 60,000 imported rows, commits then took about a third of the
# import's time, and half that with 20,000 pages (80 MiB of log), because a page
# changed by several batches is copied back once. Each writing connection sets it,
# and the statement is allowed inside a transaction.
SQLITE_WRITER_PRAGMA = "PRAGMA wal_autocheckpoint = 20000"


class Tx:
    """One open transaction: run statements written in the portable form."""

    def __init__(self, cursor: Any, database: Database) -> None:
        self._cursor = cursor
        self._database = database

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Tx:
        if params:
            self._cursor.execute(self._database.translate(sql), tuple(params))
        else:
            self._cursor.execute(self._database.translate(sql))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._cursor.executemany(self._database.translate(sql), [tuple(r) for r in rows])

    @property
    def rowcount(self) -> int:
        cursor = self._cursor
        inner = getattr(cursor, "sqlite_cursor", cursor)
        return int(inner.rowcount)

    def fetchall(self) -> list[Any]:
        return list(self._cursor.fetchall())

    def fetchone(self) -> Any:
        return self._cursor.fetchone()

    def scalar(self, sql: str, params: Sequence[Any] = ()) -> Any:
        row = self.execute(sql, params).fetchone()
        if row is None:
            return None
        return row[0] if self._database.dialect == "sqlite" else next(iter(row.values()))


class Database:
    """Portable access to the registry's own tables on SQLite or PostgreSQL."""

    def __init__(self, datastore: Any, dialect: Dialect, schema: str | None = None) -> None:
        self.datastore = datastore
        self.dialect = dialect
        self.schema = schema
        self._names = {name: self.table(name) for name in TABLES}
        self._translated: dict[str, str] = {}

    def table(self, name: str) -> str:
        """Return the qualified name of the registry table ``name``."""
        if self.dialect == "postgres":
            return f'"{self.schema}"."vault_{name}"'
        return f"vault_{name}"

    def translate(self, sql: str) -> str:
        """Turn portable SQL into the backend's dialect (placeholders, table names)."""
        cached = self._translated.get(sql)
        if cached is not None:
            return cached
        text = _NAME.sub(lambda m: self._names.get(m.group(1), m.group(0)), sql)
        if self.dialect == "postgres":
            text = text.replace("?", "%s")
        self._translated[sql] = text
        return text

    def wrap(self, cursor: Any) -> Tx:
        """Wrap a cursor the event store opened, to write rows in its transaction."""
        return Tx(cursor, self)

    @contextmanager
    def transaction(self, *, commit: bool = True) -> Iterator[Tx]:
        with self.datastore.transaction(commit=commit) as cursor:
            if commit and self.dialect == "sqlite":
                cursor.execute(SQLITE_WRITER_PRAGMA)
            yield Tx(cursor, self)

    @property
    def blob(self) -> str:
        return "BYTEA" if self.dialect == "postgres" else "BLOB"

    @property
    def serial_key(self) -> str:
        if self.dialect == "postgres":
            return "BIGSERIAL PRIMARY KEY"
        return "INTEGER PRIMARY KEY AUTOINCREMENT"
