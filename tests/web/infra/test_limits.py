"""The ceiling on live event streams (app.web.infra.limits), exact under bursts."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time

import httpx
import pytest
from starlette.types import Message, Receive, Scope, Send

from app.web.infra.limits import StreamLimit, Streams
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
HEALTHZ_LIMIT_S = 2.0


async def _burst(url: str) -> list[int]:
    """Open BURST streams at once (each a different run); hold the admitted ones open."""
    limits = httpx.Limits(max_connections=BURST + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(30, read=None)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        ready = asyncio.Event()
        statuses: list[int] = []

        async def open_one(seed: int) -> None:
            path = f"/stream/sim?scenario=dec-dec&mode=none&n=10&seed={seed}&speed=0.5"
            async with client.stream("GET", path) as response:
                statuses.append(response.status_code)
                if len(statuses) == BURST:
                    ready.set()
                await ready.wait()  # every admitted stream stays open until all have answered

        await asyncio.wait_for(asyncio.gather(*(open_one(seed) for seed in range(BURST))), 60)
        return statuses


# /healthz polled from a process of its own: in this one, the burst's client would hold the GIL
# and the delay measured would be the client's, not the server's.
POLL_HEALTH = """
import sys, time, urllib.request
url, until = sys.argv[1], time.monotonic() + float(sys.argv[2])
waits = []
while time.monotonic() < until:
    started = time.perf_counter()
    with urllib.request.urlopen(url + "/healthz", timeout=30) as response:
        assert response.read() == b"ok"
    waits.append(time.perf_counter() - started)
    time.sleep(0.02)
print(max(waits))
"""


@pytest.mark.slow
def test_a_burst_of_streams_admits_exactly_the_limit_and_healthz_keeps_answering() -> None:
    with live_server(env={"GILLAB_MAX_STREAMS": str(BURST_LIMIT)}) as server:
        poller = subprocess.Popen(
            [sys.executable, "-c", POLL_HEALTH, server.url, "6"], stdout=subprocess.PIPE, text=True
        )
        time.sleep(1)  # polling before the burst too
        statuses = asyncio.run(_burst(server.url))
        slowest = float(poller.communicate(timeout=60)[0])
    assert statuses.count(200) == BURST_LIMIT
    assert statuses.count(429) == BURST - BURST_LIMIT
    # Not stalled "for seconds" (issue 16.3 saw 3 s): 0.6 to 1.0 s here on two cores shared by
    # eight sessions at load average 10 to 13; tens of milliseconds on an idle machine.
    assert slowest < HEALTHZ_LIMIT_S, f"/healthz took {slowest:.2f} s during the burst"
