"""Fixtures for the HTTP API: opened services, an imported township, a test client.

The client talks HTTPS to the in-process application, because the session cookie
is Secure and a cookie jar sends it over HTTPS only.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from uuid import uuid4

import pytest
from litestar import Litestar
from litestar.testing import TestClient

from vault.accounts import Account, totp_code
from vault.api import ApiSettings, create_app
from vault.bootstrap import Services, open_services
from vault.cli.township import Resident, invent_township, village_codes, write_township
from vault.clock import FixedClock
from vault.crypto.keyring import create_development_keyring
from vault.domain.actor import Actor
from vault.imports.service import Importer
from vault.policy import default_policy_directory, load_policies
from vault.store.config import StoreConfig

BASE_URL = "https://testserver.local"
PASSWORD = "correct-horse-battery-9"  # noqa: S105  # a test password
VILLAGE_A, VILLAGE_B = village_codes(2)


@dataclass(frozen=True)
class User:
    account: Account
    password: str = PASSWORD

    @property
    def name(self) -> str:
        return self.account.name

    def code(self, clock: FixedClock, steps_ahead: int = 0) -> str:
        """Return the account's TOTP code at the clock's time (plus 30-second steps)."""
        assert self.account.totp_secret is not None
        later = clock.now() + timedelta(seconds=30 * steps_ahead)
        return totp_code(self.account.totp_secret, later)


@pytest.fixture
def services(store_config: StoreConfig, clock: FixedClock) -> Iterator[Services]:
    keyring = create_development_keyring(store_config.keys_dir)
    with open_services(store_config, clock, keyring=keyring, create=True) as opened:
        yield opened


@pytest.fixture
def township(services: Services, tmp_path: Path) -> list[Resident]:
    """Forty invented residents in villages A and B, imported."""
    people = invent_township(40, villages=2, seed=7)
    path = write_township(tmp_path / "township.xlsx", people)
    actor = Actor(uuid4(), "clerk", VILLAGE_A[:9])
    summary = Importer(services, actor, lambda _village: None).run(path)
    assert summary.registered == len(people)
    return people


def make_user(services: Services, name: str, *roles: str, jurisdiction: str = "",
              department: str | None = None) -> User:
    return User(services.accounts.create(name, PASSWORD, roles, jurisdiction, department))


def settings() -> ApiSettings:
    return ApiSettings()


@pytest.fixture
def app(services: Services) -> Litestar:
    return create_app(services, load_policies(default_policy_directory()), settings())


@pytest.fixture
def client(app: Litestar) -> Iterator[TestClient[Litestar]]:
    with TestClient(app, base_url=BASE_URL) as test_client:
        yield test_client


def login(client: TestClient[Litestar], user: User, totp: str | None = None) -> str:
    """Log ``user`` in with a session; return the session's CSRF token."""
    response = login_response(client, user, totp)
    assert response.status_code == 200, response.text
    return str(response.json()["csrf_token"])


def login_response(client: TestClient[Litestar], user: User, totp: str | None = None,
                   password: str | None = None) -> object:
    pre = client.get("/api/v1/auth/csrf").json()["csrf_token"]
    body = {"username": user.name, "password": password or user.password}
    if totp is not None:
        body["totp"] = totp
    return client.post("/api/v1/auth/login", json=body, headers={"X-CSRF-Token": pre})


def bearer(client: TestClient[Litestar], user: User, totp: str | None = None,
           jurisdiction: str | None = None) -> dict[str, str]:
    """Return the Authorization header of a fresh API token for ``user``."""
    body: dict[str, object] = {"username": user.name, "password": user.password, "label": "test"}
    if totp is not None:
        body["totp"] = totp
    if jurisdiction is not None:
        body["jurisdiction"] = jurisdiction
    response = client.post("/api/v1/auth/tokens", json=body)
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['token']}"}
