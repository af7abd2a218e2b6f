"""The guard that admits a JSON request body only under the JSON content type.

Litestar decodes a handler's JSON body whatever ``Content-Type`` the request names,
so a ``text/plain`` body (which a browser form or ``fetch`` may send to another
site without a CORS preflight) would otherwise be parsed as JSON.
"""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import RequestEncodingType
from litestar.handlers.base import BaseRouteHandler

from vault.api.errors import UnsupportedMediaType

JSON_MEDIA_TYPE = RequestEncodingType.JSON.value


def json_content_type(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: raise ``UnsupportedMediaType`` unless a JSON body is sent as ``application/json``.

    Parameters such as ``charset=utf-8`` are allowed. Handlers without a JSON body
    (no ``data`` parameter, or a form or multipart body) pass.
    """
    data = handler.parsed_data_field
    if data is None:
        return
    media_type = getattr(data.kwarg_definition, "media_type", RequestEncodingType.JSON)
    if media_type != RequestEncodingType.JSON:
        return
    sent = connection.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if sent != JSON_MEDIA_TYPE:
        raise UnsupportedMediaType(
            "不支持的请求内容类型：请求体须为 JSON，请发送 Content-Type: application/json。",
            "Unsupported content type: the request body must be JSON, sent with"
            " Content-Type: application/json.",
            field="Content-Type",
        )
