"""Fixtures for the web pages: a registry with one account per role, served on 127.0.0.1.

``registry`` imports an invented township of two villages and plants one resident
whose name is a script tag, registered through the domain and the store because
the importer's name rules reject such a name. ``server`` serves the whole
application (API and pages) with uvicorn on a free port of 127.0.0.1, in a thread,
for the browser tests.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from uuid import UUID, uuid4

import pytest
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from tests.api.conftest import BASE_URL, PASSWORD, VILLAGE_A, VILLAGE_B, User, make_user
from vault.api import ApiSettings, create_app
from vault.bootstrap import Services, open_services
from vault.cli.township import invent_township, write_township
from vault.clock import FixedClock
from vault.crypto.keyring import create_development_keyring
from vault.domain.actor import Actor
from vault.domain.idnumbers import check_character
from vault.domain.person import ACTIVE, Person
from vault.imports.service import ID_NUMBER, NAME_VILLAGE, Importer
from vault.policy import default_policy_directory, load_policies
from vault.store import blind
from vault.store.config import StoreConfig

# A name no workbook may carry, planted to prove that every page escapes it.
PLANTED_NAME = "<script>window.planted=1</script>"
_BODY = "33102419800315241"
PLANTED_ID_NUMBER = _BODY + check_character(_BODY)
TOWNSHIP = VILLAGE_A[:9]


@dataclass
class Registry:
    """An opened registry, its clock, one user per role, and the planted resident."""

    services: Services
    clock: FixedClock
    users: dict[str, User]
    planted: UUID
    village_a: str = VILLAGE_A
    village_b: str = VILLAGE_B

    def person_in(self, village: str) -> UUID:
        """Return the id of some resident of ``village`` other than the planted one."""
        with self.services.store.db.transaction(commit=False) as tx:
            row = tx.execute(
                "SELECT person_id FROM {residents} WHERE village_code = ? AND person_id <> ?"
                " ORDER BY registered_at, person_id LIMIT 1",
                (village, str(self.planted)),
            ).fetchone()
        return UUID(row["person_id"])


def plant_resident(services: Services, name: str, village: str, id_number: str) -> UUID:
    """Register one person straight through the domain and the store, with search indexes."""
    person = Person(
        village_code=village, sex="1", birth_year=1980, resident_category="1",
        record_status=ACTIVE, household_id=None, actor={"account_id": str(uuid4())},
        source={"batch_id": "planted"},
        pii={"name": name, "birth_date": date(1980, 3, 15), "id_type": "1",
             "id_number": id_number},
    )
    keys = services.store.keys
    keys.create_keys([person.id])
    cipher = keys.cipher(person.id)
    rows = [
        services.blind.row(ID_NUMBER, id_number, person.id, cipher),
        services.blind.row(NAME_VILLAGE, f"{name}\x1f{village}", person.id, cipher),
    ]
    services.store.app.save_with_rows(person, rows=[(blind.INSERT, rows)])
    services.residents.catch_up()
    return person.id


@pytest.fixture
def registry(store_config: StoreConfig, clock: FixedClock, tmp_path: Path) -> Iterator[Registry]:
    keyring = create_development_keyring(store_config.keys_dir)
    with open_services(store_config, clock, keyring=keyring, create=True) as services:
        people = invent_township(40, villages=2, seed=7)
        path = write_township(tmp_path / "township.xlsx", people)
        Importer(services, Actor(uuid4(), "clerk", TOWNSHIP), lambda _village: None).run(path)
        users = {
            "clerk": make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A),
            "reviewer": make_user(services, "reviewer-1", "reviewer", jurisdiction=TOWNSHIP),
            "security-officer": make_user(services, "officer-1", "security-officer",
                                          jurisdiction=TOWNSHIP),
            "security-admin": make_user(services, "secadmin-1", "security-admin"),
            "system-admin": make_user(services, "sysadmin-1", "system-admin"),
            "department": make_user(services, "health-1", "department", jurisdiction=TOWNSHIP,
                                    department="health"),
        }
        planted = plant_resident(services, PLANTED_NAME, VILLAGE_A, PLANTED_ID_NUMBER)
        yield Registry(services, clock, users, planted)


@pytest.fixture
def app(registry: Registry) -> Litestar:
    return create_app(registry.services, load_policies(default_policy_directory()),
                      ApiSettings())


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    # HTTPS, because the session cookie is Secure and the client's jar honours that.
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


# -- a live server for the browser ------------------------------------------------


def _free_socket() -> socket.socket:
    # Bound here and handed to uvicorn, so that no other process can take the port
    # between choosing it and serving on it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture
def server(app: Litestar) -> Iterator[str]:
    """Serve the application on 127.0.0.1 and yield its base URL."""
    sock = _free_socket()
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, access_log=False,
                            log_level="warning", lifespan="on")
    uvicorn_server = uvicorn.Server(config)
    thread = threading.Thread(target=uvicorn_server.run, kwargs={"sockets": [sock]},
                              name="web-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not uvicorn_server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start within 10 seconds")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=10)
        sock.close()


__all__ = ["PASSWORD", "PLANTED_ID_NUMBER", "PLANTED_NAME", "Registry", "User"]
