"""The parts every page shares: the signed-in guard, the page frame, the menu, error pages.

A page request is identified by the API's own ``identify``: the same session
store, the same timeouts and the same CSRF token. A browser form cannot send the
``X-CSRF-Token`` header, so a form carries the session's token in a hidden
``_csrf_token`` field, and the guard hands that field to ``identify`` as the
header it checks. Pages accept sessions only; a bearer token gets no pages.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Annotated, Any, cast

import anyio.to_thread
import structlog
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from litestar import Request, Response
from litestar.connection import ASGIConnection
from litestar.enums import MediaType, RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.template import TemplateConfig
from litestar.types import ASGIApp, Receive, Scope, Send

from vault.accounts import ROLE_LABELS
from vault.api.auth import CSRF_HEADER, SAFE_METHODS, Caller, expired_cookie, identify
from vault.api.context import ApiContext, context_of
from vault.api.errors import CsrfFailed, Unauthenticated, request_id_of, status_of
from vault.api.middleware import PAGE_POLICY_KEY
from vault.api.sessions import SESSION_COOKIE
from vault.errors import Language, Problem, VaultError
from vault.web.i18n import day, language_of, number, percent, t, text, when

log = structlog.get_logger("vault.web")

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
CSRF_FIELD = "_csrf_token"
# A submitted URL-encoded form; a repeated field (checkboxes) arrives as a list.
Form = Annotated[dict[str, Any], Body(media_type=RequestEncodingType.URL_ENCODED)]
# Route option: the page stays open to an account that must change its password first.
BEFORE_PASSWORD_CHANGE = "before_password_change"  # noqa: S105  # a route option name

# Pages load only the registry's own stylesheet and scripts; nothing from elsewhere.
PAGE_POLICY = (
    "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self';"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)


def _environment() -> Environment:
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        # Every value is escaped, so a name holding "<script>" shows as text.
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.globals["t"] = t
    environment.filters.update(when=when, day=day, number=number, percent=percent)
    return environment


TEMPLATE_CONFIG = TemplateConfig(instance=JinjaTemplateEngine.from_environment(_environment()))


class PasswordChangeRequired(VaultError):
    """The account must change its password before it may use other pages."""

    default_code = "PASSWORD_CHANGE_REQUIRED"


def page_policy_middleware(app: ASGIApp) -> ASGIApp:
    """Middleware: ask the API's header middleware for the page policy on every page."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        scope.setdefault("state", {})[PAGE_POLICY_KEY] = PAGE_POLICY
        await app(scope, receive, send)

    return middleware


# -- who is asking -------------------------------------------------------------


async def signed_in(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: identify the session (and check a form's CSRF token) through the API."""
    context = context_of(connection)
    method = str(connection.scope.get("method", ""))
    cookies = dict(connection.cookies)
    headers: dict[str, str] = {}
    if method not in SAFE_METHODS:
        if not cookies.get(SESSION_COOKIE):
            raise Unauthenticated("需要登录。", "Authentication is required.")
        # Guards of HTTP routes receive the request; the parsed form is cached, so the
        # handler reads it again without a second parse.
        form = await cast(Request[Any, Any, Any], connection).form()
        token = form.get(CSRF_FIELD)
        if isinstance(token, str):
            headers[CSRF_HEADER] = token
    caller = await anyio.to_thread.run_sync(partial(identify, context, headers, cookies, method))
    connection.state.caller = caller
    if caller.account.must_change_password and not handler.opt.get(BEFORE_PASSWORD_CHANGE):
        raise PasswordChangeRequired("请先修改口令。", "Change your password first.")


def caller_of(request: Request[Any, Any, Any]) -> Caller:
    caller: Caller = request.state.caller
    return caller


def form_value(form: Mapping[str, Any], key: str, limit: int = 200) -> str:
    """Return one text field of a submitted form, trimmed and cut to ``limit`` characters."""
    value = form.get(key)
    if isinstance(value, list):
        value = value[0] if value else ""
    return value.strip()[:limit] if isinstance(value, str) else ""


def form_values(form: Mapping[str, Any], key: str) -> list[str]:
    """Return every value of a repeated form field (checkboxes)."""
    value = form.get(key)
    if value is None:
        return []
    items = value if isinstance(value, list) else [value]
    return [item.strip() for item in items if isinstance(item, str) and item.strip()]


# -- the page frame --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MenuItem:
    path: str
    label_zh: str
    label_en: str


# Each menu entry and the action the policy must allow for it to show.
_MENU = (
    ("person.search", MenuItem("/residents", "居民查询", "Residents")),
    ("person.import", MenuItem("/imports", "导入登记表", "Import")),
    ("audit.read", MenuItem("/audit", "查询记录", "Look-up records")),
    ("policy.read", MenuItem("/policies", "访问策略", "Policies")),
    ("account.manage", MenuItem("/accounts", "账户管理", "Accounts")),
)


def menu_for(context: ApiContext, caller: Caller) -> list[MenuItem]:
    """Return the menu entries the policy allows the caller, home first."""
    items = [MenuItem("/", "首页", "Home")]
    for action, item in _MENU:
        if context.gate.allows(caller.account, action) is None:
            items.append(item)
    return items


def page(
    request: Request[Any, Any, Any],
    template: str,
    title: tuple[str, str],
    *,
    status: int = 200,
    caller: Caller | None = None,
    **values: Any,
) -> Template:
    """Render ``template`` in the page frame; ``title`` is the Chinese and English title."""
    language = language_of(request)
    context = context_of(request)
    if caller is None:
        caller = request.state.get("caller") if hasattr(request, "state") else None
    account = caller.account if caller else None
    roles = account.roles if account else ()
    frame = {
        "lang": language,
        "title": text(language, *title),
        "account": account,
        "role_labels": [ROLE_LABELS[role] if language == "zh" else role for role in roles],
        "csrf_token": caller.session.csrf_token if caller and caller.session else "",
        "csrf_field": CSRF_FIELD,
        "menu": menu_for(context, caller) if caller else [],
        "path": request.url.path,
        "request_id": request_id_of(request),
    }
    return Template(template_name=template, context={**frame, **values}, status_code=status,
                    media_type=MediaType.HTML)


def redirect(path: str) -> Redirect:
    # 303 so that the browser follows a form POST with a GET.
    return Redirect(path=path, status_code=303)


# -- error pages -------------------------------------------------------------------

# The next step shown under an error's own message, by status.
_NEXT_STEP = {
    400: ("请返回上一页，按提示修改后再提交。",
          "Go back, correct what the message names and submit again."),
    403: ("如确需此项功能或数据，请联系系统管理员调整您的角色或管辖范围。",
          "If you need this, ask a system administrator to change your roles or jurisdiction."),
    404: ("请检查地址，或从首页重新进入。",
          "Check the address, or start again from the home page."),
    413: ("请拆分文件后分批上传。", "Split the file and upload the parts one by one."),
    422: ("请按提示检查工作簿后重新上传。",
          "Check the workbook as the message says and upload it again."),
    500: ("请稍后再试；如仍失败，请把下面的请求编号告知系统管理员。",
          "Try again later; if it fails again, give the request id below to a system"
          " administrator."),
}


def error_page(request: Request[Any, Any, Any], problem: Problem, status: int) -> Template:
    language: Language = language_of(request)
    step = _NEXT_STEP.get(status) or _NEXT_STEP[500 if status >= 500 else 400]
    return page(request, "error.html", ("出错了", "Something went wrong"), status=status,
                message=problem.message(language), next_step=text(language, *step),
                code=problem.code)


def _login_redirect(_request: Request[Any, Any, Any]) -> Response[Any]:
    return redirect("/login")


def vault_error(request: Request[Any, Any, Any], error: VaultError) -> Response[Any]:
    if isinstance(error, PasswordChangeRequired):
        return redirect("/password")
    if isinstance(error, Unauthenticated):
        if error.code != "SESSION_EXPIRED":
            return _login_redirect(request)
        expired = page(request, "expired.html", ("会话已结束", "Session ended"), status=401)
        expired.cookies.append(expired_cookie(SESSION_COOKIE, context_of(request).settings))
        return expired
    if isinstance(error, CsrfFailed):
        return error_page(request, Problem(
            error.code, None,
            "表单已过期或不是从本系统页面提交的。请刷新页面后重新提交。",
            "The form has expired or did not come from this registry's pages. Reload the"
            " page and submit it again.",
        ), 403)
    return error_page(request, error.problem(), status_of(error))


def http_error(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    messages = {
        404: ("没有这个页面。", "There is no such page."),
        405: ("此页面不接受这种请求。", "This page does not accept this kind of request."),
        413: ("上传的文件太大。", "The uploaded file is too large."),
    }
    zh, en = messages.get(status, ("请求格式不正确。", "The request is malformed."))
    return error_page(request, Problem(f"HTTP_{status}", None, zh, en), status)


def unexpected_error(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    # As in the API: the text of an unexpected exception may quote a value, so only
    # its type is logged and nothing of it is shown.
    log.error("page_failed", error_type=type(error).__name__)
    return error_page(request, Problem(
        "INTERNAL_ERROR", None, "服务器内部错误。", "Internal server error."), 500)


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    VaultError: vault_error,
    HTTPException: http_error,
    Exception: unexpected_error,
}
