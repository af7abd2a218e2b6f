"""The route table: every route is guarded or explicitly public, and refuses a no-grant account."""

from __future__ import annotations

from typing import Any
from uuid import UUID, uuid4

import pytest
from litestar import Litestar
from litestar.routes import HTTPRoute
from litestar.testing import TestClient
from tests.api.conftest import VILLAGE_A, User, bearer, login, make_user

from vault.api.auth import PERSONAL_DATA, authenticated
from vault.bootstrap import Services
from vault.cli.township import Resident
from vault.clock import FixedClock

# Routes anybody may call: logging in, getting a token, the health check, the schema.
PUBLIC = {
    ("GET", "/api/v1/health"),
    ("GET", "/api/v1/auth/csrf"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/tokens"),
    ("POST", "/api/v1/auth/totp/enrol"),
}
PUBLIC_PREFIXES = ("/api/v1/schema",)


def _handlers(app: Litestar) -> list[tuple[str, str, Any]]:
    found = []
    for route in app.routes:
        if not isinstance(route, HTTPRoute):
            continue
        for handler in route.route_handlers:
            for method in handler.http_methods:
                if method in ("HEAD", "OPTIONS"):
                    continue
                found.append((method, route.path, handler))
    return found


def _is_public(method: str, path: str) -> bool:
    return (method, path) in PUBLIC or path.startswith(PUBLIC_PREFIXES)


def _personal_routes(app: Litestar) -> set[tuple[str, str]]:
    return {(m, p) for m, p, h in _handlers(app) if h.opt.get(PERSONAL_DATA)}


def test_private_routes_have_guard(app: Litestar) -> None:
    for method, path, handler in _handlers(app):
        # The web pages have their own guard and route-table test (tests/web).
        if _is_public(method, path) or not path.startswith("/api/"):
            continue
        assert authenticated in handler.resolve_guards(), f"{method} {path} lacks the guard"


def test_personal_routes_never_public(app: Litestar) -> None:
    for method, path in _personal_routes(app):
        assert not _is_public(method, path), f"{method} {path} is personal and public"


def test_resident_routes_marked_personal(app: Litestar) -> None:
    for method, path, handler in _handlers(app):
        if path.startswith(("/api/v1/persons", "/api/v1/villages", "/api/v1/imports")):
            assert handler.opt.get(PERSONAL_DATA), f"{method} {path} is not marked personal"


def test_allowlist_names_real_routes(app: Litestar) -> None:
    routes = {(m, p) for m, p, _ in _handlers(app)}

    assert routes >= PUBLIC


def _probe_requests(person_id: UUID, id_number: str) -> dict[tuple[str, str], dict[str, Any]]:
    """One valid request per personal-data route; a new route fails until it is added here."""
    return {
        ("POST", "/api/v1/persons/search"): {"json": {"id_number": id_number}},
        ("GET", "/api/v1/persons/{person_id:uuid}"): {"url": f"/api/v1/persons/{person_id}"},
        ("GET", "/api/v1/villages/{village_code:str}/persons"): {
            "url": f"/api/v1/villages/{VILLAGE_A}/persons"},
        ("POST", "/api/v1/imports"): {"files": {"file": ("t.csv", "姓名\n".encode())}},
        ("GET", "/api/v1/imports/{request_id:str}/rejects"): {
            "url": f"/api/v1/imports/{uuid4().hex}/rejects"},
    }


def _first_person(services: Services) -> UUID:
    with services.store.db.transaction(commit=False) as tx:
        return UUID(tx.scalar("SELECT person_id FROM {residents} ORDER BY person_id"))


def _denials(services: Services, name: str) -> int:
    return sum(1 for r in services.audit.records(account_name=name) if r["outcome"] == "denied")


def _probe(client: TestClient[Litestar], services: Services, township: list[Resident],
           user: User, headers: dict[str, str]) -> None:
    requests = _probe_requests(_first_person(services), township[0].id_number)
    assert set(requests) == _personal_routes(client.app)

    for (method, path), options in requests.items():
        before = _denials(services, user.name)
        url = options.pop("url", path)
        response = client.request(method, url, headers=headers, **options)

        assert response.status_code == 403, f"{method} {path}: {response.text}"
        assert _denials(services, user.name) == before + 1, f"{method} {path} not audited"


def test_no_grants_session_denied(client: TestClient[Litestar], services: Services,
                                  township: list[Resident], clock: FixedClock) -> None:
    admin = make_user(services, "keys-admin", "security-admin")
    csrf = login(client, admin, admin.code(clock))

    _probe(client, services, township, admin, {"X-CSRF-Token": csrf})


def test_no_grants_token_denied(client: TestClient[Litestar], services: Services,
                                township: list[Resident]) -> None:
    department = make_user(services, "health-system", "department", jurisdiction=VILLAGE_A[:9],
                           department="health")

    _probe(client, services, township, department, bearer(client, department))


@pytest.mark.parametrize("path", ["/api/v1/ping", "/api/v1/tokens", "/api/v1/auth/session"])
def test_private_route_needs_login(client: TestClient[Litestar], path: str) -> None:
    response = client.get(path)

    assert response.status_code == 401
    assert response.json()["code"] == "UNAUTHENTICATED"
