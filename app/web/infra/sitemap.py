"""What the app serves, read from its own route table: the deployment tests and the load
benchmark walk these lists, so none of them keeps a list of pages that goes stale."""

from __future__ import annotations

from fastapi import FastAPI
from fastapi.routing import iter_route_contexts

# Machine-facing or not a page of ours: FastAPI's own API pages load a CDN the offline tests
# cannot reach, the JSON and stream endpoints are fuzzed through the OpenAPI schema instead,
# and /fragments/ are pieces of pages that htmx loads into them, not documents.
NOT_PAGES = ("/api/", "/stream/", "/fragments/", "/openapi.json", "/docs")
# Pages of a live class exist only while a teacher keeps one open (POST /api/classes or
# /class/new makes the code), so no link reaches them from a fresh server; tests/web/live and
# the live-class browser test open them.
LIVE_CLASS_PAGES = "/class/{code}"


def get_paths(app: FastAPI) -> list[str]:
    """Every GET route's path template (FastAPI 0.16x nests included routers; this flattens)."""
    paths = {
        context.path
        for context in iter_route_contexts(app.routes)
        if context.path and "GET" in (context.methods or ())
    }
    return sorted(paths)


def page_paths(app: FastAPI) -> list[str]:
    """GET pages without path parameters: each can be fetched as is."""
    return [
        path for path in get_paths(app)
        if "{" not in path and not path.startswith(NOT_PAGES)
    ]


def templated_page_paths(app: FastAPI) -> list[str]:
    """GET pages with path parameters (e.g. /lessons/{slug}): reached through links on pages."""
    return [
        path for path in get_paths(app)
        if "{" in path and not path.startswith((*NOT_PAGES, LIVE_CLASS_PAGES))
    ]
