"""The live-class pages: served, escaped, and the teacher's token kept out of the server."""

from __future__ import annotations

from fastapi.testclient import TestClient

from tests.web.live.test_api import open_class


def test_a_teacher_opens_a_class_from_the_page(live: TestClient) -> None:
    assert "Open a class" in live.get("/class/new").text
    opened = live.post("/class/new", follow_redirects=False)
    assert opened.status_code == 303
    where = opened.headers["location"]
    assert where.startswith("/class/") and "/teach#token=" in where
    code = where.split("/")[2]
    dashboard = live.get(f"/class/{code}/teach")
    assert dashboard.status_code == 200
    assert f'data-code="{code}"' in dashboard.text
    assert 'id="join-code"' in dashboard.text  # projected (the link: test_join_link.py)


def test_students_find_their_class_by_code(live: TestClient) -> None:
    code = open_class(live)["code"]
    typed = live.get("/class", params={"code": f" {code.lower()} "}, follow_redirects=False)
    assert typed.status_code == 303 and typed.headers["location"] == f"/class/{code}"
    assert live.get(f"/class/{code.lower()}", follow_redirects=False).headers["location"] == (
        f"/class/{code}"
    )
    page = live.get(f"/class/{code}")
    assert page.status_code == 200 and 'data-role="student"' in page.text
    assert "Join a live class" in live.get("/class").text


def test_unknown_codes_get_a_readable_escaped_page(live: TestClient) -> None:
    missing = live.get("/class/<b>x")
    assert missing.status_code == 404
    assert "<b>x" not in missing.text and "No such class" in missing.text
    assert live.get("/class/ZZZZZZ/teach").status_code == 404
