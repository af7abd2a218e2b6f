"""Login, logout, password change and the language switch.

The checks are the API's: ``verify_credentials`` (address delay, lockout,
password, TOTP code for the roles that need one), the pre-login CSRF cookie, and
the session store. Only the carrier differs: a form field in place of a JSON body
and a header.
"""

from __future__ import annotations

import secrets
from typing import Any

import structlog
from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.params import FromPath

from vault.accounts import Account
from vault.api.auth import (
    CSRF_HEADER,
    LOGIN_CSRF_COOKIE,
    Caller,
    check_login_csrf,
    expired_cookie,
    session_cookie,
)
from vault.api.context import ApiContext, context_of
from vault.api.errors import CsrfFailed, request_id_of
from vault.api.login import verify_credentials
from vault.api.sessions import SESSION_COOKIE
from vault.audit import AuditRecord
from vault.errors import AuthenticationFailed, Problem
from vault.passwords import check_new_password
from vault.web.i18n import LANGUAGE_COOKIE, language_of
from vault.web.pages import (
    BEFORE_PASSWORD_CHANGE,
    Form,
    caller_of,
    form_value,
    page,
    redirect,
    signed_in,
)

log = structlog.get_logger("vault.web")

_LOGIN_TITLE = ("登录", "Log in")
_PASSWORD_TITLE = ("修改口令", "Change password")
# Notices a redirect may ask the next page to show, by key; nothing else is echoed.
NOTICES = {
    "logged_out": ("您已退出登录。", "You have logged out."),
    "password_changed": ("口令已修改。", "Your password has been changed."),
}


class _FormEcho:
    """The pre-login CSRF check's view of a login form: its cookie and its echoed field."""

    def __init__(self, request: Request[Any, Any, Any], token: str) -> None:
        self.cookies = request.cookies
        self.headers = {CSRF_HEADER: token}


def _login_page(
    request: Request[Any, Any, Any], *, status: int = 200, error: Problem | None = None,
    username: str = "",
) -> Any:
    """Render the login form with a fresh pre-login CSRF token (a double-submit cookie)."""
    token = secrets.token_urlsafe(32)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    rendered = page(
        request, "login.html", _LOGIN_TITLE, status=status, caller=None,
        login_token=token, username=username,
        error=error.message(language_of(request)) if error else None,
        error_field=error.field if error else None, notice=notice,
    )
    rendered.cookies.append(Cookie(
        key=LOGIN_CSRF_COOKIE, value=token, path="/", secure=True, httponly=True,
        samesite="strict", max_age=3600,
    ))
    return rendered


@get("/login", sync_to_thread=False)
def login_form(request: Request[Any, Any, Any]) -> Any:
    """Show the login form."""
    return _login_page(request)


@post("/login", sync_to_thread=True, status_code=303)
def login(request: Request[Any, Any, Any], data: Form) -> Any:
    """Check the credentials as the API does, then start a session and go home."""
    context = context_of(request)
    username = form_value(data, "username", 64)
    try:
        check_login_csrf(_FormEcho(request, form_value(data, "_csrf_token")))  # type: ignore[arg-type]  # the check reads only .cookies and .headers
    except CsrfFailed:
        return _login_page(request, status=403, username=username, error=Problem(
            "CSRF_FAILED", None, "登录页面已过期，请重新输入后登录。",
            "The login page has expired; enter your details again and log in."))

    address = request.client.host if request.client else "unknown"
    request_id = request_id_of(request)
    try:
        account = verify_credentials(
            context, username, form_value(data, "password", 1024),
            form_value(data, "totp", 16) or None, address, request_id,
        )
    except AuthenticationFailed as error:
        status = 429 if error.code == "LOGIN_THROTTLED" else (
            423 if error.code == "ACCOUNT_LOCKED" else 401)
        return _login_page(request, status=status, username=username, error=error.problem())

    response = redirect("/password" if account.must_change_password else "/")
    for cookie in _start_session(request, context, account, request_id):
        response.cookies.append(cookie)
    return response


def _start_session(
    request: Request[Any, Any, Any], context: ApiContext, account: Account, request_id: str
) -> list[Cookie]:
    # A session id the browser had before is ended, never reused (session fixation).
    previous = request.cookies.get(SESSION_COOKIE)
    if previous:
        context.sessions.end(previous)
    session = context.sessions.create(account.account_id)
    _audit(context, account, "login", request_id)
    log.info("login_succeeded", account_id=str(account.account_id), via="web")
    return [session_cookie(session.session_id, context.settings),
            expired_cookie(LOGIN_CSRF_COOKIE, context.settings)]


def _audit(context: ApiContext, account: Account, action: str, request_id: str) -> None:
    context.services.audit.append(AuditRecord(
        action=action, outcome="ok", request_id=request_id, account_id=account.account_id,
        account_name=account.name, role=",".join(account.roles), office=account.jurisdiction,
        subject_ids=[str(account.account_id)] if action != "login" else [],
    ))


@post("/logout", guards=[signed_in], sync_to_thread=True, status_code=303,
      opt={BEFORE_PASSWORD_CHANGE: True})
def logout(request: Request[Any, Any, Any]) -> Any:
    """End the session and return to the login page."""
    context = context_of(request)
    caller = caller_of(request)
    assert caller.session is not None  # noqa: S101  # pages accept sessions only
    context.sessions.end(caller.session.session_id)
    _audit(context, caller.account, "logout", request_id_of(request))
    response = redirect("/login?notice=logged_out")
    response.cookies.append(expired_cookie(SESSION_COOKIE, context.settings))
    return response


# -- password ----------------------------------------------------------------------


@get("/password", guards=[signed_in], sync_to_thread=False,
     opt={BEFORE_PASSWORD_CHANGE: True})
def password_form(request: Request[Any, Any, Any]) -> Any:
    """Show the password change form (forced after a reset or a new account)."""
    return page(request, "password.html", _PASSWORD_TITLE, error=None, error_field=None,
                forced=caller_of(request).account.must_change_password)


@post("/password", guards=[signed_in], sync_to_thread=True, status_code=303,
      opt={BEFORE_PASSWORD_CHANGE: True})
def change_password(request: Request[Any, Any, Any], data: Form) -> Any:
    """Check the current password, then set the new one."""
    context = context_of(request)
    caller: Caller = caller_of(request)
    account = caller.account
    language = language_of(request)
    request_id = request_id_of(request)
    new = form_value(data, "new_password", 1024)

    def refused(problem: Problem, status: int = 400) -> Any:
        return page(request, "password.html", _PASSWORD_TITLE, status=status,
                    error=problem.message(language), error_field=problem.field,
                    forced=account.must_change_password)

    if new != form_value(data, "confirm_password", 1024):
        return refused(Problem("PASSWORD_MISMATCH", "confirm_password",
                               "两次输入的新口令不一致，请重新输入。",
                               "The two new passwords differ; type them again."))
    try:
        verify_credentials(context, account.name, form_value(data, "current_password", 1024),
                           None, request.client.host if request.client else "unknown",
                           request_id, second_factor=False)
    except AuthenticationFailed as error:
        problem = error.problem()
        return refused(Problem(problem.code, "current_password",
                               "当前口令不正确，请重新输入。" if problem.code == "LOGIN_FAILED"
                               else problem.message_zh,
                               "The current password is wrong; type it again."
                               if problem.code == "LOGIN_FAILED" else problem.message_en), 401)
    try:
        check_new_password(new)
    except AuthenticationFailed as error:
        problem = error.problem()
        return refused(Problem(problem.code, "new_password", problem.message_zh,
                               problem.message_en))

    context.services.accounts.change_password(account.name, new)
    _audit(context, account, "account.change_password", request_id)
    return redirect("/?notice=password_changed")


# -- language ----------------------------------------------------------------------


@get("/language/{choice:str}", sync_to_thread=False)
def switch_language(request: Request[Any, Any, Any], choice: FromPath[str]) -> Response[Any]:
    """Switch the page language for this browser session and go back to the page."""
    back = request.query_params.get("next", "/")
    # Only a path on this site: "//host" or a scheme would make this an open redirect.
    if not back.startswith("/") or back.startswith("//") or "\\" in back:
        back = "/"
    response = redirect(back)
    response.cookies.append(Cookie(
        key=LANGUAGE_COOKIE, value="en" if choice == "en" else "zh", path="/", secure=True,
        httponly=True, samesite="lax",
    ))
    return response


ROUTES = [login_form, login, logout, password_form, change_password, switch_language]
