"""The access and application logs of a session of searches hold no personal data."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
import structlog
from litestar import Litestar
from litestar.testing import TestClient
from tests.api.conftest import VILLAGE_A, VILLAGE_B, bearer, login, make_user

from vault.bootstrap import Services
from vault.cli.township import Resident
from vault.logs import configure_logging


@pytest.fixture
def captured_logs(caplog: pytest.LogCaptureFixture) -> Iterator[io.StringIO]:
    stream = io.StringIO()
    configure_logging(json=True, level=logging.DEBUG, stream=stream)
    caplog.set_level(logging.DEBUG)
    yield stream
    structlog.reset_defaults()


def _session_of_searches(client: TestClient[Litestar], services: Services,
                         township: list[Resident]) -> None:
    clerk = make_user(services, "clerk-a", "clerk", jurisdiction=VILLAGE_A)
    csrf = {"X-CSRF-Token": login(client, clerk)}
    token = bearer(client, clerk)
    for person in township[:10]:
        for headers in (csrf, token):
            client.post("/api/v1/persons/search", json={"id_number": person.id_number},
                        headers=headers)
            client.post("/api/v1/persons/search", headers=headers,
                        json={"name": person.name, "village_code": person.village_code})
            client.post("/api/v1/persons/search", json={"phone": person.phone},
                        headers=headers)
    in_a = next(p for p in township if p.village_code == VILLAGE_A)
    found = client.post("/api/v1/persons/search", headers=token,
                        json={"id_number": in_a.id_number}).json()["results"]
    client.get(f"/api/v1/persons/{found[0]['person_id']}", headers=token)
    client.get(f"/api/v1/villages/{VILLAGE_A}/persons", headers=token)
    client.get(f"/api/v1/villages/{VILLAGE_B}/persons", headers=token)
    client.post("/api/v1/persons/search", json={"id_number": township[0].id_number[:-1] + "0"},
                headers=token)


def test_logs_hold_no_personal_data(client: TestClient[Litestar], services: Services,
                                    township: list[Resident], captured_logs: io.StringIO,
                                    caplog: pytest.LogCaptureFixture) -> None:
    _session_of_searches(client, services, township)

    text = captured_logs.getvalue() + caplog.text

    assert "http_request" in text
    for person in township:
        assert person.id_number not in text
        assert person.id_number[:17] not in text
        assert person.name not in text
        assert person.phone not in text
