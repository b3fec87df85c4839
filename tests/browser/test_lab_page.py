"""The /lab page in headless Chromium at phone width: the stream appends each run and redraws
the histogram and summary out of band, and nothing overflows 360 px; a run's replay link opens
/sim as that hardware run's replay.

The runs are given (tests/given_measurements.py `trial`), as a machine's two idle cores give
them: these tests check what the page does with runs, and the lab's C runs, at nice 19, took
longer than any bound here while the machine was busy. The runs themselves are tested for real
in tests/lab/test_native.py, tests/lab/test_replay.py and tests/web/lab/test_routes.py."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from app.lab.native import Freeing
from app.sim import Mode, Scenario
from tests.given_measurements import trial

pytestmark = pytest.mark.browser


def test_runs_stream_into_the_page_at_phone_width(browser: Browser, live_server: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 800})
    try:
        page = context.new_page()
        page.goto(
            f"{live_server}/lab?run=true&experiment=inc-inc&mode=atomic&iterations=1000&runs=4"
        )
        page.wait_for_selector("#stream-status:has-text('Done: 4 runs')", timeout=20_000)
        assert page.locator("#run-list > li").count() == 4
        assert "Runs so far\n4" in page.locator("#summary").inner_text()
        assert page.locator("#histogram rect.bar.correct").count() == 1
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()


def test_one_click_from_a_freed_object_runs_the_race_with_a_real_free(
    browser: Browser, live_server: str
) -> None:
    # Issue 13.1: from /sim's freed object, one click runs the same race in C, freeing for
    # real, and the runs say what the freed memory held.
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        page.goto(f"{live_server}/sim?scenario=inc-dec&mode=global-lock&n=1&schedule=B8A3&step=7")
        page.click("#native-real-free")
        page.wait_for_url("**/lab?*free=real*")
        page.wait_for_selector("#stream-status:has-text('Done: 10 runs')", timeout=30_000)
        runs = page.locator("#run-list > li")
        assert runs.count() == 10
        assert "experiment=inc-dec" in page.url and "mode=global-lock" in page.url
        # Freed runs say what a load read from the really freed memory (never a clean 0).
        given = [trial(number, Scenario.INC_DEC, Mode.GLOBAL_LOCK, 1_000, Freeing.REAL)
                 for number in range(1, 11)]  # fmt: skip
        read = [f"{t.result.freed_read:,}" for t in given if t.result.freed_read is not None]
        assert read and "0" not in read
        assert page.locator("#run-list .freed-read strong").all_inner_texts() == read
    finally:
        context.close()


def test_a_replay_link_opens_the_hardware_run_on_sim_where_the_race_shows(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    """Issue 17.10: the link opened a plain /sim at step 0 that did not say it was the
    hardware's run. 50 runs of 30 calls, of which the given ones from run 3 on lose an update
    in the window: a line says where each of those opens, and its link opens /sim there."""
    given = [trial(number, Scenario.INC_INC, Mode.NONE, 30, Freeing.OBSERVED)
             for number in range(1, 51)]  # fmt: skip
    raced = [(t.number, t.replay.race_step) for t in given if t.replay and t.replay.race_step]
    number, step = raced[0]
    assert 0 < step < 179  # a step that a key can move both ways from
    page.goto(f"{live_server}/lab?run=true&experiment=inc-inc&mode=none&iterations=30&runs=50")
    page.wait_for_selector("#stream-status:has-text('Done: 50 runs')")
    lines = page.locator("#run-list > li", has_text="where the race first shows")
    expect(lines).to_have_count(len(raced))
    line = lines.first
    expect(line).to_contain_text(f"Run {number}")
    expect(line).to_contain_text(f"opens at step {step}")
    line.locator("a.replay").click()

    page.wait_for_url("**/sim?*from=lab*")
    note = page.locator("#replay-note")
    expect(note).to_contain_text(f"Run {number} of 50 from the native lab")
    expect(note).to_contain_text("Recorded on this machine's cores")
    expect(page.locator("#stage")).to_have_attribute("data-step", str(step))
    expect(note).to_contain_text(f"The race first shows at step {step}")
    # A key steps: the note stays, and so does the replay in the address bar, which Copy link
    # copies.
    page.keyboard.press("ArrowRight")
    expect(page.locator("#stage")).to_have_attribute("data-step", str(step + 1))
    expect(note).to_be_visible()
    expect(note).to_contain_text(f"Run {number} of 50 from the native lab")
    # The address follows once the step is drawn (static/js/sim.js pushes it after the frame).
    expect(page).to_have_url(re.compile(rf"^(?=.*[?&]from=lab(&|$))(?=.*[?&]step={step + 1}(&|$))"))
    assert page_errors == []
