"""The API's documentation pages and the site icon, served with every asset from this server.

FastAPI's own ``/docs`` and ``/redoc`` load Swagger UI and ReDoc from a CDN, so on an intranet
``/docs`` stays blank ("SwaggerUIBundle is not defined"). The app turns them off
(``docs_url=None, redoc_url=None``) and these routes render the same pages from the pinned copies
under ``/static/vendor`` (:mod:`geo_grid.assets`). The OpenAPI document they read declares the
login methods (:func:`api.openapi.document`), so Swagger UI's Authorize button logs in with the
OAuth2 password flow, a Bearer token or an API key and "Try it out" calls routes as that account.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse

from geo_grid._maps_elements import FAVICON
from geo_grid.assets import static_path, vendor_url

router = APIRouter(tags=["docs"])

ASSETS = "/static"
#: The project's icon, linked from every page (``geo_grid/static/img``, see scripts/make_favicon.py)
FAVICON_SVG = f"{ASSETS}/{FAVICON}"
TITLE = "geo-grid 网格化管理 API"
#: Swagger UI settings: no call to validator.swagger.io (its badge is an external image), the
#: token kept across reloads of the page, requests' duration shown.
SWAGGER_PARAMETERS = {
    "validatorUrl": None,
    "persistAuthorization": True,
    "displayRequestDuration": True,
}


@router.get("/docs", include_in_schema=False)
def swagger_ui(request: Request) -> HTMLResponse:
    """Swagger UI over this API's OpenAPI document, from the project's own copy (no CDN)."""
    return get_swagger_ui_html(
        openapi_url=request.app.openapi_url,
        title=f"{TITLE} · Swagger UI",
        swagger_js_url=vendor_url(ASSETS, "swagger-ui-dist", "swagger-ui-bundle.js"),
        swagger_css_url=vendor_url(ASSETS, "swagger-ui-dist", "swagger-ui.css"),
        swagger_favicon_url=FAVICON_SVG,
        swagger_ui_parameters=SWAGGER_PARAMETERS,
    )


@router.get("/redoc", include_in_schema=False)
def redoc(request: Request) -> HTMLResponse:
    """ReDoc over this API's OpenAPI document, from the project's own copy (no web fonts)."""
    return get_redoc_html(
        openapi_url=request.app.openapi_url,
        title=f"{TITLE} · ReDoc",
        redoc_js_url=vendor_url(ASSETS, "redoc", "redoc.standalone.js"),
        redoc_favicon_url=FAVICON_SVG,
        with_google_fonts=False,
    )


@router.get("/favicon.ico", include_in_schema=False)
def favicon() -> FileResponse:
    """The site icon where browsers look for it by default (pages also link the SVG)."""
    return FileResponse(
        static_path() / "img" / "favicon.ico",
        media_type="image/x-icon",
        headers={"Cache-Control": "public, max-age=86400"},
    )
