"""A private redis-server for tests and benchmarks: a free loopback port, no persistence,
stopped when the block ends (so a run never leaves a server behind or shares one by accident).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

from tests.serving import free_port, stop, wait_until

REDIS_SERVER = shutil.which("redis-server")


def _listening(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


@contextmanager
def redis_server(timeout: float = 10) -> Iterator[str]:
    """Start redis-server on a free port; yield its URL."""
    if REDIS_SERVER is None:
        raise FileNotFoundError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [REDIS_SERVER, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until(
            lambda: _listening(port), process, timeout=timeout, what=f"redis-server on {port}"
        )
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(process)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}
