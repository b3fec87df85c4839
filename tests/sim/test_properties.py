"""Properties over random runs (hypothesis): protection never loses an update, permalinks
round-trip, the same inputs give the same run, and a branch from a run's state is the run its
choices give."""

from __future__ import annotations

from urllib.parse import parse_qsl

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sim import THREADS, Config, Mode, Permalink, Scenario, ScheduleError, simulate
from app.sim.run import branch_schedule

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


@settings(max_examples=60, deadline=None)
@given(
    st.sampled_from(Scenario),
    st.sampled_from(Mode),
    st.integers(1, 6),
    st.integers(1, 10),
    st.one_of(st.none(), seeds),
    st.data(),
)
def test_a_branch_is_the_run_its_prefix_and_thread_simulate(
    scenario: Scenario, mode: Mode, n: int, interval: int, seed: int | None, data: st.DataObject
) -> None:
    """Differential: "Step A" and "Step B" on /sim link to `branch_schedule`, which starts from
    the state reached instead of replaying the choices so far; it must be the very run that
    replaying them gives, and refuse the same threads."""
    config = Config(
        scenario=scenario, mode=mode, n=n, interval=interval if mode is Mode.GIL else None
    )
    run = simulate(config, None, seed)
    step = data.draw(st.integers(min_value=0, max_value=len(run.steps)))
    for thread in THREADS:
        prefix = "".join(taken.thread.value for taken in run.steps[:step]) + thread.value
        try:
            expected = simulate(config, prefix).schedule
        except ScheduleError as error:
            with pytest.raises(ScheduleError) as refused:
                branch_schedule(run, step, thread)
            assert refused.value.step == error.step == step + 1
            continue
        assert branch_schedule(run, step, thread) == expected, (run.schedule, step, thread)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from(Scenario), st.sampled_from(Mode), st.integers(1, 6), seeds, st.booleans())
def test_default_from_is_where_the_default_policy_takes_over(
    scenario: Scenario, mode: Mode, n: int, seed: int, given_whole: bool
) -> None:
    """The run is what `simulate` fills in after its first `default_from` choices, and not after
    fewer (a seeded run, or the same run given by its whole schedule)."""
    config = Config(scenario=scenario, mode=mode, n=n)
    run = simulate(config, None, seed)
    if given_whole:
        run = simulate(config, run.schedule)
    choices = "".join(step.thread.value for step in run.steps)
    assert simulate(config, choices[: run.default_from]) == run
    if run.default_from:
        assert simulate(config, choices[: run.default_from - 1]).schedule != run.schedule
