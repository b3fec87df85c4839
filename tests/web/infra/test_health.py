from __future__ import annotations

from fastapi.testclient import TestClient


def test_healthz_says_ok(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.text == "ok"


def test_unknown_page_is_a_readable_404(client: TestClient) -> None:
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Page not found" in response.text
    assert "Traceback" not in response.text


def test_vendored_htmx_is_served(client: TestClient) -> None:
    for path in ("/static/vendor/htmx-2.0.11.min.js", "/static/vendor/htmx-ext-sse-2.2.4.min.js"):
        response = client.get(path)
        assert response.status_code == 200
        assert "htmx" in response.text
