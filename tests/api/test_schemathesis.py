"""Schemathesis against the served OpenAPI document, authenticated: no server error.

Every operation gets 30 generated requests (Hypothesis), sent with a clerk's API token
to an application over an imported township. The only check is that no response has
a 5xx status.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from litestar import Litestar
from schemathesis import Case
from schemathesis.checks import not_a_server_error
from schemathesis.openapi import from_asgi
from tests.api.conftest import VILLAGE_A, make_user

from vault.api.tokens import TokenStore
from vault.bootstrap import Services
from vault.cli.township import Resident


@pytest.fixture
def api_schema(app: Litestar, township: list[Resident]) -> Iterator[object]:
    yield from_asgi("/api/v1/schema/openapi.json", app)


@pytest.fixture
def token(services: Services) -> str:
    clerk = make_user(services, "clerk-town", "clerk", jurisdiction=VILLAGE_A[:9]).account
    secret, _ = TokenStore(services.store.db, services.clock).issue(
        clerk, "schemathesis", timedelta(days=1), clerk.jurisdiction)
    return secret


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
def test_api_no_server_error(case: Case, token: str) -> None:
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"},
                           checks=[not_a_server_error])

