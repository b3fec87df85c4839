"""Lessons in a real browser: readable at 360 px (nothing wider than the screen) and the
structure a screen reader walks (one h1, landmarks, titled iframes, a labelled progress bar)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from app.web.lessons.content import LESSONS

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def narrow_page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 360, "height": 740})
    yield page
    page.close()


@pytest.mark.parametrize("path", ["/", *[lesson.url for lesson in LESSONS]])
def test_lessons_fit_a_360px_screen(narrow_page: Page, live_server: str, path: str) -> None:
    page = narrow_page
    page.goto(live_server + path, wait_until="domcontentloaded")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{path} is {width}px wide at a 360px viewport"
    assert page.locator("h1").count() == 1
    assert page.locator("main").count() == 1
    for iframe in page.locator("iframe").all():
        assert iframe.get_attribute("title")


def test_the_progress_bar_is_labelled(page: Page, live_server: str) -> None:
    page.goto(live_server + LESSONS[2].url, wait_until="domcontentloaded")
    progress = page.get_by_role("progressbar", name=f"Lesson 3 of {len(LESSONS)}")
    assert progress.count() == 1
    current = page.locator('[aria-current="step"]')
    assert current.get_attribute("href") == LESSONS[2].url


def test_embedded_tools_are_sized_to_their_content(
    page: Page, page_errors: list[str], live_server: str
) -> None:
    """static/js/lessons.js fits each iframe to the simulator inside, so nothing scrolls twice."""
    page.goto(live_server + LESSONS[1].url)
    page.locator("iframe.sim-embed").first.scroll_into_view_if_needed()
    page.wait_for_function(
        """() => {
            const frame = document.querySelector("iframe.sim-embed");
            const body = frame.contentDocument && frame.contentDocument.body;
            if (!body || !body.querySelector("main")) return false;
            const inner = body.getBoundingClientRect().height;
            return Math.abs(frame.getBoundingClientRect().height - inner) <= 3;
        }"""
    )
    assert page_errors == []
