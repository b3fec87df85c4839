"""The ceiling on live event streams (app.web.infra.limits), exact under bursts."""

from __future__ import annotations

import asyncio
import time

import pytest
from starlette.types import Message, Receive, Scope, Send

from app.web.infra.limits import StreamLimit, Streams
from tests.burst import HealthPoller, burst
from tests.serving import live_server


def _scope(path: str) -> Scope:
    return {"type": "http", "method": "GET", "path": path, "query_string": b"", "headers": []}


async def _call(app: StreamLimit, path: str) -> list[Message]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b""}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(path), receive, send)
    return sent


def test_streams_past_the_ceiling_get_429_and_pages_never_do() -> None:
    release = asyncio.Event()

    async def endless_stream(scope: Scope, receive: Receive, send: Send) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        if scope["path"].startswith("/stream/"):
            await release.wait()
        await send({"type": "http.response.body", "body": b""})

    async def scenario() -> None:
        streams = Streams(max_streams=2)
        limit = StreamLimit(endless_stream, streams=streams)
        open_streams = [asyncio.create_task(_call(limit, "/stream/sim")) for _ in range(2)]
        await asyncio.sleep(0)
        assert streams.active == 2
        refused = await _call(limit, "/stream/sim")
        assert refused[0]["status"] == 429
        assert (b"retry-after", b"5") in refused[0]["headers"]
        page = await _call(limit, "/sim")
        assert page[0]["status"] == 200
        release.set()
        await asyncio.gather(*open_streams)
        assert streams.active == 0
        again = await _call(limit, "/stream/sim")
        assert again[0]["status"] == 200

    asyncio.run(scenario())


BURST = 300
BURST_LIMIT = 64


@pytest.mark.slow
def test_a_burst_of_streams_admits_exactly_the_limit_and_healthz_keeps_answering() -> None:
    """Exactly the limit, however the burst comes; /healthz answered all along (each poll has
    30 s). How long it takes is a figure for benchmarks/burst.py, not a bound here: tens of ms
    on an idle machine, 0.6-1.0 s at load 10-13, 4.7 s at load 30 (sessions sharing the two
    cores; a 2 s bound here failed at load 20). What stalled it in issue 16.3 (3 s),
    rendering the streams' steps in the event loop, is tested exactly in test_page_cache.py:
    every step goes to the render thread."""
    with live_server(env={"GILLAB_MAX_STREAMS": str(BURST_LIMIT)}) as server:
        poller = HealthPoller(server.url, 6)
        time.sleep(1)  # polling before the burst too
        statuses = asyncio.run(burst(server.url, BURST))
        waits = poller.waits()
    assert statuses.count(200) == BURST_LIMIT
    assert statuses.count(429) == BURST - BURST_LIMIT
    assert waits, "/healthz was never polled"
