"""Liveness for Docker's HEALTHCHECK and load balancers."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

router = APIRouter(tags=["health"])


@router.get("/healthz", response_class=PlainTextResponse, summary="Liveness probe")
def healthz() -> str:
    return "ok"
