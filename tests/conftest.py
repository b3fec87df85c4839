"""Shared fixtures: an app built from default settings and a client for it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.infra.settings import Settings


@pytest.fixture(scope="session")
def app() -> FastAPI:
    return create_app(Settings())


@pytest.fixture(scope="session")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client
