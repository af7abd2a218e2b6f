"""The Litestar application: routes under ``/api/v1``, the OpenAPI document, middleware.

``create_app`` wires already opened services into an application; the caller
keeps ownership of the services and closes them after the application stops.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import structlog
from litestar import Litestar, Router
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from vault.access import Gate
from vault.api import admin, login, residents
from vault.api.content_type import json_content_type
from vault.api.context import ApiContext
from vault.api.errors import EXCEPTION_HANDLERS
from vault.api.logins import LoginThrottle
from vault.api.middleware import RequestContext
from vault.api.sessions import SESSION_COOKIE, SessionStore
from vault.api.settings import ApiSettings
from vault.api.tokens import TokenStore
from vault.bootstrap import Services
from vault.policy import PolicySet
from vault.web import TEMPLATE_CONFIG as WEB_TEMPLATES
from vault.web import web_router

API_PREFIX = "/api/v1"
OPENAPI_PATH = f"{API_PREFIX}/schema"

log = structlog.get_logger("vault.api")


def build_context(services: Services, policy: PolicySet, settings: ApiSettings) -> ApiContext:
    db = services.store.db
    return ApiContext(
        services=services,
        gate=Gate(services, policy),
        settings=settings,
        throttle=LoginThrottle(db, services.clock, services.keyring.blind_index_key, settings),
        sessions=SessionStore(db, services.clock, settings),
        tokens=TokenStore(db, services.clock),
    )


# An upload folder older than this at start-up belongs to an import of a killed
# server, whose clean-up never ran. It contains a workbook in clear text.
STALE_UPLOAD_SECONDS = 3600


def remove_stale_uploads(data_dir: Path) -> None:
    """Delete upload folders that no running import can still be reading."""
    cutoff = time.time() - STALE_UPLOAD_SECONDS
    for folder in data_dir.glob("upload-*"):
        if folder.is_dir() and folder.stat().st_mtime < cutoff:
            shutil.rmtree(folder, ignore_errors=True)


def create_app(
    services: Services, policy: PolicySet, settings: ApiSettings | None = None
) -> Litestar:
    """Return the API application over ``services`` (which the caller closes)."""
    settings = settings or ApiSettings()
    remove_stale_uploads(services.config.data_dir)
    context = build_context(services, policy, settings)
    api = Router(API_PREFIX, route_handlers=[*login.ROUTES, *admin.ROUTES, *residents.ROUTES],
                 guards=[json_content_type])
    uploads = Router(API_PREFIX, route_handlers=residents.UPLOAD_ROUTES,
                     request_max_body_size=settings.max_upload_bytes)
    openapi = OpenAPIConfig(
        title="Vault 全员人口信息数据库 API",
        version="1",
        path=OPENAPI_PATH,
        render_plugins=[JsonRenderPlugin()],
        components=Components(security_schemes={
            "bearer": SecurityScheme(type="http", scheme="bearer",
                                     description="API token of a department system"),
            "session": SecurityScheme(type="apiKey", security_scheme_in="cookie",
                                      name=SESSION_COOKIE,
                                      description="Browser session; send X-CSRF-Token too"),
        }),
        security=[{"bearer": []}, {"session": []}],
    )
    app = Litestar(
        # The web pages (vault.web): their router, templates and static files.
        route_handlers=[api, uploads, web_router(settings)],
        template_config=WEB_TEMPLATES,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=openapi,
        request_max_body_size=settings.max_json_bytes,
        debug=False,
        logging_config=None,
    )
    app.state["vault"] = context
    # Outside Litestar's own exception handling and routing, so that a 404 for an
    # unknown path gets a request id, a log line and the security headers too.
    app.asgi_handler = RequestContext(app.asgi_handler)
    return app
