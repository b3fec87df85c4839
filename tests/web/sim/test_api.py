"""/api/sim and /api/explore over HTTP (httpx against the ASGI app), bad input included."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI

pytestmark = pytest.mark.anyio


@pytest.fixture
async def http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        yield client


async def test_sim_returns_every_step_and_the_outcome(http: httpx.AsyncClient) -> None:
    response = await http.get(
        "/api/sim", params={"scenario": "inc-inc", "mode": "none", "n": 1, "schedule": "ABABAB"}
    )
    assert response.status_code == 200
    body = response.json()
    assert body["schedule"] == "A1B1A1B1A1B1"
    assert body["outcome"] == {
        "final_rc": 2,
        "freed": False,
        "use_after_free": 0,
        "double_free": 0,
        "lost_updates": 1,
        "correct": False,
    }
    assert body["steps"][0] == {
        "index": 1,
        "thread": "A",
        "op": "read",
        "line": 2,
        "rc": 1,
        "reg": {"A": 1, "B": None},
        "lock": None,
        "gil": None,
        "freed": False,
        "events": [],
    }
    assert body["steps"][-1]["events"] == ["lost-update"]


async def test_sim_in_gil_mode_names_the_holder(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/sim", params={"mode": "gil", "n": 2, "interval": 3})
    body = response.json()
    assert body["interval"] == 3
    assert body["schedule"] == "A3B3A3B3"
    assert [step["gil"] for step in body["steps"][:4]] == ["A", "A", "A", "B"]


async def test_explore_counts_exactly(http: httpx.AsyncClient) -> None:
    response = await http.get("/api/explore", params={"scenario": "inc-inc", "n": 10})
    assert response.status_code == 200
    body = response.json()
    assert body["total"] == 118_264_581_564_861_424
    assert sum(o["count"] for o in body["outcomes"]) == body["total"]
    first = body["outcomes"][0]
    assert first["correct"] and first["final_rc"] == 21 and first["use_after_free"] is False


@pytest.mark.parametrize(
    ("path", "params", "parameter", "says"),
    [
        ("/api/sim", {"scenario": "inc-mul"}, "scenario", "'inc-inc', 'inc-dec' or 'dec-dec'"),
        ("/api/sim", {"mode": "spin"}, "mode", "'global-lock'"),
        ("/api/sim", {"n": 0}, "n", "greater than or equal to 1"),
        ("/api/sim", {"n": 31}, "n", "less than or equal to 30"),
        ("/api/sim", {"n": "two"}, "n", "integer"),
        ("/api/sim", {"seed": -1}, "seed", "greater than or equal to 0"),
        ("/api/sim", {"mode": "gil", "interval": 0}, "interval", "greater than or equal to 1"),
        ("/api/sim", {"schedule": "AQ"}, "schedule", "found 'Q' at character 2"),
        ("/api/sim", {"mode": "global-lock", "schedule": "AB"}, "schedule", "step 2: thread B"),
        ("/api/sim", {"n": 1, "schedule": "A7"}, "schedule", "step 4: thread A has finished"),
        ("/api/sim", {"schedule": "A" * 4001}, "schedule", "at most 4000 characters"),
        ("/api/explore", {"n": 13}, "n", "less than or equal to 12"),
        ("/api/explore", {"mode": "lock"}, "mode", "'object-lock'"),
    ],
)
async def test_bad_input_is_a_422_naming_the_parameter(
    http: httpx.AsyncClient, path: str, params: dict[str, object], parameter: str, says: str
) -> None:
    response = await http.get(path, params=params)
    assert response.status_code == 422
    (error,) = response.json()["detail"]
    assert error["loc"] == ["query", parameter]
    assert says in error["msg"]
    assert "Traceback" not in response.text


async def test_the_api_is_documented(http: httpx.AsyncClient) -> None:
    schema = (await http.get("/openapi.json")).json()
    assert {"/api/sim", "/api/explore"} <= set(schema["paths"])
    assert "SimResponse" in schema["components"]["schemas"]


async def test_the_seeds_safe_inc_dec_outcome_is_not_correct(http: httpx.AsyncClient) -> None:
    # DESIGN.md: B frees, then A's check reads the freed object; the seed calls this safe.
    for mode, schedule in (("none", "B6A1"), ("global-lock", "B8A3")):
        sim = await http.get(
            "/api/sim", params={"scenario": "inc-dec", "mode": mode, "n": 1, "schedule": schedule}
        )
        outcome = sim.json()["outcome"]
        assert (outcome["freed"], outcome["use_after_free"]) == (True, 1)
        assert outcome["correct"] is False
        explored = await http.get(
            "/api/explore", params={"scenario": "inc-dec", "mode": mode, "n": 1}
        )
        verdicts = {(o["final_rc"], o["freed"]): o["correct"] for o in explored.json()["outcomes"]}
        assert verdicts[(0, True)] is False
        assert [key for key, correct in verdicts.items() if correct] == [(1, False)]
