"""JSON request bodies: content type, size limit, unknown keys and token labels."""

from __future__ import annotations

import pytest
from litestar import Litestar
from litestar.testing import TestClient
from tests.api.conftest import PASSWORD, VILLAGE_A, bearer, make_user

from vault.api.errors import format_size
from vault.bootstrap import Services

Client = TestClient[Litestar]
SEARCH = "/api/v1/persons/search"
ID_NUMBER_BODY = b'{"id_number": "331024196404060399"}'


@pytest.fixture
def token(client: Client, services: Services) -> dict[str, str]:
    return bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "application/jsonx", None])
def test_search_rejects_non_json_type(client: Client, token: dict[str, str],
                                      content_type: str | None) -> None:
    headers = {**token, "Content-Type": content_type} if content_type else token

    response = client.post(SEARCH, content=ID_NUMBER_BODY, headers=headers)

    assert response.status_code == 415
    body = response.json()
    assert body["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "application/json" in body["message_zh"]
    assert "application/json" in body["message_en"]
    assert body["field"] == "Content-Type"
    assert body["request_id"] == response.headers["x-request-id"]
    assert "331024196404060399" not in response.text


@pytest.mark.parametrize("content_type", ["application/json", "application/json; charset=utf-8",
                                          "Application/JSON;charset=UTF-8"])
def test_search_accepts_json_type(client: Client, token: dict[str, str],
                                  content_type: str) -> None:
    response = client.post(SEARCH, content=b'{"phone": "13800138000"}',
                           headers={**token, "Content-Type": content_type})

    assert response.status_code == 200, response.text


def test_login_rejects_non_json_type(client: Client) -> None:
    response = client.post("/api/v1/auth/tokens", content=b'{"username": "x"}',
                           headers={"Content-Type": "text/plain"})

    assert response.status_code == 415
    assert response.json()["code"] == "UNSUPPORTED_MEDIA_TYPE"


def test_oversize_json_message_in_kib(client: Client, token: dict[str, str]) -> None:
    response = client.post(SEARCH, content=b"{" + b" " * 100_000 + b"}",
                           headers={**token, "Content-Type": "application/json"})

    assert response.status_code == 413
    body = response.json()
    assert "64 KiB" in body["message_zh"]
    assert "64 KiB" in body["message_en"]
    assert "MiB" not in body["message_zh"]


@pytest.mark.parametrize(("size", "text"), [
    (512, "512 B"),
    (64 * 1024, "64 KiB"),
    (1536, "1.5 KiB"),
    (20 * 1024 * 1024, "20 MiB"),
    (3 * 1024 * 1024 // 2, "1.5 MiB"),
])
def test_format_size(size: int, text: str) -> None:
    assert format_size(size) == text


def test_unknown_key_named(client: Client, token: dict[str, str]) -> None:
    response = client.post(SEARCH, json={"phone": "13800138000", "foo": "secret-value"},
                           headers=token)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "REQUEST_UNKNOWN_FIELD"
    assert body["field"] == "foo"
    assert "未知字段 foo" in body["message_zh"]
    assert "foo" in body["message_en"]
    assert "secret-value" not in response.text
    assert "13800138000" not in response.text


def test_unknown_odd_key_not_echoed(client: Client, token: dict[str, str]) -> None:
    response = client.post(SEARCH, json={"罗瑞": "x"}, headers=token)

    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "REQUEST_UNKNOWN_FIELD"
    assert body["field"] is None
    assert "罗瑞" not in response.text


def _token_response(client: Client, services: Services, label: str) -> object:
    make_user(services, "clerk-l", "clerk", jurisdiction=VILLAGE_A)
    return client.post("/api/v1/auth/tokens", json={
        "username": "clerk-l", "password": PASSWORD, "label": label,
    })


@pytest.mark.parametrize("label", ["a\x1bb", "a\x00b", "line\nbreak", "tab\there", "a\x7fb",
                                   "a\x85b", "a\u202eb", "a\u2028b"])
def test_token_label_rejects_control_chars(client: Client, services: Services,
                                           label: str) -> None:
    response = _token_response(client, services, label)

    assert response.status_code == 400
    body = response.json()
    assert body["field"] == "label"
    assert body["code"] == "TOKEN_LABEL_INVALID"
    assert label not in response.text


def test_token_label_too_long(client: Client, services: Services) -> None:
    response = _token_response(client, services, "x" * 101)

    assert response.status_code == 400
    assert response.json()["field"] == "label"


def test_token_label_chinese_accepted(client: Client, services: Services) -> None:
    response = _token_response(client, services, "户籍系统 对接-2")

    assert response.status_code == 201, response.text
    assert response.json()["label"] == "户籍系统 对接-2"
