"""Teachers embedding pages in slides (issue 17.12): embed code sized to show the whole view,
and a page framed without embed=1 that says how to embed it."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import Browser, FrameLocator, Page, expect

from tests.browser.conftest import DEFAULT_TIMEOUT_MS

pytestmark = pytest.mark.browser

# A long run with many events: the tallest embed view (the README's 960 x 600 cut it off).
LONG_RUN = "/sim?scenario=dec-dec&mode=none&n=30&step=40"


@dataclass(frozen=True, slots=True)
class Slides:
    """A teacher's slides, opened from disk in a browser context of their own."""

    page: Page
    deck: Path

    @property
    def url(self) -> str:
        return self.deck.as_uri()

    def show(self, iframe: str) -> FrameLocator:
        """Open the slides holding `iframe` (HTML, as a teacher pasted it): the frame in them."""
        self.deck.write_text(f"<!doctype html><body style='margin:0'>{iframe}</body>")
        self.page.goto(self.url, wait_until="load")
        return self.page.frame_locator("iframe")

    def frame(self, src: str, *, width: int, height: int) -> FrameLocator:
        return self.show(f'<iframe src="{src}" width="{width}" height="{height}"></iframe>')


@pytest.fixture
def slides(browser: Browser, tmp_path: Path) -> Iterator[Slides]:
    context = browser.new_context()
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        yield Slides(context.new_page(), tmp_path / "slides.html")
    finally:
        context.close()


def _copy_embed_code(page: Page) -> str:
    """Open "Embed in slides", wait for the measured height, press Copy: the code copied."""
    page.locator("#embed-code summary").click()
    snippet = page.locator("#embed-snippet")
    expect(snippet).to_have_attribute("data-height", re.compile(r"\d+"), timeout=20_000)
    page.locator("#copy-embed").click()
    expect(page.locator("#embed-copied")).not_to_be_empty()
    return snippet.input_value()


def _says_how_to_embed(frame: FrameLocator, src: str) -> None:
    """A page framed without embed=1 explains, gives the code, and shows its embed view."""
    expect(frame.locator("h1")).to_contain_text("embed=1", timeout=20_000)
    assert f'src="{src}&embed=1"' in frame.locator("#framed-snippet").input_value()
    frame.get_by_role("link", name="Show the embed view here").click()


def test_copy_embed_code_gives_a_frame_that_shows_the_whole_view(
    page: Page, slides: Slides, live_server: str
) -> None:
    page.goto(live_server + LONG_RUN)
    page.keyboard.press("ArrowRight")  # a step swapped in: the code follows it
    page.locator("#stage[data-step='41']").wait_for()
    code = _copy_embed_code(page)
    src = re.search(r'src="([^"]+)"', code)
    width = re.search(r'width="(\d+)"', code)
    height = re.search(r'height="(\d+)"', code)
    assert src and width and height, code
    assert src.group(1).startswith(live_server + "/sim?") and "embed=1" in src.group(1)
    assert "step=41&" in src.group(1)

    frame = slides.show(code)
    frame.locator("#stage").wait_for()
    fits = {"at step 41": _fit(frame)}
    frame.locator("#go-last").click()
    frame.locator("#go-next[aria-disabled='true']").wait_for()  # the run's end
    fits["at the last step"] = _fit(frame)
    for where, (scroll_h, client_h, scroll_w, client_w) in fits.items():
        assert scroll_h <= client_h and scroll_w <= client_w, (where, scroll_h, client_h)


def test_a_page_framed_without_embed_says_how_to_embed_it(
    slides: Slides, live_server: str
) -> None:
    """It looked like the server was down: the browser refused to show the framed page."""
    src = live_server + "/sim?scenario=inc-inc&mode=none&n=2&step=3"
    frame = slides.frame(src, width=900, height=600)
    _says_how_to_embed(frame, src)
    expect(frame.locator("#stage")).to_have_attribute("data-step", "3")


def test_a_challenge_framed_in_slides_plays_in_its_embed_layout(
    slides: Slides, live_server: str
) -> None:
    """Framed without embed=1 it says how to embed it, as every page does; its embed code then
    shows the challenge itself (it had no embed layout, so the frame stayed refused)."""
    src = live_server + "/challenges/lose-one?schedule=A2"
    frame = slides.frame(src, width=900, height=900)
    _says_how_to_embed(frame, src)
    expect(frame.locator("#play")).to_have_attribute("data-step", "2")
    expect(frame.locator(".site-header, .crumbs")).to_have_count(0)
    frame.locator("#step-B").click()  # playable in the slide, and it stays embedded
    expect(frame.locator("#play")).to_have_attribute("data-step", "3")
    assert slides.page.frames[1].url.endswith("/challenges/lose-one?schedule=A2B1&embed=1")


FREED = "/sim?scenario=inc-dec&mode=global-lock&n=1&schedule=B8A3&step=10&embed=1"


def test_a_link_out_of_a_slide_opens_a_tab_and_the_deck_stays(
    slides: Slides, live_server: str
) -> None:
    """The embed's "Run this race in C" had target="_top": it replaced the teacher's deck."""
    frame = slides.frame(live_server + FREED, width=960, height=900)
    with slides.page.context.expect_page() as opened:
        frame.locator("#native-real-free").click()
    tab = opened.value
    tab.wait_for_url("**/lab?**", wait_until="commit")
    tab.close()  # it would run the race in C: not this test's business
    assert slides.page.url == slides.url
    expect(frame.locator("#native-real-free")).to_be_visible()


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
    page: Page, slides: Slides, live_server: str
) -> None:
    """/sim had "Embed in slides"; a challenge had an embed layout but no code to copy."""
    page.goto(live_server + "/challenges/lose-one")
    page.locator("#step-A").click()
    page.wait_for_url("**schedule=A1")  # a step swapped in: the code follows it
    code = _copy_embed_code(page)
    src = re.search(r'src="([^"]+)"', code)
    assert src and src.group(1) == live_server + "/challenges/lose-one?schedule=A1&embed=1", code
    assert 'width="960"' in code

    frame = slides.show(code)
    expect(frame.locator("#play")).to_have_attribute("data-step", "1")
    fits = {"at step 1": _fit(frame)}
    frame.locator("#giveup").click()  # the proof's table, then the whole winning run
    frame.locator("#witness-link").click()
    expect(frame.locator("#win")).to_be_visible()
    fits["given up, the winning run replayed"] = _fit(frame)
    for where, (scroll_h, client_h, scroll_w, client_w) in fits.items():
        assert scroll_h <= client_h and scroll_w <= client_w, (where, scroll_h, client_h)


def _fit(frame: FrameLocator) -> list[int]:
    return list(frame.locator("html").evaluate(
        "(html) => [html.scrollHeight, html.clientHeight, html.scrollWidth, html.clientWidth]"))
