"""How `gil-lab` meets the network: uvicorn's HTTP protocol with a deadline for reading each
request, and as many open files as the system allows.

uvicorn (0.54, both its httptools and h11 protocols) arms a timer only between requests
(`timeout_keep_alive`, after a response): a connection that sends nothing, or a request head
that never ends, is held forever, and 1,100 such sockets under a 1,024-file limit took the server
off the air (issue 16.4). Here a deadline starts when a connection opens and when each request
begins; the request's last byte (head and body) must arrive before it, or the connection gets
408 (if nothing was answered yet) and is closed. That bounds what one slow client costs; it does
not stop many clients at once, which is a proxy's work (README: "On an untrusted network").

uvicorn's own error answers (400 for a request it cannot parse) are written here too, with the
security headers every other answer carries.
"""

from __future__ import annotations

import asyncio
import functools
import resource
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from app.web.infra.settings import Settings

PROTOCOL = "app.web.infra.server:DeadlineHttpProtocol"  # uvicorn's `http=`

# What uvicorn itself answers with: no page, nothing to frame, nothing to sniff or load.
BARE_HEADERS = (
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"same-origin"),
)


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to the hard one; return the new limit.
    Each client holds a socket: 1,024 (a common default) is a classroom's worth of streams."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return hard


@functools.cache
def _read_timeout_s() -> float:
    # Read here, not passed in: uvicorn takes a protocol by name into each worker process.
    return float(Settings.from_env().request_timeout)


class DeadlineHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol, plus a deadline for reading each whole request."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._read_deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._read_deadline is None:  # the next request on a kept-alive connection
            self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        self._disarm()
        self._answer_and_close(b"400 Bad Request", msg)

    def _arm(self) -> None:
        self._read_deadline = self.loop.call_later(_read_timeout_s(), self._read_timed_out)

    def _disarm(self) -> None:
        if self._read_deadline is not None:
            self._read_deadline.cancel()
            self._read_deadline = None

    def _read_timed_out(self) -> None:
        self._read_deadline = None
        if self.transport.is_closing():
            return
        if self.cycle is None or self.cycle.response_complete:
            self._answer_and_close(b"408 Request Timeout", "the request did not arrive in time")
        else:  # an answer has begun (to a body that never ended): end the connection
            self.transport.close()

    def _answer_and_close(self, status: bytes, message: str) -> None:
        body = message.encode("utf-8")
        head = [b"HTTP/1.1 " + status]
        head += [name + b": " + value for name, value in BARE_HEADERS]
        head += [
            b"content-type: text/plain; charset=utf-8",
            b"content-length: " + str(len(body)).encode("ascii"),
            b"connection: close",
        ]
        self.transport.write(b"\r\n".join(head) + b"\r\n\r\n" + body)
        self.transport.close()
