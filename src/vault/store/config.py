"""Storage configuration: a data folder, and optionally a PostgreSQL URL."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from vault.errors import StorageError

DEFAULT_DATA = Path("var")
DEFAULT_KEYS = Path("keys")
_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@dataclass(frozen=True, slots=True)
class PostgresSettings:
    host: str
    port: int
    dbname: str
    user: str
    password: str
    schema: str


@dataclass(frozen=True, slots=True)
class StoreConfig:
    """The data folder (reports, and the SQLite files when no database URL is set)."""

    data_dir: Path
    keys_dir: Path
    postgres: PostgresSettings | None = None

    @property
    def backend(self) -> str:
        return "postgres" if self.postgres else "sqlite"

    @property
    def sqlite_path(self) -> Path:
        return self.data_dir / "registry.sqlite"

    @property
    def reports_dir(self) -> Path:
        return self.data_dir / "reports"


def parse_database_url(url: str, schema: str | None = None) -> PostgresSettings:
    """Parse ``postgresql://user:password@host:port/dbname[?schema=NAME]``."""
    parsed = urlparse(url)
    if parsed.scheme not in ("postgresql", "postgres"):
        raise StorageError(
            "数据库地址必须以 postgresql:// 开头。",
            "The database URL must start with postgresql://.",
            code="DATABASE_URL_INVALID",
            field="VAULT_DATABASE_URL",
        )
    query = parse_qs(parsed.query)
    schema = schema or (query.get("schema") or ["public"])[0]
    if not _SCHEMA_NAME.match(schema):
        raise StorageError(
            f"数据库模式名 {schema!r} 无效：只能使用小写字母、数字和下划线。",
            f"The database schema name {schema!r} is invalid: use lower-case letters,"
            " digits and underscores.",
            code="DATABASE_SCHEMA_INVALID",
            field="VAULT_DATABASE_SCHEMA",
            value=schema,
        )
    return PostgresSettings(
        host=parsed.hostname or "127.0.0.1",
        port=parsed.port or 5432,
        dbname=(parsed.path or "/").lstrip("/") or "postgres",
        user=unquote(parsed.username or "postgres"),
        password=unquote(parsed.password or ""),
        schema=schema,
    )


def config_from(
    data: str | os.PathLike[str] | None = None,
    keys: str | os.PathLike[str] | None = None,
    database_url: str | None = None,
    schema: str | None = None,
) -> StoreConfig:
    """Resolve the configuration from arguments, then environment variables, then defaults."""
    data_dir = Path(data or os.environ.get("VAULT_DATA") or DEFAULT_DATA)
    keys_dir = Path(keys or os.environ.get("VAULT_KEYS") or DEFAULT_KEYS)
    url = database_url or os.environ.get("VAULT_DATABASE_URL")
    schema = schema or os.environ.get("VAULT_DATABASE_SCHEMA")
    postgres = parse_database_url(url, schema) if url else None
    return StoreConfig(data_dir=data_dir, keys_dir=keys_dir, postgres=postgres)
