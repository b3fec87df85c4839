"""Lessons in a real browser: readable at 360 px (nothing wider than the screen) and the
structure a screen reader walks (one h1, landmarks, titled iframes, a labelled progress bar)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from app.web.lessons.content import LESSONS
from tests.browser.conftest import DEFAULT_TIMEOUT_MS

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


# Each tool frame of the lesson: whether its page has loaded, how far its page scrolls inside
# the frame, how much taller the frame is than its page, and whether it fits: loaded, no
# scrolling, at most 2 px to spare.
_FRAMES = """() => [...document.querySelectorAll("iframe.tool-embed")].map((frame) => {
  const doc = frame.contentDocument;
  const ready = !!doc && doc.readyState === "complete" && !!doc.querySelector("main");
  const root = ready ? doc.documentElement : null;
  const scrolls = root ? root.scrollHeight - root.clientHeight : null;
  const spare = root ? root.clientHeight - Math.ceil(root.getBoundingClientRect().height) : null;
  const fits = ready && scrolls === 0 && spare <= 2;
  return { src: frame.getAttribute("src"), ready, scrolls, spare, fits };
})"""
_FIT = f"""() => ({_FRAMES})().every((frame) => frame.fits)"""


def _frames_fit(page: Page) -> None:
    """Every tool frame shows its whole page: nothing scrolls inside it (a wheel over it would
    scroll it first, and a phone has two scrolls in one), and no empty box below the page."""
    try:
        page.wait_for_function(_FIT, timeout=DEFAULT_TIMEOUT_MS)
    except PlaywrightTimeout:
        unfit = [frame for frame in page.evaluate(_FRAMES) if not frame["fits"]]
        raise AssertionError(f"frames that do not fit their pages: {unfit}") from None


@pytest.mark.parametrize("width", [1280, 360])
@pytest.mark.parametrize("lesson", [LESSONS[1].url, LESSONS[4].url, LESSONS[6].url])
def test_embedded_tools_are_sized_to_their_content(
    browser: Browser, live_server: str, lesson: str, width: int
) -> None:
    """static/js/lessons.js fits each frame (the simulator, the lab and GIL lab panels) to its
    page, at a desktop's width and a phone's, so nothing scrolls twice. The frame's border
    counts: fitted to its page's height, the frame's inside was 2 px short, and every frame
    scrolled by those 2 px."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    errors: list[str] = []
    try:
        page = context.new_page()
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.goto(live_server + lesson)
        for frame in page.locator("iframe.tool-embed").all():  # they load as they scroll in
            frame.scroll_into_view_if_needed()
        _frames_fit(page)
        assert errors == []
    finally:
        context.close()


def test_an_embedded_simulator_still_fits_after_a_step_changes_its_height(
    page: Page, page_errors: list[str], live_server: str
) -> None:
    """The frame follows its page as a step swaps in: back to step 0 the run's log is empty."""
    page.goto(live_server + LESSONS[1].url)
    frame = page.locator("iframe.sim-embed").first
    frame.scroll_into_view_if_needed()
    _frames_fit(page)
    before = frame.bounding_box()
    page.frame_locator("iframe.sim-embed").first.locator("#go-first").click()
    expect(page.frame_locator("iframe.sim-embed").first.locator("#stage")).to_have_attribute(
        "data-step", "0"
    )
    _frames_fit(page)
    after = frame.bounding_box()
    assert before and after and after["height"] != before["height"]  # the step changed it
    assert page_errors == []
