"""Shared fixtures: the storage backend under test, a fixed clock, Hypothesis profiles.

Storage tests run on SQLite by default and on PostgreSQL when
``VAULT_TEST_DATABASE_URL`` is set; every test then gets a schema of its own, dropped
afterwards, so that runs never see each other's rows.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest
from hypothesis import HealthCheck, settings
from psycopg import sql

from vault.clock import FixedClock
from vault.store.config import StoreConfig, config_from

settings.register_profile(
    "default", deadline=None, suppress_health_check=[HealthCheck.too_slow], max_examples=100
)
settings.register_profile("ci", parent=settings.get_profile("default"), derandomize=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))

TODAY = date(2026, 12, 4)
TEST_DATABASE_URL = os.environ.get("VAULT_TEST_DATABASE_URL")
BACKEND = "postgres" if TEST_DATABASE_URL else "sqlite"


@pytest.fixture(autouse=True)
def _cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    # In-process tests hash many passwords; the cheap profile refuses to run outside
    # pytest, so it cannot leak into a real deployment.
    monkeypatch.setenv("VAULT_TEST_PASSWORD_PROFILE", "cheap")


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(TODAY)


def drop_schema(schema: str) -> None:
    assert TEST_DATABASE_URL is not None
    with psycopg.connect(TEST_DATABASE_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def fresh_store_config(folder: Path) -> Iterator[StoreConfig]:
    """Yield a storage location in ``folder`` (and a new schema on PostgreSQL), then drop it."""
    schema = f"vault_test_{uuid4().hex[:12]}" if TEST_DATABASE_URL else None
    try:
        yield config_from(folder / "var", folder / "keys", TEST_DATABASE_URL, schema)
    finally:
        if schema is not None:
            drop_schema(schema)


@pytest.fixture
def store_config(tmp_path: Path) -> Iterator[StoreConfig]:
    """A fresh, empty storage location on the backend under test."""
    with fresh_store_config(tmp_path) as config:
        yield config
