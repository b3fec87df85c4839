"""The simulator and explorer in headless Chromium: stepping, playing, permalinks, witnesses.

Expected values come from the core (`app.sim`). No network reaches the CDN here, so every test
also proves the vendored htmx fallback works.
"""

from __future__ import annotations

import contextlib
import re

import pytest
from playwright.sync_api import Browser, Page, Request, Route, expect
from playwright.sync_api import Error as PlaywrightError

from app.sim import Config, Mode, Permalink, Scenario, Thread, code_listing, explore, simulate

pytestmark = pytest.mark.browser

INC_INC_1 = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=1)


def _path(permalink: Permalink) -> str:
    return "/sim?" + permalink.to_query()


def _url_is(path: str) -> re.Pattern[str]:
    return re.compile(re.escape(path) + "$")


def _snapshot(page: Page) -> dict[str, str]:
    """What a student reads off the board."""
    return {
        selector: page.locator(selector).inner_text()
        for selector in (
            "#rc",
            "#register-A",
            "#register-B",
            "#status-A",
            "#status-B",
            "#narration",
            "#outcome",
            "#lane-A .code",
            "#lane-B .code",
            "#log",
        )
    }


def _ran_line(page: Page, thread: str) -> str:
    return page.locator(f"#lane-{thread} li[aria-current=step] code").inner_text()


def test_htmx_falls_back_to_the_vendored_copy(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    page.goto(live_server + "/sim")
    assert page.evaluate("window.htmx && window.htmx.version") == "2.0.11"
    assert page.evaluate("typeof window.htmx.createEventSource") == "function"  # the SSE extension
    assert page_errors == []


def test_step_with_buttons_and_keys(page: Page, live_server: str, page_errors: list[str]) -> None:
    run = simulate(INC_INC_1)  # alternating: A1B1A1B1A1B1
    listing = code_listing(Scenario.INC_INC, Mode.NONE, Thread.A)
    page.goto(live_server + _path(Permalink.of(run, 0)))

    page.click("#go-next")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 1))))
    expect(page.locator("#rc")).to_have_text(str(run.states[1].rc))
    expect(page.locator("#narration")).to_have_text("Step 1: A reads rc = 1 into its register.")
    assert _ran_line(page, "A") == listing[run.steps[0].line - 1]
    expect(page.locator("#register-A")).to_have_text("1")

    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 2))))
    assert _ran_line(page, "B") == listing[run.steps[1].line - 1]

    # "a": schedule A next; the rest follows the default policy, the URL the whole schedule.
    page.keyboard.press("a")
    chosen = simulate(INC_INC_1, "ABA")
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 3))))
    expect(page.locator("#register-A")).to_have_text("2")

    page.keyboard.press("b")
    chosen = simulate(INC_INC_1, "ABAB")
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 4))))

    page.keyboard.press("ArrowLeft")
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 3))))
    expect(page.locator("#rc")).to_have_text(str(chosen.states[3].rc))

    page.keyboard.press("End")
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, len(chosen.steps)))))
    expect(page.locator("#outcome")).to_contain_text(f"rc = {chosen.outcome.final_rc}")
    expect(page.locator("#go-next")).to_have_attribute("aria-disabled", "true")

    page.go_back()  # history has every step
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 3))))
    assert page_errors == []


def test_only_runnable_threads_are_enabled(page: Page, live_server: str) -> None:
    page.goto(live_server + "/sim?scenario=inc-inc&mode=global-lock&n=1&schedule=A5B5&step=1")
    expect(page.locator("#choose-B")).to_have_attribute("aria-disabled", "true")
    page.keyboard.press("b")  # does nothing: B is blocked
    page.keyboard.press("a")
    expect(page).to_have_url(re.compile(r"step=2$"))
    expect(page.locator("#status-B")).to_have_text("blocked on the lock")


def test_play_to_the_end_over_sse(page: Page, live_server: str, page_errors: list[str]) -> None:
    config = Config(scenario=Scenario.DEC_DEC, mode=Mode.NONE, n=1)
    run = simulate(config, "A4B4A2B2")
    page.goto(live_server + _path(Permalink.of(run, 0)))
    page.select_option("#speed", "10")
    page.click("#play-toggle")
    expect(page.locator("#play-toggle")).to_contain_text("Pause")
    # A failure bound, not a figure: the play lasts about a second.
    expect(page.locator("#outcome")).to_have_class(re.compile("finished"), timeout=30_000)
    expect(page.locator("#outcome")).to_contain_text("Wrong result")
    expect(page.locator("#outcome")).to_contain_text("1 double free")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, len(run.steps)))))
    expect(page.locator("#play-toggle")).to_contain_text("Play")
    expect(page.locator("#log .log-entry")).to_have_count(
        sum(len(step.events) for step in run.steps)
    )
    assert page_errors == []


def test_pause_stops_the_stream(page: Page, live_server: str) -> None:
    page.goto(live_server + "/sim?scenario=inc-inc&mode=none&n=6&step=0")  # 36 steps
    page.select_option("#speed", "4")
    page.keyboard.press(" ")
    # A function, not an expression: Playwright evals expressions, which the CSP forbids.
    page.wait_for_function("() => +document.getElementById('stage').dataset.step >= 2")
    page.keyboard.press(" ")
    expect(page.locator("#play-toggle")).to_contain_text("Play")
    paused_at = page.locator("#stage").get_attribute("data-step")
    page.wait_for_timeout(800)  # three more steps' worth, had it gone on
    assert page.locator("#stage").get_attribute("data-step") == paused_at
    assert page.locator("#player [sse-connect]").count() == 0
    expect(page).to_have_url(re.compile(rf"step={paused_at}$"))


def test_permalink_reload_matches_stepping_there(page: Page, live_server: str) -> None:
    config = Config(scenario=Scenario.INC_DEC, mode=Mode.OBJECT_LOCK, n=2)
    run = simulate(config, seed=7)
    page.goto(live_server + _path(Permalink.of(run, 0)))
    k = 9
    for step in range(1, k + 1):
        page.keyboard.press("ArrowRight")
        expect(page.locator("#stage")).to_have_attribute("data-step", str(step))
    stepped = _snapshot(page)
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, k))))
    page.reload()
    assert _snapshot(page) == stepped


# Every panel a step can change, as markup (whitespace between tags, the order of attributes,
# which a morph that adds one puts last, and the empty class attribute htmx leaves behind
# aside): what a student sees and what a screen reader reads.
_PANELS = """() => {
  const markup = (id) => {
    const found = document.getElementById(id);
    if (!found) return null;
    const element = found.cloneNode(true);
    for (const each of [element, ...element.querySelectorAll("*")]) {
      const attributes = [...each.attributes].map((a) => [a.name, a.value]).sort();
      attributes.forEach(([name]) => each.removeAttribute(name));
      attributes.forEach(([name, value]) => each.setAttribute(name, value));
    }
    return element.outerHTML.replace(/ class=""/g, "").replace(/>\\s+</g, "><")
      .replace(/\\s+/g, " ");
  };
  const ids = ["narration", "stage", "transport", "scrubber", "timeline", "log", "player"];
  return {title: document.title, ...Object.fromEntries(ids.map((id) => [id, markup(id)]))};
}"""


# Each key waits for the step before it; a busy machine takes seconds for a dozen round trips.
KEYS_MS = 30_000


def _assert_shows_its_permalink(page: Page) -> None:
    """The page, however it got to its state, shows what a fresh load of its address shows."""
    fresh = page.context.new_page()
    try:
        fresh.goto(page.url)
        fresh.wait_for_function("() => window.htmx !== undefined")
        expected = fresh.evaluate(_PANELS)
    finally:
        fresh.close()
    shown = page.evaluate(_PANELS)
    for panel, markup in expected.items():
        assert shown[panel] == markup, panel


def test_steps_keys_back_and_play_show_what_their_permalink_shows(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    """Issue 17.15: a step sends and swaps only what it changes; the page it leaves must be the
    page its permalink loads, at n = 30, after keys typed fast (one out of turn), jumps, the
    back button and a play."""
    config = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30)
    run = simulate(config)
    # What each step's request said the page showed: htmx's, or sim.js's fetching steps ahead
    # (how many of each depends on timing; every step shown came from one or the other).
    told: list[str | None] = []
    page.on(
        "request",
        lambda request: told.append(request.headers.get("sim-shown"))
        if request.resource_type in ("xhr", "fetch")
        and "hx-history-restore-request" not in request.headers
        else None,
    )
    page.goto(live_server + _path(Permalink.of(run, 0)))
    # 12 steps on (two lost updates logged), 3 back (one taken back), then a thread out of turn:
    # a new run, so the address it waits for is never passed on the way.
    prefix = "".join(step.thread.value for step in run.steps[:9])
    out_of_turn = "A" if run.steps[9].thread is Thread.B else "B"
    for key in ["ArrowRight"] * 12 + ["ArrowLeft"] * 3 + [out_of_turn.lower()]:
        page.keyboard.press(key, delay=10)
    chosen = simulate(config, prefix + out_of_turn)
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 10))), timeout=KEYS_MS)
    _assert_shows_its_permalink(page)

    for key in ("ArrowRight", "ArrowRight", "End", "ArrowLeft", "Home", "ArrowRight"):
        page.keyboard.press(key, delay=10)
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 1))), timeout=KEYS_MS)
    _assert_shows_its_permalink(page)

    page.click("#cell-150 button")  # a jump past the cells a step sends one by one
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 150))), timeout=KEYS_MS)
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 151))), timeout=KEYS_MS)
    _assert_shows_its_permalink(page)

    page.go_back()
    page.go_back()
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, 1))), timeout=KEYS_MS)
    expect(page.locator("#stage")).to_have_attribute("data-step", "1", timeout=KEYS_MS)
    _assert_shows_its_permalink(page)

    page.select_option("#speed", "10")
    page.keyboard.press(" ")
    page.wait_for_function(
        "() => +document.getElementById('stage').dataset.step >= 8", timeout=KEYS_MS
    )
    page.keyboard.press(" ")
    expect(page.locator("#play-toggle")).to_contain_text("Play", timeout=KEYS_MS)
    paused_at = page.locator("#stage").get_attribute("data-step")
    expect(page).to_have_url(_url_is(_path(Permalink.of(chosen, int(paused_at or 0)))))
    _assert_shows_its_permalink(page)
    assert len(told) > 20 and all(told)  # so each step was answered with what it changes
    assert page_errors == []


def test_the_next_step_is_fetched_ahead_and_shown_at_once(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    """Issue 17.15: while a student looks at a step, the next one is fetched; → then shows it
    without asking the server, with focus kept on the control, the address bar on its
    permalink and Back returning, as if it had been asked for."""
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30))
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.resource_type)
            if "/sim?" in request.url else None)  # fmt: skip
    fetched_ahead = lambda request: (  # noqa: E731
        request.resource_type == "fetch" and request.url.endswith("step=1")
    )
    with page.expect_request_finished(fetched_ahead):
        page.goto(live_server + _path(Permalink.of(run, 0)))
    page.wait_for_timeout(200)  # the answer's text is read just after its request finishes
    page.focus("#go-next")
    asked.clear()
    page.keyboard.press("ArrowRight")
    expect(page.locator("#stage")).to_have_attribute("data-step", "1")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 1))))
    assert "xhr" not in asked  # shown from the answer fetched ahead
    assert page.evaluate("document.activeElement.id") == "go-next"  # morphed, not replaced
    _assert_shows_its_permalink(page)
    page.go_back()
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 0))))
    expect(page.locator("#stage")).to_have_attribute("data-step", "0")
    assert page_errors == []


def test_steps_are_fetched_a_few_ahead_each_from_the_one_before(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    """A held → (or keys pressed the moment each step is drawn) finds its steps already
    fetched: the page asks for the next three, each from the state the answer before leads
    to, and shows them in order without htmx asking the server."""
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30))
    fetched: dict[int, str | None] = {}

    def note(request: Request) -> None:
        step = re.search(r"[?&]step=(\d+)$", request.url)
        if request.resource_type == "fetch" and "/sim?" in request.url and step:
            fetched[int(step.group(1))] = request.headers.get("sim-shown")

    page.on("request", note)
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.resource_type)
            if "/sim?" in request.url else None)  # fmt: skip
    page.goto(live_server + _path(Permalink.of(run, 0)))
    page.wait_for_function("() => window.htmx !== undefined")
    for _ in range(500):
        if len(fetched) >= 3:
            break
        page.wait_for_timeout(20)
    page.wait_for_timeout(200)  # and no further than three
    assert fetched == {step: _path(Permalink.of(run, step - 1)) for step in (1, 2, 3)}
    asked.clear()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    expect(page.locator("#stage")).to_have_attribute("data-step", "3")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 3))))
    assert "xhr" not in asked  # all three shown from the answers fetched ahead
    _assert_shows_its_permalink(page)
    page.go_back()
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 2))))
    expect(page.locator("#stage")).to_have_attribute("data-step", "2")
    assert page_errors == []


def test_a_step_refused_ahead_is_not_asked_for_again_and_again(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    """A step the server does not answer ahead (busy: 429) is asked once while the page is
    idle, not in a loop; → then asks the server as usual."""
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30))
    refused: list[str] = []

    def busy(route: Route) -> None:
        if route.request.resource_type != "fetch":
            route.continue_()
            return
        refused.append(route.request.url)
        route.fulfill(status=429, headers={"Retry-After": "5"}, body="busy")

    page.route(lambda url: "/sim?" in url, busy)
    page.goto(live_server + _path(Permalink.of(run, 0)))
    page.wait_for_function("() => window.htmx !== undefined")
    page.wait_for_timeout(1000)
    assert len(refused) == 1, refused
    page.keyboard.press("ArrowRight")
    expect(page.locator("#stage")).to_have_attribute("data-step", "1")
    assert page_errors == []


def _hold_the_first_step_fetched_ahead(page: Page, url: str) -> Route:
    """Open `url` (step 0 of a run) and hold the page's fetch ahead of step 1 here: the route,
    to `continue_()` when the test lets the answer come."""
    held: list[Route] = []
    page.route(
        lambda url: url.endswith("step=1"),
        lambda route: held.append(route)
        if route.request.resource_type == "fetch" else route.continue_(),
    )
    page.goto(url)
    page.wait_for_function("() => window.htmx !== undefined")
    for _ in range(500):  # until the fetch ahead has been sent, and is held here
        if held:
            return held[0]
        page.wait_for_timeout(20)
    raise AssertionError("the page did not fetch the next step ahead")


def test_a_key_for_the_step_on_its_way_waits_for_it(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    """Pressed while the next step is still being fetched ahead, → waits for that answer
    instead of asking the server a second time (which would only queue behind it)."""
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30))
    asked: list[str] = []
    page.on("request", lambda request: asked.append(request.resource_type)
            if "/sim?" in request.url else None)  # fmt: skip
    held = _hold_the_first_step_fetched_ahead(page, live_server + _path(Permalink.of(run, 0)))
    asked.clear()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")  # queued behind it, in order
    page.wait_for_timeout(100)
    assert page.locator("#stage").get_attribute("data-step") == "0"
    held.continue_()
    expect(page.locator("#stage")).to_have_attribute("data-step", "2")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 2))))
    # The second step was asked by htmx, and only it: the first came from the fetch ahead.
    assert asked.count("xhr") == 1
    _assert_shows_its_permalink(page)
    assert page_errors == []


def test_keys_wait_for_a_slow_server_and_none_is_dropped(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    """Issue 17.2 on a server slower than the keyboard's patience (4 s): the keys pressed
    meanwhile wait for the step before them, then apply in order, none dropped."""
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30))
    held = _hold_the_first_step_fetched_ahead(page, live_server + _path(Permalink.of(run, 0)))
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    page.wait_for_timeout(4500)  # past the 4 s after which sim.js gives up on a lost swap
    assert page.locator("#stage").get_attribute("data-step") == "0"
    held.continue_()
    expect(page.locator("#stage")).to_have_attribute("data-step", "3")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 3))))
    _assert_shows_its_permalink(page)
    assert page_errors == []


def test_back_twice_quickly_shows_the_state_it_lands_on(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    """Each Back asks the server for its state; when the first answer comes after the second,
    the page still shows where history landed, not the state it passed on the way."""
    run = simulate(INC_INC_1)
    page.goto(live_server + _path(Permalink.of(run, 0)))
    for step in (1, 2):
        page.keyboard.press("ArrowRight")
        expect(page).to_have_url(_url_is(_path(Permalink.of(run, step))))
    held: list[Route] = []
    page.route(
        lambda url: url.endswith("step=1"),
        lambda route: held.append(route)
        if "hx-history-restore-request" in route.request.headers else route.continue_(),
    )
    page.go_back()  # to step 1: its answer is held
    page.go_back()  # to step 0
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 0))))
    expect(page.locator("#stage")).to_have_attribute("data-step", "0")
    for route in held:  # step 1's answer comes last (or never: the page gave up on it)
        with contextlib.suppress(PlaywrightError):
            route.continue_()
    page.wait_for_timeout(300)
    expect(page.locator("#stage")).to_have_attribute("data-step", "0")
    assert page_errors == []


def test_scrubber_jumps_to_a_step(page: Page, live_server: str) -> None:
    run = simulate(INC_INC_1)
    page.goto(live_server + _path(Permalink.of(run, 0)))
    page.locator("#scrub").fill("4")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 4))))
    expect(page.locator("#rc")).to_have_text(str(run.states[4].rc))


def test_pickers_change_the_run(page: Page, live_server: str) -> None:
    page.goto(live_server + "/sim")
    page.select_option("#pick-mode", "gil")
    expect(page.locator("#pick-interval")).to_be_visible()
    expect(page).to_have_url(re.compile(r"mode=gil&n=2&interval=5&schedule="))
    expect(page.locator("#gil-owner")).to_contain_text("A holds it")


def test_witness_from_explore_shows_the_same_outcome(
    page: Page, live_server: str, page_errors: list[str]
) -> None:
    exploration = explore(Scenario.DEC_DEC, Mode.NONE, 1)
    double_free = next(o for o in exploration.outcomes if o.double_free)
    page.goto(live_server + "/explore?scenario=dec-dec&mode=none&n=1")
    bars = page.locator("svg.histogram a")
    expect(bars).to_have_count(len(exploration.outcomes))
    page.locator("svg.histogram a[data-kind=double-free]").first.click()
    expect(page).to_have_url(re.compile(r"/sim\?.*schedule=" + double_free.witness))
    banner = page.locator("#outcome")
    expect(banner).to_contain_text("Wrong result")
    expect(banner).to_contain_text(f"rc = {double_free.final_rc}, freed")
    expect(banner).to_contain_text("double free")
    assert page_errors == []


def test_explore_pickers_recount(page: Page, live_server: str) -> None:
    page.goto(live_server + "/explore?scenario=inc-inc&mode=none&n=1")
    outcomes = explore(Scenario.INC_INC, Mode.NONE, 1).outcomes
    expect(page.locator("svg.histogram a")).to_have_count(len(outcomes))
    page.select_option("#explore-mode", "atomic")
    expect(page).to_have_url(re.compile(r"mode=atomic"))
    expect(page.locator("svg.histogram a")).to_have_count(1)
    expect(page.locator("svg.histogram a")).to_have_attribute("data-kind", "correct")


def test_sim_is_under_100_kb_transferred(page: Page, live_server: str) -> None:
    page.goto(live_server + "/sim", wait_until="load")
    transferred = page.evaluate(
        """() => {
            const nav = performance.getEntriesByType('navigation')[0];
            const own = performance.getEntriesByType('resource')
                .filter(r => r.name.startsWith(location.origin));
            return nav.transferSize + own.reduce((sum, r) => sum + r.transferSize, 0);
        }"""
    )
    # The lower bound proves htmx and the CSS were counted (gzipped, htmx is about 17 KB).
    assert 15_000 < transferred < 100_000, transferred


@pytest.mark.parametrize("path", ["/sim?scenario=inc-dec&mode=object-lock&n=3&step=20", "/explore"])
def test_usable_at_360_px(browser: Browser, live_server: str, path: str) -> None:
    context = browser.new_context(viewport={"width": 360, "height": 740})
    page = context.new_page()
    page.goto(live_server + path)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    context.close()


def test_embed_has_minimal_chrome(page: Page, live_server: str) -> None:
    page.goto(live_server + "/sim?embed=1")
    expect(page.locator(".site-header")).to_have_count(0)
    page.keyboard.press("ArrowRight")
    expect(page).to_have_url(re.compile(r"step=1&embed=1$"))


def test_a_seeded_link_shows_its_canonical_permalink(page: Page, live_server: str) -> None:
    run = simulate(Config(scenario=Scenario.INC_DEC, mode=Mode.NONE, n=2), seed=42)
    page.goto(live_server + "/sim?scenario=inc-dec&n=2&seed=42&step=3")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 3))))


def test_new_random_schedule_and_copy_link(page: Page, live_server: str) -> None:
    page.goto(live_server + "/sim?n=3")
    page.click("#go-random")
    expect(page).to_have_url(re.compile(r"schedule=[AB0-9]+&step=0$"))
    page.click("#copy-link")
    expect(page.locator("#copied")).not_to_be_empty()


def test_every_control_works_without_script(browser: Browser, live_server: str) -> None:
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    run = simulate(INC_INC_1)
    page.goto(live_server + _path(Permalink.of(run, 0)))
    page.click("#go-next")
    expect(page).to_have_url(_url_is(_path(Permalink.of(run, 1))))
    expect(page.locator("#rc")).to_have_text("1")
    page.locator("#timeline button[value='4']").click()  # a plain GET form
    expect(page.locator("#stage")).to_have_attribute("data-step", "4")
    page.click("#choose-B")
    expect(page.locator("#stage")).to_have_attribute("data-step", "5")
    context.close()


def test_title_follows_the_pickers(page: Page, live_server: str) -> None:
    page.goto(live_server + "/sim")
    page.select_option("#pick-scenario", "dec-dec")
    expect(page).to_have_title("Simulator: dec-dec, no lock · GIL Lab")
