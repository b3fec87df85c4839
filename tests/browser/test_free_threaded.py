"""Modes biased and immortal in a real browser: the split count is readable at 360 px, the
explorer's proof and the challenge board render, and stepping updates the card."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

PAGES = [
    "/sim?scenario=inc-dec&mode=biased&n=2&schedule=A3B4A4B4A1&step=9",
    "/sim?scenario=dec-dec&mode=immortal&n=2&step=4",
    "/explore?scenario=inc-inc&mode=biased&n=3&wait=1",
    "/challenges/freed-at-the-merge",
    "/lessons/free-threading",
]


@pytest.fixture(scope="module")
def narrow_page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 360, "height": 740})
    yield page
    page.close()


@pytest.mark.parametrize("path", PAGES)
def test_free_threaded_pages_fit_a_360px_screen(
    narrow_page: Page, live_server: str, path: str
) -> None:
    narrow_page.goto(live_server + path, wait_until="domcontentloaded")
    width = narrow_page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{path} is {width}px wide at a 360px viewport"
    assert narrow_page.locator("h1").count() == 1


def test_stepping_shows_the_queue_and_the_merge(page: Page, live_server: str) -> None:
    page.goto(live_server + "/sim?scenario=inc-dec&mode=biased&n=1&schedule=B4A6&step=3")
    expect(page.locator("#merge-queue")).to_have_text("empty")
    page.locator("#go-next").click()
    expect(page.locator("#merge-queue")).to_have_text("queued to A")
    expect(page.locator("#ob-ref-shared")).to_have_text("0 << 2 | queued")
    page.locator("#go-next").click()
    page.locator("#go-next").click()
    expect(page.locator("#ob-tid")).to_have_text("0: no owner")
    expect(page.locator("#ob-ref-shared")).to_have_text("0 << 2 | merged")
