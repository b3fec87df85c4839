"""Challenges in a real browser: win with the keyboard, replay the permalink, keep progress."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser


def _press(page: Page, key: str, step: int) -> None:
    page.keyboard.press(key)
    expect(page.locator("#play")).to_have_attribute("data-step", str(step))
    # Let htmx finish settling the swap: a key pressed before that was lost about one run in
    # five here (the next step's link is clicked while htmx still settles the last one).
    page.wait_for_function(
        "() => !document.querySelector("
        "'.htmx-request, .htmx-settling, .htmx-swapping, .htmx-added')"
    )


def test_win_with_the_keyboard_then_reload_the_permalink(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    page.goto(f"{live_server}/challenges/lose-one")
    expect(page.locator("#goal")).to_have_text("rc ends at 2")
    for step, key in enumerate("aabbba", start=1):
        _press(page, key, step)
        expect(page.locator("#live")).to_contain_text(f"Step {step}:")
    expect(page.locator("#win")).to_contain_text("Solved!")
    assert page.url.endswith("/challenges/lose-one?schedule=A2B3A1")
    expect(page.locator("#share-url")).to_have_value(
        re.compile(r"/challenges/lose-one\?schedule=A2B3A1$")
    )

    # The win is in this browser's storage as soon as the winning step has been swapped in.
    # A function, not an expression: Playwright evals expressions, which the CSP forbids.
    page.wait_for_function(
        "() => (localStorage.getItem('gil-lab:challenges:solved') || '').includes('A2B3A1')"
    )
    page.reload()
    expect(page.locator("#win")).to_contain_text("Solved!")
    expect(page.locator("#schedule")).to_have_text("A2B3A1")

    # Backspace undoes a step; the browser's back button undoes the undo's history entry.
    _press(page, "Backspace", 5)
    assert page.url.endswith("schedule=A2B3")
    expect(page.locator("#win")).to_have_count(0)
    page.go_back()
    expect(page.locator("#play")).to_have_attribute("data-step", "6")

    # The win was recorded in this browser and travels as the "my solutions" link.
    page.goto(f"{live_server}/challenges")
    card = page.locator('[data-challenge="lose-one"]')
    expect(card).to_have_class(re.compile(r"\bsolved\b"))
    expect(page.locator("#solved-count")).to_have_text("1")
    link = page.locator("#my-solutions")
    expect(link).to_have_attribute("href", "/challenges?solved=lose-one:A2B3A1")
    assert page_errors == []


def test_solutions_link_restores_progress_in_a_fresh_browser(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/challenges?solved=lose-one:A2B3A1,leak,keep-count:AB")
    expect(page.locator("#solved-count")).to_have_text("2")
    expect(page.locator('[data-challenge="keep-count"]')).not_to_have_class(re.compile("solved"))
    page.goto(f"{live_server}/challenges")  # from localStorage now, no link needed
    expect(page.locator("#solved-count")).to_have_text("2")
    expect(page.locator('[data-challenge="lose-one"] .replay-link')).to_be_visible()


def test_hint_and_give_up_by_clicking(page: Page, live_server: str) -> None:
    page.goto(f"{live_server}/challenges/keep-count")
    page.get_by_role("link", name="Hint: the next step of a winning schedule").click()
    expect(page.locator("#hint-text")).to_contain_text("Step A next")
    page.get_by_role("link", name=re.compile("^Give up")).click()
    expect(page.locator("#giveup-panel")).to_contain_text("One way to win")
    page.locator("#witness-link").click()
    expect(page.locator("#win")).to_contain_text("A winning schedule")


@pytest.mark.parametrize(
    "path",
    ["/challenges", "/challenges/zombie", "/challenges/rock-bottom?schedule=A2B1A4&giveup=1",
     "/challenges/lose-one?schedule=A2B3A1"],
)  # fmt: skip
def test_narrow_screen_fits_without_sideways_scrolling(
    page: Page, live_server: str, path: str
) -> None:
    page.set_viewport_size({"width": 360, "height": 740})
    page.goto(f"{live_server}{path}")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    for control in ("#step-A", "#step-B"):
        for box in [page.locator(control).bounding_box()] if page.locator(control).count() else []:
            assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360


def test_claiming_impossible_counts_towards_progress(page: Page, live_server: str) -> None:
    """Issue 17.5: an impossible challenge is solved by saying so before the proof."""
    from app.sim.challenges import CHALLENGES, odds

    impossible = next(c.slug for c in CHALLENGES if not odds(c).possible)
    page.goto(f"{live_server}/challenges/{impossible}")
    page.locator("#claim").click()
    expect(page.locator("#win h2")).to_have_text("Solved: it cannot be done")
    expect(page.locator("#giveup-panel")).to_be_visible()  # the proof is the reward
    page.goto(f"{live_server}/challenges")
    expect(page.locator("#solved-count")).to_have_text("1")
    card = page.locator(f'[data-challenge="{impossible}"]')
    expect(card).to_have_class(re.compile("solved"))
    expect(card.locator(".replay-link")).to_have_attribute("href", re.compile(r"\?claim=1$"))
