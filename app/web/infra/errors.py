"""Every bad request gets a 4xx that names the parameter and what it allows; never a trace.

JSON endpoints (/api, /stream) answer in FastAPI's own validation shape
(`{"detail": [{"loc": ["query", "n"], "msg": "...", "type": "..."}]}`); pages answer with a
readable HTML page (status 400) that says what is wrong and links to a valid state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.lab.jobs import Busy, TimedOut, WorkerDied
from app.sim import InvalidParameter
from app.web.infra.deps import resources_of


class BadParameter(Exception):
    """A parameter that passed type validation but not the domain's rules (e.g. a schedule)."""

    def __init__(self, parameter: str, message: str, *, suggestion: str | None = None) -> None:
        super().__init__(f"{parameter}: {message}")
        self.parameter = parameter
        self.message = message
        self.suggestion = suggestion


def _wants_json(request: Request) -> bool:
    path = request.url.path
    return path.startswith(("/api/", "/stream/")) or path in {"/openapi.json", "/healthz"}


def _describe(errors: Sequence[Any]) -> str:
    parts = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ()) if part not in ("query", "path")]
        name = ".".join(location) or "request"
        parts.append(f"{name}: {error.get('msg', 'invalid value')}")
    return "; ".join(parts)


def _page(
    request: Request, status: int, heading: str, detail: str, suggestion: str | None
) -> Response:
    return resources_of(request.app).pages.render(
        request,
        "error.html",
        {
            "status_code": status, "heading": heading, "detail": detail, "suggestion": suggestion,
            # A bad permalink inside a teacher's slide stays a slide-sized page.
            "embed": getattr(request.state, "embed", False),  # as the route read it
        },
        status_code=status,
    )


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = [
        {key: value for key, value in error.items() if key in {"loc", "msg", "type"}}
        for error in exc.errors()
    ]
    if _wants_json(request):
        return JSONResponse({"detail": errors}, status_code=422)
    return _page(request, 400, "That link has a bad parameter", _describe(errors), request.url.path)


async def _on_bad_parameter(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, BadParameter | InvalidParameter)
    suggestion = exc.suggestion if isinstance(exc, BadParameter) else None
    if _wants_json(request):
        error = {"loc": ["query", exc.parameter], "msg": exc.message, "type": "value_error"}
        return JSONResponse({"detail": [error]}, status_code=422)
    return _page(
        request, 400, "That link has a bad parameter", str(exc), suggestion or request.url.path
    )


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if _wants_json(request) or exc.status_code < 400:
        return JSONResponse(
            {"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers
        )
    heading = "Page not found" if exc.status_code == 404 else "Request refused"
    response = _page(request, exc.status_code, heading, str(exc.detail), "/")
    response.headers.update(exc.headers or {})
    return response


async def _on_busy(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Busy)
    headers = {"Retry-After": str(exc.retry_after)}
    if _wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=429, headers=headers)
    response = _page(request, 429, "The lab is busy", str(exc), request.url.path)
    response.headers.update(headers)
    return response


async def _on_timed_out(request: Request, exc: Exception) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=504)
    return _page(request, 504, "The experiment took too long", str(exc), request.url.path)


async def _on_worker_died(request: Request, exc: Exception) -> Response:
    # The lab already has a fresh worker: running it again is the right advice.
    if _wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=503)
    return _page(request, 503, "The experiment's process ended", str(exc), request.url.path)


async def _on_unexpected(request: Request, exc: Exception) -> Response:
    # The detail stays in the server log; the client only learns that it was our fault.
    if _wants_json(request):
        return JSONResponse({"detail": "internal error"}, status_code=500)
    return _page(request, 500, "Something went wrong on our side", "The error was logged.", "/")


_PAGE_ERRORS = {
    "400": "A parameter is wrong: a page that names it and links to the nearest valid state",
    "404": "No such page: a page that links to the lessons",
}


def _document_pages(schema: dict[str, Any]) -> dict[str, Any]:
    """Say in the OpenAPI schema what HTML routes really answer when a request is wrong: the
    400 and 404 pages above, not FastAPI's 422 JSON."""
    html = {"text/html": {"schema": {"type": "string"}}}
    for operations in schema.get("paths", {}).values():
        for operation in operations.values():
            responses = operation.get("responses", {})
            if "text/html" not in responses.get("200", {}).get("content", {}):
                continue
            parameters = operation.get("parameters", [])
            if responses.pop("422", None) is not None or parameters:
                responses["400"] = {"description": _PAGE_ERRORS["400"], "content": html}
            if any(parameter.get("in") == "path" for parameter in parameters):
                responses["404"] = {"description": _PAGE_ERRORS["404"], "content": html}
    return schema


def install(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _document_pages(generate())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]  # FastAPI's documented way to extend it
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(BadParameter, _on_bad_parameter)
    app.add_exception_handler(InvalidParameter, _on_bad_parameter)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Busy, _on_busy)
    app.add_exception_handler(TimedOut, _on_timed_out)
    app.add_exception_handler(WorkerDied, _on_worker_died)
    app.add_exception_handler(Exception, _on_unexpected)
