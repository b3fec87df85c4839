"""The bytecode-level simulation of `counter += 1` in two threads under the GIL."""

from __future__ import annotations

import pytest

from app.sim.pyrace import MAX_N, Statement, Switching, simulate

ALL = [(s, w) for s in Statement for w in Switching]


@pytest.mark.parametrize(("statement", "switching"), ALL)
@pytest.mark.parametrize("interval", [1, 2, 3, 4, 5, 7, 10, 50])
def test_refcounts_stay_exact_and_the_final_count_adds_up(
    statement: Statement, switching: Switching, interval: int
) -> None:
    race = simulate(statement, switching, 6, interval)
    outcome = race.outcome
    # The GIL keeps every reference count right, whatever the interleaving ...
    assert outcome.refcounts_consistent
    assert outcome.use_after_free == 0
    # ... and the final counter is exactly the updates that were not lost.
    assert outcome.final_counter == outcome.expected - outcome.lost_updates
    assert outcome.expected == 12
    lost_steps = [step for step in race.steps if "lost-update" in step.events]
    assert bool(lost_steps) == (outcome.lost_updates > 0)


def test_switching_at_any_bytecode_loses_updates_of_counter_plus_equals_one() -> None:
    race = simulate(Statement.INPLACE, Switching.ANY_BYTECODE, 5, 3)
    assert race.outcome.lost_updates > 0
    first_switch = next(step for step in race.steps if "switch" in step.events)
    # A switched after computing the sum but before storing it.
    assert first_switch.thread == "A"
    assert first_switch.instruction == "BINARY_OP +="
    assert first_switch.gil == "B"


@pytest.mark.parametrize("interval", range(1, 12))
def test_since_310_counter_plus_equals_one_never_loses_an_update(interval: int) -> None:
    race = simulate(Statement.INPLACE, Switching.CHECKPOINTS, 5, interval)
    assert race.outcome.lost_updates == 0
    switch_points = {step.instruction for step in race.steps if "switch" in step.events}
    assert switch_points <= {"JUMP_BACKWARD (loop)"}


def test_since_310_a_call_inside_the_statement_still_loses_updates() -> None:
    race = simulate(Statement.CALL, Switching.CHECKPOINTS, 5, 3)
    assert race.outcome.lost_updates > 0
    switch_points = {step.instruction for step in race.steps if "switch" in step.events}
    assert "CALL one" in switch_points


def test_one_thread_at_a_time_holds_the_gil_and_runs() -> None:
    race = simulate(Statement.CALL, Switching.ANY_BYTECODE, 3, 2)
    for before, step in zip(race.steps, race.steps[1:], strict=False):
        # Whoever runs a step held the GIL after the step before it.
        assert step.thread == before.gil or before.thread != step.thread
    assert [step.index for step in race.steps] == list(range(len(race.steps)))
    assert len(race.steps) == 2 * 3 * len(race.program)


def test_the_old_value_is_freed_only_when_nobody_holds_it() -> None:
    race = simulate(Statement.INPLACE, Switching.ANY_BYTECODE, 2, 3)
    # B loaded int 0 while A held its own reference: storing A's 1 freed nothing B still uses.
    freed = [change for step in race.steps for change in step.refcount_changes if "freed" in change]
    assert freed == ["int 0 -1 (freed)"]


def test_the_same_inputs_give_the_same_trace() -> None:
    assert simulate(Statement.CALL, Switching.CHECKPOINTS, 4, 3) == simulate(
        Statement.CALL, Switching.CHECKPOINTS, 4, 3
    )


def test_bounds() -> None:
    with pytest.raises(ValueError, match="n must"):
        simulate(Statement.INPLACE, Switching.CHECKPOINTS, MAX_N + 1, 3)
    with pytest.raises(ValueError, match="interval must"):
        simulate(Statement.INPLACE, Switching.CHECKPOINTS, 3, 0)
