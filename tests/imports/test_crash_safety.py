"""An import killed with SIGKILL and run again ends with the store of one clean run.

The killed process is ``vault import`` in a child interpreter, on the backend under
test. It is killed at random points: once the import ledger has reached a random
row count, after a further random delay, so that kills land between batches, inside
a batch's save, and during projection catch-up, with the process that prepares rows
working ahead. The seed is printed with every failure so that a failing order of
kills can be replayed.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from uuid import uuid4

import psycopg
import pytest

from tests.conftest import TEST_DATABASE_URL, drop_schema
from tests.support import PASSWORD, account, registry, run_import
from vault.bootstrap import open_services
from vault.clock import Clock
from vault.store.config import StoreConfig, config_from

from .store_contents import read_store
from .synthetic import write_residents_csv

# Eight batches of 1,000 rows: enough for kills inside and between batches and for
# households that straddle a batch boundary. At several thousand rows per second
# that also leaves time for five kills before the end. The file is over 64 KiB, so
# rows are prepared in a second process.
ROWS = 8000
KILLS = 5
CLERK = "clerk-crash"

pytestmark = [pytest.mark.storage, pytest.mark.slow]


def child_environment(config: StoreConfig) -> dict[str, str]:
    environment = dict(os.environ)
    # The cheap password profile refuses to run outside pytest, and the child is not
    # pytest: it verifies the clerk's password with the production hasher instead.
    environment.pop("VAULT_TEST_PASSWORD_PROFILE", None)
    environment.pop("VAULT_DATABASE_URL", None)
    environment.pop("VAULT_DATABASE_SCHEMA", None)
    environment["VAULT_PASSWORD"] = PASSWORD
    # The child runs this tree's code, whichever clone was installed last.
    environment["PYTHONPATH"] = str(Path(__file__).resolve().parents[2] / "src")
    if config.postgres is not None:
        assert TEST_DATABASE_URL is not None
        environment["VAULT_DATABASE_URL"] = TEST_DATABASE_URL
        environment["VAULT_DATABASE_SCHEMA"] = config.postgres.schema
    return environment


def import_command(config: StoreConfig, path: Path) -> list[str]:
    return [
        sys.executable, "-c", "import sys; from vault.cli import main; sys.exit(main())",
        "import", str(path), "--json", "--user", CLERK,
        "--data", str(config.data_dir), "--keys", str(config.keys_dir),
    ]


class LedgerCounter:
    """Count import-ledger rows from outside the importing process."""

    def __init__(self, config: StoreConfig) -> None:
        self._config = config

    def count(self) -> int:
        if self._config.postgres is None:
            # A read-only connection; WAL mode lets it read while the child writes.
            uri = f"file:{self._config.sqlite_path}?mode=ro"
            with sqlite3.connect(uri, uri=True, timeout=30) as connection:
                return int(connection.execute(
                    "SELECT count(*) FROM vault_import_ledger").fetchone()[0])
        assert TEST_DATABASE_URL is not None
        with psycopg.connect(TEST_DATABASE_URL) as connection:
            row = connection.execute(
                f'SELECT count(*) FROM "{self._config.postgres.schema}".vault_import_ledger'  # noqa: S608  # schema name made by this test
            ).fetchone()
            assert row is not None
            return int(row[0])


def run_to_end(config: StoreConfig, path: Path) -> dict[str, object]:
    completed = subprocess.run(
        import_command(config, path), env=child_environment(config), capture_output=True,
        text=True, timeout=600, check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    summary = json.loads(completed.stdout)
    assert isinstance(summary, dict)
    return summary


def kill_at(config: StoreConfig, path: Path, ledger_rows: int, delay: float) -> tuple[bool, int]:
    """Start the import and SIGKILL it ``delay`` seconds after the ledger reaches
    ``ledger_rows`` rows. Return whether it was still running at that moment, and
    how many child processes it had then (each must exit after the kill)."""
    counter = LedgerCounter(config)
    process = subprocess.Popen(
        import_command(config, path), env=child_environment(config),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        while process.poll() is None and counter.count() < ledger_rows:
            time.sleep(0.01)
        time.sleep(delay)
        helpers = children_of(process.pid)
        if process.poll() is not None:
            return False, 0
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=60)
        wait_until_gone(helpers)
        return True, len(helpers)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=60)


def children_of(pid: int) -> list[int]:
    """Return the ids of the processes whose parent is ``pid`` (Linux /proc)."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name in parentheses may contain spaces; the parent id is
            # the second field after it.
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            children.append(int(stat.parent.name))
    return children


def wait_until_gone(pids: list[int], timeout: float = 20.0) -> None:
    """Fail unless every process in ``pids`` has exited within ``timeout`` seconds.

    The import's row-preparing child must not outlive a killed import: its next
    write to the closed pipe ends it.
    """
    deadline = time.monotonic() + timeout
    for pid in pids:
        while _alive(pid):
            assert time.monotonic() < deadline, f"helper process {pid} outlived the import"
            time.sleep(0.05)


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    # A zombie has exited; it waits only for its new parent to reap it.
    return state != "Z"


@pytest.fixture
def reference_config(tmp_path: Path) -> Iterator[StoreConfig]:
    """A second, empty store on the same backend, for the uninterrupted run."""
    schema = f"vault_test_{uuid4().hex[:12]}" if TEST_DATABASE_URL else None
    yield config_from(tmp_path / "reference" / "var", tmp_path / "reference" / "keys",
                      TEST_DATABASE_URL, schema)
    if schema is not None:
        drop_schema(schema)


def prepare(config: StoreConfig, clock: Clock) -> None:
    with registry(config, clock) as services:
        account(services, CLERK, "clerk")


def test_killed_import_equals_clean_run(
    store_config: StoreConfig, reference_config: StoreConfig, clock: Clock, tmp_path: Path
) -> None:
    path = write_residents_csv(tmp_path / "residents.csv", ROWS, seed=7)
    prepare(store_config, clock)
    prepare(reference_config, clock)
    # Kill points, not secrets: the standard generator is enough.
    seed = random.randrange(2**32)  # noqa: S311
    draw = random.Random(seed)  # noqa: S311
    context = f"random seed {seed}"

    kills = 0
    helpers = 0
    counter = LedgerCounter(store_config)
    targets = sorted(draw.randrange(0, ROWS - 3000) for _ in range(KILLS))
    attempts = 0
    while kills < KILLS:
        attempts += 1
        assert attempts <= 3 * KILLS, f"the import kept finishing before the kill ({context})"
        target = max(targets[kills], counter.count())
        killed, children = kill_at(store_config, path, target, draw.uniform(0.0, 0.3))
        kills += killed
        helpers += children
    # The file is large enough for a second process, which each kill must also end.
    assert helpers > 0, context
    imported_before = counter.count()
    assert imported_before < ROWS, context

    rerun = run_to_end(store_config, path)
    clean = run_to_end(reference_config, path)

    assert rerun["rows"] == ROWS, context
    assert rerun["already_imported"] == imported_before, context
    assert rerun["registered"] == ROWS - imported_before, context
    assert rerun["rejected"] == 0, context
    assert rerun["duplicates"] == 0, context
    assert clean["registered"] == ROWS, context

    with open_services(store_config, clock) as services:
        killed = read_store(services)
    with open_services(reference_config, clock) as services:
        expected = read_store(services)

    assert killed.problems == [], context
    assert expected.problems == [], context
    assert killed.persons == expected.persons, context
    assert sum(killed.persons.values()) == ROWS, context
    assert killed.households == expected.households, context
    assert killed.ledger == expected.ledger, context
    assert killed.blind_rows["id_number"] == ROWS, context
    assert killed.blind_rows == expected.blind_rows, context
    assert killed.residents_view == expected.residents_view, context
    assert killed.households_view == expected.households_view, context


def test_rerun_catches_up_resident_view(
    store_config: StoreConfig, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A kill after the last save and before the view catches up leaves the rerun
    # nothing to register. The rerun must still bring the view up to date.
    path = write_residents_csv(tmp_path / "residents.csv", 600, seed=11)
    with registry(store_config, clock) as services:
        clerk = account(services, CLERK, "clerk")
        monkeypatch.setattr(services.residents, "catch_up", lambda: 0)
        run_import(services, clerk, path)
        monkeypatch.undo()

        rerun = run_import(services, clerk, path)

        with services.store.db.transaction(commit=False) as tx:
            residents = tx.scalar("SELECT count(*) FROM {residents}")
    assert rerun.already_imported == 600
    assert rerun.registered == 0
    assert residents == 600


def test_sigterm_ends_an_import_with_a_message(
    store_config: StoreConfig, clock: Clock, tmp_path: Path
) -> None:
    path = write_residents_csv(tmp_path / "residents.csv", ROWS, seed=7)
    prepare(store_config, clock)
    counter = LedgerCounter(store_config)
    process = subprocess.Popen(
        import_command(store_config, path), env=child_environment(store_config),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    try:
        while process.poll() is None and counter.count() == 0:
            time.sleep(0.01)
        helpers = children_of(process.pid)
        process.send_signal(signal.SIGTERM)
        _out, errors = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    wait_until_gone(helpers)

    assert process.returncode == 143
    assert "已中断" in errors
    assert "Traceback" not in errors
    assert counter.count() % 1000 == 0
