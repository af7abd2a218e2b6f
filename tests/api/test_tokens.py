"""API tokens: stored hashed, scoped, expiring, revocable."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import TestClient
from tests.api.conftest import PASSWORD, VILLAGE_A, bearer, login, make_user

from vault.bootstrap import Services
from vault.clock import FixedClock

Client = TestClient[Litestar]


def test_token_stored_only_hashed(client: Client, services: Services) -> None:
    headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))
    token = headers["Authorization"].split()[1]

    with services.store.db.transaction(commit=False) as tx:
        rows = [dict(row) for row in tx.execute("SELECT * FROM {api_tokens}").fetchall()]

    assert len(rows) == 1
    assert token not in str(rows)


def test_token_authenticates(client: Client, services: Services) -> None:
    headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))

    assert client.get("/api/v1/ping", headers=headers).status_code == 200


def test_token_needs_no_csrf(client: Client, services: Services) -> None:
    headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))

    response = client.post("/api/v1/persons/search", json={"phone": "13800000000"},
                           headers=headers)

    assert response.status_code == 200


def test_expired_token_refused(client: Client, services: Services, clock: FixedClock) -> None:
    headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))
    clock.advance(days=31)

    response = client.get("/api/v1/ping", headers=headers)

    assert response.status_code == 401
    assert response.json()["code"] == "TOKEN_INVALID"


def test_lifetime_over_ninety_refused(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A)

    response = client.post("/api/v1/auth/tokens", json={
        "username": clerk.name, "password": PASSWORD, "label": "x", "lifetime_days": 365})

    assert response.status_code == 400


def test_revoked_token_refused(client: Client, services: Services) -> None:
    headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))
    token_id = client.get("/api/v1/tokens", headers=headers).json()["tokens"][0]["token_id"]

    revoked = client.delete(f"/api/v1/tokens/{token_id}", headers=headers)

    assert revoked.status_code == 200
    assert client.get("/api/v1/ping", headers=headers).status_code == 401


def test_others_token_not_revocable(client: Client, services: Services) -> None:
    first = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))
    second = bearer(client, make_user(services, "clerk-b", "clerk", jurisdiction=VILLAGE_A))
    token_id = client.get("/api/v1/tokens", headers=first).json()["tokens"][0]["token_id"]

    response = client.delete(f"/api/v1/tokens/{token_id}", headers=second)

    assert response.status_code == 403


def test_department_token_scoped(client: Client, services: Services) -> None:
    department = make_user(services, "health-system", "department", jurisdiction=VILLAGE_A,
                           department="health")
    headers = bearer(client, department)

    tokens = client.get("/api/v1/tokens", headers=headers).json()["tokens"]

    assert tokens[0]["department"] == "health"
    assert tokens[0]["jurisdiction"] == VILLAGE_A


def test_wider_jurisdiction_refused(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A)

    response = client.post("/api/v1/auth/tokens", json={
        "username": clerk.name, "password": PASSWORD, "label": "x",
        "jurisdiction": VILLAGE_A[:9]})

    assert response.status_code == 400
    assert response.json()["code"] == "TOKEN_JURISDICTION_INVALID"


def test_administrator_gets_no_token(client: Client, services: Services,
                                     clock: FixedClock) -> None:
    admin = make_user(services, "root-admin", "system-admin")

    response = client.post("/api/v1/auth/tokens", json={
        "username": admin.name, "password": PASSWORD, "label": "x", "totp": admin.code(clock)})

    assert response.status_code == 400
    assert response.json()["code"] == "TOKEN_NOT_ALLOWED"


def test_bearer_ignores_session_cookie(client: Client, services: Services) -> None:
    clerk = make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A)
    login(client, clerk)

    response = client.get("/api/v1/ping", headers={"Authorization": "Bearer vault_wrong"})

    assert response.status_code == 401
