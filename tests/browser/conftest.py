"""Fixtures for browser tests: a live server in a thread and the system Chromium, headless.

Reusable by every area's browser tests: `live_server` is the base URL of a real uvicorn
serving the app on a free port; `page` is a fresh Playwright page (own context, so no cookies
or history leak between tests) with a default timeout that ends a test on a broken page (a
failure bound, generous for a busy machine). The server runs with the default settings (htmx
from static/vendor/, deferred, so it is running once a page has loaded);
tests/browser/test_network.py covers the CDN path (GILLAB_OFFLINE=0) and its fallback.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Browser, Page, sync_playwright

from app.main import create_app
from app.web.infra.settings import Settings
from tests.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.given_measurements import given_measurements
from tests.live_server import serve

# A failure bound, no figure: 10 s was not enough for a lesson page and its frames at load 30.
DEFAULT_TIMEOUT_MS = 30_000


@pytest.fixture(scope="session")
def live_app() -> Iterator[FastAPI]:
    """The app `live_server` serves, with the GIL lab's, /versions' and the lock-cost table's
    measurements given (tests/given_measurements.py): browser tests check pages and flows, and
    a real measurement takes over 15 s on a busy machine. A test may override more of its
    dependencies."""
    app = create_app(Settings())
    with given_measurements(app):
        yield app


@pytest.fixture(scope="session")
def live_server(live_app: FastAPI) -> Iterator[str]:
    """Serve the app on 127.0.0.1 and a free port; yield its base URL."""
    with serve(live_app) as base_url:
        yield base_url


# Module scope, not session: a live sync_playwright keeps an asyncio loop running on the main
# thread, which would break every later test module that calls asyncio.run().
@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        missing = f"no Chromium at {CHROMIUM} (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(missing)  # CI installs it: a browser test that skips there hides a bug
        pytest.skip(missing)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own context (no cookies or history shared between tests)."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    yield context.new_page()
    context.close()


@pytest.fixture
def page_errors(page: Page) -> list[str]:
    """Uncaught script errors on `page`; a test asserts it stays empty."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
