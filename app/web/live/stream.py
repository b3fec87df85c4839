"""`GET /stream/classes/{code}`: the class's events as server-sent events.

A stream opens with the whole state (`state`, `members`, and the latest `question`), so a
phone that reconnects after a tunnel is in step at once, then carries every change: `state`,
`question` (opened or closed), `reveal` (the truth and the counts), `members` (how many), and
`ended`, after which it closes. Each event's data is JSON.

A step goes to every student at once, so each stream writes the event's text as it is: no
per-client model, producer task or timer (FastAPI's `yield ServerSentEvent` path adds all
three), which keeps a step to 200 phones cheap (benchmarks/live_class.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from fastapi.sse import EventSourceResponse

from app.live.classes import LiveClasses
from app.live.model import ClassRecord
from app.web.live.api import Code
from app.web.live.deps import Classes, Client

router = APIRouter(tags=["live classes"])

# How soon a browser retries a dropped stream (ms): quick, a class is waiting.
RETRY_MS = 1000
# A comment line this often keeps proxies and phones from dropping an idle stream.
KEEPALIVE_SECONDS = 15


async def _found(code: Code, classes: Classes, client: Client) -> ClassRecord:
    return await classes.find(code, client=client)


async def _events(classes: LiveClasses, record: ClassRecord) -> AsyncIterator[bytes]:
    # Listening starts before the opening state is read, so no change falls between them.
    async with classes.store.hub.listen(record.code) as queue:
        opening = await classes.snapshot(record)
        yield f"retry: {RETRY_MS}\n\n".encode() + b"".join(event.wire() for event in opening)
        while True:
            try:
                async with asyncio.timeout(KEEPALIVE_SECONDS):
                    event = await queue.get()
            except TimeoutError:
                yield b": keep-alive\n\n"
                continue
            if event is None:
                return
            yield event.wire()
            if event.name == "ended":
                return


@router.get(
    "/stream/classes/{code}",
    # Not response_class=EventSourceResponse: FastAPI would then run the route as a generator
    # of ServerSentEvent models, with the per-client costs the module's docstring avoids.
    response_class=Response,
    summary="The class's live events: state, question, reveal, members, ended (JSON data)",
    responses={
        200: {"content": {"text/event-stream": {}}, "description": "A stream of events"},
        404: {"description": "No such class"},
        410: {"description": "The class ended"},
    },
)
async def stream_class(
    record: Annotated[ClassRecord, Depends(_found)], classes: Classes
) -> Response:
    return EventSourceResponse(_events(classes, record), headers={"Cache-Control": "no-store"})
