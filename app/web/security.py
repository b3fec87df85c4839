"""Security headers on every response, as pure ASGI middleware (it never buffers a body, so
server-sent event streams pass through untouched).

The policy the pages are written for:
- scripts only from this site and the exact pinned CDN files (their integrity hashes are on the
  tags, and listed here too so a browser that knows CSP 3 checks them twice); no inline script,
  no inline event handler, no eval of anything a user sent;
- styles only from this site (base.html tells htmx not to inject its indicator <style>);
- fetches and event streams only back to this site;
- framing: by this site only, except the embed mode (`?embed=1`) that teachers put in slides.

FastAPI's own API pages (/docs, /redoc) are generated with an inline script and load their
assets from a CDN; they get a policy of their own that admits exactly that inline script (by its
hash, computed from the page FastAPI renders) and the CDN, and nothing else changes for them.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from urllib.parse import parse_qsl

from fastapi import FastAPI
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.assets import SCRIPTS

_EMBED_VALUES = {"1", "true", "yes", "on"}
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)


def is_embed(query_string: bytes) -> bool:
    """The same reading of `embed` as the pages' own boolean parameter."""
    return any(
        key == "embed" and value.strip().lower() in _EMBED_VALUES
        for key, value in parse_qsl(query_string.decode("latin-1"))
    )


def _policy(directives: dict[str, Iterable[str]]) -> str:
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def page_policy(*, offline: bool, embed: bool) -> str:
    """The Content-Security-Policy for the site's own pages."""
    scripts = ["'self'"]
    if not offline:
        for script in SCRIPTS:
            scripts += [script.cdn_url, f"'{script.integrity}'"]
    directives: dict[str, Iterable[str]] = {
        "default-src": ["'self'"],
        "script-src": scripts,
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "font-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"],
        # `*` matches only http(s) framers: slides opened from disk (file://) need their own
        # scheme, checked in Chromium by tests/deploy/test_csp_browser.py.
        "frame-ancestors": ["*", "file:"] if embed else ["'self'"],
    }
    return _policy(directives)


def _inline_script_hashes(html: bytes) -> list[str]:
    return [
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(html)
    ]


def docs_policy(app: FastAPI) -> str | None:
    """The policy for FastAPI's /docs and /redoc: their CDN and their one inline script."""
    from fastapi.openapi.docs import get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html

    if app.openapi_url is None:
        return None
    hashes: list[str] = []
    if app.docs_url:
        html = get_swagger_ui_html(
            openapi_url=app.openapi_url,
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        ).body
        hashes += _inline_script_hashes(bytes(html))
        hashes += _inline_script_hashes(bytes(get_swagger_ui_oauth2_redirect_html().body))
    directives: dict[str, Iterable[str]] = {
        "default-src": ["'self'"],
        "script-src": ["'self'", "https://cdn.jsdelivr.net", *hashes],
        # Swagger UI and ReDoc set style attributes and <style> elements as they render.
        "style-src": [
            "'self'", "https://cdn.jsdelivr.net", "https://fonts.googleapis.com", "'unsafe-inline'"
        ],
        "font-src": ["'self'", "https://fonts.gstatic.com"],
        "img-src": ["'self'", "data:", "https://fastapi.tiangolo.com", "https://cdn.redoc.ly"],
        "worker-src": ["'self'", "blob:"],  # ReDoc searches in a worker made from a blob
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'self'"],
    }
    return _policy(directives)


class SecurityHeaders:
    """Adds the headers to every HTTP response; a header a route set itself is left alone."""

    def __init__(
        self, app: ASGIApp, *, offline: bool, docs_paths: dict[str, str] | None = None
    ) -> None:
        self.app = app
        self._pages = {
            embed: page_policy(offline=offline, embed=embed) for embed in (False, True)
        }
        self._docs = docs_paths or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        embed = is_embed(scope.get("query_string", b""))
        policy = self._docs.get(scope["path"]) or self._pages[embed]

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not embed:
                    # Older browsers that ignore frame-ancestors; embed mode has no XFO at all
                    # because XFO has no value that means "anyone may frame this".
                    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, *, offline: bool) -> None:
    policy = docs_policy(app)
    docs_paths = {
        path: policy for path in (app.docs_url, app.redoc_url, app.swagger_ui_oauth2_redirect_url)
        if path and policy
    }
    app.add_middleware(SecurityHeaders, offline=offline, docs_paths=docs_paths)
