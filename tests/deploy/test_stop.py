"""A stop leaves nothing behind, however the README starts the server.

Each start command (`make run`, `python -m app`, `gil-lab`) is started for real, with event
streams open, after an exploration and a native race (each starts a pool's worker process, and
those start the multiprocessing resource tracker); then SIGTERM goes to the server, as `docker
stop`, systemd or `kill` send it. The server must be gone within STOP_LIMIT_S, and so must every
process it started and every POSIX semaphore (/dev/shm/sem.*) they had open.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.serving import alive, descendants, free_port, kill_all

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
# `docker stop` waits 10 s after SIGTERM, then SIGKILLs whatever is left, which a server gone by
# then never leaves behind. Half of that is the bound, with room for a busy machine (was 3 s).
STOP_LIMIT_S = 5.0
# Streams that would play for minutes if nothing ended them.
STREAMS = (
    "/stream/sim?scenario=dec-dec&mode=none&n=30&speed=0.5",
    "/stream/sim?scenario=inc-inc&mode=gil&n=30&interval=3&speed=0.5",
    "/stream/native/race?experiment=inc-inc&mode=none&iterations=1000&runs=50",
)


def _semaphores(pids: set[int]) -> set[str]:
    """The POSIX semaphores these processes have mapped (multiprocessing names them sem.mp-*)."""
    names = set()
    for pid in pids:
        try:
            maps = Path(f"/proc/{pid}/maps").read_text()
        except OSError:
            continue
        names |= {line.split()[-1] for line in maps.splitlines() if "/dev/shm/sem." in line}
    return names


@dataclass(frozen=True, slots=True, kw_only=True)
class Started:
    launcher: subprocess.Popen[bytes]  # what was run: make, python or gil-lab
    server: int  # the pid that serves (make's child for make run)
    url: str


def _server_pid(launcher: subprocess.Popen[bytes], name: str) -> int:
    if name != "make run":
        return launcher.pid
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        pythons = [
            pid for pid in descendants(launcher.pid)
            if b"app" in Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        ]
        if pythons:
            return pythons[0]
        time.sleep(0.1)
    raise AssertionError("make run started no server")


COMMANDS = {
    "make run": lambda port: ["make", "--no-print-directory", "run", f"PORT={port}"],
    "python -m app": lambda port: [sys.executable, "-m", "app"],
    "gil-lab": lambda port: [str(BIN / "gil-lab")],
}


@pytest.fixture(params=list(COMMANDS))
def started(request: pytest.FixtureRequest) -> Iterator[Started]:
    name: str = request.param
    if name == "make run" and shutil.which("make") is None:
        pytest.skip("no make on this machine")
    port = free_port()
    env = {**os.environ, "GILLAB_HOST": "127.0.0.1", "GILLAB_PORT": str(port)}
    launcher = subprocess.Popen(
        COMMANDS[name](port), cwd=ROOT, env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/healthz", timeout=1).text == "ok":
                    break
            except httpx.HTTPError:
                pass
            assert launcher.poll() is None, f"{name} exited with {launcher.returncode}"
            assert time.monotonic() < deadline, f"{name} did not answer /healthz"
            time.sleep(0.2)
        yield Started(launcher=launcher, server=_server_pid(launcher, name), url=url)
    finally:
        # Whatever the test found, leave nothing running for the next one.
        kill_all({launcher.pid} | descendants(launcher.pid))
        launcher.wait()


def _listen(url: str, opened: threading.Event) -> None:
    try:
        with httpx.stream("GET", url, timeout=httpx.Timeout(5, read=None)) as response:
            opened.set()
            for _ in response.iter_bytes():
                pass
    except httpx.HTTPError:
        pass  # the server went away: what this test does to it


def test_sigterm_stops_the_server_and_everything_it_started(started: Started) -> None:
    with httpx.Client(base_url=started.url, timeout=60) as client:
        assert client.get("/api/explore?scenario=inc-dec&mode=none&n=2").status_code == 200
        race = client.get("/api/native/race?experiment=inc-inc&mode=atomic&iterations=1000")
        assert race.status_code == 200
    listeners = []
    for path in STREAMS:
        opened = threading.Event()
        listener = threading.Thread(target=_listen, args=(started.url + path, opened), daemon=True)
        listener.start()
        assert opened.wait(30), f"{path} did not open"
        listeners.append(listener)
    workers = descendants(started.server)
    assert len(workers) >= 2, "the exploration and the race ran in worker processes"
    semaphores = _semaphores({started.server} | workers)

    asked = time.monotonic()
    os.kill(started.server, signal.SIGTERM)
    started.launcher.wait(timeout=30)
    while alive(started.server) and time.monotonic() - asked < 30:
        time.sleep(0.05)
    stopped_in = time.monotonic() - asked
    time.sleep(0.5)  # what the kernel still has to reap after the server is gone

    left = sorted(pid for pid in workers | {started.server} if alive(pid))
    assert not left, f"left running: {[Path(f'/proc/{pid}/cmdline').read_bytes() for pid in left]}"
    assert stopped_in < STOP_LIMIT_S, f"stopped in {stopped_in:.1f} s"
    assert not [name for name in semaphores if Path(name).exists()]
    for listener in listeners:
        listener.join(5)
        assert not listener.is_alive(), "an event stream stayed open after the stop"
