"""A class pressing Play at once: many /stream/sim requests opened together against a real
server, with /healthz polled from a process of its own meanwhile. Used by the stream limit's
test (tests/web/infra/test_limits.py) and benchmarks/burst.py."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys

import httpx


async def burst(url: str, streams: int) -> list[int]:
    """Open `streams` streams at once (each a different run) and hold the admitted ones open
    until every one has answered; the statuses, in the order they came."""
    limits = httpx.Limits(max_connections=streams + 10, max_keepalive_connections=0)
    timeout = httpx.Timeout(30, read=None)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=timeout) as client:
        ready = asyncio.Event()
        statuses: list[int] = []

        async def open_one(seed: int) -> None:
            path = f"/stream/sim?scenario=dec-dec&mode=none&n=10&seed={seed}&speed=0.5"
            async with client.stream("GET", path) as response:
                statuses.append(response.status_code)
                if len(statuses) == streams:
                    ready.set()
                await ready.wait()

        await asyncio.wait_for(asyncio.gather(*(open_one(seed) for seed in range(streams))), 60)
        return statuses


# In a process of its own: in the burst's, the client would hold the GIL and the delay measured
# would be the client's, not the server's.
_POLL_HEALTH = """
import json, sys, time, urllib.request
url, until = sys.argv[1], time.monotonic() + float(sys.argv[2])
waits = []
while time.monotonic() < until:
    started = time.perf_counter()
    with urllib.request.urlopen(url + "/healthz", timeout=30) as response:
        assert response.read() == b"ok"
    waits.append(time.perf_counter() - started)
    time.sleep(0.02)
print(json.dumps(waits))
"""


class HealthPoller:
    """Polls `url`/healthz for `seconds` from a child process; `waits()` gives each answer's
    time in seconds (an answer that never came fails the poller, and so `waits`)."""

    def __init__(self, url: str, seconds: float) -> None:
        self._process = subprocess.Popen(
            [sys.executable, "-c", _POLL_HEALTH, url, str(seconds)],
            stdout=subprocess.PIPE,
            text=True,
        )

    def waits(self) -> list[float]:
        out, _ = self._process.communicate(timeout=120)
        if self._process.returncode != 0:
            raise RuntimeError("/healthz did not answer while polled")
        waits: list[float] = json.loads(out)
        return waits
