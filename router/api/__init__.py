"""The HTTP API, one router per audience: the agent desktop, the dispatch centre, the units,
and operations (probes, metrics).

Every route but the probes and /metrics needs `Authorization: Bearer <token>`. A unit's token
opens that unit's queue and tickets only; the dispatch centre's token is the centre's staff
(agents and dispatchers), who create tickets, decide on them and may look at any unit; a
manager's token reads every unit's tickets, queues and rates and changes nothing. The
browsable description (/docs, /redoc) is served from files installed with the package, so it
works offline.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import fastapi_standalone_docs
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from router.api import agents, dispatchers, incidents, managers, operations, units
from router.api.context import ApiContext, Submit
from router.api.limits import install_limits
from router.ticket_notices import TicketNotices

if TYPE_CHECKING:
    from router.bootstrap import Components
    from router.ticket_desk import TicketDesk

_DOC_ASSETS = Path(fastapi_standalone_docs.__file__).resolve().parent / "static"


def create_api(components: Components, desk: TicketDesk, submit: Submit,
               readiness_checks: Mapping[str, Callable[[], Awaitable[None]]],
               notices: TicketNotices) -> FastAPI:
    api = FastAPI(title="12345 hotline ticket router", version="0.2.0", description=__doc__,
                  docs_url=None, redoc_url=None)
    api.state.context = ApiContext(components=components, desk=desk, submit=submit,
                                   readiness_checks=readiness_checks, notices=notices)
    for audience in (agents, dispatchers, units, incidents, managers, operations):
        api.include_router(audience.router)
    install_limits(api, components.settings.api.max_body_bytes)
    _serve_docs_offline(api)
    return api


def _serve_docs_offline(api: FastAPI) -> None:
    api.mount("/docs-assets/swagger", StaticFiles(directory=_DOC_ASSETS / "swagger"),
              name="swagger-assets")
    api.mount("/docs-assets/redoc", StaticFiles(directory=_DOC_ASSETS / "redoc"),
              name="redoc-assets")
    api.mount("/docs-assets/fastapi", StaticFiles(directory=_DOC_ASSETS / "fastapi"),
              name="docs-favicon")

    @api.get("/docs", include_in_schema=False)
    async def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title=f"{api.title} — API",
                                   swagger_js_url="/docs-assets/swagger/swagger-ui-bundle.js",
                                   swagger_css_url="/docs-assets/swagger/swagger-ui.css",
                                   swagger_favicon_url="/docs-assets/fastapi/favicon.png")

    @api.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="/openapi.json", title=f"{api.title} — ReDoc",
                              redoc_js_url="/docs-assets/redoc/redoc.standalone.js",
                              redoc_favicon_url="/docs-assets/fastapi/favicon.png",
                              with_google_fonts=False)
