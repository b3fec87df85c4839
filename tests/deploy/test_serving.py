"""`python -m app` (what Docker and `gil-lab` run) serves with the settings from the environment."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
import zlib

import httpx

from tests.serving import live_server


def test_several_workers_serve_one_port() -> None:
    with live_server(env={"GILLAB_WORKERS": "2"}) as server:
        for _ in range(10):
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as response:
                assert response.read() == b"ok"
                assert "server" not in {name.lower() for name in response.headers}


def test_a_bad_setting_stops_the_start_with_one_line_naming_it() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app"], env={**os.environ, "GILLAB_WORKERS": "many"},
        capture_output=True, text=True, timeout=30, check=False,
    )
    assert result.returncode != 0
    assert "GILLAB_WORKERS" in result.stderr
    assert "Traceback" not in result.stderr


def test_event_streams_are_compressed_and_still_arrive_step_by_step() -> None:
    """A played step is mostly the run's timeline again: gzip shrinks it many times, and each
    step must still reach the player when it is sent, not when the compressor's buffer fills
    (many steps' worth) or the play ends."""
    url = "/stream/sim?scenario=dec-dec&mode=none&n=12&seed=3&speed=2"  # 2 steps a second
    with (
        live_server() as server,
        httpx.Client(base_url=server.url, timeout=10) as client,
        client.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as response,
    ):
        assert response.headers["content-encoding"] == "gzip"
        started = time.perf_counter()
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        sent = text = b""
        arrivals: list[float] = []
        for chunk in response.iter_raw():
            sent += chunk
            text += inflate.decompress(chunk)
            while len(arrivals) < text.count(b"event: step"):
                arrivals.append(time.perf_counter() - started)
            if len(arrivals) >= 4:
                break
    assert len(sent) * 5 < len(text), (len(sent), len(text))
    # Order, not wall time: the server waits 0.5 s between steps, so four steps sent as they
    # are made arrive 1.5 s apart, first to last; kept in a buffer they arrive in one burst.
    # Half of that leaves a busy machine room to read one of them late.
    assert arrivals[3] - arrivals[0] >= 3 * 0.5 / 2, arrivals
