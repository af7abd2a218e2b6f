"""The registry's import lock: one import writes to a registry at a time.

Two imports that touch the same household would otherwise both find it missing and
establish it twice, or both add members to the same version of it, and the later
save would fail. An import holds this lock from its first batch to its last; a
second import waits for it. The lock is the operating system's (SQLite: ``flock``
on a file in the data folder) or the server's (PostgreSQL: an advisory lock on a
connection of its own), so it is released when the holding process dies, however
it dies.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from hashlib import sha256

import psycopg

from vault.errors import StorageError
from vault.store.config import StoreConfig

LOCK_FILE = "import.lock"


@contextmanager
def import_lock(config: StoreConfig, on_wait: Callable[[], None] | None = None) -> Iterator[None]:
    """Hold the import lock of ``config``'s registry; call ``on_wait`` before waiting for it."""
    if config.postgres is None:
        with _file_lock(config, on_wait):
            yield
    else:
        with _advisory_lock(config, on_wait):
            yield


@contextmanager
def _file_lock(config: StoreConfig, on_wait: Callable[[], None] | None) -> Iterator[None]:
    descriptor = os.open(config.data_dir / LOCK_FILE, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait()
            fcntl.flock(descriptor, fcntl.LOCK_EX)
        yield
    finally:
        # Closing the descriptor releases the lock.
        os.close(descriptor)


@contextmanager
def _advisory_lock(config: StoreConfig, on_wait: Callable[[], None] | None) -> Iterator[None]:
    pg = config.postgres
    assert pg is not None  # noqa: S101  # import_lock chose this branch for it
    key = int.from_bytes(sha256(f"vault-import:{pg.schema}".encode()).digest()[:8], "big",
                         signed=True)
    try:
        connection = psycopg.connect(
            host=pg.host, port=pg.port, dbname=pg.dbname, user=pg.user,
            password=pg.password or None, autocommit=True, connect_timeout=10,
        )
    except psycopg.Error as error:
        raise StorageError(
            f"无法连接 PostgreSQL 数据库 {pg.host}:{pg.port}/{pg.dbname}。",
            f"Could not connect to PostgreSQL at {pg.host}:{pg.port}/{pg.dbname}.",
            code="DATABASE_UNREACHABLE",
        ) from error
    with connection:
        row = connection.execute("SELECT pg_try_advisory_lock(%s)", (key,)).fetchone()
        if not (row and row[0]):
            if on_wait is not None:
                on_wait()
            connection.execute("SELECT pg_advisory_lock(%s)", (key,))
        # The lock ends with the session, when this connection closes.
        yield
