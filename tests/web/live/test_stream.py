"""`/stream/classes/{code}`: a whole state first, then every change, then `ended`."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from fastapi.testclient import TestClient

from tests.web.live.test_api import SIM, bearer, join, open_class


def events(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """The stream's events, less exact repeats of the last one of the same name: an event
    published just before a stream opened may arrive after its opening state, and says nothing
    new (clients treat every event as "this is how things are now")."""
    name = ""
    last: dict[str, Any] = {}
    for line in lines:
        if line.startswith("event: "):
            name = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = json.loads(line.removeprefix("data: "))
            if last.get(name) != data:
                last[name] = data
                yield name, data


def test_a_stream_opens_with_the_state_then_carries_each_change(live: TestClient) -> None:
    created = open_class(live)
    code, teacher = created["code"], bearer(created["teacher_token"])
    live.put(f"/api/classes/{code}/state", json={"url": SIM}, headers=teacher)
    with live.stream("GET", f"/stream/classes/{code}") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        received = events(stream.iter_lines())
        state = next(received)
        assert state[0] == "state" and state[1]["step"] == 0
        assert next(received) == ("members", {"members": 0})
        join(live, code, "Ada")
        assert next(received) == ("members", {"members": 1})
        stepped = SIM.replace("step=0", "step=1")
        live.put(f"/api/classes/{code}/state", json={"url": stepped}, headers=teacher)
        name, data = next(received)
        assert (name, data["step"], data["steps"]) == ("state", 1, 6)
        qid = live.post(f"/api/classes/{code}/questions", headers=teacher).json()["id"]
        name, data = next(received)
        assert (name, data["open"], data["id"]) == ("question", True, qid)
        assert "answer" not in data and "correct" not in data  # the truth waits for the reveal
        live.post(f"/api/classes/{code}/questions/{qid}/reveal", headers=teacher)
        assert next(received)[0:1] == ("question",)  # closed
        name, data = next(received)
        assert name == "reveal" and data["correct"] in {"1", "2", "3"}
        live.delete(f"/api/classes/{code}", headers=teacher)
        assert next(received) == ("ended", {})
        assert next(received, None) is None  # the server closed the stream


def test_a_reconnecting_phone_is_sent_the_open_question(live: TestClient) -> None:
    created = open_class(live)
    code, teacher = created["code"], bearer(created["teacher_token"])
    live.put(f"/api/classes/{code}/state", json={"url": SIM}, headers=teacher)
    qid = live.post(f"/api/classes/{code}/questions", headers=teacher).json()["id"]
    with live.stream("GET", f"/stream/classes/{code}") as stream:
        opening = events(stream.iter_lines())
        names = [next(opening) for _ in range(3)]
    assert [name for name, _ in names] == ["state", "members", "question"]
    assert names[2][1]["id"] == qid and names[2][1]["open"] is True
