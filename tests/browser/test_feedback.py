"""What a page says while it works and when it is done (issue 17: items 4, 8, 9, 11)."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.browser


def _until(page: Page, seen: Callable[[], bool], failure: str, timeout_s: float = 30) -> None:
    """Let the page run until `seen()` (a route handler has held a request), or fail."""
    deadline = time.monotonic() + timeout_s
    while not seen():
        assert time.monotonic() < deadline, failure
        page.wait_for_timeout(50)


def test_the_explorer_shows_one_spinner_while_it_counts(page: Page, live_server: str) -> None:
    """Issue 17.11: the placeholder and the form's indicator both spun during the first count."""
    held: list[Route] = []
    page.route("**/explore?*", lambda route: held.append(route)
               if route.request.headers.get("hx-request") else route.continue_())
    page.goto(live_server + "/explore?scenario=inc-inc&mode=none&n=3")
    page.wait_for_function("() => document.querySelector('#result.htmx-request') !== null")
    spinning = page.locator(".spinner:visible").count()
    _until(page, lambda: bool(held), "the count was never asked for")
    held[0].continue_()
    # The count runs in a worker below the server's priority: seconds on a busy machine.
    expect(page.locator("#histogram-title")).to_be_visible(timeout=30_000)
    assert spinning == 1


def test_a_lab_embed_says_what_it_measures_before_it_answers(
    page: Page, live_server: str
) -> None:
    """Issue 17.9: lesson 7's measured panel was a blank white box for about 2 s."""
    held: list[Route] = []
    page.route("**/gil/timeline?*embed=1*", lambda route: held.append(route))
    page.goto(live_server + "/lessons/time-slices")
    frame = page.locator("iframe.lab-embed")
    frame.scroll_into_view_if_needed()
    page.wait_for_function("() => document.querySelector('iframe.lab-embed') !== null")
    waiting = page.locator(".lab-embed-wrap .embed-waiting")
    expect(waiting).to_be_visible()
    expect(waiting).to_contain_text("300 ms at a 5 ms switch interval")
    expect(waiting.locator(".spinner")).to_be_visible()
    # The frame lets it show through until its own page paints over it.
    assert frame.evaluate("(el) => getComputedStyle(el).backgroundColor") == "rgba(0, 0, 0, 0)"
    _until(page, lambda: bool(held), "the embed was never requested")
    held[0].continue_()
    expect(page.frame_locator("iframe.lab-embed").locator("h1")).to_be_visible(timeout=20_000)


def test_a_gil_preset_fills_the_form_and_shows_its_progress(page: Page, live_server: str) -> None:
    """Issue 17.8: a 20 ms preset left the field at 5, so "Measure" went back to 5 ms; and the
    wait after a preset showed only a small label."""
    page.goto(live_server + "/gil?interval_ms=5&duration_ms=100", timeout=30_000)
    held: list[Route] = []
    page.route("**/gil/timeline?*",
               lambda route: route.continue_() if held else held.append(route))
    page.get_by_role("link", name="20 ms", exact=True).click()
    busy = page.locator("#timeline-measuring")
    expect(busy).to_be_visible()
    expect(busy).to_contain_text("Measuring")
    expect(busy.locator(".spinner")).to_be_visible()
    expect(page.locator("#timeline-panel")).to_have_css("opacity", "0.4")
    _until(page, lambda: bool(held), "the measurement was never asked for")
    held[0].continue_()
    expect(page.locator("#timeline-summary")).to_contain_text("a 20 ms interval", timeout=20_000)
    expect(page.locator("#interval_ms")).to_have_value("20")
    expect(busy).to_be_hidden()
    with page.expect_request("**/gil/timeline?*") as measured:
        page.get_by_role("button", name="Measure").click()
    assert "interval_ms=20" in measured.value.url
