"""A ceiling on concurrent server-sent event streams, per process.

Every /stream/ request holds a connection open while it plays, so a classroom that opens tabs
and never closes them could pile up connections until the worker runs out of file descriptors.
Past the ceiling a new stream is refused at once with 429 and Retry-After (htmx's SSE extension
retries with back-off), and pages, the JSON API and /healthz are never affected.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

STREAM_PREFIX = "/stream/"


class StreamLimit:
    def __init__(self, app: ASGIApp, *, max_streams: int, retry_after: int = 5) -> None:
        self.app = app
        self.max_streams = max_streams
        self.retry_after = retry_after
        # Only the event loop's thread touches this count, so no lock is needed.
        self.active = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(STREAM_PREFIX):
            await self.app(scope, receive, send)
            return
        if self.active >= self.max_streams:
            detail = f"too many live streams ({self.max_streams}); retry in {self.retry_after} s"
            refusal = JSONResponse(
                {"detail": detail}, status_code=429, headers={"Retry-After": str(self.retry_after)}
            )
            await refusal(scope, receive, send)
            return
        self.active += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.active -= 1
