from __future__ import annotations

from fastapi.testclient import TestClient


def test_pages_and_assets_are_compressed(client: TestClient) -> None:
    for path in ("/sim?n=30", "/static/vendor/htmx-2.0.11.min.js", "/static/css/site.css"):
        response = client.get(path, headers={"Accept-Encoding": "gzip"})
        assert response.status_code == 200
        assert response.headers["content-encoding"] == "gzip", path


def test_server_sent_events_are_compressed_to_the_same_events(client: TestClient) -> None:
    """(That each event still arrives when it is sent: tests/deploy/test_serving.py.)"""
    url = "/stream/sim?n=3&speed=20"
    plays = {}
    for encoding in ("gzip", "identity"):
        with client.stream("GET", url, headers={"Accept-Encoding": encoding}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            plays[encoding] = (response.headers.get("content-encoding"), response.read())
    assert plays["gzip"][0] == "gzip" and plays["identity"][0] is None
    assert plays["gzip"][1] == plays["identity"][1]  # read() inflates
    assert plays["gzip"][1].count(b"event: step") > 10
