"""The per-application context that every API handler works with."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar.connection import ASGIConnection

from vault.access import Gate
from vault.api.logins import LoginThrottle
from vault.api.sessions import SessionStore
from vault.api.settings import ApiSettings
from vault.api.tokens import TokenStore
from vault.bootstrap import Services


@dataclass(frozen=True, slots=True)
class ApiContext:
    """The services, the enforcement point and the login stores of one application."""

    services: Services
    gate: Gate
    settings: ApiSettings
    throttle: LoginThrottle
    sessions: SessionStore
    tokens: TokenStore


def context_of(connection: ASGIConnection[Any, Any, Any, Any]) -> ApiContext:
    context: ApiContext = connection.app.state["vault"]
    return context
