"""Phones and narrow frames (issue 17.13): no sideways scroll at 360 px, labels that do not run
into each other, chart text that stays readable, and lesson frames that show whole code lines."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page

from app.main import create_app
from app.web.infra.settings import Settings
from app.web.infra.sitemap import page_paths
from app.web.lessons.content import LESSONS

pytestmark = pytest.mark.browser

PAGES = [
    *(path for path in page_paths(create_app(Settings())) if path != "/healthz"),
    *(f"/lessons/{lesson.slug}" for lesson in LESSONS),
]
# Rendered size of chart text: its font size times the drawing's scale on screen.
SMALLEST_CHART_TEXT = """(selector) => Math.min(...[...document.querySelectorAll(selector)]
    .filter((text) => text.getClientRects().length > 0)
    .map((text) => parseFloat(getComputedStyle(text).fontSize) * text.getScreenCTM().a))"""


@pytest.fixture
def phone(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 360, "height": 740}, device_scale_factor=2)
    context.set_default_timeout(60_000)  # generous: a busy machine
    yield context.new_page()
    context.close()


@pytest.mark.parametrize("path", PAGES)
def test_no_page_scrolls_sideways_at_360_px(phone: Page, live_server: str, path: str) -> None:
    phone.goto(live_server + path)
    phone.wait_for_load_state("networkidle")
    width = phone.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 360, f"{path} is {width} px wide"


def test_explorer_labels_do_not_overlap_their_numbers(phone: Page, live_server: str) -> None:
    phone.goto(live_server + "/explore?scenario=inc-dec&mode=none&n=2")
    phone.wait_for_selector("#histogram-title")
    overlaps = phone.evaluate("""() => {
      const boxes = (row) => [...row.querySelectorAll('text')]
        .map((t) => t.getBoundingClientRect());
      const hit = (a, b) => a.left < b.right && b.left < a.right
        && a.top < b.bottom && b.top < a.bottom;
      let found = 0;
      for (const row of document.querySelectorAll('.histogram .row')) {
        const texts = boxes(row);
        texts.forEach((a, i) => texts.slice(i + 1).forEach((b) => { if (hit(a, b)) found++; }));
      }
      return found;
    }""")
    assert overlaps == 0


@pytest.mark.parametrize(
    ("path", "selector"),
    [("/versions", ".chart svg text"), ("/gil/timeline?duration_ms=200", ".lane-chart text")],
)
def test_chart_text_stays_readable_at_360_px(
    phone: Page, live_server: str, path: str, selector: str
) -> None:
    phone.goto(live_server + path)
    phone.wait_for_load_state("networkidle")
    phone.wait_for_selector(selector)
    smallest = phone.evaluate(SMALLEST_CHART_TEXT, selector)
    assert smallest >= 9, f"chart text at {smallest:.1f} px on {path}"


def test_lesson_frames_show_whole_code_lines_at_1280_px(browser: Browser, live_server: str) -> None:
    """The simulator in a lesson's frame cut off the `{` of `if (obj->ref_count == 0) {`."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    page = context.new_page()
    try:
        page.goto(live_server + "/lessons/freeing-under-a-race")
        frame = page.frame_locator("iframe.sim-embed").first
        frame.locator(".code").first.wait_for()
        cut = frame.locator("body").evaluate("""() => [...document.querySelectorAll('.code')]
            .filter((code) => code.scrollWidth > code.clientWidth + 1).length""")
        text = frame.locator(".code").first.inner_text()
    finally:
        context.close()
    assert cut == 0
    assert "{" in text
