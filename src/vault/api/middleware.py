"""ASGI middleware: a request id, the access log and the security headers.

The access log line of a request names the method, the route template that matched
(``/api/v1/persons/{person_id:uuid}``, never the path with its values), the status,
the duration and a salted hash of the client address. It never holds the address
itself or a request body. A path that matched no route is logged with every segment
that could hold personal data replaced (see ``loggable_path``). Residents are
searched with a POST body all the same: an ID number in a URL would land in every
proxy's log.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from typing import Any
from uuid import uuid4

import structlog
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

access_log = structlog.get_logger("vault.api.access")

# A locked-down policy for a JSON API: no scripts, no frames, no plugins. Web pages
# that need more name their own policy in the scope state (PAGE_POLICY_KEY).
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cross-origin-opener-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=()",
    # Responses may hold personal data: no browser or proxy may keep them.
    "cache-control": "no-store",
}
HSTS = "max-age=31536000; includeSubDomains"
# Scope-state key under which a web page names the Content-Security-Policy it needs.
PAGE_POLICY_KEY = "content_security_policy"


class RequestContext:
    """Give each HTTP request an id, log it once, and add the security headers."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        # A per-process salt: the hashes link one client's requests within a run
        # but cannot be reversed by hashing every IPv4 address.
        self._salt = os.urandom(16)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return

        request_id = uuid4().hex
        scope.setdefault("state", {})["request_id"] = request_id
        structlog.contextvars.bind_contextvars(request_id=request_id)
        status = {"code": 500}
        started = time.perf_counter()
        tls = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                headers = MutableScopeHeaders.from_message(message)
                for name, value in SECURITY_HEADERS.items():
                    headers[name] = value
                # Web pages (vault.web) load their own stylesheet and script, so they
                # send a wider policy of their own; everything else keeps the strict one.
                page_policy = scope.get("state", {}).get(PAGE_POLICY_KEY)
                if page_policy:
                    headers["content-security-policy"] = page_policy
                # HSTS means something only over TLS; over plain http a browser ignores it.
                if tls:
                    headers["strict-transport-security"] = HSTS
                headers["x-request-id"] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            # Litestar sets the template once routing succeeds; 404 and 405 have none.
            route = scope.get("path_template")
            where = {"route": route} if route else {
                "route": None, "path": loggable_path(str(scope.get("path", ""))),
            }
            access_log.info(
                "http_request",
                method=scope.get("method"),
                **where,
                status=status["code"],
                duration_ms=round((time.perf_counter() - started) * 1000, 1),
                client=self._client_hash(scope),
            )
            structlog.contextvars.unbind_contextvars("request_id")

    def _client_hash(self, scope: Scope) -> str | None:
        client: Any = scope.get("client")
        if not client:
            return None
        return hmac.new(self._salt, str(client[0]).encode(), hashlib.sha256).hexdigest()[:16]


# A path segment kept in the log of an unmatched request: plain ASCII with no run of
# six or more digits, which rules out ID numbers, phone numbers and Chinese names.
_PLAIN_SEGMENT = re.compile(r"[A-Za-z0-9._-]*")
_LONG_DIGITS = re.compile(r"\d{6,}")
REDACTED_SEGMENT = "[redacted]"


def loggable_path(path: str) -> str:
    """Return ``path`` with every segment that could hold personal data replaced.

    NOTE: a name written in pinyin (``/luorui``) is plain ASCII and stays.
    """
    segments = [
        segment if _PLAIN_SEGMENT.fullmatch(segment) and not _LONG_DIGITS.search(segment)
        else REDACTED_SEGMENT
        for segment in path.split("/")
    ]
    return "/".join(segments)
