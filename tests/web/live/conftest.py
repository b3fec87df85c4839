"""A whole app per test, on each storage backend, with its lifespan running."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.infra.settings import Settings

_databases = itertools.count()


@pytest.fixture(params=["sqlite", "redis"])
def live_settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "redis":
        # A fresh database number per test keeps tests apart on the one private server.
        server = str(request.getfixturevalue("redis_url")).rsplit("/", 1)[0]
        url = f"{server}/{next(_databases) % 16}"
        with redis.Redis.from_url(url) as connection:
            connection.flushdb()
        return Settings(redis_url=url, max_classes=3)
    return Settings(live_db=str(tmp_path / "live.sqlite3"), max_classes=3)


@pytest.fixture
def live(live_settings: Settings) -> Iterator[TestClient]:
    app = create_app(live_settings)
    with TestClient(app) as client:
        yield client
