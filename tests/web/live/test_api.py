"""The live-class API (/api/classes), its errors and bounds, on both storage backends."""

from __future__ import annotations

from typing import Any, cast

from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.live import classes as rules
from app.live.classes import CODE_ALPHABET, LiveClasses
from app.web.infra import deps

SIM = "/sim?scenario=inc-inc&mode=none&n=1&step=0"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def open_class(live: TestClient) -> dict[str, Any]:
    response = live.post("/api/classes")
    assert response.status_code == 201
    created: dict[str, Any] = response.json()
    return created


def join(live: TestClient, code: str, name: str) -> dict[str, str]:
    response = live.post(f"/api/classes/{code}/join", json={"name": name})
    assert response.status_code == 201, response.text
    joined: dict[str, str] = response.json()
    return joined


def live_classes(live: TestClient) -> LiveClasses:
    """The live classes of the test's own app (one per test), whose bounds a test may lower."""
    return deps.resources_of(cast(FastAPI, live.app)).live


def parameter_of(response: Any) -> list[str]:
    return [error["loc"][-1] for error in response.json()["detail"]]


def test_open_a_class(live: TestClient) -> None:
    created = open_class(live)
    code, token = created["code"], created["teacher_token"]
    assert len(code) == 6 and set(code) <= set(CODE_ALPHABET)
    # "testserver" is only the Host header's word (tests/web/live/test_join_link.py): paths.
    assert created["join_url"] == f"/class/{code}"
    assert created["teacher_url"] == f"/class/{code}/teach#token={token}"
    assert live.get(f"/api/classes/{code}").json() == {
        "code": code, "members": 0, "state": {
            "url": None, "title": None, "step": None, "steps": None, "challenge": None,
        }, "question": None, "show_top": False,
    }  # fmt: skip


def test_a_server_runs_a_bounded_number_of_classes(live: TestClient) -> None:
    for _ in range(3):  # max_classes in the fixture's settings
        open_class(live)
    refused = live.post("/api/classes")
    assert refused.status_code == 429 and "Retry-After" in refused.headers


def test_join_names_are_unique_bounded_and_kept_as_text(live: TestClient) -> None:
    code = open_class(live)["code"]
    joined = join(live, code, "<img src=x onerror=alert(1)>")
    assert joined["student_token"].startswith(joined["student_id"] + ".")
    me = live.get(f"/api/classes/{code}/me", headers=bearer(joined["student_token"]))
    assert me.json()["name"] == "<img src=x onerror=alert(1)>"  # JSON text, never markup
    assert live.post(f"/api/classes/{code}/join", json={"name": "<IMG src=x onerror=alert(1)>"}).status_code == 409  # noqa: E501
    for bad in ({"name": ""}, {"name": "x" * 41}, {"name": "x" * 201}, {}, {"name": 3}):
        refused = live.post(f"/api/classes/{code}/join", json=bad)
        assert refused.status_code == 422 and parameter_of(refused) == ["name"], bad
    assert live.get(f"/api/classes/{code}").json()["members"] == 1


def test_a_full_class_answers_429(live: TestClient) -> None:
    live_classes(live).max_members = 2
    code = open_class(live)["code"]
    join(live, code, "a")
    join(live, code, "b")
    refused = live.post(f"/api/classes/{code}/join", json={"name": "c"})
    assert refused.status_code == 429 and refused.headers["Retry-After"]


def test_unknown_ended_and_guessed_codes(live: TestClient) -> None:
    live_classes(live).failed_lookups = 4
    created = open_class(live)
    code = created["code"]
    assert live.delete(f"/api/classes/{code}", headers=bearer("nope")).status_code == 403
    assert live.delete(f"/api/classes/{code}", headers=bearer(created["teacher_token"])).status_code == 204  # noqa: E501
    for path in ("", "/join", "/me"):
        method = "POST" if path == "/join" else "GET"
        assert live.request(method, f"/api/classes/{code}{path}", json={"name": "x"}).status_code == 410  # noqa: E501
    assert live.get("/stream/classes/ZZZZZZ").status_code == 404
    refused = live.get("/api/classes/ZZZZZZ")
    assert refused.status_code == 429 and refused.headers["Retry-After"]


def test_the_teacher_sets_the_state_with_a_permalink(live: TestClient) -> None:
    created = open_class(live)
    code, teacher = created["code"], bearer(created["teacher_token"])
    student = bearer(join(live, code, "Ada")["student_token"])
    path = f"/api/classes/{code}/state"
    assert live.put(path, json={"url": SIM}).status_code == 403
    assert live.put(path, json={"url": SIM}, headers=student).status_code == 403
    for bad in ("/lab", "/sim?mode=nope", "/challenges/nope", "x" * 2001):
        refused = live.put(path, json={"url": bad}, headers=teacher)
        assert refused.status_code == 422 and parameter_of(refused) == ["url"], bad
    shown = live.put(path, json={"url": "http://projector" + SIM}, headers=teacher).json()
    assert shown["url"] == "/sim?scenario=inc-inc&mode=none&n=1&schedule=A1B1A1B1A1B1&step=0"
    assert live.get(f"/api/classes/{code}").json()["state"] == shown


def test_predict_together_from_question_to_reveal(live: TestClient) -> None:
    created = open_class(live)
    code, teacher = created["code"], bearer(created["teacher_token"])
    assert live.post(f"/api/classes/{code}/questions", headers=teacher).status_code == 409
    live.put(f"/api/classes/{code}/state", json={"url": SIM}, headers=teacher)
    ada = bearer(join(live, code, "Ada")["student_token"])
    bo = bearer(join(live, code, "Bo")["student_token"])
    assert live.post(f"/api/classes/{code}/questions", headers=ada).status_code == 403
    asked = live.post(f"/api/classes/{code}/questions", headers=teacher)
    assert asked.status_code == 201
    question = asked.json()
    assert question["prompt"] == "A reads rc. What will A's register hold?"
    assert [c["token"] for c in question["choices"]] == ["0", "1", "2"]
    q = f"/api/classes/{code}/questions/{question['id']}"
    assert live.get(f"/api/classes/{code}").json()["question"] == question
    assert live.put(f"{q}/answer", json={"choice": "1"}, headers=teacher).status_code == 403
    refused = live.put(f"{q}/answer", json={"choice": "9"}, headers=ada)
    assert refused.status_code == 422 and parameter_of(refused) == ["choice"]
    assert live.put(f"{q}/answer", json={"choice": "2"}, headers=ada).json() == {"id": 1, "choice": "2"}  # noqa: E501
    live.put(f"{q}/answer", json={"choice": "1"}, headers=ada)  # changed
    live.put(f"{q}/answer", json={"choice": "2"}, headers=bo)
    # Students see how many answered, not what, before the reveal; the teacher sees all.
    before = live.get(q, headers=ada).json()
    assert (before["counts"], before["correct"], before["answered"]) == (None, None, 2)
    assert before["mine"] == {"choice": "1", "right": None}
    assert live.get(q, headers=teacher).json()["counts"] == {"0": 0, "1": 1, "2": 1}
    assert live.get(q, headers=bearer("a.b")).status_code == 403
    closed = live.post(f"{q}/close", headers=teacher).json()
    assert closed["open"] is False
    assert live.put(f"{q}/answer", json={"choice": "2"}, headers=ada).status_code == 409
    revealed = live.post(f"{q}/reveal", headers=teacher).json()
    assert revealed["correct"] == "1" and revealed["counts"] == {"0": 0, "1": 1, "2": 1}
    assert live.post(f"{q}/reveal", headers=teacher).status_code == 409
    after = live.get(q, headers=bo).json()
    assert after["counts"] == {"0": 0, "1": 1, "2": 1}
    assert after["mine"] == {"choice": "2", "right": False}
    assert live.get(q).json()["correct"] == "1"  # anyone, after the reveal
    assert live.get(f"/api/classes/{code}/me", headers=ada).json()["right"] == 1
    scores = live.get(f"/api/classes/{code}/members", headers=teacher).json()
    assert [(m["name"], m["right"], m["answered"]) for m in scores] == [
        ("Ada", 1, 1), ("Bo", 0, 1),
    ]  # fmt: skip
    assert live.get(f"/api/classes/{code}/members", headers=ada).status_code == 403
    assert live.get(f"/api/classes/{code}/questions/99", headers=teacher).status_code == 404
    assert live.get(f"/api/classes/{code}/questions/0", headers=teacher).status_code == 422


def test_answers_per_second_answer_429(live: TestClient) -> None:
    created = open_class(live)
    code, teacher = created["code"], bearer(created["teacher_token"])
    live.put(f"/api/classes/{code}/state", json={"url": SIM}, headers=teacher)
    ada = bearer(join(live, code, "Ada")["student_token"])
    qid = live.post(f"/api/classes/{code}/questions", headers=teacher).json()["id"]
    statuses = [
        live.put(
            f"/api/classes/{code}/questions/{qid}/answer", json={"choice": "1"}, headers=ada
        ).status_code
        for _ in range(3 * rules.ANSWERS_PER_SECOND)
    ]
    assert 429 in statuses and statuses.count(200) <= 2 * rules.ANSWERS_PER_SECOND


def test_top_five_and_challenges(live: TestClient) -> None:
    created = open_class(live)
    code, teacher = created["code"], bearer(created["teacher_token"])
    ada = bearer(join(live, code, "Ada")["student_token"])
    assert live.put(f"/api/classes/{code}/top", json={"show": True}, headers=teacher).json() == [
        {"name": "Ada", "right": 0, "answered": 0}
    ]
    assert live.get(f"/api/classes/{code}").json()["show_top"] is True
    run = f"/api/classes/{code}/challenge/run"
    assert live.put(run, json={"schedule": "A"}, headers=ada).status_code == 409
    assert live.get(f"/api/classes/{code}/challenge", headers=teacher).status_code == 409
    live.put(f"/api/classes/{code}/state", json={"url": "/challenges/keep-count"}, headers=teacher)
    assert live.post(f"/api/classes/{code}/questions", headers=teacher).status_code == 409
    assert live.put(run, json={"schedule": "AAA"}, headers=ada).status_code == 422  # unfinished
    handed = live.put(run, json={"schedule": "AAABBB"}, headers=ada).json()
    assert handed == {
        "slug": "keep-count", "schedule": "A3B3", "solved": True,
        "outcome": {"final_rc": 3, "freed": False, "use_after_free": False, "double_free": False},
    }  # fmt: skip
    refused = live.put(run, json={"schedule": "AAAAAAAAAA"}, headers=ada)
    assert refused.status_code == 422 and parameter_of(refused) == ["schedule"]
    assert live.put(run, json={"schedule": "A"}, headers=teacher).status_code == 403
    results = live.get(f"/api/classes/{code}/challenge", headers=teacher).json()
    assert results == {
        "slug": "keep-count", "handed_in": 1, "solved": 1, "members": 1,
        "outcomes": [{"final_rc": 3, "freed": False, "use_after_free": False,
                      "double_free": False, "count": 1, "solved": True}],
    }  # fmt: skip


def test_the_api_is_documented(live: TestClient) -> None:
    paths = live.get("/openapi.json").json()["paths"]
    for path in (
        "/api/classes", "/api/classes/{code}/join", "/api/classes/{code}",
        "/api/classes/{code}/state", "/api/classes/{code}/questions",
        "/api/classes/{code}/questions/{question_id}/close",
        "/api/classes/{code}/questions/{question_id}/reveal",
        "/api/classes/{code}/questions/{question_id}/answer",
        "/api/classes/{code}/questions/{question_id}", "/stream/classes/{code}",
    ):  # fmt: skip
        assert path in paths, path


def test_the_teacher_removes_a_member(live: TestClient) -> None:
    created = open_class(live)
    code, teacher = created["code"], bearer(created["teacher_token"])
    joined = join(live, code, "Rude")
    path = f"/api/classes/{code}/members/{joined['student_id']}"
    assert live.delete(path, headers=bearer(joined["student_token"])).status_code == 403
    assert live.delete(path, headers=teacher).status_code == 204
    assert live.get(f"/api/classes/{code}/me", headers=bearer(joined["student_token"])).status_code == 403  # noqa: E501
    assert live.delete(path, headers=teacher).status_code == 404
    assert live.get(f"/api/classes/{code}").json()["members"] == 0
