"""Access log routes instead of raw paths; redaction of landlines and Chinese text."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import structlog
from litestar import Litestar
from litestar.testing import TestClient
from tests.api.conftest import VILLAGE_A, bearer, make_user

from vault.bootstrap import Services
from vault.logs import REDACTED, configure_logging, redact

Client = TestClient[Litestar]


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(json=True, level=logging.DEBUG, stream=stream)
    yield stream
    structlog.reset_defaults()


def _access_lines(stream: io.StringIO) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]
    return [line for line in lines if line.get("event") == "http_request"]


def test_unmatched_path_segments_redacted(client: Client, captured_logs: io.StringIO) -> None:
    response = client.get("/api/v1/nosuch/罗瑞/17828056931/0576-87654321/abc123456")

    assert response.status_code == 404
    text = captured_logs.getvalue()
    assert "罗瑞" not in text
    assert "17828056931" not in text
    assert "87654321" not in text
    assert "123456" not in text
    (line,) = _access_lines(captured_logs)
    assert line["path"] == "/api/v1/nosuch/" + "/".join([REDACTED] * 4)
    assert line["route"] is None


def test_unmatched_plain_segments_kept(client: Client, captured_logs: io.StringIO) -> None:
    client.get("/api/v1/no-such_route.v2/item12345")

    (line,) = _access_lines(captured_logs)
    assert line["path"] == "/api/v1/no-such_route.v2/item12345"


def test_matched_route_logs_template(client: Client, services: Services,
                                     captured_logs: io.StringIO) -> None:
    headers = bearer(client, make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A))
    person_id = "0b3f6a52-9f0e-4c3a-8a43-2c4b8e0f1d2e"

    client.get(f"/api/v1/persons/{person_id}", headers=headers)
    client.get(f"/api/v1/villages/{VILLAGE_A}/persons", headers=headers)

    text = captured_logs.getvalue()
    assert person_id not in text
    assert VILLAGE_A not in text
    lines = _access_lines(captured_logs)
    routes = [line["route"] for line in lines]
    assert routes[-2].startswith("/api/v1/persons/{person_id")
    assert routes[-1].startswith("/api/v1/villages/{village_code")
    assert all("path" not in line for line in lines)


@pytest.mark.parametrize("landline", ["0576-87654321", "057687654321", "010-1234567",
                                      "电话 021-87654321。"])
def test_redact_masks_landlines(landline: str) -> None:
    event = redact(None, "info", {"event": "x", "note": landline})

    assert "87654321" not in event["note"]
    assert "1234567" not in event["note"]
    assert REDACTED in event["note"]


def test_redact_masks_chinese_text() -> None:
    event = redact(None, "info", {"event": "x", "note": "resident 罗瑞 moved", "via": "web"})

    assert event["note"] == f"resident {REDACTED} moved"
    assert event["via"] == "web"


def test_redact_keeps_allowed_keys() -> None:
    event = redact(None, "info", {"event": "导入完成", "reason": "LOGIN_FAILED",
                                  "error_type": "RuntimeError", "status": 404})

    assert event["event"] == "导入完成"
    assert event["reason"] == "LOGIN_FAILED"
    assert event["status"] == 404


def test_redact_keeps_generated_ids() -> None:
    # 32 hex digits can contain an 11-digit run that looks like a mobile number.
    request_id = "ab13800138000cdef0123456789abcde"

    event = redact(None, "info", {"event": "x", "request_id": request_id})

    assert event["request_id"] == request_id


def test_redact_masks_id_number_in_id_key() -> None:
    event = redact(None, "info", {"event": "x", "request_id": "331024196404060399"})

    assert event["request_id"] == REDACTED
