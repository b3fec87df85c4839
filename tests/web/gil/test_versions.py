"""/api/interpreters, /api/versions/race, /api/gil/convoy, /versions and its stream."""

from __future__ import annotations

import platform
import re
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.lab import interpreters, survey_cache
from app.lab.interpreters import Interpreter
from app.lab.jobs import Busy, JobRunner
from app.lab.survey import Row
from app.web.infra import deps
from tests.lab.rows import interpreter, row_of

RUNNING = platform.python_version()


@pytest.fixture
def fresh_survey(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """A survey with nothing cached whose experiments return a fixed row at once."""
    measured: list[str] = []

    def fake_measure_row(interpreter: Interpreter) -> Row:
        measured.append(interpreter.version)
        return row_of(interpreter)

    runner = JobRunner(workers=1, queue=8)
    survey = survey_cache.SurveyCache(runner, measure=fake_measure_row)
    monkeypatch.setitem(app.dependency_overrides, deps.survey, lambda: survey)
    yield measured
    runner.shutdown()


@pytest.fixture
def only_the_running_interpreter(app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> None:
    running = interpreters.running()
    monkeypatch.setitem(app.dependency_overrides, deps.interpreters, lambda: (running,))


def test_interpreters_lists_the_running_one(client: TestClient) -> None:
    response = client.get("/api/interpreters")
    assert response.status_code == 200
    listed = response.json()["interpreters"]
    assert RUNNING in [item["version"].removesuffix("t") for item in listed]
    assert all(
        set(item) == {"version", "implementation", "free_threaded", "gil_enabled"}
        for item in listed
    )


def test_the_race_on_the_running_interpreter(client: TestClient) -> None:
    response = client.get(
        "/api/versions/race", params={"python": RUNNING, "statement": "call", "runs": 1}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["python"] == RUNNING
    assert body["statement"] == "call"
    assert len(body["runs"]) == 1
    assert 0 <= body["runs"][0]["lost_updates"] <= 2 * body["iterations"]


def test_the_convoy_on_the_running_interpreter(client: TestClient) -> None:
    response = client.get("/api/gil/convoy", params={"interval_ms": "0.1"})
    assert response.status_code == 200
    body = response.json()
    assert body["python"] == RUNNING
    assert body["interval_ms"] == 0.1
    assert body["idle_rtt_ms"] > 0
    assert body["loaded_rtt_ms"] > 0


def test_an_unknown_version_is_a_422_listing_the_available_ones(client: TestClient) -> None:
    for url in ("/api/versions/race", "/api/gil/convoy"):
        response = client.get(url, params={"python": "2.7"})
        assert response.status_code == 422
        (error,) = response.json()["detail"]
        assert error["loc"] == ["query", "python"]
        assert RUNNING in error["msg"]
        assert "available" in error["msg"]


@pytest.mark.parametrize(
    ("url", "params", "parameter", "allowed"),
    [
        ("/api/versions/race", {"runs": 0}, "runs", "greater than or equal to 1"),
        ("/api/versions/race", {"runs": 6}, "runs", "less than or equal to 5"),
        ("/api/versions/race", {"runs": "many"}, "runs", "integer"),
        ("/api/versions/race", {"statement": "n = 0"}, "statement", "'inplace' or 'call'"),
        ("/api/gil/convoy", {"interval_ms": "2"}, "interval_ms", "'5', '1' or '0.1'"),
        ("/api/gil/convoy", {"python": "3" * 100}, "python", "at most 40 characters"),
    ],
)
def test_bad_parameters_are_422s_naming_the_parameter_and_what_it_allows(
    client: TestClient, url: str, params: dict[str, object], parameter: str, allowed: str
) -> None:
    response = client.get(url, params=params)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", parameter]
    assert allowed in error["msg"]


class _FullRunner:
    """A runner whose queue is always full."""

    async def run_shared(self, *_: object, **__: object) -> None:
        raise Busy(7)


def test_a_busy_lab_is_a_429_with_retry_after(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.dependency_overrides, deps.measurements, _FullRunner)
    response = client.get("/api/versions/race")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"


def test_the_endpoints_are_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    for path in ("/api/interpreters", "/api/versions/race", "/api/gil/convoy", "/stream/versions"):
        assert path in paths


def test_the_page_streams_each_interpreter_then_done(
    client: TestClient, fresh_survey: list[str]
) -> None:
    page = client.get("/versions")
    assert page.status_code == 200
    assert 'sse-connect="/stream/versions"' in page.text
    assert 'sse-close="done"' in page.text
    assert "measuring…" in page.text

    events: list[str] = []
    with client.stream("GET", "/stream/versions") as stream:
        for line in stream.iter_lines():
            if line.startswith("event: "):
                events.append(line.removeprefix("event: "))
    found = interpreters.available()
    slugs = ["py-" + re.sub(r"[^0-9a-z]+", "-", interpreter.version) for interpreter in found]
    assert [event for event in events if event.startswith("py-")] == slugs
    assert events.count("charts") == len(found)
    assert events[-1] == "done"
    assert fresh_survey == [interpreter.version for interpreter in found]

    # Cached for the server's lifetime: the page now comes whole, without a stream.
    cached = client.get("/versions")
    assert "sse-connect" not in cached.text
    assert "measuring…" not in cached.text
    assert "<svg" in cached.text
    assert "no longer loses updates" in cached.text
    client.get("/stream/versions")
    assert len(fresh_survey) == len(found)  # nothing measured twice


def test_rerun_forgets_the_results(
    client: TestClient, fresh_survey: list[str], only_the_running_interpreter: None
) -> None:
    client.get("/stream/versions")
    assert "sse-connect" not in client.get("/versions").text
    block = client.post("/versions/rerun", headers={"HX-Request": "true"})
    assert block.status_code == 200
    assert block.text.lstrip().startswith('<section id="survey"')
    assert 'sse-connect="/stream/versions"' in block.text
    plain = client.post("/versions/rerun", follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"] == "/versions"
    client.get("/stream/versions")
    assert fresh_survey == [RUNNING, RUNNING]


def test_with_one_interpreter_the_page_says_how_to_add_more(
    client: TestClient, fresh_survey: list[str], only_the_running_interpreter: None
) -> None:
    text = client.get("/versions").text
    assert "Only one interpreter was found" in text
    assert "GILLAB_PYTHONS" in text
    assert "pyenv" in text


def test_the_convoy_panel_for_the_gil_page(client: TestClient, fresh_survey: list[str]) -> None:
    fragment = client.get("/gil/convoy", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.text.lstrip().startswith('<section class="convoy" id="convoy"')
    assert "<svg" in fragment.text
    assert f"on Python {RUNNING}" in fragment.text
    assert "5.15 ms at 5 ms" in fragment.text
    page = client.get("/gil/convoy", params={"embed": 1})
    assert page.text.startswith("<!doctype html>")
    assert "site-header" not in page.text
    assert '<section class="convoy" id="convoy"' in page.text
    assert client.get("/gil/convoy", params={"python": "2.7"}).status_code == 400


def test_the_gil_page_loads_the_convoy_panel(client: TestClient) -> None:
    page = client.get("/gil")
    assert page.status_code == 200
    assert 'hx-get="/gil/convoy"' in page.text
    assert "css/charts.css" in page.text


def test_without_a_free_threaded_build_the_page_says_so_and_how_to_add_one(
    client: TestClient, fresh_survey: list[str], only_the_running_interpreter: None
) -> None:
    text = client.get("/versions").text
    assert "No free-threaded CPython" in text and "nothing here pretends to" in text
    assert "uv python install 3.14t" in text and "GILLAB_PYTHONS" in text
    assert "free-threaded, GIL" not in text


def test_a_free_threaded_build_gets_a_row_with_its_gil_off_and_one_with_it_on(
    app: FastAPI, client: TestClient, fresh_survey: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    running = interpreters.running()
    free = interpreter(
        "3.14.0t", free_threaded=True, gil_enabled=False, executable="/stand-in/python3.14t"
    )
    found = (running, free, free.with_gil())
    monkeypatch.setitem(app.dependency_overrides, deps.interpreters, lambda: found)
    page = client.get("/versions").text
    assert "Free-threaded CPython found" in page and "Python 3.14.0t." in page
    with client.stream("GET", "/stream/versions") as stream:
        events = [line[7:] for line in stream.iter_lines() if line.startswith("event: ")]
    assert [event for event in events if event.startswith("py-3-14")] == [
        "py-3-14-0t", "py-3-14-0t-gil",
    ]  # fmt: skip
    assert fresh_survey[-2:] == ["3.14.0t", "3.14.0t/gil"]
    measured = client.get("/versions").text
    assert "free-threaded, GIL off" in measured and "GIL on (<code>-X gil=1</code>)" in measured
    assert "CPU-bound threads: speed-up" in measured
    listed = client.get("/api/interpreters").json()["interpreters"]
    assert {"version": "3.14.0t/gil", "implementation": "CPython", "free_threaded": True,
            "gil_enabled": True} in listed  # fmt: skip


def test_lesson_9_says_whether_this_host_has_a_free_threaded_build(
    client: TestClient, only_the_running_interpreter: None
) -> None:
    text = client.get("/lessons/free-threading").text
    assert 'id="free-threaded-note"' in text
    assert "uv python install 3.14t" in text and "nothing here pretends to" in text
