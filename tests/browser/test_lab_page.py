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


def test_one_click_from_a_freed_object_runs_the_race_with_a_real_free(
    browser: Browser, live_server: str
) -> None:
    # Issue 13.1: from /sim's freed object, one click runs the same race in C, freeing for
    # real, and the runs say what the freed memory held.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/sim?scenario=inc-dec&mode=global-lock&n=1&schedule=B8A3&step=7")
        page.click("#native-real-free")
        page.wait_for_url("**/lab?*free=real*")
        page.wait_for_selector("#stream-status:has-text('Done: 10 runs')", timeout=30_000)
        runs = page.locator("#run-list > li")
        assert runs.count() == 10
        assert "experiment=inc-dec" in page.url and "mode=global-lock" in page.url
        # Freed runs say what a load read from the really freed memory (never a clean 0).
        for line in page.locator("#run-list .freed-read strong").all_inner_texts():
            assert int(line.replace(",", "")) != 0, line
    finally:
        context.close()
