"""The one place where errors become HTTP responses.

Every error body has the same shape: a stable ``code``, the ``message`` in the
request's language (Chinese unless ``?lang=en`` or an ``Accept-Language`` that
prefers English selects English), both ``message_zh`` and ``message_en``, the
``field`` it concerns, the ``value`` when it is not secret, and the ``request_id``
that the access log and the audit trail carry too.

Nothing else leaves: no stack trace, no library message (a validation message can
quote the input, and the input can be an ID number), no exception text of an
unexpected error.
"""

from __future__ import annotations

import re
from typing import Any

import structlog
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException

from vault.errors import (
    AccessDenied,
    AccessError,
    AuthenticationFailed,
    DomainError,
    KeysError,
    Language,
    PolicyError,
    Problem,
    StorageError,
    VaultError,
    WorkbookError,
)

log = structlog.get_logger("vault.api")


class NotFound(VaultError):
    default_code = "NOT_FOUND"


class Unauthenticated(AuthenticationFailed):
    """No valid session or token came with a request that needs one."""

    default_code = "UNAUTHENTICATED"


class LoginThrottled(AuthenticationFailed):
    """The client address failed too often and must wait; ``retry_after`` is in seconds."""

    default_code = "LOGIN_THROTTLED"

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            f"登录失败次数过多，请 {retry_after} 秒后再试。",
            f"Too many failed logins; try again in {retry_after} seconds.",
        )
        self.retry_after = retry_after


class AccountLocked(AuthenticationFailed):
    default_code = "ACCOUNT_LOCKED"


class UnsupportedMediaType(VaultError):
    default_code = "UNSUPPORTED_MEDIA_TYPE"


class CsrfFailed(AccessDenied):
    default_code = "CSRF_FAILED"

    def __init__(self) -> None:
        super().__init__(
            "缺少或错误的 CSRF 令牌：请在 X-CSRF-Token 请求头中提交登录时得到的令牌。",
            "The CSRF token is missing or wrong: send the token from the login response"
            " in the X-CSRF-Token header.",
            field="X-CSRF-Token",
        )


# Most specific first: the first class an error is an instance of decides.
_STATUS: tuple[tuple[type[VaultError], int], ...] = (
    (LoginThrottled, 429),
    (AccountLocked, 423),
    (AuthenticationFailed, 401),
    (AccessDenied, 403),
    (AccessError, 403),
    (NotFound, 404),
    (UnsupportedMediaType, 415),
    (WorkbookError, 422),
    (DomainError, 400),
    (StorageError, 503),
    (KeysError, 500),
    (PolicyError, 500),
    (VaultError, 500),
)

# Litestar's own errors, by status: our code and messages replace the library's.
_HTTP: dict[int, tuple[str, str, str]] = {
    400: ("REQUEST_INVALID", "请求格式不正确。", "The request is malformed."),
    401: ("UNAUTHENTICATED", "需要登录。", "Authentication is required."),
    403: ("FORBIDDEN", "无权执行此操作。", "This operation is not allowed."),
    404: ("NOT_FOUND", "请求的地址不存在。", "No such resource."),
    405: ("METHOD_NOT_ALLOWED", "此地址不支持该请求方法。",
          "This resource does not support the request method."),
    406: ("NOT_ACCEPTABLE", "无法提供所要求的格式。", "The requested format is not available."),
    415: ("UNSUPPORTED_MEDIA_TYPE", "不支持的请求内容类型。", "The content type is not supported."),
    429: ("TOO_MANY_REQUESTS", "请求过于频繁，请稍后再试。", "Too many requests; try again later."),
}


def status_of(error: VaultError) -> int:
    """Return the HTTP status for a registry error."""
    for kind, status in _STATUS:
        if isinstance(error, kind):
            return status
    return 500


def language_of(request: Request[Any, Any, Any]) -> Language:
    """Return ``en`` when ``?lang=en`` or the first Accept-Language entry is English."""
    chosen = request.query_params.get("lang")
    if chosen:
        return "en" if chosen.lower().startswith("en") else "zh"
    accepted = request.headers.get("accept-language", "")
    first = accepted.split(",")[0].strip().lower()
    return "en" if first.startswith("en") else "zh"


def request_id_of(request: Request[Any, Any, Any]) -> str:
    return str(request.scope.get("state", {}).get("request_id", ""))


def problem_response(
    request: Request[Any, Any, Any], problem: Problem, status: int,
    headers: dict[str, str] | None = None,
) -> Response[dict[str, Any]]:
    """Return the error body for ``problem`` with ``status``."""
    language = language_of(request)
    body = {
        "code": problem.code,
        "message": problem.message(language),
        "message_zh": problem.message_zh,
        "message_en": problem.message_en,
        "field": problem.field,
        "value": problem.value,
        "request_id": request_id_of(request),
    }
    return Response(body, status_code=status, headers=headers)


def vault_error_handler(request: Request[Any, Any, Any], error: VaultError) -> Response[Any]:
    status = status_of(error)
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, LoginThrottled) else None
    if status >= 500:
        log.error("request_failed", error_code=error.code, error_type=type(error).__name__)
    return problem_response(request, error.problem(), status, headers)


def http_error_handler(request: Request[Any, Any, Any], error: HTTPException) -> Response[Any]:
    status = error.status_code
    if status == 413:
        return problem_response(request, _too_large(request), 413)
    if isinstance(error, ValidationException):
        return problem_response(request, _invalid(error), status,
                                dict(error.headers or {}) or None)
    code, zh, en = _HTTP.get(status, (f"HTTP_{status}", "请求失败。", "The request failed."))
    if status >= 500:
        log.error("request_failed", error_code=code, error_type=type(error).__name__)
    return problem_response(request, Problem(code, None, zh, en), status,
                            dict(error.headers or {}) or None)


def unexpected_error_handler(request: Request[Any, Any, Any], error: Exception) -> Response[Any]:
    # The text of an unexpected exception may quote a value (a library echoing its
    # input), so only the type is logged and nothing of it is returned.
    log.error("unexpected_error", error_type=type(error).__name__)
    return problem_response(request, Problem(
        "INTERNAL_ERROR", None,
        "服务器内部错误。请将请求编号告知管理员。",
        "Internal server error. Give the request id to an administrator.",
    ), 500)


def _too_large(request: Request[Any, Any, Any]) -> Problem:
    handler = request.scope.get("route_handler")
    resolve = getattr(handler, "resolve_request_max_body_size", None)
    limit = resolve() if resolve is not None else None
    size = format_size(limit) if limit else ""
    return Problem(
        "PAYLOAD_TOO_LARGE", None,
        f"上传的内容太大，超过了 {size} 的上限。" if size else "上传的内容太大。",
        f"The request body is larger than the limit of {size}." if size
        else "The request body is too large.",
    )


def format_size(size: int) -> str:
    """Return ``size`` bytes in the largest binary unit: ``512 B``, ``64 KiB``, ``20 MiB``."""
    if size < 1024:
        return f"{size} B"
    if size < 1024 * 1024:
        return f"{size / 1024:g} KiB"
    return f"{size / 1024 / 1024:g} MiB"


# A field name the client sent back to it only when it looks like one of ours: an
# unknown key in a JSON body could be anything, an ID number included.
_FIELD_NAME = re.compile(r"^[a-z][a-z0-9_.]{0,40}$")
# msgspec (0.18 and later) reports an unexpected key of a struct with
# forbid_unknown_fields as "Object contains unknown field `name`", followed by
# " - at `$.path`" when the object is nested.
_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<name>[^`]*)`")


def _invalid(error: ValidationException) -> Problem:
    """Return the problem for a body or parameter that failed validation, without its value."""
    first = error.extra[0] if isinstance(error.extra, list) and error.extra else None
    if not isinstance(first, dict):
        return Problem("REQUEST_INVALID", None, *_HTTP[400][1:])

    unknown = _UNKNOWN_FIELD.match(str(first.get("message") or ""))
    if unknown is not None:
        name = _field_name(unknown["name"])
        if name is None:
            return Problem("REQUEST_UNKNOWN_FIELD", None,
                           "请求中含有未知字段，请删去它。",
                           "The request has an unknown field; remove it.")
        return Problem("REQUEST_UNKNOWN_FIELD", name, f"请求中含有未知字段 {name}，请删去它。",
                       f"The request has an unknown field {name}; remove it.")

    field = _field_name(str(first.get("key") or ""))
    if field is None:
        return Problem("REQUEST_INVALID", None, *_HTTP[400][1:])
    return Problem("REQUEST_INVALID", field, f"请求中的 {field} 缺失或格式不正确。",
                   f"The request's {field} is missing or malformed.")


def _field_name(candidate: str) -> str | None:
    return candidate if _FIELD_NAME.match(candidate) else None


EXCEPTION_HANDLERS: dict[type[Exception] | int, Any] = {
    VaultError: vault_error_handler,
    HTTPException: http_error_handler,
    Exception: unexpected_error_handler,
}
