"""Teachers embedding pages in slides (issue 17.12): embed code sized to show the whole view,
and a page framed without embed=1 that says how to embed it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

pytestmark = pytest.mark.browser

# A long run with many events: the tallest embed view (the README's 960 x 600 cut it off).
LONG_RUN = "/sim?scenario=dec-dec&mode=none&n=30&step=40"


def _slides(tmp_path: Path, iframe: str) -> str:
    """A teacher's slides opened from disk, holding `iframe`."""
    slides = tmp_path / "slides.html"
    slides.write_text(f"<!doctype html><body style='margin:0'>{iframe}</body>")
    return slides.as_uri()


def test_copy_embed_code_gives_a_frame_that_shows_the_whole_view(
    page: Page, browser: Browser, live_server: str, tmp_path: Path
) -> None:
    page.goto(live_server + LONG_RUN)
    page.keyboard.press("ArrowRight")  # a step swapped in: the code follows it
    page.locator("#stage[data-step='41']").wait_for()
    page.locator("#embed-code summary").click()
    snippet = page.locator("#embed-snippet")
    expect(snippet).to_have_attribute("data-height", re.compile(r"\d+"), timeout=20_000)
    page.locator("#copy-embed").click()
    expect(page.locator("#embed-copied")).not_to_be_empty()
    code = snippet.input_value()
    src = re.search(r'src="([^"]+)"', code)
    width = re.search(r'width="(\d+)"', code)
    height = re.search(r'height="(\d+)"', code)
    assert src and width and height, code
    assert src.group(1).startswith(live_server + "/sim?") and "embed=1" in src.group(1)
    assert "step=41&" in src.group(1)

    slides = browser.new_context()
    shown = slides.new_page()
    try:
        shown.goto(_slides(tmp_path, code), wait_until="load")
        frame = shown.frame_locator("iframe")
        frame.locator("#stage").wait_for()
        fits = {"at step 41": frame.locator("html").evaluate(
            "(html) => [html.scrollHeight, html.clientHeight, html.scrollWidth, html.clientWidth]")}
        frame.locator("#go-last").click()
        frame.locator("#go-next[aria-disabled='true']").wait_for()  # the run's end
        fits["at the last step"] = frame.locator("html").evaluate(
            "(html) => [html.scrollHeight, html.clientHeight, html.scrollWidth, html.clientWidth]")
    finally:
        slides.close()
    for where, (scroll_h, client_h, scroll_w, client_w) in fits.items():
        assert scroll_h <= client_h and scroll_w <= client_w, (where, scroll_h, client_h)


def test_a_page_framed_without_embed_says_how_to_embed_it(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    """It looked like the server was down: the browser refused to show the framed page."""
    context = browser.new_context()
    page = context.new_page()
    path = "/sim?scenario=inc-inc&mode=none&n=2&step=3"
    try:
        page.goto(_slides(tmp_path, f'<iframe src="{live_server}{path}" width="900" '
                                    'height="600"></iframe>'), wait_until="load")
        frame = page.frame_locator("iframe")
        expect(frame.locator("h1")).to_contain_text("embed=1", timeout=20_000)
        snippet = frame.locator("#framed-snippet").input_value()
        assert f'src="{live_server}{path}&embed=1"' in snippet
        frame.get_by_role("link", name="Show the embed view here").click()
        expect(frame.locator("#stage")).to_have_attribute("data-step", "3")
    finally:
        context.close()


def test_a_challenge_framed_in_slides_plays_in_its_embed_layout(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    """Framed without embed=1 it says how to embed it, as every page does; its embed code then
    shows the challenge itself (it had no embed layout, so the frame stayed refused)."""
    context = browser.new_context()
    page = context.new_page()
    path = "/challenges/lose-one?schedule=A2"
    try:
        page.goto(_slides(tmp_path, f'<iframe src="{live_server}{path}" width="900" '
                                    'height="900"></iframe>'), wait_until="load")
        frame = page.frame_locator("iframe")
        expect(frame.locator("h1")).to_contain_text("embed=1", timeout=20_000)
        assert f'src="{live_server}{path}&embed=1"' in frame.locator(
            "#framed-snippet").input_value()
        frame.get_by_role("link", name="Show the embed view here").click()
        expect(frame.locator("#play")).to_have_attribute("data-step", "2")
        expect(frame.locator(".site-header, .crumbs")).to_have_count(0)
        frame.locator("#step-B").click()  # playable in the slide, and it stays embedded
        expect(frame.locator("#play")).to_have_attribute("data-step", "3")
        assert page.frames[1].url.endswith("/challenges/lose-one?schedule=A2B1&embed=1")
    finally:
        context.close()


FREED = "/sim?scenario=inc-dec&mode=global-lock&n=1&schedule=B8A3&step=10&embed=1"


def test_a_link_out_of_a_slide_opens_a_tab_and_the_deck_stays(
    browser: Browser, live_server: str, tmp_path: Path
) -> None:
    """The embed's "Run this race in C" had target="_top": it replaced the teacher's deck."""
    context = browser.new_context()
    page = context.new_page()
    try:
        slides = _slides(tmp_path, f'<iframe src="{live_server}{FREED}" width="960" '
                                   'height="900"></iframe>')
        page.goto(slides, wait_until="load")
        with context.expect_page() as opened:
            page.frame_locator("iframe").locator("#native-real-free").click()
        tab = opened.value
        tab.wait_for_url("**/lab?**", wait_until="commit")
        tab.close()  # it would run the race in C: not this test's business
        assert page.url == slides
        expect(page.frame_locator("iframe").locator("#native-real-free")).to_be_visible()
    finally:
        context.close()


def test_a_link_out_of_a_lesson_embed_replaces_the_lesson(page: Page, live_server: str) -> None:
    """In this site's own lesson the link goes where it leads, in place of the lesson, not in a
    tab (the lesson's frame says so: data-embed-links="top", static/js/embed.js)."""
    page.goto(live_server + "/lessons/the-lock")
    frame = page.frame_locator("iframe[src*='schedule=B8A3']")
    page.locator("iframe[src*='schedule=B8A3']").scroll_into_view_if_needed()
    frame.locator("#native-real-free").click()
    page.wait_for_url("**/lab?**", wait_until="commit")
    assert len(page.context.pages) == 1
    page.goto("about:blank")  # before the lab runs the race in C


def test_a_challenge_gives_embed_code_that_shows_the_whole_challenge(
    page: Page, browser: Browser, live_server: str, tmp_path: Path
) -> None:
    """/sim had "Embed in slides"; a challenge had an embed layout but no code to copy."""
    page.goto(live_server + "/challenges/lose-one")
    page.locator("#step-A").click()
    page.wait_for_url("**schedule=A1")  # a step swapped in: the code follows it
    page.locator("#embed-code summary").click()
    snippet = page.locator("#embed-snippet")
    expect(snippet).to_have_attribute("data-height", re.compile(r"\d+"), timeout=20_000)
    page.locator("#copy-embed").click()
    expect(page.locator("#embed-copied")).not_to_be_empty()
    code = snippet.input_value()
    src = re.search(r'src="([^"]+)"', code)
    assert src and src.group(1) == live_server + "/challenges/lose-one?schedule=A1&embed=1", code
    assert 'width="960"' in code

    slides = browser.new_context()
    shown = slides.new_page()
    try:
        shown.goto(_slides(tmp_path, code), wait_until="load")
        frame = shown.frame_locator("iframe")
        expect(frame.locator("#play")).to_have_attribute("data-step", "1")
        fits = {"at step 1": _fit(frame)}
        frame.locator("#giveup").click()  # the proof's table, then the whole winning run
        frame.locator("#witness-link").click()
        expect(frame.locator("#win")).to_be_visible()
        fits["given up, the winning run replayed"] = _fit(frame)
    finally:
        slides.close()
    for where, (scroll_h, client_h, scroll_w, client_w) in fits.items():
        assert scroll_h <= client_h and scroll_w <= client_w, (where, scroll_h, client_h)


def _fit(frame: FrameLocator) -> list[int]:
    return list(frame.locator("html").evaluate(
        "(html) => [html.scrollHeight, html.clientHeight, html.scrollWidth, html.clientWidth]"))
