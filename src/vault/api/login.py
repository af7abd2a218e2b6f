"""Login, logout, TOTP enrolment and API tokens.

Every way in (a browser login, a token request, a TOTP enrolment) checks the
credentials the same way, in ``verify_credentials``: the address delay and the
account lockout first, then the password (an unknown name costs one Argon2id
verification too), then the TOTP code for the roles that need one. Every failure
gets the same code and message, whatever went wrong, so a caller cannot learn
which part was right.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any
from uuid import UUID

import structlog
from litestar import Request, Response, delete, get, post
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath, JSONBody

from vault.accounts import Account, totp_uri
from vault.api.auth import (
    LOGIN_CSRF_COOKIE,
    Caller,
    authenticated,
    caller_of,
    check_login_csrf,
    expired_cookie,
    session_cookie,
)
from vault.api.context import ApiContext, context_of
from vault.api.errors import NotFound, request_id_of
from vault.api.schemas import EnrolIn, LoginIn, TokenIn, account_out
from vault.api.sessions import SESSION_COOKIE
from vault.api.tokens import token_jurisdiction
from vault.audit import AuditRecord
from vault.errors import AccessDenied, AuthenticationFailed, InvalidValue

log = structlog.get_logger("vault.api.login")

LOGIN_FAILED = ("用户名、口令或动态口令错误。", "The account name, password or TOTP code is wrong.")
CALLER = {"caller": Provide(caller_of, sync_to_thread=False)}


def verify_credentials(  # each argument is one fact of the attempt
    context: ApiContext, name: str, password: str, code: str | None, address: str,
    request_id: str, *, second_factor: bool = True,
) -> Account:
    """Return the account if every check passes; count and audit each failure."""
    throttle = context.throttle
    accounts = context.services.accounts
    try:
        throttle.check(name, address)
        try:
            account = accounts.authenticate(name, password)
        except AuthenticationFailed as error:
            throttle.failed(name, address)
            if error.code == "AUTHENTICATION_FAILED":
                raise AuthenticationFailed(*LOGIN_FAILED, code="LOGIN_FAILED") from None
            raise
        if second_factor and account.needs_totp:
            if not accounts.has_totp(name):
                raise AuthenticationFailed(
                    "该账户需要动态口令但尚未登记：请先登记动态口令。",
                    "This account needs a TOTP code but has none enrolled: enrol one first.",
                    code="TOTP_ENROLMENT_REQUIRED", field="totp",
                )
            if not accounts.verify_totp(account, code or ""):
                throttle.failed(name, address)
                raise AuthenticationFailed(*LOGIN_FAILED, code="LOGIN_FAILED")
    except AuthenticationFailed as error:
        context.services.audit.append(AuditRecord(
            action="login", outcome="denied", request_id=request_id, account_name=name,
            reason=error.code,
        ))
        log.info("login_failed", reason=error.code)
        raise

    throttle.succeeded(name)
    return account


def require_current_password(context: ApiContext, account: Account, request_id: str) -> None:
    """Refuse a session or token to an account whose password must be changed first."""
    if not account.must_change_password:
        return
    context.services.audit.append(AuditRecord(
        action="login", outcome="denied", request_id=request_id, account_name=account.name,
        account_id=account.account_id, reason="PASSWORD_CHANGE_REQUIRED",
    ))
    raise AuthenticationFailed(
        "管理员要求修改口令：请先在网页上或用 vault user passwd 设置新口令。",
        "An administrator requires a new password: set one on the web page or with"
        " vault user passwd first.",
        code="PASSWORD_CHANGE_REQUIRED", field="password",
    )


def _audit(context: ApiContext, account: Account, action: str, request_id: str,
           subject: str | None = None) -> None:
    context.services.audit.append(AuditRecord(
        action=action, outcome="ok", request_id=request_id, account_id=account.account_id,
        account_name=account.name, role=",".join(account.roles), office=account.jurisdiction,
        subject_ids=[subject] if subject else [],
    ))


def _address(request: Request[Any, Any, Any]) -> str:
    # NOTE: behind a reverse proxy this is the proxy's address; the delay then
    # applies to all clients together until the proxy's header is trusted here.
    return request.client.host if request.client else "unknown"


# -- browser login -------------------------------------------------------------


@get("/auth/csrf", sync_to_thread=False)
def login_csrf() -> Response[dict[str, str]]:
    """Issue the CSRF token a browser echoes in ``X-CSRF-Token`` when it logs in."""
    token = secrets.token_urlsafe(32)
    response = Response({"csrf_token": token})
    response.set_cookie(key=LOGIN_CSRF_COOKIE, value=token, path="/", secure=True,
                        httponly=True, samesite="strict", max_age=3600)
    return response


@post("/auth/login", sync_to_thread=True, status_code=200)
def login(request: Request[Any, Any, Any], data: JSONBody[LoginIn]) -> Response[dict[str, Any]]:
    """Log in with password (and TOTP code where the role needs one); start a new session."""
    context = context_of(request)
    check_login_csrf(request)
    request_id = request_id_of(request)
    account = verify_credentials(context, data.username, data.password, data.totp,
                                 _address(request), request_id)
    require_current_password(context, account, request_id)

    # A session id the browser had before is ended, never reused (session fixation).
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        context.sessions.end(previous)
    session = context.sessions.create(account.account_id)
    _audit(context, account, "login", request_id)
    log.info("login_succeeded", account_id=str(account.account_id))

    settings = context.settings
    response = Response({
        "account": account_out(account),
        "csrf_token": session.csrf_token,
        "idle_timeout_seconds": int(settings.idle_timeout.total_seconds()),
        "expires_at": (session.created_at + settings.absolute_timeout).isoformat(),
    })
    response.set_cookie(session_cookie(session.session_id, settings))
    response.set_cookie(expired_cookie(LOGIN_CSRF_COOKIE, settings))
    return response


@post("/auth/logout", guards=[authenticated], dependencies=CALLER, sync_to_thread=True,
      status_code=200)
def logout(
    request: Request[Any, Any, Any], caller: NamedDependency[Caller]
) -> Response[dict[str, bool]]:
    """End the caller's session."""
    context = context_of(request)
    if caller.session is None:
        raise InvalidValue("只有浏览器会话可以注销；API 令牌请吊销。",
                           "Only a browser session can log out; revoke an API token instead.",
                           code="NOT_A_SESSION")
    context.sessions.end(caller.session.session_id)
    _audit(context, caller.account, "logout", request_id_of(request))
    response = Response({"logged_out": True})
    response.set_cookie(expired_cookie(SESSION_COOKIE, context.settings))
    return response


@get("/auth/session", guards=[authenticated], dependencies=CALLER, sync_to_thread=False)
def current_session(caller: NamedDependency[Caller]) -> dict[str, Any]:
    """Return the caller's account and, for a browser session, its CSRF token."""
    return {
        "account": account_out(caller.account),
        "csrf_token": caller.session.csrf_token if caller.session else None,
        "via": "session" if caller.session else "token",
    }


@post("/auth/totp/enrol", sync_to_thread=True, status_code=200)
def enrol_totp(request: Request[Any, Any, Any], data: JSONBody[EnrolIn]) -> dict[str, str]:
    """Enrol a first TOTP secret; allowed only while the account has none."""
    context = context_of(request)
    request_id = request_id_of(request)
    account = verify_credentials(context, data.username, data.password, None,
                                 _address(request), request_id, second_factor=False)
    if not account.needs_totp:
        raise InvalidValue("该账户的角色不需要动态口令。",
                           "The account's roles do not use a TOTP code.",
                           code="TOTP_NOT_REQUIRED", field="username")
    enrolled = context.services.accounts.enrol_totp(account.name)
    assert enrolled.totp_secret is not None  # noqa: S101  # enrol_totp always sets one
    _audit(context, account, "account.totp_enrol", request_id, str(account.account_id))
    return {"otpauth_uri": totp_uri(account.name, enrolled.totp_secret)}


# -- API tokens ------------------------------------------------------------------


@post("/auth/tokens", sync_to_thread=True, status_code=201)
def issue_token(request: Request[Any, Any, Any], data: JSONBody[TokenIn]) -> dict[str, Any]:
    """Issue an API token against full credentials; the token is shown only here."""
    context = context_of(request)
    request_id = request_id_of(request)
    account = verify_credentials(context, data.username, data.password, data.totp,
                                 _address(request), request_id)
    require_current_password(context, account, request_id)
    jurisdiction = token_jurisdiction(account, data.jurisdiction)
    lifetime = min(timedelta(days=data.lifetime_days), context.settings.token_max_lifetime)
    secret, token = context.tokens.issue(account, data.label, lifetime, jurisdiction)
    _audit(context, account, "token.issue", request_id, str(token.token_id))
    return {"token": secret, **token.as_dict()}


@get("/tokens", guards=[authenticated], dependencies=CALLER, sync_to_thread=True)
def list_tokens(request: Request[Any, Any, Any], caller: NamedDependency[Caller]) -> dict[str, Any]:
    """List the caller's own tokens (never the tokens themselves)."""
    tokens = context_of(request).tokens.list_for(caller.account.account_id)
    return {"tokens": [t.as_dict() for t in tokens]}


@delete("/tokens/{token_id:uuid}", guards=[authenticated], dependencies=CALLER,
        sync_to_thread=True, status_code=200)
def revoke_token(
    request: Request[Any, Any, Any], caller: NamedDependency[Caller], token_id: FromPath[UUID]
) -> dict[str, Any]:
    """Revoke a token: one's own, or any token for a system admin."""
    context = context_of(request)
    token = context.tokens.get(token_id)
    if token is None:
        raise NotFound("没有这个令牌。", "No such token.", field="token_id")
    own = token.account_id == caller.account.account_id
    if not own and "system-admin" not in caller.account.roles:
        raise AccessDenied("只能吊销自己的令牌。", "Only your own tokens can be revoked.",
                           code="TOKEN_NOT_OWN", field="token_id")
    context.tokens.revoke(token_id)
    _audit(context, caller.account, "token.revoke", request_id_of(request), str(token_id))
    return {"revoked": str(token_id)}


# -- trivial endpoints -----------------------------------------------------------


@get("/health", sync_to_thread=False)
def health() -> dict[str, str]:
    """Report that the application is up (no authentication, no data)."""
    return {"status": "ok"}


@get("/ping", guards=[authenticated], sync_to_thread=False)
def ping() -> dict[str, bool]:
    """Return a constant after authenticating like every other route (a benchmark baseline)."""
    return {"ok": True}


ROUTES = [login_csrf, login, logout, current_session, enrol_totp, issue_token, list_tokens,
          revoke_token, health, ping]
