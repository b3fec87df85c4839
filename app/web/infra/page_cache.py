"""Answers kept for the routes whose answer is a pure function of the request.

Every state lives in the URL (DESIGN.md), so `/sim?...&step=4` is the same bytes each time it
is asked for, yet rendering it again costs milliseconds of the one event loop a whole class
shares. A route opts in with `@pure` (written under its `@router.get`); its 200 answers are then
kept, already compressed, in a least-recently-used table bounded in bytes, and sent again
without running the route. The key is the path, the query and the request headers that change
an answer: the host (share links are absolute), htmx's (a fragment or the whole page), the
state /sim shows (a step answers with what changes from it) and whether gzip is accepted.

Never kept: streams (a body sent in several parts), anything but a 200, answers larger than
MAX_ENTRY_BYTES, and every route not marked pure (the labs' measurements differ on each run).
Each worker process keeps its own table; all of them serve the same bytes. `Kept`, the table,
also keeps the simulator's played steps (app.web.sim.pages).
"""

from __future__ import annotations

import sys
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Generic, TypeVar

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.web.infra.security import framable, set_framable

F = TypeVar("F", bound=Callable[..., object])
K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_PURE = "_gillab_pure"
# The request headers any page reads (request.base_url, app.web's htmx checks, the state /sim
# shows now: app.web.sim.pages), besides the path and the query.
VARY_HEADERS = (b"host", b"hx-request", b"hx-history-restore-request", b"sim-shown")
MAX_ENTRY_BYTES = 1 << 20

Key = tuple[str, str, bytes, tuple[bytes, ...], bool]


def pure(endpoint: F) -> F:
    """Mark a route whose 200 answer depends only on its scheme, path, query and VARY_HEADERS."""
    setattr(endpoint, _PURE, True)
    return endpoint


def _is_pure(scope: Scope) -> bool:
    # The router records the endpoint it chose in the scope it shares with every middleware.
    return getattr(scope.get("endpoint"), _PURE, False) is True


class Kept(Generic[K, V]):
    """A table bounded in bytes (as `size` counts them) that drops the least recently used.
    Not locked: only the event loop's thread uses one."""

    def __init__(self, max_bytes: int, size: Callable[[K, V], int]) -> None:
        self.max_bytes = max_bytes
        self._size = size
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        found = self._entries.get(key)
        if found is None:
            return None
        self._entries.move_to_end(key)
        return found[0]

    def put(self, key: K, value: V) -> None:
        if key in self._entries:
            self._bytes -= self._entries.pop(key)[1]
        size = self._size(key, value)
        self._entries[key] = (value, size)
        self._bytes += size
        while self._bytes > self.max_bytes:
            _, (_, dropped) = self._entries.popitem(last=False)
            self._bytes -= dropped


@dataclass(frozen=True, slots=True)
class Entry:
    headers: tuple[tuple[bytes, bytes], ...]
    body: bytes
    framable: bool  # rendered in an embed layout (app.web.infra.security decides the headers)


def _key(scope: Scope) -> Key:
    headers = dict(scope["headers"])
    return (
        scope["scheme"],
        scope["path"],
        scope["query_string"],
        tuple(headers.get(name, b"") for name in VARY_HEADERS),
        b"gzip" in headers.get(b"accept-encoding", b""),
    )


# What the table itself spends on each entry besides the key and the answer: its slot in the
# OrderedDict (which keeps room for entries dropped since it last resized), the ordering link,
# the (answer, size) pair and the size. Measured with tracemalloc on CPython 3.11, 166 bytes
# while the table grows and about 240 once it is full and dropping
# (tests/web/infra/test_page_cache.py checks the whole count).
TABLE_BYTES_PER_ENTRY = 240


def _size(key: Key, entry: Entry) -> int:
    """What an entry really costs the process: every object of its key and its answer, with
    their headers (an 80-byte answer is a few hundred bytes of Python objects), and the table's
    own share. Counting only the bytes' lengths let 1 MB of GILLAB_CACHE_MB hold 1.36 MB."""
    _, path, query, vary, _ = key  # the scheme is one string that every key shares
    objects = (
        key, path, query, vary, *vary,
        entry, entry.headers, *entry.headers, *(part for pair in entry.headers for part in pair),
        entry.body,
    )  # fmt: skip
    return TABLE_BYTES_PER_ENTRY + sum(sys.getsizeof(part) for part in objects)


def page_table(max_bytes: int) -> Kept[Key, Entry]:
    """An empty table for PageCache (the app owns it: app.web.infra.resources)."""
    return Kept[Key, Entry](max_bytes, _size)


class PageCache:
    """ASGI middleware; place it outside the compression, inside the security headers."""

    def __init__(self, app: ASGIApp, *, kept: Kept[Key, Entry]) -> None:
        self.app = app
        self._kept = kept

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or self._kept.max_bytes <= 0:
            await self.app(scope, receive, send)
            return
        key = _key(scope)
        entry = self._kept.get(key)
        if entry is not None:
            set_framable(scope, entry.framable)
            # A fresh list: outer middleware (the security headers) adds to it in place.
            start = {"type": "http.response.start", "status": 200, "headers": [*entry.headers]}
            await send(start)
            await send({"type": "http.response.body", "body": entry.body})
            return

        headers: tuple[tuple[bytes, bytes], ...] | None = None

        async def capture(message: Message) -> None:
            nonlocal headers
            if message["type"] == "http.response.start":
                if message["status"] == 200 and _is_pure(scope):
                    headers = tuple(message["headers"])
            elif message["type"] == "http.response.body" and headers is not None:
                body = message.get("body", b"")
                # One whole body in one message: a stream (several) is paced, never replayed.
                if not message.get("more_body", False) and len(body) <= MAX_ENTRY_BYTES:
                    self._kept.put(key, Entry(headers, body, framable(scope)))
                headers = None
            await send(message)

        await self.app(scope, receive, capture)
