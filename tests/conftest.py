"""Shared fixtures: an app built from default settings, except the page cache, and a client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.infra.settings import Settings


@pytest.fixture(scope="session")
def app() -> FastAPI:
    """The page cache is off, so no test gets a page another test's request left in it; the
    tests of the cache make apps of their own (tests/web/infra/test_page_cache.py)."""
    return create_app(Settings(cache_mb=0))


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """A private Redis for the tests that run against the Redis backend. In CI (CI=true) a
    missing redis-server fails the run, since .ci/run installs it; elsewhere it skips loudly."""
    from tests.redis_server import REDIS_SERVER, in_ci, redis_server

    if REDIS_SERVER is None:
        message = "redis-server is not installed: the Redis backend is NOT tested"
        if in_ci():
            pytest.fail(message + " (CI must install it: apt-get install redis-server)")
        pytest.skip(message + " (apt-get install redis-server)")
    with redis_server() as url:
        yield url
