"""The storage interface of live classes, and the hub that hands events to local streams.

A store keeps the records of `model` where every worker process (and, with Redis, every
machine) sees them, checks each bound atomically, and carries events between processes. Each
backend implements `Store`; `LiveClasses` (classes.py) is the only caller. A store delivers the
events it carries to its process's `Hub`, which fans each out to the streams open here.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Protocol

from app.live.model import ClassRecord, Event, HandIn, Member, QuestionRecord

# Events a stream may fall behind by before it is dropped (the browser reconnects and is sent
# the whole state again); a phone on a bad network must not hold memory for the class.
STREAM_BACKLOG = 64


class Store(Protocol):
    async def start(self) -> None:
        """Open connections and start delivering events to `hub`."""

    async def stop(self) -> None:
        """Stop delivering and close every connection (the server's shutdown)."""

    @property
    def hub(self) -> Hub: ...

    # Classes
    async def create_class(self, record: ClassRecord, *, max_classes: int) -> bool:
        """Add a class; False if its code is taken. Raises LimitReached past max_classes."""

    async def get_class(self, code: str) -> ClassRecord | None: ...

    async def save_class(self, record: ClassRecord) -> None:
        """Write the teacher's fields (state, question, show_top) and `touched`."""

    async def touch(self, code: str, now: float) -> None: ...

    async def is_ended(self, code: str) -> bool:
        """Whether `code` named a class that ended recently (answered 410, not 404)."""

    async def end_class(self, code: str, now: float) -> None:
        """Delete every record of the class and remember that it ended."""

    async def idle_classes(self, before: float) -> list[str]:
        """The codes of classes last touched before `before`."""

    async def prune(self, now: float) -> None:
        """Forget old events, rate windows and ended codes (a backend with expiry may pass)."""

    # Members
    async def add_member(self, code: str, member: Member, *, max_members: int) -> None:
        """Raises Conflict for a name taken (case-insensitively), LimitReached when full."""

    async def member(self, code: str, student_id: str) -> Member | None: ...

    async def members(self, code: str) -> list[Member]: ...

    async def member_count(self, code: str) -> int: ...

    async def remove_member(self, code: str, student_id: str) -> bool:
        """Forget a member (their token stops working, their name is free); False if unknown.
        Answers they gave stay counted."""

    async def add_scores(self, code: str, right: set[str], answered: set[str]) -> None:
        """Count one more revealed question for `answered`, one more right one for `right`."""

    # Questions and answers
    async def add_question(self, code: str, question: QuestionRecord) -> None:
        """Store a new question (its id is the class's question_id + 1) as the open one."""

    async def question(self, code: str, question_id: int) -> QuestionRecord | None: ...

    async def close_question(self, code: str, question_id: int) -> None:
        """Stop taking answers to the question."""

    async def reveal_question(self, code: str, question_id: int) -> bool:
        """Close and mark revealed; False if it was revealed already (atomically)."""

    async def put_answer(self, code: str, question_id: int, student_id: str, choice: str) -> bool:
        """Record (or change) an answer; False, and nothing written, if the question is closed."""

    async def answers(self, code: str, question_id: int) -> dict[str, str]: ...

    # Challenges
    async def put_hand_in(self, code: str, slug: str, hand_in: HandIn) -> None: ...

    async def hand_ins(self, code: str, slug: str) -> list[HandIn]: ...

    # Rates and events
    async def hit(self, key: str, *, limit: int, window: int, now: float, cost: int = 1) -> bool:
        """Count `cost` events for `key` in the current window of `window` seconds; False once
        the window has seen `limit` already (and then nothing is counted). Cost 0 only asks."""

    async def publish(self, code: str, event: Event) -> None:
        """Deliver `event` to every stream of the class, in every process."""


class Hub:
    """The streams open in this process, by class; only the event loop's thread touches it."""

    def __init__(self) -> None:
        self._streams: dict[str, set[asyncio.Queue[Event | None]]] = {}

    def deliver(self, code: str, event: Event) -> None:
        for queue in tuple(self._streams.get(code, ())):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                # Too far behind: end that stream (its client reconnects and resyncs).
                self._drop(code, queue)
                queue.get_nowait()
                queue.put_nowait(None)

    def deliver_all(self, events: Mapping[str, list[Event]]) -> None:
        for code, batch in events.items():
            for event in batch:
                self.deliver(code, event)

    def _drop(self, code: str, queue: asyncio.Queue[Event | None]) -> None:
        streams = self._streams.get(code)
        if streams is not None:
            streams.discard(queue)
            if not streams:
                del self._streams[code]

    @asynccontextmanager
    async def listen(self, code: str) -> AsyncIterator[asyncio.Queue[Event | None]]:
        """A queue of the class's events from now on; None in it means "stream over"."""
        queue: asyncio.Queue[Event | None] = asyncio.Queue(STREAM_BACKLOG)
        self._streams.setdefault(code, set()).add(queue)
        try:
            yield queue
        finally:
            self._drop(code, queue)

    def end_all(self) -> None:
        for code, streams in list(self._streams.items()):
            for queue in tuple(streams):
                self._drop(code, queue)
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait(None)

    def listeners(self, code: str) -> int:
        return len(self._streams.get(code, ()))
