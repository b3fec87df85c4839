"""The /lab page in headless Chromium at phone width: the stream appends each run and redraws
the histogram and summary out of band, and nothing overflows 360 px."""

from __future__ import annotations

import pytest
from playwright.sync_api import Browser

pytestmark = pytest.mark.browser


def test_runs_stream_into_the_page_at_phone_width(browser: Browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 800})
    try:
        page = context.new_page()
        page.goto(
            f"{live_server}/lab?run=true&experiment=inc-inc&mode=atomic&iterations=1000&runs=4"
        )
        page.wait_for_selector("#stream-status:has-text('Done: 4 runs')", timeout=20_000)
        assert page.locator("#run-list > li").count() == 4
        assert "Runs so far\n4" in page.locator("#summary").inner_text()
        assert page.locator("#histogram rect.bar.correct").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()
