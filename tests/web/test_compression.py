from __future__ import annotations

from fastapi.testclient import TestClient


def test_pages_and_assets_are_compressed(client: TestClient) -> None:
    for path in ("/sim?n=30", "/static/vendor/htmx-2.0.11.min.js", "/static/css/site.css"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip", path


def test_server_sent_events_are_not_compressed(client: TestClient) -> None:
    with client.stream(
        "GET", "/stream/sim?n=1&speed=20", headers={"Accept-Encoding": "gzip"}
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        assert "content-encoding" not in response.headers
