"""/versions in a real browser: rows arrive over SSE, the stream closes, re-run streams again."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from playwright.sync_api import Page

from app.lab import interpreters, survey_cache
from app.lab.interpreters import Interpreter
from app.lab.jobs import JobRunner
from app.lab.survey import Row
from app.web.infra import deps
from tests.lab.rows import row_of

pytestmark = pytest.mark.browser


def _slow_row(interpreter: Interpreter, **_: object) -> Row:
    time.sleep(1.5)  # long enough that the page is seen before its row arrives, even under load
    return row_of(interpreter, call_lost=(300, 200, 100), intervals=(5.0,))


@pytest.fixture
def one_slow_interpreter(live_app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The live server (same process) sees one interpreter whose survey takes 0.3 s."""
    running = interpreters.running()
    monkeypatch.setattr(interpreters, "available", lambda: (running,))
    monkeypatch.setattr(survey_cache, "measure_row", _slow_row)
    runner = JobRunner(workers=1, queue=4)
    survey = survey_cache.SurveyCache(runner)
    monkeypatch.setitem(live_app.dependency_overrides, deps.survey, lambda: survey)
    yield
    runner.shutdown()


@pytest.mark.usefixtures("one_slow_interpreter")
def test_rows_stream_in_and_rerun_measures_again(page: Page, live_server: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/versions")
    assert page.locator("td.pending").count() == 1
    enabled = "#survey-controls button:not([disabled])"
    page.wait_for_selector(enabled, timeout=10_000)
    assert page.locator("td.pending").count() == 0
    assert page.locator("td.lost").count() == 1  # n = n + one() lost updates
    assert page.locator("#lost-chart svg rect.bar").count() == 2
    assert "Measured 1 interpreter" in page.locator("#survey-status").inner_text()

    page.click("#survey-controls button")
    page.wait_for_selector("td.pending", timeout=5_000)
    page.wait_for_selector(enabled, timeout=10_000)
    assert page.locator("td.pending").count() == 0
    assert errors == []
