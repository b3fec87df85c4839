"""Security headers on every response, as pure ASGI middleware (it never buffers a body, so
server-sent event streams pass through untouched).

The policy the pages are written for:
- scripts only from this site and the exact pinned CDN files (their integrity hashes are on the
  tags, and listed here too so a browser that knows CSP 3 checks them twice); no inline script,
  no inline event handler, no eval of anything a user sent;
- styles only from this site (base.html tells htmx not to inject its indicator <style>);
- fetches and event streams only back to this site (and, to probe them, the pinned CDN files);
- framing: by this site only, except the embed mode (`?embed=1`) that teachers put in slides.

The API reference (/docs, app.web.infra.api_docs) is generated with an inline script; it gets a
policy of its own that admits exactly that script (by its hash, computed from the page as rendered),
and inline styles, which Swagger UI sets as it draws.
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

from app.web.infra import api_docs
from app.web.infra.assets import SCRIPTS

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
    # static/js/loader.js probes the CDN files with fetch() before it adds their tags.
    fetches = ["'self'"]
    if not offline:
        for script in SCRIPTS:
            scripts += [script.cdn_url, f"'{script.integrity}'"]
            fetches.append(script.cdn_url)
    directives: dict[str, Iterable[str]] = {
        "default-src": ["'self'"],
        "script-src": scripts,
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "connect-src": fetches,
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


def docs_policy(app: FastAPI) -> str:
    """The policy for /docs (app.web.infra.api_docs): its one inline script, by hash."""
    hashes = _inline_script_hashes(bytes(api_docs.page(app).body))
    directives: dict[str, Iterable[str]] = {
        "default-src": ["'self'"],
        "script-src": ["'self'", *hashes],
        # Swagger UI sets style attributes as it renders.
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
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
    docs_paths = {api_docs.DOCS_PATH: docs_policy(app)}
    app.add_middleware(SecurityHeaders, offline=offline, docs_paths=docs_paths)
