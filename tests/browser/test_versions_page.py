"""/versions in a real browser: rows arrive over SSE, the stream closes, re-run streams again."""

from __future__ import annotations

import threading
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


class _HeldRows:
    """The survey's one row, measured only when the test lets it through: the page is seen
    before its row arrives whatever the load (a 1.5 s sleep stood in for this before)."""

    def __init__(self) -> None:
        self.turns = threading.Semaphore(0)

    def __call__(self, interpreter: Interpreter) -> Row:
        assert self.turns.acquire(timeout=60), "the test never let the row through"
        return row_of(interpreter, call_lost=(300, 200, 100), intervals=(5.0,))


@pytest.fixture
def held_rows(live_app: FastAPI, monkeypatch: pytest.MonkeyPatch) -> Iterator[_HeldRows]:
    """The live server (same process) sees one interpreter, whose row the test releases."""
    running = interpreters.running()
    monkeypatch.setitem(live_app.dependency_overrides, deps.interpreters, lambda: (running,))
    rows = _HeldRows()
    runner = JobRunner(workers=1, queue=4)
    survey = survey_cache.SurveyCache(runner, measure=rows)
    monkeypatch.setitem(live_app.dependency_overrides, deps.survey, lambda: survey)
    yield rows
    for _ in range(4):  # a test that failed half-way leaves no row waiting
        rows.turns.release()
    runner.shutdown()


def test_rows_stream_in_and_rerun_measures_again(
    page: Page, live_server: str, held_rows: _HeldRows
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{live_server}/versions")
    assert page.locator("td.pending").count() == 1
    held_rows.turns.release()
    enabled = "#survey-controls button:not([disabled])"
    page.wait_for_selector(enabled, timeout=10_000)
    assert page.locator("td.pending").count() == 0
    assert page.locator("td.lost").count() == 1  # n = n + one() lost updates
    assert page.locator("#lost-chart svg rect.bar").count() == 2
    assert "Measured 1 interpreter" in page.locator("#survey-status").inner_text()

    page.click("#survey-controls button")
    page.wait_for_selector("td.pending", timeout=5_000)
    held_rows.turns.release()
    page.wait_for_selector(enabled, timeout=10_000)
    assert page.locator("td.pending").count() == 0
    assert errors == []
