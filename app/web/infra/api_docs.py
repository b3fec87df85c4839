"""/docs, the API's interactive reference, working with no internet.

FastAPI's own /docs loads Swagger UI from a CDN, so in a classroom with no internet the page the
site's footer links to was blank. This serves the same page (FastAPI's `get_swagger_ui_html`)
from the copy vendored under static/vendor/ (swagger-ui-dist from npm, its licence beside it).
"""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

SWAGGER_UI_VERSION = "5.35.0"
DOCS_PATH = "/docs"
_VENDORED = f"/static/vendor/swagger-ui-{SWAGGER_UI_VERSION}"


def page(app: FastAPI) -> HTMLResponse:
    assert app.openapi_url is not None
    return get_swagger_ui_html(
        openapi_url=app.openapi_url,
        title=f"{app.title}: API",
        swagger_js_url=f"{_VENDORED}.js",
        swagger_css_url=f"{_VENDORED}.css",
        swagger_favicon_url="/static/favicon.svg",
        # No call to Swagger's online validator (blocked by the policy, and often offline).
        swagger_ui_parameters={"validatorUrl": None},
    )


def install(app: FastAPI) -> None:
    """Add /docs to an app made with docs_url=None and redoc_url=None."""

    @app.get(DOCS_PATH, include_in_schema=False)
    async def docs() -> HTMLResponse:
        return page(app)
