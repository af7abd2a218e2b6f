"""No personal value from the imported workbook is stored in clear.

Each test scans everything the backend stores after the sample import (the SQLite
files including the write-ahead log, or every row of every PostgreSQL table in the
schema) for the workbook's names, ID numbers, phone numbers and addresses. A
positive control then plants one known value the way a leak would store it and
shows that the same scan finds it, so a scan that reads nothing cannot pass.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from pathlib import Path

import openpyxl
import psycopg
import pytest
from psycopg import sql

from tests.conftest import BACKEND, TEST_DATABASE_URL, TODAY
from tests.support import SAMPLE, account, registry, run_import
from vault.bootstrap import Services
from vault.clock import FixedClock
from vault.store.config import StoreConfig

pytestmark = pytest.mark.skipif(not SAMPLE.exists(), reason="the shared sample workbook is absent")

_COLUMNS = ("姓名", "公民身份号码", "联系电话", "户籍地址", "现居住地址", "门牌号")


def _secrets() -> set[str]:
    """Return the personal values of the sample, cleaned the way the registry stores them."""
    workbook = openpyxl.load_workbook(SAMPLE, read_only=True)
    rows = workbook.worksheets[0].iter_rows(min_row=3, values_only=True)
    header = [str(v) for v in next(rows)]
    wanted = {name: header.index(name) for name in _COLUMNS}
    found: set[str] = set()
    for row in rows:
        for name, index in wanted.items():
            value = row[index]
            if not isinstance(value, str):
                continue
            text = "".join(unicodedata.normalize("NFKC", value).split()).upper()
            # Names of two characters or more, numbers and addresses; a one-character
            # value would match by chance inside unrelated text.
            if len(text) >= 2 and not text.startswith("0000"):
                found.add(text)
    workbook.close()
    return found


def _sqlite_bytes(config: StoreConfig) -> bytes:
    files = sorted(config.data_dir.glob("*.sqlite*"))
    assert files, "no SQLite file was written"
    return b"".join(path.read_bytes() for path in files)


def _postgres_text(config: StoreConfig) -> str:
    assert TEST_DATABASE_URL is not None
    assert config.postgres is not None
    schema = config.postgres.schema
    parts: list[str] = []
    with psycopg.connect(TEST_DATABASE_URL) as conn:
        tables = [r[0] for r in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,)).fetchall()]
        assert tables, "no PostgreSQL table was written"
        for table in tables:
            query = sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            for row in conn.execute(query):
                for value in row:
                    if isinstance(value, (bytes, memoryview)):
                        parts.append(bytes(value).decode("utf-8", "replace"))
                    elif value is not None:
                        parts.append(str(value))
    return "\n".join(parts)


# Runs of the characters personal values are made of: CJK, digits, the check letter X and
# the middle dot. Every value searched for is one such run or lies inside one.
_RUNS = re.compile(r"[\u3000-\u9fff\uf900-\ufaff\U00020000-\U0003ffff0-9X·]{2,}")


def _leaks(services: Services, secrets: set[str]) -> list[str]:
    if BACKEND == "sqlite":
        text = _sqlite_bytes(services.config).decode("utf-8", "replace")
    else:
        text = _postgres_text(services.config)
    # Searching the runs, not the whole store, keeps 3,000 substring searches fast.
    runs = "\n".join(_RUNS.findall(text))
    return sorted(s for s in secrets if s in runs)


@pytest.fixture
def imported(store_config: StoreConfig) -> Iterator[Services]:
    with registry(store_config, FixedClock(TODAY)) as services:
        clerk = account(services, "clerk-scan", "clerk")
        summary = run_import(services, clerk, SAMPLE)
        assert summary.registered > 1500
        yield services


def test_no_plaintext_after_import(imported: Services) -> None:
    """No name, ID number, phone or address of the workbook is in the store."""
    secrets = _secrets()
    assert len(secrets) > 3000  # names, numbers, phones and addresses of 1,541 rows

    leaks = _leaks(imported, secrets)

    assert leaks == [], f"{len(leaks)} personal values stored in clear"


def test_scan_finds_planted_value(imported: Services) -> None:
    """A value planted in a table where a leak would put it is found by the scan."""
    secrets = _secrets()
    planted = sorted(s for s in secrets if len(s) == 18 and s[:-1].isdigit())[0]
    with imported.store.db.transaction() as tx:
        tx.execute("INSERT INTO {settings} (key, value) VALUES (?, ?)", ("planted", planted))

    leaks = _leaks(imported, secrets)

    assert leaks == [planted]
