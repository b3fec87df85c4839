"""`GET /stream/classes/{code}`: the class's events as server-sent events.

A stream opens with the whole state (`state`, `members`, and the latest `question`), so a
phone that reconnects after a tunnel is in step at once, then carries every change: `state`,
`question` (opened or closed), `reveal` (the truth and the counts), `members` (how many), and
`ended`, after which it closes. Each event's data is JSON.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.sse import EventSourceResponse, ServerSentEvent

from app.live.model import ClassRecord
from app.web.live.api import Code
from app.web.live.deps import Classes, Client

router = APIRouter(tags=["live classes"])

# How soon a browser retries a dropped stream (ms): quick, a class is waiting.
RETRY_MS = 1000


async def _found(code: Code, classes: Classes, client: Client) -> ClassRecord:
    return await classes.find(code, client=client)


@router.get(
    "/stream/classes/{code}",
    response_class=EventSourceResponse,
    summary="The class's live events: state, question, reveal, members, ended (JSON data)",
    responses={404: {"description": "No such class"}, 410: {"description": "The class ended"}},
)
async def stream_class(
    record: Annotated[ClassRecord, Depends(_found)], classes: Classes
) -> AsyncIterator[ServerSentEvent]:
    async with classes.store.hub.listen(record.code) as queue:
        for number, opening in enumerate(await classes.snapshot(record)):
            yield ServerSentEvent(
                raw_data=opening.data, event=opening.name, retry=RETRY_MS if number == 0 else None
            )
        while (event := await queue.get()) is not None:
            yield ServerSentEvent(raw_data=event.data, event=event.name)
            if event.name == "ended":
                return
