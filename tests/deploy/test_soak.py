"""A soak (issue 16): ten minutes of mixed load on `python -m app` while a lab worker process is
killed every 20 s. Not in the default run (marker `soak`):

    .venv/bin/python -m pytest -m soak -s tests/deploy/test_soak.py
    GILLAB_SOAK_SECONDS=120 .venv/bin/python -m pytest -m soak -s tests/deploy/test_soak.py

It passes when no answer was a 5xx other than the 503 'run it again' of a job whose worker was
killed, when nothing the server started outlives its stop, and when the server's memory is flat
after the warm-up (the last quarter's peak within 15 % + 16 MB of the second quarter's). It
prints its figures (requests, kills, statuses, RSS), which the README reports.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.serving import LiveServer, alive, descendants, live_server

pytestmark = pytest.mark.soak

SECONDS = float(os.environ.get("GILLAB_SOAK_SECONDS", "600"))
KILL_EVERY_S = 20.0
CLIENTS = 6
LAB_PATHS = ("/api/native/", "/api/explore", "/explore", "/stream/native/")


def _pages(rng: random.Random) -> str:
    step = rng.randrange(0, 7)
    return rng.choice(
        [
            "/", "/lab", "/challenges", "/lessons", "/healthz", "/sim/random?n=3",
            f"/sim?scenario=inc-dec&mode=none&n=2&schedule=A2B3&step={step}",
            f"/sim?scenario=inc-inc&n=3&seed={rng.randrange(10**6)}&step={step}",
            f"/api/sim?scenario=dec-dec&mode=global-lock&n=2&seed={rng.randrange(10**6)}",
        ]
    )  # fmt: skip


def _labs(rng: random.Random) -> str:
    return rng.choice(
        [
            f"/api/explore?scenario={rng.choice(['inc-inc', 'inc-dec', 'dec-dec'])}"
            f"&mode=none&n={rng.choice([3, 6, 8])}",
            "/api/native/race?experiment=inc-inc&mode=none&iterations=200000&runs=3",
            "/api/native/race?experiment=inc-dec&mode=object-lock&iterations=2000000&free=real",
            "/api/native/race?experiment=dec-dec&mode=atomic&iterations=100000&runs=2&free=real",
            "/api/native/cost?iterations=20000",
        ]
    )


@dataclass
class Tally:
    statuses: Counter[int] = field(default_factory=Counter)
    bad: list[str] = field(default_factory=list)  # 5xx that are not a killed job's 503
    killed_503: int = 0
    requests: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, path: str, status: int, text: str) -> None:
        with self.lock:
            self.requests += 1
            self.statuses[status] += 1
            if status == 503 and path.startswith(LAB_PATHS) and "run it again" in text:
                self.killed_503 += 1
            elif status >= 500:
                self.bad.append(f"{status} {path}: {text[:200]}")


def _client(server: LiveServer, seed: int, stop: threading.Event, tally: Tally) -> None:
    rng = random.Random(seed)
    with httpx.Client(base_url=server.url, timeout=60) as http:
        while not stop.is_set():
            roll = rng.random()
            try:
                if roll < 0.15:  # a play of a short run, to its end
                    path = "/stream/sim?scenario=inc-inc&n=2&speed=20"
                    with http.stream("GET", path) as stream:
                        text = "".join(stream.iter_text())
                        tally.record(path, stream.status_code, text)
                    continue
                path = _labs(rng) if roll < 0.45 else _pages(rng)
                response = http.get(path, follow_redirects=True)
                tally.record(path, response.status_code, response.text)
            except httpx.HTTPError as error:  # the server must never drop a connection
                tally.record(path, 599, f"{type(error).__name__}: {error}")
            time.sleep(rng.random() * 0.3)


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _start_time(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except OSError:
        return None


def _every(seconds: float, stop: threading.Event, action: Callable[[], None]) -> threading.Thread:
    def loop() -> None:
        while not stop.wait(seconds):
            action()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread


def test_ten_minutes_of_load_with_worker_kills(tmp_path: Path) -> None:
    rng = random.Random(16)
    tally = Tally()
    stop = threading.Event()
    seen: dict[int, str | None] = {}  # every process the server started: pid -> start time
    rss: list[tuple[float, int]] = []
    kills: list[str] = []
    with live_server(log=tmp_path / "server.log") as server:
        pid = server.process.pid
        started = time.monotonic()

        def watch() -> None:
            for child in descendants(pid):
                seen.setdefault(child, _start_time(child))
            rss.append((time.monotonic() - started, _rss_kb(pid)))

        def kill() -> None:
            # A lab worker (a spawned process) or, better, a child a worker forked.
            workers = [p for p in descendants(pid) if "spawn_main" in _cmdline(p)]
            forked = [c for w in workers for c in descendants(w)]
            victims = forked if forked and rng.random() < 0.5 else workers
            if victims:
                victim = rng.choice(victims)
                with contextlib.suppress(ProcessLookupError):  # it ended on its own meanwhile
                    os.kill(victim, signal.SIGKILL)
                    kills.append("forked child" if victim in forked else "worker")

        threads = [_every(2, stop, watch), _every(KILL_EVERY_S, stop, kill)]
        threads += [
            threading.Thread(target=_client, args=(server, seed, stop, tally), daemon=True)
            for seed in range(CLIENTS)
        ]
        for thread in threads[2:]:
            thread.start()
        stop.wait(SECONDS)
        stop.set()
        for thread in threads:
            thread.join(90)
        watch()
        server.process.send_signal(signal.SIGTERM)
        server.process.wait(timeout=30)
        time.sleep(1)
        left = sorted(p for p, start in seen.items() if alive(p) and _start_time(p) == start)

    quarter = [kb for at, kb in rss if SECONDS / 4 <= at < SECONDS / 2]
    last = [kb for at, kb in rss if at >= SECONDS * 3 / 4]
    figures = {
        "seconds": SECONDS,
        "requests": tally.requests,
        "statuses": dict(sorted(tally.statuses.items())),
        "kills": dict(Counter(kills)),
        "killed_job_503s": tally.killed_503,
        "other_5xx": dict(Counter(bad[:60] for bad in tally.bad)),
        "rss_mb_second_quarter_max": round(max(quarter) / 1024, 1),
        "rss_mb_last_quarter_max": round(max(last) / 1024, 1),
        "processes_started": len(seen),
        "processes_left": left,
    }
    print("\nsoak:", json.dumps(figures))
    assert tally.requests > SECONDS  # the load really ran
    assert len(kills) >= SECONDS // KILL_EVERY_S - 2
    assert tally.bad == [], tally.bad[:10]
    assert left == [], [_cmdline(p) for p in left]
    assert max(last) <= max(quarter) * 1.15 + 16 * 1024, figures


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""
