"""A ceiling on concurrent server-sent event streams, per process (GILLAB_MAX_STREAMS).

Every /stream/ request holds a connection open while it plays, so a classroom that opens tabs
and never closes them could pile up connections until the worker runs out of file descriptors.
Past the ceiling a new stream is refused at once with 429 and Retry-After (htmx's SSE extension
retries with back-off), and pages, the JSON API and /healthz are never affected.

The one limit for every stream: `Streams` counts, `StreamLimit` (ASGI middleware) admits. A
stream is counted in the same step that checks the ceiling, before anything is awaited, so a
burst of any size admits exactly `max_streams` (a check that ran before the count moved let 300
streams opened at once through about a hundred past a ceiling of 64).

Streams also end when the server is asked to stop. uvicorn waits for open connections before it
runs the app's shutdown, and a play lasts minutes: it cancelled them after its grace period,
logging a traceback for each. `Streams.end_on_signals` hears SIGTERM and SIGINT as uvicorn does,
and every open stream then ends at once, cleanly (the browser's EventSource reconnects, to the
server that replaces this one, and resumes where it was).
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import threading

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

STREAM_PREFIX = "/stream/"


class Streams:
    """The live streams of one app and their ceiling. Only the event loop's thread uses it."""

    def __init__(self, *, max_streams: int, retry_after: int = 5) -> None:
        self.max_streams = max_streams
        self.retry_after = retry_after
        self.active = 0
        self.ending: asyncio.Event | None = None  # set: the server is stopping

    def end_on_signals(self) -> None:
        """From the app's startup: end every stream when SIGTERM or SIGINT comes, then let the
        server's own handler (installed before the app starts) stop the server as usual. Only
        where signals can be heard (the main thread; not a test client's thread)."""
        loop = asyncio.get_running_loop()
        self.ending = ending = asyncio.Event()
        if threading.current_thread() is not threading.main_thread():
            return
        for number in (signal.SIGTERM, signal.SIGINT):
            server_handler = signal.getsignal(number)
            if not callable(server_handler):
                continue

            def handler(signum: int, frame: object, then: object = server_handler) -> None:
                loop.call_soon_threadsafe(ending.set)
                then(signum, frame)  # type: ignore[operator]

            signal.signal(number, handler)

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
            if streams.ending is None:
                await self.app(scope, receive, send)
            else:
                await _until(streams.ending, self.app, scope, receive, send)
        finally:
            streams.close()


async def _until(
    ending: asyncio.Event, app: ASGIApp, scope: Scope, receive: Receive, send: Send
) -> None:
    """Play the stream; if `ending` is set first, stop it and end its response cleanly."""
    started = False

    async def watched(message: Message) -> None:
        nonlocal started
        started = started or message["type"] == "http.response.start"
        await send(message)

    playing = asyncio.ensure_future(app(scope, receive, watched))
    stopping = asyncio.ensure_future(ending.wait())
    try:
        await asyncio.wait((playing, stopping), return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        ended_here = not playing.done()
        if ended_here:
            playing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await playing
            if started:  # the body so far stands; this ends it (and the gzip stream around it)
                await send({"type": "http.response.body", "body": b"", "more_body": False})
    if not ended_here:
        playing.result()  # a stream's own error, raised as if it had been awaited
