"""The explorer against the brute-force enumerator, and its properties."""

from __future__ import annotations

from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.sim import MAX_N_EXPLORE, Config, Mode, Scenario, TooLarge, explore, simulate
from app.sim.model import IMMORTAL_REFCNT
from tests.sim.brute import enumerate_schedules

# Sizes where brute force takes well under a second (mode none at n = 2 has ~190,000 schedules
# for dec-dec; biased inc-dec at n = 2 has 7,620; the locked, atomic, gil and immortal modes
# have fewer).
SMALL = [
    (scenario, mode, n)
    for scenario in Scenario
    for mode in Mode
    for n in ((1, 2) if mode in (Mode.NONE, Mode.ATOMIC, Mode.BIASED) else (1, 2, 3))
    if not (mode is Mode.NONE and n == 2 and scenario is Scenario.DEC_DEC)
]


@pytest.mark.parametrize(("scenario", "mode", "n"), SMALL, ids=lambda v: str(v))
def test_explorer_counts_equal_brute_force(scenario: Scenario, mode: Mode, n: int) -> None:
    config = Config(scenario=scenario, mode=mode, n=n)
    brute = enumerate_schedules(config)
    exploration = explore(scenario, mode, n)
    assert {o.key: o.count for o in exploration.outcomes} == dict(brute.counts)
    assert exploration.total == sum(brute.counts.values())
    for outcome in exploration.outcomes:  # `correct` is one verdict for a whole group
        assert brute.correct[outcome.key] == {outcome.correct}


@pytest.mark.parametrize("n", range(1, 11))
def test_inc_inc_unlocked_total_is_the_binomial(n: int) -> None:
    # Each thread makes 3n steps and every interleaving of the two sequences is possible.
    assert explore(Scenario.INC_INC, Mode.NONE, n).total == comb(6 * n, 3 * n)


def test_inc_inc_n10_has_about_1_2e17_schedules() -> None:
    exploration = explore(Scenario.INC_INC, Mode.NONE, 10)
    assert exploration.total == 118_264_581_564_861_424
    lowest = min(o.final_rc for o in exploration.outcomes)
    # The classic result: all but two of the 20 increments can be lost (rc starts at 1).
    assert lowest == 3
    assert exploration.outcomes[0].correct and exploration.outcomes[0].final_rc == 21


@pytest.mark.parametrize("mode", [Mode.GLOBAL_LOCK, Mode.OBJECT_LOCK, Mode.ATOMIC, Mode.GIL])
@pytest.mark.parametrize("n", [1, 4, 8])
def test_protected_incrementers_only_ever_reach_2n_plus_1(mode: Mode, n: int) -> None:
    exploration = explore(Scenario.INC_INC, mode, n)
    assert [(o.final_rc, o.freed, o.correct) for o in exploration.outcomes] == [
        (2 * n + 1, False, True)
    ]


def test_locked_inc_dec_ends_in_one_of_the_seeds_two_outcomes_and_only_one_is_correct() -> None:
    # The seed calls both safe; the freeing one reads freed memory at A's check (DESIGN.md).
    for n in (1, 3, 6):
        exploration = explore(Scenario.INC_DEC, Mode.GLOBAL_LOCK, n)
        verdicts = {o.key: o.correct for o in exploration.outcomes}
        assert verdicts == {(1, False, False, False): True, (0, True, True, False): False}


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("scenario", list(Scenario))
def test_no_outcome_that_touches_freed_memory_is_correct(scenario: Scenario, mode: Mode) -> None:
    outcomes = explore(scenario, mode, 2).outcomes
    for outcome in outcomes:
        if outcome.use_after_free or outcome.double_free:
            assert not outcome.correct, outcome
    if scenario is Scenario.INC_DEC:  # only "rc = 1, never freed" (immortal: untouched)
        kept = IMMORTAL_REFCNT if mode is Mode.IMMORTAL else 1
        assert {o.key for o in outcomes if o.correct} <= {(kept, False, False, False)}


def test_too_large_explorations_are_refused_before_any_work() -> None:
    with pytest.raises(TooLarge, match="n: the explorer takes n between 1 and 12"):
        explore(Scenario.INC_INC, Mode.NONE, MAX_N_EXPLORE + 1)


def test_the_state_budget_is_enforced() -> None:
    with pytest.raises(TooLarge, match="more than 50 states"):
        explore(Scenario.DEC_DEC, Mode.NONE, 3, max_states=50)
    assert explore(Scenario.DEC_DEC, Mode.NONE, 3).total > 0  # the default budget suffices


configs = st.builds(
    lambda scenario, mode, n: (scenario, mode, n),
    st.sampled_from(Scenario),
    st.sampled_from(Mode),
    st.integers(min_value=1, max_value=4),
)


@settings(max_examples=40, deadline=None)
@given(configs)
def test_every_witness_replays_to_its_outcome_and_counts_sum_to_the_total(
    case: tuple[Scenario, Mode, int],
) -> None:
    scenario, mode, n = case
    exploration = explore(scenario, mode, n)
    assert sum(o.count for o in exploration.outcomes) == exploration.total
    assert len({o.key for o in exploration.outcomes}) == len(exploration.outcomes)
    # The witness is a schedule of the unrestricted machine; in mode gil it switches only
    # between calls, so the simulator replays it with a GIL interval of 1 only if it agrees.
    replay_mode = Mode.NONE if mode is Mode.GIL else mode
    for outcome in exploration.outcomes:
        run = simulate(Config(scenario=scenario, mode=replay_mode, n=n), outcome.witness)
        assert run.schedule == outcome.witness
        assert (
            run.outcome.final_rc,
            run.outcome.freed,
            run.outcome.use_after_free > 0,
            run.outcome.double_free > 0,
        ) == outcome.key
        assert run.outcome.correct == outcome.correct


def test_errors_survive_the_trip_back_from_a_worker_process() -> None:
    import pickle

    from app.sim import ScheduleError

    too_large = pickle.loads(pickle.dumps(TooLarge("n", "the limit is 12")))
    assert (too_large.parameter, too_large.message) == ("n", "the limit is 12")
    schedule = pickle.loads(pickle.dumps(ScheduleError("thread A has finished", step=4)))
    assert (str(schedule), schedule.step) == ("schedule: step 4: thread A has finished", 4)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_unlocking_before_the_free_makes_dec_dec_clean_but_not_inc_dec(n: int) -> None:
    # docs/semantics.md, mode unlock-then-free: freeing before unlocking was the seed's choice
    # (every dec-dec run then touches freed memory); unlocking first fixes dec-dec entirely,
    # while in inc-dec A, holding no reference, still touches freed memory.
    seed_order = explore(Scenario.DEC_DEC, Mode.OBJECT_LOCK, n)
    owner_first = explore(Scenario.DEC_DEC, Mode.UNLOCK_THEN_FREE, n)
    assert [o.key for o in seed_order.outcomes] == [(0, True, True, False)]
    assert [(o.key, o.correct) for o in owner_first.outcomes] == [((0, True, False, False), True)]
    assert owner_first.total == seed_order.total
    inc_dec = explore(Scenario.INC_DEC, Mode.UNLOCK_THEN_FREE, n)
    touched = sum(o.count for o in inc_dec.outcomes if o.use_after_free)
    lucky = sum(o.count for o in inc_dec.outcomes if o.freed and not o.use_after_free)
    assert touched > lucky > 0
    assert all(not o.correct for o in inc_dec.outcomes if o.freed)
