"""Who may ask what (issue 16.6, 16.7, 16.9): the Host header is never trusted, state changes
come only from this site, and every GET route answers HEAD."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient

from app.main import create_app
from app.web.infra.settings import Settings
from app.web.infra.sitemap import page_paths

EVIL = "evil.example"


def test_pages_never_carry_a_url_built_from_the_host_header(
    app: FastAPI, client: TestClient
) -> None:
    for path in [*page_paths(app), "/challenges/lose-one?schedule=A2B3A1", "/no-such-page"]:
        response = client.get(path, headers={"Host": EVIL}, follow_redirects=False)
        assert EVIL not in response.text, path
        assert EVIL not in response.headers.get("location", ""), path


def test_a_redirect_to_this_site_is_a_path(client: TestClient) -> None:
    response = client.get("/sim/", headers={"Host": EVIL}, follow_redirects=False)
    assert response.status_code in (307, 308)
    assert response.headers["location"] == "/sim"


@pytest.fixture(scope="module")
def classroom() -> Iterator[TestClient]:
    """GILLAB_ALLOWED_HOSTS=gil.school.example, as the README's classroom example has it."""
    settings = Settings.from_env({"GILLAB_ALLOWED_HOSTS": "gil.school.example, *.lab.example"})
    with TestClient(create_app(settings), base_url="http://gil.school.example") as client:
        yield client


def test_only_the_configured_hosts_are_answered(classroom: TestClient) -> None:
    assert classroom.get("/healthz").status_code == 200
    assert classroom.get("/healthz", headers={"Host": "a.lab.example"}).status_code == 200
    assert classroom.get("/healthz", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    refused = classroom.get("/", headers={"Host": EVIL})
    assert refused.status_code == 400
    assert refused.headers["x-content-type-options"] == "nosniff"  # refusals get them too


def _state_changing_routes(app: FastAPI) -> list[tuple[str, str]]:
    found = []
    for context in iter_route_contexts(app.routes):
        for method in sorted(set(context.methods or ()) - {"GET", "HEAD", "OPTIONS"}):
            path = context.path.replace("{code}", "ABCDEF").replace("{slug}", "x")
            found.append((method, path))
    return found


def test_every_state_change_from_another_site_is_refused(
    app: FastAPI, client: TestClient
) -> None:
    """Issue 16.7: POST /versions/rerun from https://evil.example answered 303 (and cost
    everyone 22 s of measurements)."""
    routes = _state_changing_routes(app)
    assert ("POST", "/versions/rerun") in routes
    for method, path in routes:
        for headers in ({"Origin": f"https://{EVIL}"}, {"Sec-Fetch-Site": "cross-site"},
                        {"Sec-Fetch-Site": "same-site"}, {"Origin": "null"}):  # fmt: skip
            response = client.request(method, path, headers=headers)
            assert response.status_code == 403, (method, path, headers, response.text)
            assert "cross-site" in response.json()["detail"]


def test_this_site_and_clients_without_a_browser_still_change_state(client: TestClient) -> None:
    own = {"Origin": "http://testserver"}
    for headers in (own, {"Sec-Fetch-Site": "same-origin", **own}, {}):
        response = client.post("/versions/rerun", headers=headers, follow_redirects=False)
        assert response.status_code == 303, headers


def test_head_answers_on_every_get_route_like_get_without_the_body(
    app: FastAPI, client: TestClient
) -> None:
    """Issue 16.9: HEAD answered 405 on 38 of 39 GET routes; monitors use it."""
    for path in ["/healthz", "/", "/sim", "/api/sim", "/static/css/site.css", *page_paths(app)]:
        if path in ("/gil", "/versions") or path.startswith("/gil/"):
            continue  # measurements: each GET runs seconds of experiments
        got = client.get(path, follow_redirects=False)
        head = client.head(path, follow_redirects=False)
        assert head.status_code == got.status_code, path
        assert head.content == b"", path
        assert head.headers.get("content-type") == got.headers.get("content-type"), path


def test_head_on_a_stream_ends_after_the_headers(client: TestClient) -> None:
    response = client.head("/stream/sim?scenario=inc-inc&n=30&speed=1")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == b""


def test_the_schema_documents_the_error_pages_html_routes_answer(
    app: FastAPI, client: TestClient
) -> None:
    """Issue 16.9: HTML routes answer 400 and 404 pages; the schema said 422 JSON."""
    html_operations = 0
    for path, operations in app.openapi()["paths"].items():
        for operation in operations.values():
            responses = operation["responses"]
            if "text/html" not in responses.get("200", {}).get("content", {}):
                continue
            html_operations += 1
            assert "422" not in responses, path
            if operation.get("parameters"):
                assert "text/html" in responses["400"]["content"], path
            if "{" in path:
                assert "404" in responses, path
    assert html_operations >= 10
    assert client.get("/sim", params={"n": 999}).status_code == 400
    assert client.get("/challenges/no-such-challenge").status_code == 404
