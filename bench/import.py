"""Benchmark the importer against eventsourcing's own batch save, on one backend.

Usage::

    python bench/import.py [--rows N] [--backend sqlite|postgres|both]
                           [--database-url URL] [--profile FILE]

For each backend it generates N invented residents as a CSV file (Faker zh_CN, ID
numbers with valid check characters on real county codes), imports them into an
empty registry with ``Importer.run`` (what ``vault import`` runs after login), and
then saves N one-event aggregates with eventsourcing alone, in batches of the
importer's batch size, into an empty store on the same backend. The baseline
events carry the same clear attributes and the same personal fields as the
importer's ``Person.Registered`` events, unencrypted.

A file of this size is prepared in a second process (``vault.imports.prepare``),
as ``vault import`` does it. The rate is wall-clock time; the CPU column adds the
time of both import processes, which is more than the wall-clock time when they
overlap.

The import time covers everything the import does: reading and parsing the file,
validation, policy checks, key generation and wrapping, field encryption, blind
indexes, events, ledger rows and the resident view. Generating the CSV file and
creating the empty stores are not timed.

PostgreSQL runs use throwaway schemas named ``vault_bench_*`` and drop them
afterwards. Nothing is sent anywhere but the database URL given (by default the
local test server on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import csv
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import psycopg
from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event
from psycopg import sql

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from tests.imports.synthetic import HEADER, write_residents_csv  # noqa: E402

from vault.access import import_authoriser  # noqa: E402
from vault.bootstrap import open_services, policies_dir  # noqa: E402
from vault.crypto.keyring import create_development_keyring  # noqa: E402
from vault.domain.actor import Actor  # noqa: E402
from vault.imports.headers import find_header  # noqa: E402
from vault.imports.service import BATCH_SIZE, Importer  # noqa: E402
from vault.policy import load_policies  # noqa: E402
from vault.store.config import StoreConfig, config_from  # noqa: E402

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-password-not-secret"  # noqa: S105  # a throwaway account


class BaselineResident(Aggregate):
    """A one-event aggregate shaped like ``Person.Registered``, with clear personal fields."""

    class Registered(Aggregate.Created):
        village_code: str
        sex: str
        birth_year: int
        resident_category: str
        record_status: str
        household_id: UUID | None
        actor: dict[str, Any]
        source: dict[str, Any]
        pii: dict[str, Any]

    @event(Registered)
    def __init__(
        self,
        village_code: str,
        sex: str,
        birth_year: int,
        resident_category: str,
        record_status: str,
        household_id: UUID | None,
        actor: dict[str, Any],
        source: dict[str, Any],
        pii: dict[str, Any],
    ) -> None:
        self.village_code = village_code
        self.pii = pii


# -- stores ------------------------------------------------------------------


@contextmanager
def empty_store(backend: str, work: Path, database_url: str) -> Iterator[StoreConfig]:
    """Yield a configuration for an empty registry; drop its schema afterwards."""
    folder = work / f"registry-{uuid4().hex[:8]}"
    if backend == "sqlite":
        yield config_from(folder / "var", folder / "keys")
        return
    schema = f"vault_bench_{uuid4().hex[:12]}"
    try:
        yield config_from(folder / "var", folder / "keys", database_url, schema)
    finally:
        drop_schema(database_url, schema)


def drop_schema(database_url: str, schema: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


@contextmanager
def baseline_application(backend: str, work: Path, database_url: str) -> Iterator[Application]:
    """Yield a plain eventsourcing application on an empty store of ``backend``."""
    if backend == "sqlite":
        folder = work / f"baseline-{uuid4().hex[:8]}"
        folder.mkdir()
        application = Application({
            "PERSISTENCE_MODULE": "eventsourcing.sqlite",
            "SQLITE_DBNAME": str(folder / "baseline.sqlite"),
            "CREATE_TABLE": "y",
        })
        try:
            yield application
        finally:
            application.close()
        return

    schema = f"vault_bench_{uuid4().hex[:12]}"
    parsed = config_from(None, None, database_url, schema).postgres
    assert parsed is not None
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
    try:
        application = Application({
            "PERSISTENCE_MODULE": "eventsourcing.postgres",
            "POSTGRES_DBNAME": parsed.dbname,
            "POSTGRES_HOST": parsed.host,
            "POSTGRES_PORT": str(parsed.port),
            "POSTGRES_USER": parsed.user,
            "POSTGRES_PASSWORD": parsed.password,
            "POSTGRES_SCHEMA": schema,
            # The registry's own settings, so that both sides wait and lock alike.
            "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
            "CREATE_TABLE": "y",
        })
        try:
            yield application
        finally:
            application.close()
    finally:
        drop_schema(database_url, schema)


# -- the two timed runs ------------------------------------------------------


def time_import(
    config: StoreConfig, path: Path, profile: Path | None
) -> tuple[float, int, float]:
    """Import ``path`` into a new registry; return (seconds, persons, CPU seconds)."""
    keyring = create_development_keyring(config.keys_dir)
    with open_services(config, keyring=keyring, create=True) as services:
        account = services.accounts.create("bench-clerk", PASSWORD, ("clerk",), "331024")
        if isinstance(account, tuple):
            account = account[0]
        policy = load_policies(policies_dir())
        actor = Actor(account.account_id, "clerk", account.jurisdiction)
        importer = Importer(services, actor, import_authoriser(policy, account))

        profiler = _start_profiler() if profile else None
        cpu_before = _cpu_seconds()
        started = time.perf_counter()
        summary = importer.run(path)
        elapsed = time.perf_counter() - started
        cpu = _cpu_seconds() - cpu_before
        if profiler is not None and profile is not None:
            profiler.stop()
            profile.write_text(profiler.output_text(unicode=False, show_all=False))
    if summary.rejected or summary.duplicates:
        raise SystemExit(
            f"the generated file had {summary.rejected} rejected and {summary.duplicates}"
            " duplicate rows; the benchmark expects every row to register")
    return elapsed, summary.registered, cpu


def _cpu_seconds() -> float:
    """Return the CPU time of this process and of its children that have ended."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _start_profiler() -> Any:
    try:
        from pyinstrument import Profiler  # noqa: PLC0415  # optional, only for --profile
    except ImportError:
        raise SystemExit("--profile needs pyinstrument: pip install pyinstrument") from None
    profiler = Profiler(interval=0.001)
    profiler.start()
    return profiler


def baseline_payloads(path: Path) -> list[dict[str, Any]]:
    """Read the CSV file into the attributes of one baseline event per row (not timed)."""
    with path.open(newline="", encoding="utf-8") as stream:
        rows = list(csv.reader(stream))
    match = find_header(enumerate(rows[:20], start=1))
    assert match is not None
    keys = list(match.keys)
    actor = {"account_id": str(uuid4()), "role": "clerk", "office": "331024"}
    batch_id = uuid4().hex
    payloads = []
    for number, row in enumerate(rows[match.row_number:], start=match.row_number + 1):
        values = dict(zip(keys, row, strict=True))
        pii = {key: value for key, value in values.items()
               if key and key not in ("seq", "village", "sex", "resident_category") and value}
        payloads.append({
            "village_code": values["household_number"][:12],
            "sex": "1" if values["sex"] == "男" else "2",
            "birth_year": int(values["id_number"][6:10]),
            "resident_category": "1",
            "record_status": "active",
            "household_id": uuid4(),
            "actor": dict(actor),
            "source": {"batch_id": batch_id, "file_name": path.name, "sheet": path.name,
                       "row": number},
            "pii": pii,
        })
    return payloads


def time_baseline(application: Application, payloads: list[dict[str, Any]]) -> float:
    """Create and save one aggregate per payload in batches of ``BATCH_SIZE``; return seconds."""
    started = time.perf_counter()
    for start in range(0, len(payloads), BATCH_SIZE):
        batch = [BaselineResident(**payload) for payload in payloads[start:start + BATCH_SIZE]]
        application.save(*batch)
    return time.perf_counter() - started


# -- reporting ---------------------------------------------------------------


def machine() -> str:
    model = platform.processor() or "unknown CPU"
    try:
        output = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        output = ""
    for line in output.splitlines():
        if line.startswith("Model name:"):
            model = line.split(":", 1)[1].strip()
    return f"{model}, {os.cpu_count()} CPUs, {platform.system()} {platform.release()}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=100_000,
                        help="number of invented residents (default 100000)")
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--database-url", default=DEFAULT_DATABASE_URL,
                        help="PostgreSQL server for --backend postgres"
                             f" (default {DEFAULT_DATABASE_URL})")
    parser.add_argument("--profile", type=Path,
                        help="write a pyinstrument profile of the import to this file"
                             " (one file per backend, the backend name appended)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the invented residents")
    args = parser.parse_args()

    backends = ("sqlite", "postgres") if args.backend == "both" else (args.backend,)
    print(f"command: python {' '.join(sys.argv)}")
    print(f"machine: {machine()}")
    print(f"python {platform.python_version()}, eventsourcing {version('eventsourcing')}")
    print(f"rows: {args.rows}, batch size: {BATCH_SIZE}")

    work = Path(tempfile.mkdtemp(prefix="vault-bench-"))
    try:
        path = write_residents_csv(work / "residents.csv", args.rows, seed=args.seed)
        assert tuple(next(csv.reader(path.open(encoding="utf-8")))) == HEADER
        payloads = baseline_payloads(path)
        print(f"{'backend':<10} {'persons/s':>10} {'baseline/s':>11} {'ratio':>6}"
              f" {'import s':>9} {'import CPU s':>13} {'baseline s':>11}")
        for backend in backends:
            profile = (args.profile.with_name(f"{args.profile.name}.{backend}")
                       if args.profile else None)
            with empty_store(backend, work, args.database_url) as config:
                seconds, registered, cpu = time_import(config, path, profile)
            with baseline_application(backend, work, args.database_url) as application:
                baseline_seconds = time_baseline(application, payloads)
            rate = registered / seconds
            baseline_rate = len(payloads) / baseline_seconds
            print(f"{backend:<10} {rate:>10,.0f} {baseline_rate:>11,.0f}"
                  f" {rate / baseline_rate:>6.2f} {seconds:>9.1f} {cpu:>13.1f}"
                  f" {baseline_seconds:>11.1f}",
                  flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
