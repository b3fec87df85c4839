"""What the live routes receive besides the app's live classes (app.web.infra.deps): the
caller's address and token, and the refusals of `app.live` turned into HTTP answers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from app.live.model import BadInput, LimitReached, LiveError
from app.web.infra.deps import LiveClassesDep, resources_of


def client_address(request: Request) -> str:
    # uvicorn runs with proxy_headers, so behind a proxy this is the student's address.
    return request.client.host if request.client else "unknown"


_bearer = HTTPBearer(
    auto_error=False,
    description="The teacher's token (from POST /api/classes) or a student's (from .../join)",
)


def bearer_token(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> str | None:
    return credentials.credentials if credentials else None


Classes = LiveClassesDep
Client = Annotated[str, Depends(client_address)]
Token = Annotated[str | None, Depends(bearer_token)]


def _wants_json(request: Request) -> bool:
    return request.url.path.startswith(("/api/", "/stream/"))


async def _on_live_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, LiveError)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, LimitReached) else {}
    if _wants_json(request):
        if isinstance(exc, BadInput):
            error = {"loc": ["body", exc.parameter], "msg": exc.message, "type": "value_error"}
            return JSONResponse({"detail": [error]}, status_code=422)
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=headers)
    heading = {404: "No such class", 410: "This class has ended"}.get(exc.status, "Refused")
    return resources_of(request.app).pages.render(
        request,
        "error.html",
        {"status_code": exc.status, "heading": heading, "detail": exc.message,
         "suggestion": "/class", "embed": False},
        status_code=exc.status,
        headers=headers,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(LiveError, _on_live_error)
