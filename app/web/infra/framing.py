"""A page framed by another site without `embed=1`: say how to embed it.

Pages refuse to be framed by other sites (frame-ancestors 'self', app.web.infra.security), so a
teacher who pastes a plain permalink into slides saw the browser's "refused to connect", as if
the server were down. The browser says when it loads a page into a frame (Sec-Fetch-Dest:
iframe) and from where (Sec-Fetch-Site): such a request without `embed=1` from another site is
sent to /framed, a page any site may frame (it has `embed=1` itself and nothing to click but
links), which gives the embed code of the page that was asked for. The refusal itself stays:
the real page is never shown in another site's frame without `embed=1`. A page that has no
embed layout (the lessons, /lab, /explore, the challenge list) cannot be framed at all, so
/framed gives no embed code for it, only the way to open it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, get_type_hints
from urllib.parse import parse_qsl, urlsplit

from fastapi import APIRouter, FastAPI, Query, Request, params
from fastapi.responses import HTMLResponse
from fastapi.routing import iter_route_contexts
from starlette.routing import compile_path
from starlette.types import ASGIApp, Receive, Scope, Send

from app.web.infra import urls
from app.web.infra.deps import PagesDep
from app.web.infra.security import EmbedLayout, embed_layout

router = APIRouter(tags=["pages"])

# Not pages: a frame of these is not a teacher's slide.
_NOT_PAGES = ("/static/", "/api/", "/stream/", "/fragments/", "/framed", "/openapi.json")


def _asks_for_embed(query_string: bytes) -> bool:
    """Whether the query sets `embed` true, as FastAPI reads a bool (the route then decides
    whether the page has an embed layout at all; app.web.infra.security)."""
    return any(
        key == "embed" and value.strip().lower() in {"1", "true", "yes", "on"}
        for key, value in parse_qsl(query_string.decode("latin-1"))
    )


def _reads_embed(endpoint: Callable[..., Any]) -> bool:
    """Whether a route function takes EmbedLayout (the one reading of `embed`)."""
    hints = get_type_hints(endpoint, include_extras=True)
    return any(
        isinstance(marker, params.Depends) and marker.dependency is embed_layout
        for hint in hints.values()
        for marker in getattr(hint, "__metadata__", ())
    )


def has_embed_layout(app: FastAPI, path: str) -> bool:
    """Whether the page at `path` renders an embed layout (its route reads EmbedLayout), so
    that another site may frame it with embed=1."""
    for context in iter_route_contexts(app.routes):
        if context.path and "GET" in (context.methods or ()):
            pattern, _, _ = compile_path(context.path)
            if pattern.match(path):
                return context.endpoint is not None and _reads_embed(context.endpoint)
    return False


class FramedWithoutEmbed:
    """Pure ASGI middleware: another site's frame asking for a page without embed=1, or for
    one with no embed layout at all, is redirected to /framed, which says how to embed that
    page (or that it cannot be)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] == "GET" and self._framed_elsewhere(scope):
            page = scope["path"] + (f"?{scope['query_string'].decode('latin-1')}"
                                    if scope["query_string"] else "")
            location = urls.framed(page)
            await send({"type": "http.response.start", "status": 303,
                        "headers": [(b"location", location.encode()), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.app(scope, receive, send)

    @staticmethod
    def _framed_elsewhere(scope: Scope) -> bool:
        headers = dict(scope["headers"])
        return (
            headers.get(b"sec-fetch-dest") == b"iframe"
            and headers.get(b"sec-fetch-site") not in (None, b"same-origin")
            and not scope["path"].startswith(_NOT_PAGES)
            and not (
                _asks_for_embed(scope["query_string"])
                and has_embed_layout(scope["app"], scope["path"])
            )
        )


@router.get("/framed", response_class=HTMLResponse, summary="How to embed a page in slides")
async def framed(
    request: Request,
    pages: PagesDep,
    embed: EmbedLayout,
    page: Annotated[str, Query(max_length=2000, description="the page that was framed")] = "/",
) -> HTMLResponse:
    # Only a path on this site: never a link elsewhere. Paths only (the Host header is the
    # client's word): static/js/embed.js puts the address the teacher's browser sees in front.
    target = urlsplit(page)
    if target.scheme or target.netloc or not page.startswith("/"):
        page = "/"
    framable = has_embed_layout(request.app, urlsplit(page).path)
    context = {"embed": embed, "page": page, "embed_url": urls.embedded(page) if framable else None}
    return pages.render(request, "framed.html", context)
