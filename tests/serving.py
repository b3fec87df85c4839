"""Start a real server in a child process: for tests that need a socket and for the benchmarks.

The child is `python -m app` (the same entry point Docker and `gil-lab` use), configured through
GILLAB_ environment variables, so what is measured or tested is what a teacher runs.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass(frozen=True, slots=True, kw_only=True)
class LiveServer:
    url: str
    process: subprocess.Popen[bytes]


def _wait_until_healthy(url: str, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"the server did not answer /healthz within {timeout:g} s")


@contextmanager
def live_server(
    *,
    python: str | Path = sys.executable,
    cwd: str | Path | None = None,
    env: Mapping[str, str] | None = None,
    log: Path | None = None,
    timeout: float = 30,
) -> Iterator[LiveServer]:
    """Serve on a free loopback port until the block ends; the child is always stopped."""
    port = free_port()
    child_env = {**os.environ, **(env or {}), "GILLAB_HOST": "127.0.0.1", "GILLAB_PORT": str(port)}
    output = log.open("wb") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(python), "-m", "app"], cwd=cwd, env=child_env, stdout=output, stderr=output
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_until_healthy(url, process, timeout)
        yield LiveServer(url=url, process=process)
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log and not isinstance(output, int):
            output.close()
