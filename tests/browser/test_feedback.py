"""What a page says while it works and when it is done (issue 17: items 4, 8, 9, 11)."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, Route, expect

pytestmark = pytest.mark.browser


def test_the_explorer_shows_one_spinner_while_it_counts(page: Page, live_server: str) -> None:
    """Issue 17.11: the placeholder and the form's indicator both spun during the first count."""
    held: list[Route] = []
    page.route("**/explore?*", lambda route: held.append(route)
               if route.request.headers.get("hx-request") else route.continue_())
    page.goto(live_server + "/explore?scenario=inc-inc&mode=none&n=3")
    page.wait_for_function("() => document.querySelector('#result.htmx-request') !== null")
    spinning = page.locator(".spinner:visible").count()
    assert held, "the count was never asked for"
    held[0].continue_()
    expect(page.locator("#histogram-title")).to_be_visible()
    assert spinning == 1
