"""Properties over random runs (hypothesis): protection never loses an update, permalinks
round-trip, and the same inputs give the same run."""

from __future__ import annotations

from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from app.sim import Config, Mode, Permalink, Scenario, simulate

seeds = st.integers(min_value=0, max_value=2**32 - 1)


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from([Mode.GLOBAL_LOCK, Mode.OBJECT_LOCK, Mode.ATOMIC, Mode.GIL, Mode.BIASED]),
    st.integers(min_value=1, max_value=12),
    st.integers(min_value=1, max_value=10),
    seeds,
)
def test_protected_incrementers_never_lose_an_update(
    mode: Mode, n: int, interval: int, seed: int
) -> None:
    run = simulate(Config(scenario=Scenario.INC_INC, mode=mode, n=n, interval=interval), None, seed)
    assert run.outcome.lost_updates == 0
    assert run.outcome.final_rc == 2 * n + 1
    assert run.outcome.correct


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(Scenario),
    st.sampled_from(Mode),
    st.integers(min_value=1, max_value=8),
    st.integers(min_value=1, max_value=10),
    seeds,
    st.data(),
)
def test_a_permalink_round_trips(
    scenario: Scenario, mode: Mode, n: int, interval: int, seed: int, data: st.DataObject
) -> None:
    query = {"scenario": scenario.value, "mode": mode.value, "n": str(n), "seed": str(seed)}
    if mode is Mode.GIL:
        query["interval"] = str(interval)
    permalink, run = Permalink.from_query(query)
    step = data.draw(st.integers(min_value=0, max_value=len(run.steps)))
    permalink = permalink.at(step)
    again, again_run = Permalink.from_query(dict(parse_qsl(permalink.to_query())))
    assert again == permalink
    assert again_run == run  # the canonical schedule replays the seeded run exactly
    assert again.to_query() == permalink.to_query()


@settings(max_examples=30, deadline=None)
@given(st.sampled_from(Scenario), st.sampled_from(Mode), st.integers(1, 6), seeds)
def test_runs_are_deterministic(scenario: Scenario, mode: Mode, n: int, seed: int) -> None:
    config = Config(scenario=scenario, mode=mode, n=n)
    assert simulate(config, None, seed) == simulate(config, None, seed)
