"""Server-side tests of /sim, /stream/sim and /explore: whole pages, htmx fragments, SSE, errors.

Expected values come from the core (`app.sim`), never from the page under test.
"""

from __future__ import annotations

import html
import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.main import create_app
from app.sim import (
    Config,
    Mode,
    Permalink,
    Scenario,
    Thread,
    code_listing,
    explore,
    simulate,
)
from app.web.infra import deps, resources
from app.web.infra.settings import Settings
from app.web.sim import pages as sim_pages
from app.web.sim import view as sim_view
from app.web.sim import wording

HTMX = {"HX-Request": "true"}
INC_INC_1 = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=1)


def _by_id(page: str, element_id: str) -> str:
    """The text inside the element with this id (tags stripped, whitespace collapsed)."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no element with id={element_id!r}"
    text = re.sub(r"</?(?:strong|em|span|code|a|kbd|output|tspan)\b[^>]*>", "", match.group(2))
    text = re.sub(r"<[^>]+>", " ", text)
    return " ".join(html.unescape(text).split())


def _opening_tag(page: str, element_id: str) -> str:
    match = re.search(rf'<\w+[^>]*\bid="{element_id}"[^>]*>', page)
    assert match, f"no element with id={element_id!r}"
    return match.group(0)


def _ran_line(page: str, thread: str) -> str:
    lane = page[page.index(f'id="lane-{thread}"') :]
    lane = lane[: lane.index("</article>")]
    match = re.search(r'<li[^>]*aria-current="step"[^>]*><code>(.*?)</code>', lane)
    assert match, f"no highlighted statement in lane {thread}"
    return html.unescape(match.group(1))


def _url(permalink: Permalink) -> str:
    return "/sim?" + permalink.to_query()


# --- /sim, whole pages ------------------------------------------------------------------------


def test_permalink_renders_exactly_that_state(client: TestClient) -> None:
    run = simulate(INC_INC_1, "ABABAB")
    for step in range(len(run.steps) + 1):
        page = client.get(_url(Permalink.of(run, step))).text
        state = run.states[step]
        assert _by_id(page, "rc") == str(state.rc)
        for thread in (Thread.A, Thread.B):
            register = run.thread_view(step, thread).register
            shown = "—" if register is None else str(register)
            assert _by_id(page, f"register-{thread}") == shown
        if step:
            taken = run.steps[step - 1]
            listing = code_listing(INC_INC_1.scenario, INC_INC_1.mode, taken.thread)
            assert _ran_line(page, taken.thread.value) == listing[taken.line - 1]
        assert _opening_tag(page, "stage").count(f'data-step="{step}"') == 1


def test_default_page_is_step_zero_of_the_alternating_schedule(client: TestClient) -> None:
    response = client.get("/sim")
    assert response.status_code == 200
    page = response.text
    assert "<html" in page and 'class="site-header"' in page
    assert _by_id(page, "rc") == "1"
    assert "Start: rc = 1" in _by_id(page, "narration")
    assert 'aria-live="polite"' in _opening_tag(page, "narration")
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=2))
    assert f'data-permalink="{html.escape(_url(Permalink.of(run, 0)))}"' in page


def test_narration_says_what_the_step_did(client: TestClient) -> None:
    page = client.get("/sim?scenario=inc-inc&mode=none&n=1&schedule=A3B3&step=1").text
    assert _by_id(page, "narration") == "Step 1: A reads rc = 1 into its register."


def test_finished_run_shows_outcome_against_the_correct_one(client: TestClient) -> None:
    lost = client.get("/sim?scenario=inc-inc&mode=none&n=1&schedule=ABABAB&step=6").text
    banner = _by_id(lost, "outcome")
    assert "Wrong result" in banner and "rc = 2" in banner and "1 lost update" in banner
    assert "Correct would be rc = 3, not freed" in banner
    correct = client.get("/sim?scenario=inc-inc&mode=none&n=1&schedule=A3B3&step=6").text
    assert _by_id(correct, "outcome").startswith("Correct: rc = 3, not freed")


def test_the_seeds_safe_outcome_is_a_wrong_result_and_the_page_says_why(
    client: TestClient,
) -> None:
    page = client.get("/sim?scenario=inc-dec&mode=global-lock&n=1&schedule=B8A3&step=11").text
    banner = _by_id(page, "outcome")
    assert banner.startswith("Wrong result: rc = 0, freed: 1 use after free")
    assert "Correct would be rc = 1, not freed." in banner
    why = _by_id(page, "outcome-why")
    assert "The seed calls this outcome safe: it is not." in why
    assert "glibc writes its free-list pointer" in why
    kept = client.get("/sim?scenario=inc-dec&mode=global-lock&n=1&schedule=A6B7&step=13").text
    assert _by_id(kept, "outcome").startswith("Correct: rc = 1, not freed")
    assert 'id="outcome-why"' not in kept


def test_a_freed_state_links_to_the_same_race_in_c_with_a_real_free(client: TestClient) -> None:
    base = "/sim?scenario=inc-dec&mode=global-lock&n=1&schedule=B8A3"
    before = client.get(f"{base}&step=6").text  # B has not freed yet
    assert 'id="native-real-free"' not in before
    after = client.get(f"{base}&step=7").text
    link = re.search(r'id="native-real-free" href="([^"]+)"', after)
    assert link, "no link to the native lab from the freed object"
    url = urlsplit(html.unescape(link.group(1)))
    assert url.path == "/lab"
    query = {key: values[0] for key, values in parse_qs(url.query).items()}
    assert query == {
        "experiment": "inc-dec", "mode": "global-lock", "iterations": "1000", "runs": "10",
        "free": "real", "run": "true",
    }  # fmt: skip
    lab = client.get(f"{url.path}?{url.query}")
    assert lab.status_code == 200 and "/stream/native/race?" in lab.text
    # The GIL keeps whole calls apart: natively that is one global lock around each call.
    gil = sim_view.native_race_url(Config(scenario=Scenario.INC_DEC, mode=Mode.GIL, n=2))
    assert gil is not None and "mode=global-lock" in gil


def test_a_link_out_of_the_embed_layout_opens_a_new_tab(client: TestClient) -> None:
    """Framed in a teacher's slides, the embed's target="_top" replaced the whole deck."""
    freed = "/sim?scenario=inc-dec&mode=global-lock&n=1&schedule=B8A3&step=7"
    page = _opening_tag(client.get(freed).text, "native-real-free")
    assert "target=" not in page  # the whole page: an ordinary link
    embedded = _opening_tag(client.get(f"{freed}&embed=1").text, "native-real-free")
    assert 'target="_blank" rel="noopener"' in embedded and "data-leaves-embed" in embedded


def test_event_log_links_each_event_to_its_step(client: TestClient) -> None:
    run = simulate(Config(scenario=Scenario.DEC_DEC, mode=Mode.NONE, n=1), "A4B4A2B2")
    page = client.get(_url(Permalink.of(run, len(run.steps)))).text
    log = page[page.index('id="log"') : page.index("</section>", page.index('id="log"'))]
    for step in run.steps:
        for event in step.events:
            link = html.escape(_url(Permalink.of(run, step.index)))
            assert f'class="log-entry event-{event.value}"><a href="{link}"' in log
    assert 'class="object freed"' in page


def test_future_events_stay_hidden(client: TestClient) -> None:
    page = client.get("/sim?scenario=dec-dec&mode=none&n=1&schedule=A4B4A2B2&step=3").text
    assert "Nothing has gone wrong yet." in page


def test_step_a_and_step_b_extend_the_prefix_with_that_thread(client: TestClient) -> None:
    run = simulate(INC_INC_1, "ABAB")
    page = client.get(_url(Permalink.of(run, 2))).text
    for thread in "AB":
        chosen = simulate(INC_INC_1, "AB" + thread)
        expected = html.escape(_url(Permalink.of(chosen, 3)))
        assert f'href="{expected}"' in _opening_tag(page, f"choose-{thread}")


def test_only_runnable_threads_can_be_chosen(client: TestClient) -> None:
    # A holds the global lock after its first step: B is blocked.
    page = client.get("/sim?scenario=inc-inc&mode=global-lock&n=1&schedule=A5B5&step=1").text
    assert 'aria-disabled="true"' in _opening_tag(page, "choose-B")
    assert "href=" in _opening_tag(page, "choose-A")
    assert _by_id(page, "status-B") == "blocked on the lock"
    assert "A holds it" in _by_id(page, "lock-owner")


def test_gil_mode_shows_owner_bands_and_interval_ticks(client: TestClient) -> None:
    url = "/sim?scenario=inc-inc&mode=gil&n=3&interval=4&step=7"
    page = client.get(url).text
    assert "B holds it" in _by_id(page, "gil-owner") or "A holds it" in _by_id(page, "gil-owner")
    assert page.count('class="gil-band') == len(
        simulate(Config(scenario=Scenario.INC_INC, mode=Mode.GIL, n=3, interval=4)).steps
    )
    assert 'class="tick"' in page
    assert "waiting for the GIL" in page


def test_every_timeline_cell_submits_a_valid_state(client: TestClient) -> None:
    run = simulate(Config(scenario=Scenario.INC_DEC, mode=Mode.OBJECT_LOCK, n=1))
    page = client.get(_url(Permalink.of(run, 0))).text
    timeline = page[page.index('id="timeline"') :]
    timeline = timeline[: timeline.index("</section>")]
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)">', timeline))
    steps = re.findall(r'<button name="step" value="(\d+)"', timeline)
    assert [int(step) for step in steps] == [step.index for step in run.steps]
    for step in steps:
        response = client.get("/sim", params={**fields, "step": step}, headers=HTMX)
        assert response.headers["HX-Push-Url"] == _url(Permalink.of(run, int(step)))


def test_random_schedule_link_draws_a_seed_and_resolves_to_a_schedule(
    client: TestClient,
) -> None:
    page = client.get("/sim?n=3&embed=1").text
    assert client.get("/sim?n=3&embed=1").text == page  # no seed drawn in the page itself
    href = re.search(r'href="([^"]+)"', _opening_tag(page, "go-random"))
    assert href, page
    link = html.unescape(href.group(1))
    drawn = [client.get(link, follow_redirects=False) for _ in range(5)]
    assert {response.status_code for response in drawn} == {303}
    seeds = set()
    for response in drawn:
        query = parse_qs(urlsplit(response.headers["location"]).query)
        assert "schedule" not in query and query["embed"] == ["1"] and query["n"] == ["3"]
        seeds.add(int(query["seed"][0]))
    assert len(seeds) > 1, seeds  # five draws among 2**32 seeds
    seed = seeds.pop()
    seeded = client.get(f"/sim?n=3&seed={seed}", headers=HTMX)
    config = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=3)
    assert seeded.headers["HX-Push-Url"] == _url(Permalink.of(simulate(config, None, seed), 0))


def test_random_schedule_refuses_a_bad_configuration_naming_it(client: TestClient) -> None:
    response = client.get("/sim/random?n=99", follow_redirects=False)
    assert response.status_code == 400
    assert "n: Input should be less than or equal to 30" in response.text


def test_embed_mode_has_minimal_chrome_and_keeps_embed_in_links(client: TestClient) -> None:
    page = client.get("/sim?embed=1&step=2").text
    assert 'class="site-header"' not in page and "<h1>" not in page
    assert "embed" in _opening_tag(page, "go-next")


def test_interval_picker_offers_the_permalinks_interval(client: TestClient) -> None:
    page = client.get("/sim?mode=gil&interval=7").text
    assert '<option value="7" selected>' in page


# --- /sim, htmx fragments ---------------------------------------------------------------------


def test_htmx_request_gets_the_stage_and_out_of_band_panels(client: TestClient) -> None:
    run = simulate(INC_INC_1)
    response = client.get(_url(Permalink.of(run, 3)), headers=HTMX)
    assert response.status_code == 200
    fragment = response.text
    assert "<html" not in fragment and "site-header" not in fragment
    # The stage, the narration (a live region) and the controls keep their elements, so a
    # screen reader hears the new text and the focus stays: idiomorph morphs them
    # (static/js/sim.js), each out of band (templates/sim.html says why).
    for panel in ("stage", "narration", "transport", "scrubber"):
        assert 'hx-swap-oob="morph"' in _opening_tag(fragment, panel)
    for panel in ("timeline", "log", "player"):
        assert 'hx-swap-oob="true"' in _opening_tag(fragment, panel)
    assert response.headers["HX-Push-Url"] == _url(Permalink.of(run, 3))


def test_history_restore_gets_the_whole_page(client: TestClient) -> None:
    headers = {**HTMX, "HX-History-Restore-Request": "true"}
    page = client.get("/sim?step=1", headers=headers).text
    assert "<html" in page


# --- /sim, a step within the run shown: only what changes (issue 17.15) -----------------------

INC_INC_30 = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30)


def _showing(permalink: Permalink, *, embed: bool = False) -> dict[str, str]:
    """The headers of an htmx request from a page that shows `permalink` (static/js/sim.js)."""
    return {**HTMX, "Sim-Shown": _url(permalink) + ("&embed=1" if embed else "")}


def _cells(fragment: str) -> list[int]:
    return [int(number) for number in re.findall(r'<li id="cell-(\d+)"', fragment)]


def test_a_step_of_the_run_shown_sends_only_what_changes(client: TestClient) -> None:
    """One step at n = 30 (180 steps): the stage and the controls, and of the timeline only the
    two cells whose marks move, never the whole timeline or log the page already has."""
    run = simulate(INC_INC_30)
    url = _url(Permalink.of(run, 41))
    whole = client.get(url, headers=HTMX).text
    answer = client.get(url, headers=_showing(Permalink.of(run, 40)))
    step = answer.text
    assert _by_id(step, "stage") == _by_id(whole, "stage")
    # No history header: htmx would push before swapping; static/js/sim.js pushes the stage's
    # permalink once the step is drawn.
    assert "HX-Push-Url" not in answer.headers and "HX-Replace-Url" not in answer.headers
    assert f'data-permalink="{html.escape(url)}"' in _opening_tag(step, "stage")
    for element in ("narration", "transport", "scrub-label"):
        assert _by_id(step, element) == _by_id(whole, element)
    assert _opening_tag(step, "scrub") == _opening_tag(whole, "scrub").replace(
        ">", ' hx-swap-oob="morph">'
    )
    # The page has them; predict mode's panel and a replay's note are as they were.
    for unchanged in ("timeline", "log", "scrubber", "go-random", "predict", "replay-note"):
        assert f'id="{unchanged}"' not in step
    assert "<title>" not in step  # the same run's title
    assert _cells(step) == [40, 41]
    assert 'hx-swap-oob="true"' in _opening_tag(step, "cell-41")
    thread = run.steps[40].thread.value  # step 41's
    assert f'class="cell cell-{thread} current"' in _opening_tag(step, "cell-41")
    assert len(step) < len(whole) / 3


def test_a_step_answer_does_not_grow_with_n(client: TestClient) -> None:
    """Its only part that grows with n is the schedule each link carries."""

    def step_answer(n: int) -> str:
        run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=n))
        shown, step = Permalink.of(run, 2), Permalink.of(run, 3)
        answer = client.get(_url(step), headers=_showing(shown)).text
        return re.sub(r"(schedule=|value=\")[AB0-9]+", r"\1S", answer)

    small, large = step_answer(3), step_answer(30)
    assert abs(len(large) - len(small)) < 60  # "of 18" against "of 180", rc = 7 against 61


def test_step_answers_add_and_take_back_log_entries(client: TestClient) -> None:
    run = simulate(INC_INC_30)
    first = next(s.index for s in run.steps if s.events)  # the first lost update
    later = next(s.index for s in run.steps if s.events and s.index > first)
    before, at = Permalink.of(run, later - 1), Permalink.of(run, later)
    forward = client.get(_url(at), headers=_showing(before)).text
    added = re.search(r'<ol id="log-entries" hx-swap-oob="beforeend">(.*?)</ol>', forward, re.S)
    assert added and re.findall(r'<li id="log-(\d+)"', added.group(1)) == ["1"]
    assert f"step {later}" in added.group(1)
    back = client.get(_url(before), headers=_showing(at)).text
    assert '<li id="log-1" hx-swap-oob="delete"></li>' in back
    assert "log-entries" not in back
    # Back before the first event: the log starts again from "nothing has gone wrong yet".
    start = client.get(_url(Permalink.of(run, first - 1)), headers=_showing(before)).text
    assert "Nothing has gone wrong yet" in _by_id(start, "log")


@pytest.mark.parametrize(
    "shown",
    [
        "/sim?scenario=inc-inc&mode=none&n=30&step=40",  # the same run, not as its permalink
        "/sim?scenario=inc-inc&mode=none&n=29&step=40",  # another run
        "/sim?n=30&predict=1&score=0/0&step=40",  # predict mode
        "/sim?step=99999999999999999999",
        "nonsense",
    ],
)
def test_anything_but_a_state_of_the_same_run_gets_the_whole_fragment(
    client: TestClient, shown: str
) -> None:
    run = simulate(INC_INC_30)
    url = _url(Permalink.of(run, 41))
    answer = client.get(url, headers={**HTMX, "Sim-Shown": shown}).text
    assert answer == client.get(url, headers=HTMX).text


def test_the_embed_layout_shown_gets_its_own_links(client: TestClient) -> None:
    run = simulate(INC_INC_30)
    url = _url(Permalink.of(run, 41))
    plain = client.get(url + "&embed=1", headers=_showing(Permalink.of(run, 40))).text
    assert 'id="timeline"' in plain  # the page shows the full layout: everything goes
    embedded = client.get(url + "&embed=1", headers=_showing(Permalink.of(run, 40), embed=True))
    assert _cells(embedded.text) == [40, 41]
    assert "embed=1" in _opening_tag(embedded.text, "go-next")


@pytest.mark.parametrize(
    "config",
    [
        Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=5),
        Config(scenario=Scenario.DEC_DEC, mode=Mode.NONE, n=3),
        Config(scenario=Scenario.INC_DEC, mode=Mode.GIL, n=3, interval=2),
    ],
    ids=lambda config: f"{config.scenario.value}-{config.mode.value}",
)
def test_what_a_step_changes_turns_one_state_into_the_other(config: Config) -> None:
    """Differential: the timeline and log at `shown`, with StepChange applied as the page
    applies it, are those at `step`, for every pair of steps near each other and far apart."""
    whole = sim_view.RunView.of(simulate(config, seed=3))
    total = len(whole.run.steps)
    pairs = {(j, k) for j in range(total + 1) for k in (0, j - 1, j + 1, j + 5, j + 13, total)}
    for shown, step in sorted((j, k) for j, k in pairs if 0 <= k <= total):
        before = sim_view.build(whole, shown)
        after = sim_view.build(whole, step)
        change = sim_view.StepChange.between(shown, after)
        timeline = after.timeline if change.cells is None else tuple(
            next((cell for cell in change.cells if cell.number == old.number), old)
            for old in before.timeline
        )
        assert timeline == after.timeline, (shown, step)
        log = after.log
        if change.log_added is not None:
            kept = [entry for entry in before.log if entry.position not in change.log_removed]
            log = (*kept, *change.log_added)
        assert log == after.log, (shown, step)
        assert change.cells is None or len(change.cells) <= sim_view.MAX_CHANGED
        if change.log_added is not None:
            assert len(change.log_added) + len(change.log_removed) <= sim_view.MAX_CHANGED


def test_picker_change_is_answered_with_the_canonical_permalink(client: TestClient) -> None:
    response = client.get("/sim?scenario=dec-dec&mode=atomic&n=2&interval=5", headers=HTMX)
    run = simulate(Config(scenario=Scenario.DEC_DEC, mode=Mode.ATOMIC, n=2))
    assert response.headers["HX-Push-Url"] == _url(Permalink.of(run, 0))


def test_play_returns_the_player_and_replaces_the_url(client: TestClient) -> None:
    run = simulate(INC_INC_1)
    response = client.get(_url(Permalink.of(run, 2)) + "&play=1&speed=4", headers=HTMX)
    assert response.headers["HX-Replace-Url"] == _url(Permalink.of(run, 2))
    # So does a play from the page as it shows that step (only what changes comes).
    shown = client.get(
        _url(Permalink.of(run, 2)) + "&play=1&speed=4", headers=_showing(Permalink.of(run, 2))
    )
    assert shown.headers["HX-Replace-Url"] == _url(Permalink.of(run, 2))
    player = response.text[response.text.index('id="player"') :]
    stream = re.search(r'sse-connect="([^"]+)"', player)
    assert stream
    assert html.unescape(stream.group(1)) == (
        "/stream/sim?" + Permalink.of(run, 2).to_query() + "&speed=4"
    )
    assert 'sse-swap="step"' in player and 'sse-close="done"' in player
    assert "Pause" in _by_id(response.text, "play-toggle")


def test_play_at_the_end_starts_again_from_the_first_step(client: TestClient) -> None:
    run = simulate(INC_INC_1)
    response = client.get(_url(Permalink.of(run, len(run.steps))) + "&play=1", headers=HTMX)
    assert response.headers["HX-Replace-Url"] == _url(Permalink.of(run, 0))


# --- /stream/sim ------------------------------------------------------------------------------


def _events(lines: list[str]) -> list[tuple[str, str | None, str]]:
    """(event, id, data) per server-sent event."""
    events, name, event_id, data = [], "message", None, []
    for line in lines:
        if not line:
            if data or name != "message":
                events.append((name, event_id, "\n".join(data)))
            name, event_id, data = "message", None, []
        elif line.startswith("event: "):
            name = line[7:]
        elif line.startswith("id: "):
            event_id = line[4:]
        elif line.startswith("data: ") or line == "data:":
            data.append(line[6:])
    return events


def test_stream_sends_every_remaining_step_then_done(client: TestClient) -> None:
    run = simulate(INC_INC_1)
    url = "/stream/sim?" + Permalink.of(run, 2).to_query() + "&speed=20"
    with client.stream("GET", url) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        events = _events(list(response.iter_lines()))
    assert [name for name, _, _ in events] == ["step"] * (len(run.steps) - 2) + ["done"]
    for (_, event_id, data), step in zip(events, range(3, len(run.steps) + 1), strict=False):
        assert event_id == str(step)
        assert f'data-step="{step}"' in data
        assert _by_id(data, "rc") == str(run.states[step].rc)
        # The page shows the step before: only the cells whose marks move, not the timeline.
        assert 'id="timeline"' not in data
        assert re.findall(r'<li id="cell-(\d+)"', data) == [str(step - 1), str(step)]
        assert 'hx-swap-oob="true"' in _opening_tag(data, f"cell-{step}")
        assert 'id="player"' not in data  # the player keeps streaming; it is not swapped
    # The last step hands the controls back: Play again, not Pause.
    assert "Play" in _by_id(events[-2][2], "play-toggle")


def test_stream_arrives_step_by_step_paced_by_speed(client: TestClient) -> None:
    url = "/stream/sim?scenario=inc-inc&mode=none&n=1&step=0&speed=10"
    started = time.monotonic()
    arrivals = []
    with client.stream("GET", url) as response:
        for line in response.iter_lines():
            if line.startswith("event: step"):
                arrivals.append(time.monotonic() - started)
    assert len(arrivals) == 6
    # Step k cannot come before k pauses of 1/speed from the request, however busy the machine
    # (which only delays steps). Counted from the first arrival instead, a late first step and
    # the rest read at once made five pauses look like none.
    for pauses, arrival in enumerate(arrivals):
        assert arrival >= pauses * 0.1 * 0.9, arrivals


def test_a_play_keeps_time_by_the_clock_not_by_sleeps() -> None:
    """Each step is due one period after the last one was due, however long sending it took;
    a play late by a period or two sends what it owes at once and keeps its pace; one stalled
    for longer goes on from two periods ago, a burst of two steps rather than of all it missed."""
    assert sim_pages.next_due(10.0, now=10.03, period=0.1) == pytest.approx(10.1)
    assert sim_pages.next_due(10.0, now=10.13, period=0.1) == pytest.approx(10.1)  # owed now
    assert sim_pages.next_due(10.0, now=10.25, period=0.1) == pytest.approx(10.1)
    assert sim_pages.next_due(10.0, now=13.0, period=0.1) == pytest.approx(12.8)


def test_stream_resumes_after_the_last_event_id(client: TestClient) -> None:
    url = "/stream/sim?scenario=inc-inc&mode=none&n=1&step=0&speed=20"
    with client.stream("GET", url, headers={"Last-Event-ID": "4"}) as response:
        events = _events(list(response.iter_lines()))
    assert [event_id for _, event_id, _ in events] == ["5", "6", None]


def test_stream_stops_when_the_client_goes(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    played = resources.played_steps()  # every step the stream renders lands here
    monkeypatch.setitem(app.dependency_overrides, deps.played_steps, lambda: played)
    streams = deps.resources_of(app).streams
    url = "/stream/sim?scenario=inc-inc&mode=none&n=10&step=0&speed=4"  # 60 steps, 15 s
    with client.stream("GET", url) as response:
        for line in response.iter_lines():
            if line.startswith("event: step"):
                break
    # Bounds from the play, not from a quiet machine: a stream that went on playing would hold
    # its place for 15 s and render 60 steps. It ends at its next step (0.25 s) on an idle one.
    deadline = time.monotonic() + 15 / 2
    while streams.active and time.monotonic() < deadline:
        time.sleep(0.01)
    assert streams.active == 0  # the stream ended (and gave back its place under the limit)
    assert 1 <= len(played) <= 10, len(played)  # within a few steps of the client leaving


@pytest.mark.parametrize(
    "query",
    ["n=0", "scenario=bogus", "schedule=XYZ", "step=999", "speed=0", "speed=1000", "interval=0"],
)
def test_stream_rejects_bad_parameters_as_json(client: TestClient, query: str) -> None:
    response = client.get(f"/stream/sim?mode=gil&{query}")
    assert response.status_code == 422
    assert response.json()["detail"]


# --- bad permalinks -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "names"),
    [
        ("n=0", "n"),
        ("n=31", "n"),
        ("scenario=inc-inc-inc", "scenario"),
        ("mode=mutex", "mode"),
        ("schedule=ABX", "schedule"),
        ("schedule=" + "A" * 20, "schedule"),
        ("step=-1", "step"),
        ("step=500", "step"),
        ("seed=-3", "seed"),
        ("mode=gil&interval=101", "interval"),
        ("speed=99", "speed"),
        ("n=two", "n"),
    ],
)
def test_bad_permalink_is_a_readable_400_naming_the_parameter(
    client: TestClient, query: str, names: str
) -> None:
    response = client.get(f"/sim?{query}")
    assert response.status_code == 400
    detail = _by_id(response.text, "error-heading") + " " + response.text
    assert names in detail
    assert "Traceback" not in response.text
    assert "That link has a bad parameter" in detail


def test_bad_schedule_links_to_the_last_valid_state(client: TestClient) -> None:
    # A runs out after 3 steps (n = 1): the fourth A is the mistake.
    response = client.get("/sim?scenario=inc-inc&mode=none&n=1&schedule=AAAAB")
    assert response.status_code == 400
    assert "step 4" in response.text
    run = simulate(INC_INC_1, "AAA")
    assert html.escape(_url(Permalink.of(run, 3))) in response.text


def test_step_past_the_end_links_to_the_last_step(client: TestClient) -> None:
    response = client.get("/sim?scenario=inc-inc&mode=none&n=1&step=50")
    run = simulate(INC_INC_1)
    assert html.escape(_url(Permalink.of(run, len(run.steps)))) in response.text


# --- /explore -----------------------------------------------------------------------------------


def test_explore_page_loads_its_result_with_a_progress_indicator(client: TestClient) -> None:
    page = client.get("/explore?scenario=inc-dec&mode=none&n=2").text
    result = _opening_tag(page, "result")
    assert 'hx-trigger="load"' in result
    assert 'hx-get="/explore?scenario=inc-dec&amp;mode=none&amp;n=2"' in result
    assert "Counting every interleaving" in page
    assert 'class="htmx-indicator' in _opening_tag(page, "explore-progress")


def _bars(fragment: str) -> list[tuple[str, str, str]]:
    """(kind, aria-label, witness url) per bar."""
    return [
        (kind, html.unescape(label), html.unescape(href))
        for href, label, kind in re.findall(
            r'<a href="([^"]+)" aria-label="([^"]+)" data-kind="([^"]+)">', fragment
        )
    ]


@pytest.mark.parametrize(
    ("scenario", "mode", "n"),
    [
        ("inc-dec", "none", 1),
        ("dec-dec", "none", 2),
        ("inc-inc", "gil", 2),
        ("inc-dec", "object-lock", 1),
    ],
)
def test_explore_fragment_has_every_outcome_with_exact_counts(
    client: TestClient, scenario: str, mode: str, n: int
) -> None:
    response = client.get(f"/explore?scenario={scenario}&mode={mode}&n={n}", headers=HTMX)
    assert response.status_code == 200
    assert response.headers["HX-Push-Url"] == f"/explore?scenario={scenario}&mode={mode}&n={n}"
    fragment = response.text
    assert "<html" not in fragment
    exploration = explore(Scenario(scenario), Mode(mode), n)
    assert f"{exploration.total:,} complete schedules" in fragment
    bars = _bars(fragment)
    assert len(bars) == len(exploration.outcomes)
    for (kind, label, witness), outcome in zip(bars, exploration.outcomes, strict=True):
        assert f"{outcome.count:,} schedule" in label
        assert (kind == "correct") == outcome.correct
        assert label.startswith(kind.replace("-", " "))
        run_query = parse_qs(urlsplit(witness).query)
        assert run_query["schedule"] == [outcome.witness]


def test_each_witness_opens_the_same_outcome_in_sim(client: TestClient) -> None:
    fragment = client.get("/explore?scenario=dec-dec&mode=none&n=1", headers=HTMX).text
    exploration = explore(Scenario.DEC_DEC, Mode.NONE, 1)
    for (_, _, witness), outcome in zip(_bars(fragment), exploration.outcomes, strict=True):
        page = client.get(witness).text
        banner = _by_id(page, "outcome")
        assert f"rc = {outcome.final_rc}, {'freed' if outcome.freed else 'not freed'}" in banner
        assert ("use after free" in banner) == outcome.use_after_free
        assert ("double free" in banner) == outcome.double_free
        assert banner.startswith("Correct") == outcome.correct


def test_a_gil_witness_no_interval_gives_opens_in_mode_none_and_says_so(
    client: TestClient,
) -> None:
    fragment = client.get("/explore?scenario=inc-dec&mode=gil&n=2", headers=HTMX).text
    exploration = explore(Scenario.INC_DEC, Mode.GIL, 2)
    bars = _bars(fragment)
    assert len(bars) == len(exploration.outcomes) == 2  # every outcome has its witness
    modes = []
    for (_, label, witness), outcome in zip(bars, exploration.outcomes, strict=True):
        query = parse_qs(urlsplit(witness).query)
        modes.append(query["mode"][0])
        assert ("shown without the GIL" in label) == (query["mode"] == ["none"])
        banner = _by_id(client.get(witness).text, "outcome")
        assert f"rc = {outcome.final_rc}, {'freed' if outcome.freed else 'not freed'}" in banner
    assert sorted(modes) == ["gil", "none"]  # B's two calls in a row after A's one: no interval
    assert "no single interval gives this one" in fragment


def test_explore_wait_renders_the_histogram_inline(client: TestClient) -> None:
    page = client.get("/explore?scenario=inc-inc&mode=atomic&n=2&wait=1").text
    assert "<html" in page and '<svg class="histogram"' in page
    assert 'hx-trigger="load"' not in page


@pytest.mark.parametrize("query", ["n=0", "n=13", "mode=bogus", "scenario=x", "n=abc"])
def test_explore_bad_parameters_are_a_readable_400(client: TestClient, query: str) -> None:
    response = client.get(f"/explore?{query}")
    assert response.status_code == 400
    assert "That link has a bad parameter" in response.text
    assert "Traceback" not in response.text


# --- the view helpers -------------------------------------------------------------------------


def test_percentages_never_round_a_real_count_to_zero() -> None:
    from app.web.sim.explore_view import abbreviate, percent

    assert percent(1, 3) == "33.3%"
    assert percent(1, 10**20) == "< 0.001%"
    assert percent(1, 50_000) == "0.002%"
    assert abbreviate(123_456) == "123,456"
    assert (
        abbreviate(96614911346016132471022965981885296)
        == "\N{ALMOST EQUAL TO} 9.66 \N{MULTIPLICATION SIGN} 10³⁴"
    )


def test_expected_outcome_follows_the_design_table() -> None:
    assert wording.expected_outcome(INC_INC_1) == "rc = 3, not freed"
    dec = Config(scenario=Scenario.DEC_DEC, mode=Mode.NONE, n=4)
    assert wording.expected_outcome(dec) == "rc = 0, freed exactly once"
    inc_dec = Config(scenario=Scenario.INC_DEC, mode=Mode.GLOBAL_LOCK, n=2)
    assert wording.expected_outcome(inc_dec) == "rc = 1, not freed"


def test_players_past_the_stream_limit_get_429() -> None:
    with TestClient(create_app(Settings(max_streams=1))) as small:
        with small.stream("GET", "/stream/sim?n=10&speed=2") as playing:
            lines = playing.iter_lines()  # kept: a dropped iterator closes the stream
            assert next(lines).startswith("event: step")
            refused = small.get("/stream/sim?n=1")
        again = small.get("/stream/sim?n=1&speed=20")  # a short play: 0.3 s, not 3 s
        assert again.status_code == 200  # the place is free again
    assert refused.status_code == 429
    assert refused.headers["Retry-After"] == "5"


@pytest.mark.parametrize("scenario", list(Scenario))
@pytest.mark.parametrize("mode", list(Mode))
def test_every_state_of_every_scenario_and_mode_renders(
    client: TestClient, scenario: Scenario, mode: Mode
) -> None:
    run = simulate(Config(scenario=scenario, mode=mode, n=2), seed=3)
    for step in range(len(run.steps) + 1):
        view = sim_view.build(sim_view.RunView.of(run), step)
        assert view.narration.startswith("Step" if step else "Start")
        assert view.board.rc == run.states[step].rc
        assert sum(cell.current for cell in view.timeline) == (1 if step else 0)
    page = client.get(_url(Permalink.of(run, len(run.steps))))
    assert page.status_code == 200
    assert ("Correct:" in _by_id(page.text, "outcome")) == run.outcome.correct
