"""/sim as the replay of a hardware run (issue 17.10): the lab's link says which run it was and
what was recorded, /sim says so at every step, in the played stream, the copied link and the
embed layout, and figures that no such run could show are a 4xx naming the parameter.

Expected figures come from the lab's own records or the core (`app.sim`), never from the page.
"""

from __future__ import annotations

import html
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient

from app.lab import native, replay
from app.lab.native import Recording
from app.lab.trial import HardwareRun
from app.sim import Config, Mode, Permalink, Scenario, simulate
from app.web.infra import urls
from tests.lab.recordings import CANCELLED_OUT

HTMX = {"HX-Request": "true"}
FIGURES = ("from", "run", "runs", "iterations", "final_rc", "lost_updates", "window_rc")


def _text(page: str, element_id: str) -> str:
    """The text of the element with this id, tags stripped and whitespace collapsed."""
    match = re.search(rf'<(\w+)[^>]*\bid="{element_id}"[^>]*>(.*?)</\1>', page, re.S)
    assert match, f"no element with id={element_id!r}"
    text = re.sub(r"</?(?:strong|em|span|code|a)\b[^>]*>", "", match.group(2))
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", text)).split())


def _href(page: str, element_id: str) -> str:
    match = re.search(rf'<a[^>]*\bid="{element_id}"[^>]*>', page)
    assert match, f"no link with id={element_id!r}"
    href = re.search(r'\bhref="([^"]*)"', match.group(0))
    assert href
    return html.unescape(href.group(1))


def _query(url: str) -> dict[str, str]:
    return {key: values[-1] for key, values in parse_qs(urlsplit(url).query).items()}


def _events(text: str) -> list[tuple[str, str]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = block.splitlines()
        name = next(line[7:] for line in lines if line.startswith("event: "))
        events.append((name, "\n".join(line[6:] for line in lines if line.startswith("data: "))))
    return events


# One call each, both reads before both writes: the update is lost, the count ends at 2.
LOST_ONE = Recording(scenario=Scenario.INC_INC, window=1, reads_a=(1,), reads_b=(1,), window_rc=2)


def _lost_one() -> tuple[replay.Replay, HardwareRun]:
    found = replay.replay(LOST_ONE)
    hardware = HardwareRun(
        scenario=Scenario.INC_INC, iterations=1, run=2, runs=3, final_rc=2, lost_updates=1,
        window_rc=2,
    )  # fmt: skip
    return found, hardware


def _long_run() -> tuple[Permalink, HardwareRun]:
    """A window of 30 calls from a run of a million: the replay ends where the schedule does."""
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30), "A90B90")
    hardware = HardwareRun(
        scenario=Scenario.INC_INC, iterations=1_000_000, run=7, runs=10, final_rc=1_998_211,
        lost_updates=1_790, window_rc=run.outcome.final_rc,
    )  # fmt: skip
    return Permalink.of(run, 0), hardware


def test_the_labs_replay_links_carry_the_run_they_replay(client: TestClient) -> None:
    params = {"experiment": "inc-inc", "mode": "none", "iterations": 30, "runs": 3}
    with client.stream("GET", "/stream/native/race", params=params) as stream:
        results = [data for name, data in _events("".join(stream.iter_text())) if name == "result"]
    assert len(results) == 3
    for number, line in enumerate(results, 1):
        link = re.search(r'class="replay" href="([^"]+)"', line)
        assert link, line
        query = _query(html.unescape(link.group(1)))
        final = re.search(r"final count <strong>([\d,]+)</strong>", line)
        assert final, line
        final_rc = int(final.group(1).replace(",", ""))
        assert query["from"] == "lab" and query["run"] == str(number) and query["runs"] == "3"
        assert query["iterations"] == "30" and query["final_rc"] == str(final_rc)
        assert query["lost_updates"] == str(61 - final_rc)
        # The whole run is the window: the replay ends at the run's final count.
        assert query["window_rc"] == str(final_rc)
        page = client.get(html.unescape(link.group(1)))
        assert page.status_code == 200, page.text
        assert f"Run {number} of 3" in _text(page.text, "replay-note")


def test_the_json_api_links_the_same_replay(client: TestClient) -> None:
    response = client.get("/api/native/race", params={"iterations": 1000, "runs": 2})
    for number, run in enumerate(response.json()["runs"], 1):
        query = _query(run["replay"])
        assert {key: query[key] for key in FIGURES} == {
            "from": "lab", "run": str(number), "runs": "2", "iterations": "1000",
            "final_rc": str(run["final_rc"]), "lost_updates": str(run["lost_updates"]),
            "window_rc": query["window_rc"],
        }  # fmt: skip
        assert query["n"] == "30"
        assert client.get(run["replay"]).status_code == 200


def test_sim_says_which_hardware_run_it_replays_and_what_was_recorded(
    client: TestClient,
) -> None:
    found, hardware = _lost_one()
    assert found.race_step is not None
    page = client.get(urls.sim_replay(found, hardware)).text
    note = _text(page, "replay-note")
    assert "Hardware replay Run 2 of 3 from the native lab" in note
    assert "Recorded on this machine's cores (inc-inc: both threads take a reference, no lock, " \
        "1 call per thread)." in note
    assert "ended that run at rc = 2 (3 with no update lost): 1 update lost" in note
    assert "Replayed here: the whole run (n = 1)" in note
    assert "The hardware's count after it was 2; this schedule ends there too" in note
    assert f"The race first shows at step {found.race_step}, where the lab's link opens" in note
    assert "every load reads exactly the value the hardware's load read" in note
    assert "The writes were not recorded; they are inferred from the reads" in note
    # It opens at that step, and links back to the lab to measure the race again.
    assert f'data-step="{found.race_step}"' in page
    assert _href(page, "replay-lab") == urls.native_race(
        Scenario.INC_INC, Mode.NONE, iterations=1, runs=3, free="observed"
    )
    assert _href(page, "replay-race-step") == urls.sim_replay(found, hardware)
    # A section with its own heading: a screen reader finds it as a named region.
    assert re.search(r'<section id="replay-note"[^>]*aria-labelledby="replay-note-title"', page)


def test_a_window_of_a_long_run_says_only_its_first_calls_are_replayed(
    client: TestClient,
) -> None:
    permalink, hardware = _long_run()
    page = client.get(urls.sim(permalink, **urls.hardware_run(hardware))).text
    note = _text(page, "replay-note")
    assert "Run 7 of 10" in note and "1,000,000 calls per thread" in note
    assert "rc = 1,998,211 (2,000,001 with no update lost): 1,790 updates lost" in note
    assert "Replayed here: its first 30 calls per thread (n = 30)" in note
    assert f"The hardware's count after them was {hardware.window_rc}" in note
    assert "the hardware lost its updates later in the run" in note  # one thread after the other
    assert "what the rest of the run did shows only in its final count" in note


def _inc_dec_window_note(client: TestClient, final_rc: int) -> str:
    """/sim's note on a window of 30 calls in which nothing goes wrong (A's calls, then B's),
    from a run of 1,000 that ended at `final_rc` with no update missing from it."""
    run = simulate(Config(scenario=Scenario.INC_DEC, mode=Mode.NONE, n=30), "A120B150")
    assert run.outcome.correct and replay.race_step(run) is None
    hardware = HardwareRun(
        scenario=Scenario.INC_DEC, iterations=1_000, run=4, runs=10, final_rc=final_rc,
        lost_updates=0, window_rc=run.outcome.final_rc,
    )  # fmt: skip
    page = client.get(urls.sim(Permalink.of(run, 0), **urls.hardware_run(hardware))).text
    return _text(page, "replay-note")


def test_a_clean_window_of_an_inc_dec_run_that_went_wrong_later_does_not_call_it_right(
    client: TestClient,
) -> None:
    """16 of 100 inc-dec runs of 1,000 calls on this machine's cores went like this: nothing
    wrong in the first 30 calls, no update missing from the count, and the count at 0, the
    object freed. The note said "Nothing went wrong in this run"."""
    note = _inc_dec_window_note(client, final_rc=0)
    assert "Nothing went wrong in this run" not in note
    assert "ended that run at rc = 0: no update missing from the count" in note
    assert "Nothing goes wrong in these calls: the run went wrong later" in note
    assert "only rc = 1, not freed, is correct" in note


def test_a_clean_window_of_an_inc_dec_run_at_the_right_count_says_what_it_cannot_tell(
    client: TestClient,
) -> None:
    """At rc = 1 the run may still have freed the object later, or erased updates that
    cancelled out: the figures cannot tell, and the note does not claim either way."""
    note = _inc_dec_window_note(client, final_rc=1)
    assert "Nothing went wrong in this run" not in note
    assert "Nothing goes wrong in these calls, and the run ended at the correct count" in note
    assert "these figures cannot tell" in note


def test_a_replay_whose_erased_updates_cancel_out_says_so(client: TestClient) -> None:
    """CI's cores recorded it (tests/lab/recordings.py): the count came out right, with
    updates erased. The note said "no update lost" beside a replay that loses three."""
    found = replay.replay(CANCELLED_OUT)
    hardware = HardwareRun(
        scenario=Scenario.INC_DEC, iterations=30, run=1, runs=1, final_rc=1, lost_updates=0,
        window_rc=1,
    )  # fmt: skip
    note = _text(client.get(urls.sim_replay(found, hardware)).text, "replay-note")
    assert "no update lost" not in note
    assert "ended that run at rc = 1: no update missing from the count" in note
    assert f"The race first shows at step {found.race_step}" in note
    assert "the increments and decrements erased there cancel out" in note


def test_a_plain_permalink_has_no_note(client: TestClient) -> None:
    permalink, _ = _long_run()
    page = client.get(urls.sim(permalink)).text
    assert '<div id="replay-note" hidden></div>' in page
    assert "Hardware replay" not in page and "from=lab" not in page


def test_every_link_to_another_step_keeps_the_replay_and_stepping_keeps_the_note(
    client: TestClient,
) -> None:
    found, hardware = _lost_one()
    kept = urls.hardware_run(hardware)
    page = client.get(urls.sim(found.permalink.at(2), **kept)).text
    for control in ("go-first", "go-prev", "go-next", "go-last", "play-toggle"):
        assert all(_query(_href(page, control)).get(k) == v for k, v in kept.items()), control
    # The copied link is the address bar's, which htmx sets from the pushed permalink, and the
    # embed code starts from the stage's.
    stage = re.search(r'id="stage"[^>]*data-permalink="([^"]+)"', page)
    assert stage and _query(html.unescape(stage.group(1)))["from"] == "lab"
    assert "from=lab" in _text(page, "embed-snippet").replace("&amp;", "&")
    # The scrubber and the timeline submit the replay along with the step.
    for name, value in kept.items():
        assert f'<input type="hidden" name="{name}" value="{value}">' in page
    # A step by htmx from the page as it is (static/js/sim.js names the state it shows): the
    # note stays on the page untouched, and the new permalink (which sim.js pushes into the
    # address bar) and the new links keep the run.
    shown = html.unescape(stage.group(1))
    step = client.get(_href(page, "go-next"), headers={**HTMX, "Sim-Shown": shown})
    assert step.status_code == 200
    assert "replay-note" not in step.text
    moved = re.search(r'id="stage"[^>]*data-permalink="([^"]+)"', step.text)
    assert moved and _query(html.unescape(moved.group(1)))["from"] == "lab"
    assert _query(_href(step.text, "go-next"))["from"] == "lab"
    # Without knowing what the page shows, the whole fragment comes, the note out of band.
    whole = client.get(_href(page, "go-next"), headers=HTMX).text
    opening = re.search(r'<section id="replay-note"[^>]*>', whole)
    assert opening and 'hx-swap-oob="true"' in opening.group(0)
    assert "Run 2 of 3 from the native lab" in _text(whole, "replay-note")
    # Scheduling a thread by hand leaves the replay: its link drops the run, and the swap
    # empties the note.
    choose = _href(page, "choose-A") if 'id="choose-A" href' in page else _href(page, "choose-B")
    assert "from=" not in choose
    left = client.get(choose, headers={**HTMX, "Sim-Shown": shown}).text
    assert '<div id="replay-note" hx-swap-oob="true" hidden></div>' in left


def test_an_event_a_step_adds_to_the_log_links_to_the_replay(client: TestClient) -> None:
    # inc-inc, two calls each, one step at a time: two lost updates, at two steps.
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=2))
    events = [step.index for step in run.steps if step.events]
    assert len(events) == 2
    hardware = HardwareRun(
        scenario=Scenario.INC_INC, iterations=2, run=1, runs=1, final_rc=run.outcome.final_rc,
        lost_updates=5 - run.outcome.final_rc, window_rc=run.outcome.final_rc,
    )  # fmt: skip
    kept = urls.hardware_run(hardware)
    before = urls.sim(Permalink.of(run, events[1] - 1), **kept)
    after = client.get(
        urls.sim(Permalink.of(run, events[1]), **kept), headers={**HTMX, "Sim-Shown": before}
    ).text
    added = re.search(r'<ol id="log-entries" hx-swap-oob="beforeend">(.*?)</ol>', after, re.S)
    assert added, after
    link = re.search(r'href="([^"]+)"', added.group(1))
    assert link and _query(html.unescape(link.group(1)))["from"] == "lab"
    assert "replay-note" not in after


def test_playing_keeps_the_replay_in_every_streamed_step(client: TestClient) -> None:
    found, hardware = _lost_one()
    url = urls.sim(found.permalink.at(0), **urls.hardware_run(hardware))
    page = client.get(url + "&play=1&speed=20").text
    source = re.search(r'sse-connect="([^"]+)"', page)
    assert source
    stream_url = html.unescape(source.group(1))
    assert _query(stream_url)["from"] == "lab"
    with client.stream("GET", stream_url) as stream:
        steps = [data for name, data in _events("".join(stream.iter_text())) if name == "step"]
    assert steps
    for data in steps:
        permalink = re.search(r'data-permalink="([^"]+)"', data)
        assert permalink and _query(html.unescape(permalink.group(1)))["from"] == "lab"


def test_predict_mode_keeps_the_replay(client: TestClient) -> None:
    found, hardware = _lost_one()
    kept = urls.hardware_run(hardware)
    page = client.get(urls.sim(found.permalink.at(0), **kept)).text
    start = _href(page, "predict-start")
    assert _query(start)["from"] == "lab" and _query(start)["predict"] == "1"
    asking = client.get(start).text
    assert "Run 2 of 3 from the native lab" in _text(asking, "replay-note")
    for link in ("predict-choice-1", "predict-restart", "predict-leave"):
        assert _query(_href(asking, link))["from"] == "lab", link
    # An answer without script is judged and redirected to the next state: the run comes along.
    answered = client.get(_href(asking, "predict-choice-1"), follow_redirects=False)
    assert answered.status_code == 303
    assert _query(answered.headers["location"])["from"] == "lab"


def test_the_embed_layout_shows_the_note(client: TestClient) -> None:
    found, hardware = _lost_one()
    page = client.get(urls.sim(found.permalink, embed=True, **urls.hardware_run(hardware)))
    assert "Run 2 of 3 from the native lab" in _text(page.text, "replay-note")
    assert _query(_href(page.text, "go-first"))["embed"] == "1"
    # The lab is a whole page: from a slide it opens in a new tab, leaving the deck in place.
    assert re.search(r'<a [^>]*id="replay-lab" target="_blank" rel="noopener"', page.text)


def _bad(**changes: str) -> str:
    found, hardware = _lost_one()
    params = {**found.permalink.params(), **urls.hardware_run(hardware), **changes}
    return "&".join(f"{key}={value}" for key, value in params.items() if value != "-")


@pytest.mark.parametrize(
    ("changes", "parameter"),
    [
        ({"from": "hardware"}, "from"),
        ({"from": "-"}, "from"),  # figures without from=lab
        ({"window_rc": "-"}, "window_rc"),
        ({"run": "0"}, "run"),
        ({"run": "4"}, "run"),  # of runs=3
        ({"runs": str(native.MAX_RUNS + 1)}, "runs"),
        ({"iterations": "lots"}, "iterations"),
        ({"iterations": "100"}, "n"),  # a replay of 100 calls has n = 30
        ({"final_rc": "9"}, "final_rc"),  # inc-inc at one call a thread ends at 1 to 3
        ({"lost_updates": "0"}, "lost_updates"),  # inc-inc at 2 lost 1
        ({"lost_updates": "-1"}, "lost_updates"),
        ({"window_rc": "3"}, "window_rc"),  # this schedule ends at 2
        ({"mode": "atomic", "schedule": "", "step": "0"}, "mode"),
    ],
)
def test_figures_no_such_run_could_show_are_refused_by_name(
    client: TestClient, changes: dict[str, str], parameter: str
) -> None:
    query = _bad(**changes)
    page = client.get(f"/sim?{query}")
    assert page.status_code == 400, page.text
    assert f"{parameter}:" in html.unescape(page.text)
    stream = client.get(f"/stream/sim?{query}")
    assert stream.status_code == 422, stream.text
    assert [error["loc"] for error in stream.json()["detail"]] == [["query", parameter]]


def test_a_bad_figure_suggests_the_same_state_without_the_replay(client: TestClient) -> None:
    found, _ = _lost_one()
    page = client.get(f"/sim?{_bad(window_rc='3')}").text
    assert f'href="{html.escape(urls.sim(found.permalink))}"' in page
