"""The event loop is never blocked: while a long exploration or lab job runs, /healthz keeps
answering. Run against a real server process, because a blocked loop is invisible in-process."""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlencode

import pytest

from app.main import create_app
from app.web.infra.settings import Settings
from app.web.infra.sitemap import get_paths
from tests.serving import LiveServer, live_server

# Long but bounded jobs of each kind (a second or more of work each on this machine).
LONG_JOBS = [
    ("/api/explore", {"scenario": "dec-dec", "mode": "none", "n": 9}),  # pure Python, threads
    ("/api/native/race",  # C threads through cffi, which releases the GIL
     {"experiment": "inc-inc", "mode": "global-lock", "iterations": 2_000_000, "runs": 6}),
    ("/api/gil/timeline", {"interval_ms": 5, "duration_ms": 1000}),  # a child interpreter
]
SERVED = set(get_paths(create_app(Settings())))
JOBS = [(path, query) for path, query in LONG_JOBS if path in SERVED]


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    with live_server() as running:
        yield running


def _get(url: str, timeout: float = 120) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


@pytest.mark.parametrize(("path", "query"), JOBS, ids=[path for path, _ in JOBS])
def test_healthz_answers_while_a_long_job_runs(
    server: LiveServer, path: str, query: dict[str, object]
) -> None:
    outcome: dict[str, float | int] = {}

    def long_job() -> None:
        started = time.perf_counter()
        outcome["status"] = _get(f"{server.url}{path}?{urlencode(query)}")
        outcome["seconds"] = time.perf_counter() - started

    worker = threading.Thread(target=long_job)
    worker.start()
    time.sleep(0.1)  # let the job start before probing
    latencies = []
    while worker.is_alive():
        started = time.perf_counter()
        assert _get(f"{server.url}/healthz", timeout=30) == 200
        latencies.append(time.perf_counter() - started)
        time.sleep(0.02)
    worker.join()
    assert outcome["status"] == 200
    job_seconds = float(outcome["seconds"])
    assert job_seconds > 0.4, "the job was too quick to prove anything; make it longer"
    # A blocked loop would hold one probe for about the whole job.
    assert max(latencies) < job_seconds / 2, (max(latencies), job_seconds)
    print(f"{path}: job {job_seconds:.2f} s, {len(latencies)} probes, "
          f"max /healthz {max(latencies) * 1000:.0f} ms")
