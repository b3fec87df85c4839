"""A ceiling on concurrent server-sent event streams, per process (GILLAB_MAX_STREAMS).

Every /stream/ request holds a connection open while it plays, so a classroom that opens tabs
and never closes them could pile up connections until the worker runs out of file descriptors.
Past the ceiling a new stream is refused at once with 429 and Retry-After (htmx's SSE extension
retries with back-off), and pages, the JSON API and /healthz are never affected.

The one limit for every stream: `Streams` counts, `StreamLimit` (ASGI middleware) admits. A
stream is counted in the same step that checks the ceiling, before anything is awaited, so a
burst of any size admits exactly `max_streams` (a check that ran before the count moved let 300
streams opened at once through about a hundred past a ceiling of 64).
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

STREAM_PREFIX = "/stream/"


class Streams:
    """The live streams of one app and their ceiling. Only the event loop's thread uses it."""

    def __init__(self, *, max_streams: int, retry_after: int = 5) -> None:
        self.max_streams = max_streams
        self.retry_after = retry_after
        self.active = 0

    def try_open(self) -> bool:
        """Count one more stream if the ceiling allows it (check and count in one step)."""
        if self.active >= self.max_streams:
            return False
        self.active += 1
        return True

    def close(self) -> None:
        self.active -= 1


class StreamLimit:
    """ASGI middleware admitting /stream/ requests while `streams` has room."""

    def __init__(self, app: ASGIApp, *, streams: Streams) -> None:
        self.app = app
        self.streams = streams

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(STREAM_PREFIX):
            await self.app(scope, receive, send)
            return
        streams = self.streams
        if not streams.try_open():
            retry = streams.retry_after
            detail = f"too many live streams ({streams.max_streams}); retry in {retry} s"
            refusal = JSONResponse(
                {"detail": detail}, status_code=429, headers={"Retry-After": str(retry)}
            )
            await refusal(scope, receive, send)
            return
        try:
            await self.app(scope, receive, send)
        finally:
            streams.close()
