"""Start a real server in a child process: for tests that need a socket and for the benchmarks.

The child is `python -m app` (the same entry point Docker and `gil-lab` use), configured through
GILLAB_ environment variables, so what is measured or tested is what a teacher runs.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def _children() -> dict[int, list[int]]:
    """Every live process's children, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    return children


def descendants(pid: int) -> set[int]:
    """The processes `pid` started, and the ones they started, as /proc shows them now."""
    tree = _children()
    found: set[int] = set()
    todo = [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def alive(pid: int) -> bool:
    """Running (a zombie has ended: it only waits for its new parent to read its status)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def kill_all(pids: set[int]) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]


def wait_until(
    ready: Callable[[], bool], process: subprocess.Popen[bytes], *, timeout: float, what: str
) -> None:
    """Poll `ready` (which says False rather than raise) until it holds; a `process` that
    exits first, or `timeout` seconds, end the wait with an error naming `what` was awaited."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"exited with status {process.returncode} before {what}")
        if ready():
            return
        time.sleep(0.05)
    raise RuntimeError(f"no {what} within {timeout:g} s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, and SIGKILL if it has not exited 10 s later."""
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def live_server(
    *,
    python: str | Path = sys.executable,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 120,
) -> Iterator[LiveServer]:
    """Serve on a free loopback port until the block ends; the child is always stopped, and
    so is anything it started that outlived it (tests/deploy/test_stop.py tells whether any
    did: here it would only be left running after the tests). `timeout` bounds a failed start,
    it is no figure: a start takes a second or two idle, and over 30 s with several workers at
    load 30."""
    port = free_port()
    child_env = {**os.environ, **(env or {}), "GILLAB_HOST": "127.0.0.1", "GILLAB_PORT": str(port)}
    output = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(python), "-m", "app"], cwd=cwd, env=child_env, stdout=output, stderr=output
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until(
            lambda: _healthy(url), process, timeout=timeout, what="the server answering /healthz"
        )
        yield LiveServer(url=url, process=process)
    finally:
        started = descendants(process.pid)
        stop(process)
        kill_all({pid for pid in started if alive(pid)})
        if log and not isinstance(output, int):
            output.close()
