"""No stack trace ever reaches a client; bad input is a 4xx that names the parameter."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from typing import Annotated, Literal

import pytest
from fastapi import FastAPI, Query
from fastapi.responses import HTMLResponse
from fastapi.testclient import TestClient

from app.lab.jobs import Busy, TimedOut, WorkerDied
from app.main import create_app
from app.web.infra.deps import resources_of
from app.web.infra.errors import BadParameter
from app.web.infra.security import EmbedLayout
from app.web.infra.settings import Settings

SECRET = "s3cr3t-detail-that-must-stay-in-the-log"


@pytest.fixture(scope="module")
def faulty() -> Iterator[TestClient]:
    """The real app plus routes that fail in every way a real route can."""
    app: FastAPI = create_app(Settings())

    @app.get("/api/boom")
    def api_boom() -> None:
        raise RuntimeError(SECRET)

    @app.get("/boom", response_class=HTMLResponse)
    def page_boom() -> str:
        raise RuntimeError(SECRET)

    @app.get("/permalink", response_class=HTMLResponse)
    def permalink(
        embed: EmbedLayout,  # a page with an embed layout, like /sim
        n: Annotated[int, Query(ge=1, le=6)] = 2,
        mode: Literal["none", "gil"] = "none",
        schedule: str = "",
    ) -> str:
        if "C" in schedule:
            raise BadParameter("schedule", "step 3 names thread C; only A and B run",
                               suggestion="/permalink?n=2")
        return "fine"

    @app.get("/api/busy")
    def busy() -> None:
        raise Busy(7)

    @app.get("/api/slow")
    def slow() -> None:
        raise TimedOut("the experiment ran past its 10 s limit")

    @app.get("/api/died")
    def died() -> None:
        raise WorkerDied("the process running the experiment ended abruptly; run it again")

    with TestClient(app, raise_server_exceptions=False) as client:
        yield client


def _assert_no_trace(text: str) -> None:
    for leak in ("Traceback", SECRET, "RuntimeError", 'File "'):
        assert leak not in text


def test_a_failing_api_route_says_internal_error_and_nothing_more(faulty: TestClient) -> None:
    response = faulty.get("/api/boom")
    assert response.status_code == 500
    assert response.json() == {"detail": "internal error"}
    _assert_no_trace(response.text)


def test_a_failing_page_is_a_readable_500(faulty: TestClient) -> None:
    response = faulty.get("/boom")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("text/html")
    assert "Something went wrong on our side" in response.text
    _assert_no_trace(response.text)


@pytest.mark.parametrize(
    ("query", "named"),
    [("n=99", "n"), ("n=two", "n"), ("mode=turbo", "mode"), ("n=0&mode=x", "mode")],
)
def test_a_bad_permalink_is_a_helpful_400_page(faulty: TestClient, query: str, named: str) -> None:
    response = faulty.get(f"/permalink?{query}")
    assert response.status_code == 400
    assert "That link has a bad parameter" in response.text
    assert f"{named}:" in response.text
    assert 'href="/permalink"' in response.text  # the nearest valid state is one click away
    _assert_no_trace(response.text)


def test_a_bad_permalink_names_the_allowed_values(faulty: TestClient) -> None:
    response = faulty.get("/permalink?mode=turbo")
    assert "&#39;none&#39;" in response.text or "'none'" in response.text
    assert "&#39;gil&#39;" in response.text or "'gil'" in response.text


def test_a_domain_error_links_to_the_suggested_state(faulty: TestClient) -> None:
    response = faulty.get("/permalink?schedule=ABC")
    assert response.status_code == 400
    assert "step 3 names thread C" in response.text
    assert 'href="/permalink?n=2"' in response.text


def test_busy_is_429_with_retry_after_and_timeouts_are_504(faulty: TestClient) -> None:
    busy = faulty.get("/api/busy")
    assert busy.status_code == 429
    assert busy.headers["retry-after"] == "7"
    slow = faulty.get("/api/slow")
    assert slow.status_code == 504
    assert "10 s limit" in slow.json()["detail"]
    died = faulty.get("/api/died")
    assert died.status_code == 503
    assert "run it again" in died.json()["detail"]


def test_the_explorer_outlives_a_killed_worker_process(faulty: TestClient) -> None:
    """The OOM killer (or anything else) ending an exploration's process is not a dead lab."""
    url = "/api/explore?scenario=inc-dec&mode=none&n=2"
    assert faulty.get(url).status_code == 200
    explorations = resources_of(faulty.app).explorations  # type: ignore[arg-type]
    for pid in explorations.worker_pids():
        os.kill(pid, signal.SIGKILL)
    again = faulty.get("/api/explore?scenario=inc-dec&mode=none&n=3")
    assert again.status_code == 200, again.text
    assert again.json()["total"] > 0


def test_unknown_pages_and_methods_are_4xx_not_5xx(faulty: TestClient) -> None:
    assert faulty.get("/nowhere").status_code == 404
    assert faulty.post("/healthz").status_code == 405
    assert faulty.get("/static/../pyproject.toml").status_code == 404


def test_an_error_inside_an_embed_keeps_the_minimal_chrome(faulty: TestClient) -> None:
    embedded = faulty.get("/permalink?n=99&embed=1")
    assert embedded.status_code == 400
    assert 'class="site-header"' not in embedded.text
    assert 'class="site-header"' in faulty.get("/permalink?n=99").text
