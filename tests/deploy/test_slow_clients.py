"""Slow and broken clients against a real server (`python -m app`), issue 16.4 and 16.9: a
request that never ends is timed out, many of them do not take the server off the air under a
low open-file limit, and uvicorn's own error answers carry the security headers."""

from __future__ import annotations

import resource
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.serving import LiveServer, live_server

TIMEOUT_S = 1


@pytest.fixture(scope="module")
def server() -> Iterator[LiveServer]:
    """A server started under a soft limit of 512 open files (the hard limit stays)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(512, hard), hard))
    try:
        with live_server(env={"GILLAB_REQUEST_TIMEOUT": str(TIMEOUT_S)}) as running:
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
            yield running
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def _connect(server: LiveServer) -> socket.socket:
    host, port = server.url.removeprefix("http://").split(":")
    return socket.create_connection((host, int(port)), timeout=10)


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _read_response(sock: socket.socket) -> bytes:
    """One whole response of a kept-alive connection (by its Content-Length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, body = data.split(b"\r\n\r\n", 1)
    length = next(
        int(line.split(b":")[1]) for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        body += sock.recv(65536)
    return head


def _open_files(server: LiveServer) -> int:
    return len(list(Path(f"/proc/{server.process.pid}/fd").iterdir()))


def test_the_server_raises_its_open_file_limit_to_the_hard_one(server: LiveServer) -> None:
    limits = Path(f"/proc/{server.process.pid}/limits").read_text()
    (line,) = (line for line in limits.splitlines() if line.startswith("Max open files"))
    soft, hard = line.split()[3:5]
    assert soft == hard, line


def test_a_request_that_never_ends_gets_408_and_is_closed(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        started = time.monotonic()
        answer = _read_all(sock)  # returns once the server closes
    assert time.monotonic() - started < TIMEOUT_S + 3
    assert answer.startswith(b"HTTP/1.1 408 ")
    assert b"x-content-type-options: nosniff" in answer.lower()


def test_a_connection_that_sends_nothing_is_closed(server: LiveServer) -> None:
    with _connect(server) as sock:
        started = time.monotonic()
        _read_all(sock)
    assert time.monotonic() - started < TIMEOUT_S + 3


def test_a_kept_alive_connection_still_serves_requests_sent_in_time(server: LiveServer) -> None:
    with _connect(server) as sock:
        for _ in range(2):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
            time.sleep(TIMEOUT_S * 0.6)  # idle between requests is the keep-alive's business


def test_more_slow_sockets_than_the_old_file_limit_do_not_take_the_server_down(
    server: LiveServer,
) -> None:
    before = _open_files(server)
    slow = []
    try:
        for _ in range(700):  # above the 512 the server was started with
            sock = _connect(server)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n")
            slow.append(sock)
        with urllib.request.urlopen(f"{server.url}/healthz", timeout=10) as response:
            assert response.status == 200
        deadline = time.monotonic() + TIMEOUT_S + 10
        while _open_files(server) > before + 10:  # every slow socket is let go
            assert time.monotonic() < deadline, _open_files(server)
            time.sleep(0.2)
    finally:
        for sock in slow:
            sock.close()


def test_uvicorn_s_own_400_carries_the_security_headers(server: LiveServer) -> None:
    with _connect(server) as sock:
        sock.sendall(b"GET /" + b"a" * 100 + b"\x00 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        answer = _read_all(sock)
    head = answer.split(b"\r\n\r\n")[0].lower()
    assert head.startswith(b"http/1.1 400 ")
    assert b"content-security-policy: default-src 'none'" in head
    assert b"x-frame-options: deny" in head
    assert b"x-content-type-options: nosniff" in head
