"""Modes biased and immortal through the API, pages and challenges (issue 14.1, 14.4, 14.5)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from app.sim import Mode, Scenario, explore
from app.sim.challenges import CHALLENGES, odds
from app.web.lessons.content import find


def test_api_sim_steps_carry_the_split_count(client: TestClient) -> None:
    body = client.get(
        "/api/sim", params={"scenario": "inc-dec", "mode": "biased", "n": 1, "schedule": "B4A3"}
    ).json()
    queue = body["steps"][3]
    assert (queue["op"], queue["events"]) == ("queue", ["queued"])
    assert {k: queue[k] for k in ("ref_local", "ref_shared", "shared_count", "flags")} == {
        "ref_local": 1,
        "ref_shared": 2,
        "shared_count": 0,
        "flags": "queued",
    }
    assert (queue["owner"], queue["queued"], queue["rc"]) == ("A", True, 1)
    merged = body["steps"][5]  # A's merge at its next call boundary: count 0, so it frees
    assert (merged["thread"], merged["op"], merged["owner"], merged["flags"]) == (
        "A",
        "merge",
        None,
        "merged",
    )
    assert body["steps"][6]["op"] == "free"
    assert body["steps"][7]["events"] == ["use-after-free"]
    assert body["outcome"]["correct"] is False


def test_api_sim_other_modes_keep_their_shape(client: TestClient) -> None:
    step = client.get("/api/sim", params={"mode": "atomic", "n": 1}).json()["steps"][0]
    assert "ref_local" not in step and "owner" not in step


def test_api_sim_immortal_writes_nothing(client: TestClient) -> None:
    body = client.get("/api/sim", params={"scenario": "dec-dec", "mode": "immortal", "n": 3})
    steps = body.json()["steps"]
    assert len(steps) == 6
    assert {(s["op"], s["rc"], s["ref_local"], s["owner"]) for s in steps} == {
        ("load-local", 4294967295, 4294967295, None)
    }
    assert body.json()["outcome"] == {
        "final_rc": 4294967295,
        "freed": False,
        "use_after_free": 0,
        "double_free": 0,
        "lost_updates": 0,
        "correct": True,
    }


def test_api_explore_proves_what_the_owner_never_does(client: TestClient) -> None:
    body = client.get("/api/explore", params={"scenario": "inc-inc", "mode": "biased", "n": 6})
    assert body.status_code == 200
    data = body.json()
    assert [(o["final_rc"], o["correct"]) for o in data["outcomes"]] == [(13, True)]
    assert data["ops"]["A"] == ["load-local", "is-owner", "store-local-inc"]
    assert data["atomic_or_locking"] == {"A": [], "B": ["atomic-add"]}


@pytest.mark.parametrize("path", ["/api/sim", "/api/explore", "/sim", "/explore"])
def test_a_bad_mode_is_a_4xx_naming_the_parameter_and_the_new_modes(
    client: TestClient, path: str
) -> None:
    response = client.get(path, params={"mode": "biassed"})
    # The API answers 422; a page says what is wrong on a 400 page with a way back.
    assert response.status_code == (422 if path.startswith("/api/") else 400)
    assert "mode" in response.text and "biased" in response.text and "immortal" in response.text


def test_the_sim_page_shows_owner_counts_flags_and_true_count(client: TestClient) -> None:
    html = client.get(
        "/sim",
        params={"scenario": "inc-dec", "mode": "biased", "n": 1, "schedule": "B4A3", "step": 4},
    ).text
    assert 'id="ob-tid"' in html and "owns it" in html
    assert '<dd id="ob-ref-local">1</dd>' in html
    assert '<dd id="ob-ref-shared">0 &lt;&lt; 2 | queued</dd>' in html
    assert '<dd id="merge-queue">queued to A</dd>' in html
    assert "true count" in html
    assert "_Py_brc_queue_object" in html  # B's listing is CPython's own


def test_the_immortal_page_reads_the_immortal_value(client: TestClient) -> None:
    html = client.get("/sim", params={"scenario": "inc-inc", "mode": "immortal", "n": 1}).text
    assert "4294967295 (immortal)" in html and "0: no owner" in html


def test_the_explore_page_lists_each_thread_s_steps(client: TestClient) -> None:
    html = client.get(
        "/explore", params={"scenario": "inc-inc", "mode": "biased", "n": 3, "wait": "1"}
    ).text
    assert "load-local, is-owner, store-local-inc" in html
    assert "<strong>none</strong>, in any of the" in html


FREE_THREADED = [c for c in CHALLENGES if c.config.mode.free_threaded]


def test_there_are_free_threaded_challenges_and_one_is_proved_impossible() -> None:
    assert len(FREE_THREADED) >= 4
    impossible = [c.slug for c in FREE_THREADED if not odds(c).possible]
    assert "owner-lose" in impossible


@pytest.mark.parametrize("challenge", FREE_THREADED, ids=lambda c: c.slug)
def test_free_threaded_challenges_render(client: TestClient, challenge: object) -> None:
    slug = challenge.slug  # type: ignore[attr-defined]
    page = client.get(f"/challenges/{slug}")
    assert page.status_code == 200
    assert 'id="ob-ref-local"' in page.text


def test_lesson_9_quotes_the_explorer_s_own_counts(client: TestClient) -> None:
    lesson = find("free-threading")
    assert lesson is not None
    html = client.get(lesson.url).text
    for proof in lesson.proofs:
        exploration = explore(Scenario(proof.scenario), Mode(proof.mode), proof.n)
        assert f"<strong>{exploration.total:,}</strong> complete schedules" in html
        for outcome in exploration.outcomes:
            assert f"{outcome.count:,}: rc = {outcome.final_rc}" in html
    owner = "Thread A takes <code>load-local, is-owner, store-local-inc</code>; atomic or "
    assert owner + "locking: <strong>none</strong>" in html
    # Versioned claims (issue 13.8): immortalized in 3.13t, deferred counting in 3.14t.
    assert "<strong>3.13t</strong> makes them immortal" in html
    assert "<strong>3.14t</strong> immortalizes only code constants" in html
    assert "deferred</em> reference" in html


def test_the_explorer_says_who_frees_in_each_witness(client: TestClient) -> None:
    html = client.get(
        "/explore", params={"scenario": "inc-dec", "mode": "biased", "n": 2, "wait": "1"}
    ).text
    # B dropping the owner's reference: A frees at its merge, then touches the freed memory.
    assert "A frees the object at step 7 when it merged the counts queued to it" in html
    assert "A&#39;s load-local at step 8 is the first access to freed memory" in html
    # After a merge, a decrement to zero frees at once.
    assert "at once: its decrement left the counts merged and 0" in html
