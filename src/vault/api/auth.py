"""Caller identification: sessions, bearer tokens, the CSRF check, and the guards built on them.

A request authenticates in one of two ways. A department system sends
``Authorization: Bearer <token>``; a browser sends the session cookie. Only the
cookie is sent by a browser on its own, so only cookie requests need the CSRF
check: every request with a method other than GET, HEAD or OPTIONS must then echo
the session's CSRF token in ``X-CSRF-Token``. A request that carries a bearer
token is judged by the token alone and its cookies are ignored.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, replace
from functools import partial
from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers.base import BaseRouteHandler

from vault.accounts import ROLE_LABELS, Account
from vault.api.context import ApiContext, context_of
from vault.api.errors import CsrfFailed, Unauthenticated
from vault.api.sessions import SESSION_COOKIE, Session
from vault.api.settings import ApiSettings
from vault.api.tokens import ApiToken
from vault.errors import AccessDenied

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
# The token a browser fetches before login and echoes with it (double submit), so
# that another site cannot log a browser into an account of its choosing.
LOGIN_CSRF_COOKIE = "__Host-vault-login-csrf"
# Route option that marks a handler touching personal data; the route-table test
# checks that each such route has the ``authenticated`` guard.
PERSONAL_DATA = "personal_data"


@dataclass(frozen=True, slots=True)
class Caller:
    """The authenticated account behind a request and how it authenticated.

    For a token, ``account`` carries the token's jurisdiction and department in
    place of the account's own, so that every decision applies the token's scope.
    """

    account: Account
    session: Session | None = None
    token: ApiToken | None = None


def identify(context: ApiContext, headers: Any, cookies: dict[str, str], method: str) -> Caller:
    """Return the caller of a request or raise ``Unauthenticated`` or ``CsrfFailed``."""
    authorization = headers.get("authorization")
    if authorization:
        return _by_token(context, authorization)

    session_id = cookies.get(SESSION_COOKIE)
    if not session_id:
        raise _unauthenticated()
    session = context.sessions.find(session_id)
    if session is None:
        raise Unauthenticated(
            "会话已过期或已注销，请重新登录。",
            "The session has expired or was ended; log in again.",
            code="SESSION_EXPIRED",
        )
    account = context.services.accounts.find_by_id(session.account_id)
    if account is None or account.disabled:
        context.sessions.end(session_id)
        raise _unauthenticated()
    if method not in SAFE_METHODS and not _same(headers.get(CSRF_HEADER), session.csrf_token):
        raise CsrfFailed
    return Caller(account, session=session)


def _by_token(context: ApiContext, authorization: str) -> Caller:
    scheme, _, secret = authorization.partition(" ")
    token = context.tokens.find(secret.strip()) if scheme.lower() == "bearer" else None
    account = context.services.accounts.find_by_id(token.account_id) if token else None
    if token is None or account is None or account.disabled:
        raise Unauthenticated(
            "API 令牌无效、已过期或已吊销。",
            "The API token is invalid, expired or revoked.",
            code="TOKEN_INVALID", field="Authorization",
        )
    scoped = replace(account, jurisdiction=token.jurisdiction, department=token.department)
    return Caller(scoped, token=token)


def _same(offered: str | None, expected: str) -> bool:
    return offered is not None and hmac.compare_digest(offered.encode(), expected.encode())


def _unauthenticated() -> Unauthenticated:
    return Unauthenticated(
        "需要登录：请先登录，或在 Authorization 请求头中提供 API 令牌。",
        "Authentication is required: log in, or send an API token in the Authorization header.",
    )


def check_login_csrf(connection: ASGIConnection[Any, Any, Any, Any]) -> None:
    """Raise ``CsrfFailed`` unless the login request echoes its pre-login CSRF cookie."""
    cookie = connection.cookies.get(LOGIN_CSRF_COOKIE)
    if not cookie or not _same(connection.headers.get(CSRF_HEADER), cookie):
        raise CsrfFailed


# -- guards -------------------------------------------------------------------


async def authenticated(
    connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler
) -> None:
    """Guard: identify the caller (in a worker thread, because storage is blocking)."""
    context = context_of(connection)
    caller = await anyio.to_thread.run_sync(partial(
        identify, context, connection.headers, dict(connection.cookies),
        str(connection.scope.get("method", "")),
    ))
    connection.state.caller = caller


def role_required(role: str) -> Any:
    """Return a guard that admits only callers holding ``role``; use after ``authenticated``."""

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        caller: Caller = connection.state.caller
        if role not in caller.account.roles:
            raise AccessDenied(
                f"此操作需要{ROLE_LABELS[role]}角色。", f"This operation needs the {role} role.",
                code="ROLE_REQUIRED", value=role,
            )

    guard.__name__ = f"role_required_{role.replace('-', '_')}"
    return guard


def caller_of(request: Request[Any, Any, Any]) -> Caller:
    """Dependency: the caller the ``authenticated`` guard identified."""
    caller: Caller = request.state.caller
    return caller


def session_cookie(session_id: str, settings: ApiSettings) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE, value=session_id, path="/", secure=settings.cookie_secure,
        httponly=True, samesite="strict",
        max_age=int(settings.absolute_timeout.total_seconds()),
    )


def expired_cookie(name: str, settings: ApiSettings) -> Cookie:
    return Cookie(key=name, value="", path="/", secure=settings.cookie_secure, httponly=True,
                  samesite="strict", max_age=0)
