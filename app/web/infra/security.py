"""Security headers on every response, as pure ASGI middleware (it never buffers a body, so
server-sent event streams pass through untouched).

The policy the pages are written for:
- scripts only from this site and the exact pinned CDN files (their integrity hashes are on the
  tags, and listed here too so a browser that knows CSP 3 checks them twice); no inline script,
  no inline event handler, no eval of anything a user sent;
- styles only from this site (base.html tells htmx not to inject its indicator <style>);
- fetches and event streams only back to this site (and, to probe them, the pinned CDN files);
- framing: by this site only, except a page rendered in its embed layout (`?embed=1`), which
  teachers put in slides. The page's own `embed` parameter (`EmbedLayout`, read once by FastAPI
  for the route) decides both its layout and this header: a page without an embed layout is
  never framable, whatever the query says (issue 16.5);
- state changes (every method but GET, HEAD and OPTIONS) only from this site: a browser's
  cross-site POST (Sec-Fetch-Site, else Origin) gets 403. Clients that send neither (curl,
  scripts with a Bearer token) are not browsers acting for someone else and are let through;
- the Host header is the client's word: pages use paths, never absolute URLs built from it
  (a live class's join link comes from an address the server vouches for, app.web.infra
  .public_url),
  a redirect to this site's own host is sent as a path, and `GILLAB_ALLOWED_HOSTS` (default:
  any) refuses other names with 400 (issue 16.6).

The API reference (/docs, app.web.infra.api_docs) is generated with an inline script; it gets a
policy of its own that admits exactly that script (by its hash, computed from the page as rendered),
and inline styles, which Swagger UI sets as it draws.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable
from typing import Annotated
from urllib.parse import urlsplit

from fastapi import Depends, FastAPI, Query, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.infra import api_docs
from app.web.infra.assets import SCRIPTS

_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.DOTALL)
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}
LOOPBACK_HOSTS = ("localhost", "127.0.0.1")
_SAME_SITE = {"same-origin", "none"}  # Sec-Fetch-Site values of this site's own requests


async def embed_layout(
    request: Request,
    embed: Annotated[
        bool,
        Query(description="minimal chrome, for a lesson's iframe (only then may it be framed)"),
    ] = False,
) -> bool:
    """The one reading of `embed` for a page that has an embed layout: the layout it renders,
    and (through the request's state) whether other sites may frame it."""
    request.state.embed = embed
    return embed


EmbedLayout = Annotated[bool, Depends(embed_layout)]


def framable(scope: Scope) -> bool:
    """Whether the answer being sent was rendered in an embed layout (see embed_layout)."""
    return scope.get("state", {}).get("embed") is True


def set_framable(scope: Scope, embed: bool) -> None:
    """Say so for an answer sent without its route (app.web.infra.page_cache keeps it)."""
    scope.setdefault("state", {})["embed"] = embed


def _cross_site(scope: Scope) -> bool:
    """A browser asking, on another site's behalf, to change state here."""
    if scope["method"] in _SAFE_METHODS:
        return False
    headers = Headers(scope=scope)
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site not in _SAME_SITE
    origin = headers.get("origin")
    if origin is None:
        return False  # no browser sends a cross-site POST without one of the two
    return urlsplit(origin).netloc.lower() != headers.get("host", "").lower()


def _relative(location: str, host: str) -> str:
    """A redirect to this site's own host, as a path (Starlette builds `/sim/` -> `/sim` from
    the Host header)."""
    parts = urlsplit(location)
    if parts.scheme in ("http", "https") and parts.netloc.lower() == host.lower():
        return parts._replace(scheme="", netloc="").geturl() or "/"
    return location


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
        host = Headers(scope=scope).get("host", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                embed = framable(scope)
                policy = self._docs.get(scope["path"]) or self._pages[embed]
                headers.setdefault("Content-Security-Policy", policy)
                headers.setdefault("X-Content-Type-Options", "nosniff")
                headers.setdefault("Referrer-Policy", "same-origin")
                if not embed:
                    # Older browsers that ignore frame-ancestors; embed mode has no XFO at all
                    # because XFO has no value that means "anyone may frame this".
                    headers.setdefault("X-Frame-Options", "SAMEORIGIN")
                if "location" in headers:
                    headers["Location"] = _relative(headers["location"], host)
            await send(message)

        if _cross_site(scope):
            refusal = JSONResponse(
                {"detail": "a cross-site request may not change anything here"}, status_code=403
            )
            await refusal(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)


def install(app: FastAPI, *, offline: bool, allowed_hosts: tuple[str, ...] = ()) -> None:
    if allowed_hosts:  # Starlette's check: exact names, or "*.example.org"; refusals are 400
        # Plus the loopback names, which no other machine can make a browser send (the Docker
        # health check asks 127.0.0.1).
        hosts = [*allowed_hosts, *LOOPBACK_HOSTS]
        app.add_middleware(TrustedHostMiddleware, allowed_hosts=hosts, www_redirect=False)
    docs_paths = {api_docs.DOCS_PATH: docs_policy(app)}
    app.add_middleware(SecurityHeaders, offline=offline, docs_paths=docs_paths)
