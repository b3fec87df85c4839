"""Lessons in a real browser: readable at 360 px (nothing wider than the screen) and the
structure a screen reader walks (one h1, landmarks, titled iframes, a labelled progress bar)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from app.lessons import LESSONS
from app.main import create_app
from app.web.settings import Settings
from tests.live_server import serve

pytestmark = pytest.mark.browser

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    with serve(create_app(Settings(offline=True))) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def narrow_page(browser: Browser) -> Iterator[Page]:
    page = browser.new_page(viewport={"width": 360, "height": 740})
    yield page
    page.close()


@pytest.mark.parametrize("path", ["/", *[lesson.url for lesson in LESSONS]])
def test_lessons_fit_a_360px_screen(narrow_page: Page, base_url: str, path: str) -> None:
    page = narrow_page
    page.goto(base_url + path, wait_until="domcontentloaded")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 360, f"{path} is {width}px wide at a 360px viewport"
    assert page.locator("h1").count() == 1
    assert page.locator("main").count() == 1
    for iframe in page.locator("iframe").all():
        assert iframe.get_attribute("title")


def test_the_progress_bar_is_labelled(browser: Browser, base_url: str) -> None:
    page = browser.new_page()
    try:
        page.goto(base_url + LESSONS[2].url, wait_until="domcontentloaded")
        progress = page.get_by_role("progressbar", name=f"Lesson 3 of {len(LESSONS)}")
        assert progress.count() == 1
        current = page.locator('[aria-current="step"]')
        assert current.get_attribute("href") == LESSONS[2].url
    finally:
        page.close()


def test_embedded_tools_are_sized_to_their_content(browser: Browser, base_url: str) -> None:
    """static/js/lessons.js fits each iframe to the simulator inside, so nothing scrolls twice."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(base_url + LESSONS[1].url)
        frame = page.locator("iframe.sim-embed").first
        frame.scroll_into_view_if_needed()
        page.wait_for_function(
            """() => {
                const frame = document.querySelector("iframe.sim-embed");
                const body = frame.contentDocument && frame.contentDocument.body;
                if (!body || !body.querySelector("main")) return false;
                const inner = body.getBoundingClientRect().height;
                return Math.abs(frame.getBoundingClientRect().height - inner) <= 3;
            }""",
            timeout=10_000,
        )
    finally:
        page.close()
