"""The hub that hands a process's events to its open streams."""

from __future__ import annotations

import pytest

from app.live.model import Event
from app.live.store import STREAM_BACKLOG, Hub

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _event(number: int) -> Event:
    return Event(name="state", data=f'{{"step":{number}}}')


async def test_each_stream_gets_its_class_events_in_order() -> None:
    hub = Hub()
    async with hub.listen("AAAAAA") as first, hub.listen("AAAAAA") as second:
        async with hub.listen("BBBBBB") as other:
            for number in range(3):
                hub.deliver("AAAAAA", _event(number))
            assert other.empty()
        for queue in (first, second):
            assert [queue.get_nowait() for _ in range(3)] == [_event(n) for n in range(3)]
    assert hub.listeners("AAAAAA") == 0  # a closed stream is forgotten


async def test_a_stream_that_falls_too_far_behind_is_ended_not_buffered() -> None:
    hub = Hub()
    async with hub.listen("AAAAAA") as slow, hub.listen("AAAAAA") as reading:
        for number in range(STREAM_BACKLOG + 1):
            hub.deliver("AAAAAA", _event(number))
            assert reading.get_nowait() == _event(number)
        assert hub.listeners("AAAAAA") == 1  # the slow one was let go
        received = [slow.get_nowait() for _ in range(slow.qsize())]
        assert received[-1] is None  # its stream ends; the browser reconnects and resyncs
        assert len(received) == STREAM_BACKLOG


async def test_a_server_stop_ends_every_stream() -> None:
    hub = Hub()
    async with hub.listen("AAAAAA") as one, hub.listen("BBBBBB") as two:
        hub.deliver("AAAAAA", _event(1))
        hub.end_all()
        assert one.get_nowait() is None and two.get_nowait() is None
