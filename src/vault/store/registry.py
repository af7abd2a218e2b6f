"""The event-sourced registry application and the store that wires it together.

``open_store`` is the one place that builds the storage adapters: the eventsourcing
application (SQLite file or PostgreSQL schema), the registry's own tables, the key
store and the encrypting mapper. Every caller closes the store it opened, because the
store owns a connection pool.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, DomainEventProtocol
from eventsourcing.persistence import Mapper
from psycopg import sql as pgsql

from vault.clock import Clock
from vault.crypto.keyring import Keyring
from vault.errors import DataFolderMissing, StorageError
from vault.store.config import StoreConfig
from vault.store.database import Database, Tx
from vault.store.keystore import KeyStore
from vault.store.mapper import EncryptingMapper
from vault.store.recorders import AFTER_INSERT_KEYWORD, ROWS_KEYWORD
from vault.store.schema import create_tables

# The callback that save_with_rows runs inside its transaction, with the transaction
# and the saved events as (notification id, event) pairs.
AfterInsert = Callable[[Tx, list[tuple[int, DomainEventProtocol[UUID]]]], None]


class Registry(Application[UUID]):
    """The eventsourcing application holding every person and household event."""

    name = "Registry"

    def __init__(self, env: dict[str, str], keyring: Keyring, clock: Clock) -> None:
        self._keyring = keyring
        self._clock = clock
        super().__init__(env)

    def construct_mapper(self) -> Mapper[UUID]:
        datastore = self.factory.datastore  # type: ignore[attr-defined]  # both factories have one
        module = self.env.get("PERSISTENCE_MODULE", "")
        dialect = "postgres" if module.endswith("postgres") else "sqlite"
        schema = datastore.schema if dialect == "postgres" else None
        self.db = Database(datastore, dialect, schema)  # type: ignore[arg-type]
        create_tables(self.db)
        self.keys = KeyStore(self.db, self._keyring, self._clock)
        return EncryptingMapper(self.construct_transcoder(), self.keys)

    def save_with_rows(
        self,
        *aggregates: Aggregate,
        events: Sequence[DomainEventProtocol[UUID]] = (),
        rows: Sequence[tuple[str, Sequence[Sequence[Any]]]] = (),
        after_insert: AfterInsert | None = None,
    ) -> None:
        """Save ``aggregates`` and ``events`` and insert ``rows`` atomically.

        ``rows`` are (portable SQL, parameter rows) pairs. ``events`` are new events
        saved without their aggregate, after the aggregates' pending events.
        ``after_insert`` runs in the same transaction once the events are in, with
        (notification id, event) pairs in log order: a projection can bring its
        view up to date in the events' own transaction.

        The pending events go straight to the event store. ``Application.save`` also
        tests each object against eventsourcing's runtime protocols, which cost
        several microseconds per aggregate in an import (measured with cProfile).
        The registry keeps no aggregate cache and takes no snapshots, so ``save``
        would do nothing else.
        """
        if self.repository.cache is not None or self.snapshots is not None:
            raise RuntimeError("save_with_rows does not fill aggregate caches or snapshots")
        translated = [(self.db.translate(sql), [tuple(r) for r in params]) for sql, params in rows]
        saved = [*(event for aggregate in aggregates for event in aggregate.collect_events()),
                 *events]
        options: dict[str, Any] = {ROWS_KEYWORD: translated}
        if after_insert is not None:
            def run_after(cursor: Any, notification_ids: Sequence[int]) -> None:
                after_insert(self.db.wrap(cursor),
                             list(zip(notification_ids, saved, strict=True)))
            options[AFTER_INSERT_KEYWORD] = run_after
        self.events.put(saved, **options)


class Store:
    """The opened storage: the application, its tables, its key store."""

    def __init__(self, config: StoreConfig, app: Registry) -> None:
        self.config = config
        self.app = app
        self.db: Database = app.db
        self.keys: KeyStore = app.keys

    def close(self) -> None:
        self.app.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def environment(config: StoreConfig) -> dict[str, str]:
    """Return the eventsourcing settings for ``config``."""
    if config.postgres is None:
        return {
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(config.sqlite_path),
            "SQLITE_LOCK_TIMEOUT": "30",
            "APPLICATION_RECORDER_TOPIC": "vault.store.recorders:SQLiteRegistryRecorder",
            "CREATE_TABLE": "y",
        }
    pg = config.postgres
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": pg.dbname,
        "POSTGRES_HOST": pg.host,
        "POSTGRES_PORT": str(pg.port),
        "POSTGRES_USER": pg.user,
        "POSTGRES_PASSWORD": pg.password,
        "POSTGRES_SCHEMA": pg.schema,
        "POSTGRES_POOL_SIZE": "2",
        "POSTGRES_MAX_OVERFLOW": "4",
        "POSTGRES_LOCK_TIMEOUT": "30",
        # Off on purpose: in eventsourcing 9.5 the database functions insert without
        # the table lock, so readers can skip events and projections lose tracking.
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
        "APPLICATION_RECORDER_TOPIC": "vault.store.recorders:PostgresRegistryRecorder",
        "CREATE_TABLE": "y",
    }


def ensure_schema(config: StoreConfig) -> None:
    """Create the PostgreSQL schema named in ``config`` if it does not exist."""
    pg = config.postgres
    if pg is None:
        return
    try:
        with psycopg.connect(
            host=pg.host, port=pg.port, dbname=pg.dbname, user=pg.user,
            password=pg.password or None, autocommit=True, connect_timeout=10,
        ) as conn:
            conn.execute(
                pgsql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(
                    pgsql.Identifier(pg.schema)
                )
            )
    except psycopg.Error as error:
        raise StorageError(
            f"无法连接 PostgreSQL 数据库 {pg.host}:{pg.port}/{pg.dbname}。",
            f"Could not connect to PostgreSQL at {pg.host}:{pg.port}/{pg.dbname}.",
            code="DATABASE_UNREACHABLE",
        ) from error


def open_store(
    config: StoreConfig, keyring: Keyring, clock: Clock, *, create: bool = False
) -> Store:
    """Open the registry's storage; with ``create`` make the data folder too."""
    if config.data_dir.exists() and not config.data_dir.is_dir():
        raise DataFolderMissing(
            f"{config.data_dir} 是文件，不是数据目录。请用 --data 指定 vault init 创建的目录。",
            f"{config.data_dir} is a file, not a data folder. Pass the folder vault init"
            " created with --data.",
            code="DATA_FOLDER_NOT_A_FOLDER", field="--data", value=str(config.data_dir),
        )
    if (not create and config.postgres is None and config.data_dir.is_dir()
            and not config.sqlite_path.exists()):
        # Opening would create an empty registry here, and every account would then
        # look unknown. Report the wrong folder instead.
        raise DataFolderMissing(
            f"{config.data_dir} 不是 Vault 数据目录（其中没有 registry.sqlite）。"
            "请用 --data 指定正确的目录，或先运行 vault init。",
            f"{config.data_dir} is not a Vault data folder (it has no registry.sqlite)."
            " Pass the right folder with --data, or run vault init first.",
            code="DATA_FOLDER_NOT_A_REGISTRY", field="--data", value=str(config.data_dir),
        )
    if not config.data_dir.is_dir():
        if not create:
            raise DataFolderMissing(
                f"数据目录 {config.data_dir} 不存在。请先运行 vault init。",
                f"The data folder {config.data_dir} does not exist. Run vault init first.",
                field="--data",
                value=str(config.data_dir),
            )
        config.data_dir.mkdir(parents=True, mode=0o700)
    config.reports_dir.mkdir(exist_ok=True, mode=0o700)
    ensure_schema(config)
    store = Store(config, Registry(environment(config), keyring, clock))
    if config.postgres is None:
        # SQLite gives its -wal and -shm files the database file's mode, so this one
        # change keeps all three readable by the owner only.
        config.sqlite_path.chmod(0o600)
    return store
