"""Measure the resident memory of ``vault import`` on a large CSV file, with a baseline.

Usage::

    python bench/import_memory.py [--rows N] [--database-url URL]

It generates N invented residents as CSV (Faker zh_CN, default 1,000,000). It then
creates a throwaway SQLite registry, or a ``vault_bench_*`` schema on the PostgreSQL
URL given, with a development keyring and one clerk. It runs two commands in new
interpreters and samples, every 0.2 s, the resident set size of each command's
process and all its child processes from ``/proc``:

- the baseline: reading every row of the file with ``open_source`` and nothing else;
- ``vault import FILE --json``, which prepares rows in a child process for a file of
  this size.

It prints, for each, the peak of the sum over the process tree and the peak of each
process, and the import's summary counts. The registry and the file are removed at
the end. Linux only (``/proc``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from uuid import uuid4

import psycopg
from psycopg import sql

REPOSITORY = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPOSITORY))

from tests.imports.synthetic import write_residents_csv  # noqa: E402

from vault.bootstrap import open_services  # noqa: E402
from vault.crypto.keyring import create_development_keyring  # noqa: E402
from vault.store.config import StoreConfig, config_from  # noqa: E402

PASSWORD = "bench-password-not-secret"  # noqa: S105  # a throwaway account
CLERK = "bench-clerk"
SAMPLE_SECONDS = 0.2

READ_EVERY_ROW = """
import sys
from pathlib import Path
from vault.imports.readers import open_source

count = 0
with open_source(Path(sys.argv[1])) as source:
    for sheet in source.sheets():
        for _row in sheet.rows():
            count += 1
print(count)
"""


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def descendants(pid: int) -> list[int]:
    """Return ``pid`` and every process below it, from the parent ids in /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parents[int(stat.parent.name)] = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
    tree = [pid]
    for candidate in tree:
        tree.extend(child for child, parent in parents.items() if parent == candidate)
    return tree


def run_sampled(
    label: str, command: list[str], environment: dict[str, str]
) -> tuple[str, int, list[int]]:
    """Run ``command``; return its output, the peak RSS sum of its tree and each peak (KiB)."""
    process = subprocess.Popen(command, env=environment, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    peak_sum = 0
    peaks: dict[int, int] = {}
    while process.poll() is None:
        sizes = {pid: rss_kib(pid) for pid in descendants(process.pid)}
        peak_sum = max(peak_sum, sum(sizes.values()))
        for pid, size in sizes.items():
            peaks[pid] = max(peaks.get(pid, 0), size)
        time.sleep(SAMPLE_SECONDS)
    output, errors = process.communicate()
    if process.returncode != 0:
        raise SystemExit(f"{label} failed with exit status {process.returncode}:\n"
                         f"{errors[-2000:]}")
    return output, peak_sum, sorted(peaks.values(), reverse=True)


@contextmanager
def empty_store(work: Path, database_url: str | None) -> Iterator[StoreConfig]:
    schema = f"vault_bench_{uuid4().hex[:12]}" if database_url else None
    try:
        yield config_from(work / "var", work / "keys", database_url, schema)
    finally:
        if database_url and schema:
            with psycopg.connect(database_url, autocommit=True) as connection:
                connection.execute(
                    sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))


def mib(kib: int) -> str:
    return f"{kib / 1024:,.0f} MiB"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000,
                        help="number of invented residents (default 1000000)")
    parser.add_argument("--database-url", default=None,
                        help="PostgreSQL server to use instead of SQLite, for example"
                             " postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--seed", type=int, default=1, help="seed of the invented residents")
    args = parser.parse_args()

    print(f"command: python {' '.join(sys.argv)}")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs,"
          f" {platform.system()} {platform.release()}, Python {platform.python_version()}")
    work = Path(tempfile.mkdtemp(prefix="vault-bench-memory-"))
    try:
        path = write_residents_csv(work / "residents.csv", args.rows, seed=args.seed)
        print(f"rows: {args.rows}, file: {path.stat().st_size / 2**20:,.0f} MiB,"
              f" backend: {'PostgreSQL' if args.database_url else 'SQLite'}")
        environment = dict(os.environ)
        environment["PYTHONPATH"] = str(REPOSITORY / "src")
        environment["VAULT_PASSWORD"] = PASSWORD
        for name in ("VAULT_TEST_PASSWORD_PROFILE", "VAULT_DATABASE_URL",
                     "VAULT_DATABASE_SCHEMA"):
            environment.pop(name, None)

        output, base_sum, _ = run_sampled(
            "reading every row", [sys.executable, "-c", READ_EVERY_ROW, str(path)], environment)
        print(f"baseline, reading every row: {int(output)} rows, peak {mib(base_sum)}")

        with empty_store(work, args.database_url) as config:
            keyring = create_development_keyring(config.keys_dir)
            with open_services(config, keyring=keyring, create=True) as services:
                services.accounts.create(CLERK, PASSWORD, ("clerk",), "331024")
            if config.postgres is not None:
                environment["VAULT_DATABASE_URL"] = args.database_url or ""
                environment["VAULT_DATABASE_SCHEMA"] = config.postgres.schema
            started = time.perf_counter()
            command = [
                sys.executable, "-c", "import sys; from vault.cli import main; sys.exit(main())",
                "import", str(path), "--json", "--user", CLERK,
                "--data", str(config.data_dir), "--keys", str(config.keys_dir),
            ]
            output, import_sum, peaks = run_sampled("vault import", command, environment)
            seconds = time.perf_counter() - started
        summary = json.loads(output)
        print(f"vault import: {summary['registered']} registered, {summary['rejected']} rejected,"
              f" {summary['duplicates']} duplicates in {seconds:,.0f} s;"
              f" peak {mib(import_sum)} over {len(peaks)} processes"
              f" (each: {', '.join(mib(p) for p in peaks)})")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
