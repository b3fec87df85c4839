"""Keys in a classroom (issue 17): fast keys apply in order, and the keys the legend names keep
working after a button or picker was used, unless a text field has focus; the hints that name
them show only where there is a keyboard."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from app.sim import Config, Mode, Permalink, Scenario, simulate
from tests.browser.conftest import DEFAULT_TIMEOUT_MS

pytestmark = pytest.mark.browser


def _path(permalink: Permalink) -> str:
    return "/sim?" + permalink.to_query()


def _url_is(path: str) -> re.Pattern[str]:
    return re.compile(re.escape(path) + "$")


@pytest.mark.parametrize("n", [2, 30])
def test_keys_typed_30_ms_apart_apply_in_order(
    page: Page, live_server: str, page_errors: list[str], n: int
) -> None:
    """Key auto-repeat: ABABABAB typed 30 ms apart schedules exactly A, B, A, B, ... ."""
    config = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=n)
    page.goto(live_server + _path(Permalink.of(simulate(config), 0)))
    page.keyboard.type("ABABABAB", delay=30)
    chosen = simulate(config, "ABABABAB")
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 8))))
    expect(page.locator("#stage")).to_have_attribute("data-step", "8")
    assert page_errors == []


def test_arrows_typed_fast_reach_the_step_they_count(page: Page, live_server: str) -> None:
    config = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30)
    run = simulate(config)
    page.goto(live_server + _path(Permalink.of(run, 0)))
    for _ in range(12):
        page.keyboard.press("ArrowRight", delay=10)
    for _ in range(3):
        page.keyboard.press("ArrowLeft", delay=10)
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 9))))


def test_arrows_step_after_copy_link(page: Page, live_server: str) -> None:
    """Issue 17.7: focus stays on "Copy link" after a click; ← → must still step."""
    config = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=2)
    run = simulate(config)
    page.goto(live_server + _path(Permalink.of(run, 2)))
    page.click("#copy-link")
    expect(page.locator("#copy-link")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 3))))
    page.keyboard.press("ArrowLeft")
    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 1))))


def test_the_calls_picker_keeps_its_value_when_arrows_step(page: Page, live_server: str) -> None:
    """Issue 17.7: after choosing n, → stepped n up to the next size and loaded another run."""
    page.goto(live_server + "/sim?scenario=inc-inc&mode=none&n=2&step=0")
    page.focus("#pick-n")
    page.keyboard.press("ArrowDown")  # a picker still answers ↑ ↓: n = 3
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=3))
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 0))))
    expect(page.locator("#pick-n")).to_be_focused()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 2))))
    expect(page.locator("#pick-n")).to_have_value("3")
    page.keyboard.press("a")  # a letter schedules a thread; it does not pick an option
    expect(page.locator("#stage")).to_have_attribute("data-step", "3")
    expect(page.locator("#pick-n")).to_have_value("3")


def test_a_text_field_keeps_its_keys(page: Page, live_server: str) -> None:
    """Typing in a text field (here one a teacher's page might add) never steps the run."""
    page.goto(live_server + "/sim?scenario=inc-inc&mode=none&n=2&step=0")
    page.evaluate(
        "() => { const field = document.createElement('input'); field.id = 'note';"
        " document.querySelector('.toolbar').append(field); }"
    )
    page.focus("#note")
    page.keyboard.type("ab")
    page.keyboard.press("ArrowLeft")
    expect(page.locator("#note")).to_have_value("ab")
    expect(page.locator("#stage")).to_have_attribute("data-step", "0")


def test_a_step_within_a_run_moves_the_marks_instead_of_replacing_the_timeline(
    page: Page, live_server: str
) -> None:
    """Issue 17.15: swap only what a step changes. The ~180-cell timeline stays in place and
    only its current/ahead marks move; a new schedule (B out of turn) replaces it."""
    config = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30)
    run = simulate(config)
    page.goto(live_server + _path(Permalink.of(run, 0)))
    page.evaluate("() => { window.firstTimeline = document.getElementById('timeline'); }")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 2))))
    assert page.evaluate("() => document.getElementById('timeline') === window.firstTimeline")
    current = page.locator("#timeline li.cell.current button")
    expect(current).to_have_count(1)
    expect(current).to_have_attribute("aria-current", "step")
    expect(current).to_have_attribute("value", "2")
    expect(page.locator("#timeline li.cell.future")).to_have_count(len(run.steps) - 2)
    page.keyboard.press("b")  # B out of turn: another schedule, so a new timeline
    chosen = simulate(config, "ABB")
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 3))))
    assert page.evaluate("() => document.getElementById('timeline') !== window.firstTimeline")
    expect(page.locator("#timeline code.schedule")).to_have_text(chosen.schedule)


# A page with a key hint, the button that takes a step there, and the element whose data-step
# says the step was taken.
HINTED = {
    "challenge": ("/challenges/lose-one", "#step-A", "#play"),
    "sim": ("/sim?scenario=inc-inc&mode=none&n=1&step=0", "#go-next", "#stage"),
}


@pytest.mark.parametrize("where", HINTED)
@pytest.mark.parametrize("touch", [True, False], ids=["phone", "narrow-window"])
def test_key_hints_show_only_where_there_is_a_keyboard(
    browser: Browser, live_server: str, touch: bool, where: str
) -> None:
    """A phone (touch, no hover) has no A, B or Backspace to press: the page told it to press
    them. A narrow desktop window has a keyboard, so its hint stays (/sim hid it below 820 px
    whatever the device); the buttons work on both."""
    path, step_button, stage = HINTED[where]
    context = browser.new_context(
        viewport={"width": 360, "height": 740}, is_mobile=touch, has_touch=touch
    )
    context.set_default_timeout(DEFAULT_TIMEOUT_MS)
    try:
        page = context.new_page()
        page.goto(live_server + path)
        hints = page.locator(".keys")
        expect(hints).to_have_count(1)
        as_expected = expect(hints).to_be_hidden if touch else expect(hints).to_be_visible
        as_expected()
        step = page.locator(step_button)
        step.tap() if touch else step.click()
        expect(page.locator(stage)).to_have_attribute("data-step", "1")
        as_expected()  # and so after the step's swap
        assert page.evaluate("document.documentElement.scrollWidth") <= 360
    finally:
        context.close()

