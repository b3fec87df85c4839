"""What the app keeps between requests (app.web.infra.resources): the runs /sim resolved are
kept by exactly what names them, within their bytes, and change no answer."""

from __future__ import annotations

import html
import tracemalloc

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from app.lab.trial import HardwareRun
from app.sim import Config, Mode, Permalink, Scenario, simulate
from app.web.infra import deps, urls
from app.web.infra.resources import RUN_BYTES_PER_STEP, Runs
from app.web.sim.view import RunView

HTMX = {"HX-Request": "true"}
INC_INC_30 = Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=30)


def test_runs_named_differently_are_never_shared() -> None:
    runs = Runs(8 << 20)
    config = INC_INC_30
    by_seed = {seed: runs.resolve(config, None, seed) for seed in (1, 2)}
    alternating = runs.resolve(config, None, None)
    given = runs.resolve(config, "A90B90", None)
    other_config = runs.resolve(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=29), None, 1)
    schedules = {
        whole.run.schedule for whole in (*by_seed.values(), alternating, given, other_config)
    }
    assert len(schedules) == 5
    for seed, whole in by_seed.items():
        assert runs.get(config, None, seed) is whole
        assert whole.run == simulate(config, None, seed)
    assert runs.get(config, None, None) is alternating
    assert runs.get(config, "A90B90", None) is given
    assert runs.get(config, None, 3) is None  # never resolved
    assert runs.get(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=29), None, 2) is None


def test_a_run_is_also_kept_by_the_schedule_its_links_carry() -> None:
    runs = Runs(1 << 20)
    seeded = runs.resolve(INC_INC_30, None, 7)
    assert runs.get(INC_INC_30, seeded.run.schedule, None) is seeded
    assert runs.get(INC_INC_30, "", 7) is seeded  # an empty schedule is none


def test_runs_kept_stay_within_their_bytes() -> None:
    """At n = 30 (181 states) a run counts 226 KB: a 1 MB table holds four, the most recent."""
    runs = Runs(1 << 20)
    seeds = range(1, 21)
    for seed in seeds:
        runs.resolve(INC_INC_30, None, seed)
    # Each resolve keeps the seeded name and the canonical schedule: two entries a run.
    assert len(runs) <= 2 * ((1 << 20) // (RUN_BYTES_PER_STEP * 181))
    assert runs.get(INC_INC_30, None, seeds[-1]) is not None
    assert runs.get(INC_INC_30, None, seeds[0]) is None


@pytest.mark.parametrize(
    "config",
    [
        INC_INC_30,
        Config(scenario=Scenario.INC_DEC, mode=Mode.BIASED, n=30),
        Config(scenario=Scenario.DEC_DEC, mode=Mode.OBJECT_LOCK, n=30),
        Config(scenario=Scenario.INC_INC, mode=Mode.GIL, n=30, interval=3),
    ],
    ids=lambda config: f"{config.scenario.value}-{config.mode.value}",
)
def test_what_a_run_kept_costs_is_counted_in_full(config: Config) -> None:
    """RUN_BYTES_PER_STEP against what the run and its RunView really hold (tracemalloc)."""
    RunView.of(simulate(config, None, 0))  # what is allocated once (caches, interned text)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        kept = [RunView.of(simulate(config, None, seed)) for seed in range(1, 11)]
        used = tracemalloc.get_traced_memory()[0] - baseline
    finally:
        tracemalloc.stop()
    counted = sum(RUN_BYTES_PER_STEP * (len(whole.run.steps) + 1) for whole in kept)
    assert 0.5 * counted <= used <= counted, f"{used} bytes held, {counted} counted"


def _answers(client: TestClient) -> list[bytes]:
    """Answers that draw runs every way /sim does: whole pages, fragments, steps of the run
    shown (near and far), the embed layout, predict mode, a hardware replay, a play."""
    run = simulate(INC_INC_30, None, 5)
    total = len(run.steps)
    hardware = HardwareRun(
        scenario=Scenario.INC_INC, iterations=1_000_000, run=7, runs=10, final_rc=1_998_211,
        lost_updates=1_790, window_rc=simulate(INC_INC_30, "A90B90").outcome.final_rc,
    )  # fmt: skip
    replayed = Permalink.of(simulate(INC_INC_30, "A90B90"), 0)
    kept = urls.hardware_run(hardware)
    asked: list[tuple[str, dict[str, str]]] = [
        (f"/sim?scenario=inc-inc&mode=none&n=30&seed=5&step={total}", {}),
        ("/sim?scenario=dec-dec&mode=gil&n=3&interval=2&schedule=AAAA&step=4", HTMX),
    ]
    for step in (0, 1, 2, 37, 90, total - 1, total):
        link = Permalink.of(run, step)
        asked.append((urls.sim(link), {}))
        asked.append((urls.sim(link, embed=True), HTMX))
        for shown in {0, step - 1, step + 1, step - 13, total}:
            if 0 <= shown <= total:
                asked.append((urls.sim(link), {**HTMX, "Sim-Shown": urls.sim(link.at(shown))}))
                asked.append((
                    urls.sim(link, embed=True),
                    {**HTMX, "Sim-Shown": urls.sim(link.at(shown), embed=True)},
                ))  # fmt: skip
        asked.append((urls.predict(link, "1/2", said="1", embed=False), HTMX))
        asked.append((urls.sim(replayed.at(step), **kept), {
            **HTMX, "Sim-Shown": urls.sim(replayed.at(max(0, step - 1)), **kept),
        }))  # fmt: skip
        asked.append((urls.sim(link) + "&play=1", HTMX))
    answers = [client.get(url, headers=headers).content for url, headers in asked]
    answers.append(client.get(urls.sim_stream(Permalink.of(run, total - 5), speed=20)).content)
    return answers


def test_answers_are_the_same_with_runs_kept_and_without(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = Runs(8 << 20)
    monkeypatch.setitem(app.dependency_overrides, deps.runs, lambda: kept)
    first = _answers(client)
    again = _answers(client)  # every run now kept
    monkeypatch.setitem(app.dependency_overrides, deps.runs, lambda: Runs(0))
    never = _answers(client)
    assert len(kept) > 0
    assert all(b"<section" in answer or b"event: step" in answer for answer in first)
    assert first == again == never


@pytest.mark.parametrize(
    ("named", "schedule", "seed"),
    [("seed=5", None, 5), ("schedule=A90B90", "A90B90", None), ("", None, None)],
)
def test_a_step_past_the_end_of_a_run_kept_is_still_a_400_naming_it(
    app: FastAPI,
    client: TestClient,
    monkeypatch: pytest.MonkeyPatch,
    named: str,
    schedule: str | None,
    seed: int | None,
) -> None:
    kept = Runs(8 << 20)
    monkeypatch.setitem(app.dependency_overrides, deps.runs, lambda: kept)
    page = f"/sim?scenario=inc-inc&mode=none&n=30&{named}"
    assert client.get(page).status_code == 200
    assert kept.get(INC_INC_30, schedule, seed) is not None
    response = client.get(page + "&step=181")
    assert response.status_code == 400
    assert "step" in response.text and "That link has a bad parameter" in response.text
    run = simulate(INC_INC_30, schedule, seed)
    assert html.escape(urls.sim(Permalink.of(run, 180))) in response.text  # the last step


def test_a_schedule_past_the_end_is_never_kept(
    app: FastAPI, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    kept = Runs(8 << 20)
    monkeypatch.setitem(app.dependency_overrides, deps.runs, lambda: kept)
    response = client.get("/sim?scenario=inc-inc&mode=none&n=30&schedule=A91")
    assert response.status_code == 400
    assert "schedule" in response.text and "step 91" in response.text
    assert len(kept) == 0
