"""Error bodies, languages and security headers, on every kind of response."""

from __future__ import annotations

from typing import Any

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.api.conftest import VILLAGE_A, bearer, make_user

from vault.api.errors import status_of
from vault.bootstrap import Services
from vault.errors import (
    AccessDenied,
    AuthenticationFailed,
    InvalidValue,
    KeyShredded,
    StorageError,
    VaultError,
    WorkbookError,
)

Client = TestClient[Litestar]
ERROR_KEYS = {"code", "message", "message_zh", "message_en", "field", "value", "request_id"}


def _unknown_route(client: Client, **kwargs: Any) -> Any:
    return client.get("/api/v1/no-such-route", **kwargs)


def test_error_body_has_every_key(client: Client) -> None:
    body = _unknown_route(client).json()

    assert set(body) == ERROR_KEYS
    assert body["request_id"]


def test_error_chinese_by_default(client: Client) -> None:
    body = _unknown_route(client).json()

    assert body["message"] == body["message_zh"]


def test_accept_language_selects_english(client: Client) -> None:
    body = _unknown_route(client, headers={"Accept-Language": "en-US,en;q=0.9"}).json()

    assert body["message"] == body["message_en"]


def test_query_parameter_selects_english(client: Client) -> None:
    body = client.get("/api/v1/no-such-route?lang=en").json()

    assert body["message"] == body["message_en"]


def test_request_id_matches_header(client: Client) -> None:
    response = _unknown_route(client)

    assert response.json()["request_id"] == response.headers["x-request-id"]


def test_malformed_body_names_field(client: Client, services: Services) -> None:
    headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))

    response = client.post("/api/v1/persons/search", json={"id_number": 331024},
                           headers=headers)

    assert response.status_code == 400
    assert response.json()["code"] == "REQUEST_INVALID"
    assert response.json()["field"] == "id_number"


def test_unknown_field_not_echoed(client: Client, services: Services) -> None:
    headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))

    response = client.post("/api/v1/persons/search", json={"331024196404060399": "x"},
                           headers=headers)

    assert response.status_code == 400
    assert "331024196404060399" not in response.text


def test_unexpected_error_hides_details(app: Litestar, services: Services,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    def explode(*_args: object, **_kwargs: object) -> None:
        raise RuntimeError("331024196404060399 leaked in a message")

    monkeypatch.setattr(app.state["vault"].gate, "find_by_id_number", explode)
    with TestClient(app, base_url="https://testserver.local",
                    raise_server_exceptions=False) as client:
        headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))
        response = client.post("/api/v1/persons/search", json={"id_number": "x"},
                               headers=headers)

    assert response.status_code == 500
    assert response.json()["code"] == "INTERNAL_ERROR"
    assert "331024196404060399" not in response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize(("error", "status"), [
    (AuthenticationFailed("x", "x"), 401),
    (AccessDenied("x", "x"), 403),
    (InvalidValue("x", "x"), 400),
    (WorkbookError("x", "x"), 422),
    (StorageError("x", "x"), 503),
    (KeyShredded("x", "x"), 500),
    (VaultError("x", "x"), 500),
])
def test_error_classes_map_to_status(error: VaultError, status: int) -> None:
    assert status_of(error) == status


@pytest.mark.parametrize("path", ["/api/v1/health", "/api/v1/no-such-route", "/api/v1/ping",
                                  "/api/v1/schema/openapi.json"])
def test_security_headers_everywhere(client: Client, path: str) -> None:
    headers = client.get(path).headers

    assert "default-src 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["cache-control"] == "no-store"
    assert headers["strict-transport-security"].startswith("max-age=")


def test_no_hsts_over_plain_http(app: Litestar) -> None:
    with TestClient(app, base_url="http://testserver.local") as plain:
        headers = plain.get("/api/v1/health").headers

    assert "strict-transport-security" not in headers
    assert headers["x-frame-options"] == "DENY"


def test_oversize_json_body_413(client: Client, services: Services) -> None:
    headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))

    response = client.post("/api/v1/persons/search", content=b"{" + b" " * 100_000 + b"}",
                           headers={**headers, "Content-Type": "application/json"})

    assert response.status_code == 413
    assert "上限" in response.json()["message_zh"]


def test_openapi_document_served(client: Client) -> None:
    document = client.get("/api/v1/schema/openapi.json").json()

    assert "/api/v1/persons/search" in document["paths"]
    assert document["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"
