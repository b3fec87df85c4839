"""Every live-class test runs against both storage backends (the `store` fixture)."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.live.classes import LiveClasses
from app.live.redis_store import RedisStore
from app.live.sqlite_store import SqliteStore
from app.live.store import Store
from app.web.infra import urls

_prefixes = itertools.count()


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(params=["sqlite", "redis"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def make_store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Store:
    if backend == "sqlite":
        return SqliteStore(tmp_path / "live.sqlite3")
    url = request.getfixturevalue("redis_url")
    # One server for the session; each test its own key prefix, so tests never see each other.
    return RedisStore(url, prefix=f"test{next(_prefixes)}")


class Clock:
    """A clock the test moves by hand (idle expiry, rate windows)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
async def classes(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: Clock
) -> AsyncIterator[LiveClasses]:
    live = LiveClasses(
        make_store(backend, request, tmp_path), links=urls, max_classes=5, clock=clock
    )
    await live.start()
    try:
        yield live
    finally:
        await live.stop()
