"""Benchmark search by ID number over HTTP against a trivial endpoint of the same app.

Usage::

    python bench/lookup.py [--residents N] [--requests N] [--database-url URL]

It builds a throwaway registry (SQLite in a temporary folder, or a throwaway
``vault_bench_*`` schema on the PostgreSQL URL given), imports N invented residents
(Faker zh_CN, valid ID numbers on county 331024), serves the API with uvicorn on
127.0.0.1 on a free port, obtains an API token for a clerk, and then sends, one at
a time over one keep-alive connection, alternating requests:

- ``POST /api/v1/persons/search`` with a random registered ID number, and
- ``GET /api/v1/ping``, which authenticates with the same token the same way and
  returns a constant.

Alternating the two puts both under the same load. Latency is measured at the
client from sending the request to reading the whole response. Importing and
warming up (100 requests of each kind) are not timed. The server stops and the
folder (or schema) is removed at the end.
"""

from __future__ import annotations

import argparse
import csv
import io
import logging
import platform
import random
import shutil
import socket
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.metadata import version
from pathlib import Path
from uuid import uuid4

import httpx
import psycopg
import uvicorn
from psycopg import sql

from vault.access import Gate
from vault.api import create_app
from vault.bootstrap import Services, open_services
from vault.cli.township import HEADER, TOWNSHIP, invent_township
from vault.crypto.keyring import create_development_keyring
from vault.logs import configure_logging
from vault.policy import default_policy_directory, load_policies
from vault.store.config import StoreConfig, config_from

PASSWORD = "bench-password-1234"  # noqa: S105  # a throwaway registry


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--residents", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=2000,
                        help="timed requests of each kind")
    parser.add_argument("--database-url", help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="vault-bench-lookup-"))
    try:
        with _store(folder, args.database_url) as config:
            keyring = create_development_keyring(config.keys_dir)
            with open_services(config, keyring=keyring, create=True) as services:
                numbers = _import(services, folder, args.residents)
                _measure(services, numbers, args.requests, config)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    return 0


@contextmanager
def _store(folder: Path, database_url: str | None) -> Iterator[StoreConfig]:
    schema = f"vault_bench_{uuid4().hex[:8]}" if database_url else None
    try:
        yield config_from(folder / "var", folder / "keys", database_url, schema)
    finally:
        if database_url and schema:
            with psycopg.connect(database_url, autocommit=True) as conn:
                conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                    sql.Identifier(schema)))


def _import(services: Services, folder: Path, residents: int) -> list[str]:
    people = invent_township(residents, villages=50)
    path = folder / "township.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for number, p in enumerate(people, start=1):
            writer.writerow([number, p.household_number, p.village_name, p.name, p.sex, "汉族",
                             p.birth_date.isoformat(), p.id_number, p.relationship, p.phone])

    clerk = services.accounts.create("bench-clerk", PASSWORD, ("clerk",), TOWNSHIP)
    gate = Gate(services, load_policies(default_policy_directory()))
    started = time.perf_counter()
    summary = gate.import_workbook(clerk, path, request_id=uuid4().hex)
    elapsed = time.perf_counter() - started
    registered = getattr(summary, "registered", 0)
    print(f"imported {registered} of {residents} residents in {elapsed:.0f} s", file=sys.stderr)
    return [p.id_number for p in people]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _served(services: Services) -> Iterator[str]:
    app = create_app(services, load_policies(default_policy_directory()))
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           access_log=False, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}/api/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def _measure(services: Services, numbers: list[str], requests: int, config: StoreConfig) -> None:
    # The access log is part of every request; it goes to a discarded stream here.
    configure_logging(json=True, level=logging.INFO, stream=io.StringIO())
    rng = random.Random(1)  # noqa: S311  # picks test numbers, not a secret
    with _served(services) as base, httpx.Client(timeout=30) as client:
        token = client.post(f"{base}/auth/tokens", json={
            "username": "bench-clerk", "password": PASSWORD, "label": "bench"}).json()["token"]
        headers = {"Authorization": f"Bearer {token}"}

        def search() -> float:
            started = time.perf_counter()
            response = client.post(f"{base}/persons/search", headers=headers,
                                   json={"id_number": rng.choice(numbers)})
            elapsed = time.perf_counter() - started
            found = response.json().get("count") if response.status_code == 200 else None
            if found != 1:
                raise SystemExit(f"search failed: status {response.status_code}, found {found}")
            return elapsed

        def ping() -> float:
            started = time.perf_counter()
            response = client.get(f"{base}/ping", headers=headers)
            elapsed = time.perf_counter() - started
            if response.status_code != 200:
                raise SystemExit(f"ping failed: {response.status_code}")
            return elapsed

        for _ in range(100):
            search()
            ping()
        searches, pings = [], []
        for _ in range(requests):
            searches.append(search())
            pings.append(ping())

    _report(searches, pings, len(numbers), config)


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] * 1000


def _report(searches: list[float], pings: list[float], residents: int,
            config: StoreConfig) -> None:
    search_p50, ping_p50 = statistics.median(searches) * 1000, statistics.median(pings) * 1000
    print(f"backend {config.backend}, {residents} residents, {len(searches)} requests each,"
          f" Python {platform.python_version()}, litestar {version('litestar')},"
          f" uvicorn {version('uvicorn')}")
    print("| endpoint | p50 ms | p99 ms |")
    print("|---|---|---|")
    print(f"| POST /persons/search (ID number) | {search_p50:.2f} |"
          f" {_percentile(searches, 0.99):.2f} |")
    print(f"| GET /ping (same token, constant) | {ping_p50:.2f} | {_percentile(pings, 0.99):.2f} |")
    print(f"p50 ratio search/ping: {search_p50 / ping_p50:.2f}")


if __name__ == "__main__":
    sys.exit(main())
