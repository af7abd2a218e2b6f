"""The registry's web pages in Chinese (and English), served beside the API.

Server-rendered with Jinja2 through Litestar's template support; every page works
without JavaScript, and the only script is the registry's own import progress
poller. Stylesheet and script are served from ``static/``; nothing is loaded from
anywhere else.
"""

from __future__ import annotations

from litestar import Router
from litestar.static_files import create_static_files_router

from vault.api.settings import ApiSettings
from vault.web import accounts, imports, oversight, residents, session
from vault.web.pages import EXCEPTION_HANDLERS, STATIC, TEMPLATE_CONFIG, page_policy_middleware

__all__ = ["TEMPLATE_CONFIG", "web_router"]


def web_router(settings: ApiSettings) -> Router:
    """Return the router of every page, its static files and its HTML error pages."""
    uploads = Router("/", route_handlers=imports.UPLOAD_ROUTES,
                     request_max_body_size=settings.max_upload_bytes)
    static = create_static_files_router(path="/static", directories=[STATIC])
    return Router(
        "/",
        route_handlers=[*session.ROUTES, *residents.ROUTES, *imports.ROUTES, *accounts.ROUTES,
                        *oversight.ROUTES, uploads, static],
        exception_handlers=EXCEPTION_HANDLERS,
        middleware=[page_policy_middleware],
        include_in_schema=False,
    )
