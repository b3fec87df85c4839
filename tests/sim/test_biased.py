"""Modes biased and immortal (docs/semantics.md): step by step, and proved over every schedule."""

from __future__ import annotations

import pytest

from app.sim import MAX_N_EXPLORE, Config, Event, Mode, Op, Scenario, Thread, explore, simulate
from app.sim.biased import IMMORTAL_LOCAL, MERGED, QUEUED
from app.sim.model import IMMORTAL_REFCNT
from tests.sim.brute import enumerate_schedules

EVERY_N = range(1, MAX_N_EXPLORE + 1)


def _ops(run_steps: object, thread: Thread) -> list[Op]:
    return [s.op for s in run_steps if s.thread is thread]  # type: ignore[attr-defined]


@pytest.mark.parametrize("n", EVERY_N)
def test_biased_inc_inc_never_loses_an_update_and_the_owner_never_uses_an_atomic(n: int) -> None:
    exploration = explore(Scenario.INC_INC, Mode.BIASED, n)
    assert [(o.final_rc, o.freed, o.correct) for o in exploration.outcomes] == [
        (2 * n + 1, False, True)
    ]
    # Over every schedule: the owner loads, checks it owns the object and stores, nothing else.
    assert exploration.ops[Thread.A] == (Op.LOAD_LOCAL, Op.IS_OWNER, Op.STORE_LOCAL_INC)
    assert exploration.atomic_or_locking(Thread.A) == ()
    assert exploration.atomic_or_locking(Thread.B) == (Op.ATOMIC_ADD,)


@pytest.mark.parametrize("n", EVERY_N)
def test_biased_dec_dec_frees_exactly_once(n: int) -> None:
    exploration = explore(Scenario.DEC_DEC, Mode.BIASED, n)
    assert [o.key for o in exploration.outcomes] == [(0, True, False, False)]
    assert exploration.outcomes[0].correct
    # The owner's one atomic instruction is the CAS of the merge when its local count hits 0.
    assert exploration.atomic_or_locking(Thread.A) == (Op.MARK_MERGED,)
    assert Op.QUEUE not in exploration.ops[Thread.B]  # B only drops references it counted


def test_biased_dec_dec_the_owner_s_atomic_comes_once_at_its_last_call() -> None:
    brute = enumerate_schedules(
        Config(scenario=Scenario.DEC_DEC, mode=Mode.BIASED, n=2), keep_schedules=True
    )
    config = Config(scenario=Scenario.DEC_DEC, mode=Mode.BIASED, n=2)
    freers = set()
    for schedule in brute.schedules:
        run = simulate(config, "".join(schedule))
        a_atomic = [s for s in run.steps if s.thread is Thread.A and (s.op.atomic or s.op.locks)]
        assert len(a_atomic) <= 1
        assert all(s.ref_local == 0 for s in a_atomic)  # only after its local count hit 0
        (free,) = [s for s in run.steps if s.op is Op.FREE]
        freers.add((free.thread, run.steps[free.index - 2].op))
        assert run.outcome.use_after_free == 0 and run.outcome.double_free == 0
    # Who frees depends on the schedule: A at once (B was done), A after its CAS, or B.
    assert freers == {
        (Thread.A, Op.LOAD_SHARED),
        (Thread.A, Op.MARK_MERGED),
        (Thread.B, Op.DEC_SHARED),
    }


@pytest.mark.parametrize("scenario", list(Scenario))
@pytest.mark.parametrize("n", EVERY_N)
def test_immortal_objects_are_never_written_or_freed(scenario: Scenario, n: int) -> None:
    exploration = explore(scenario, Mode.IMMORTAL, n)
    assert [(o.key, o.correct) for o in exploration.outcomes] == [
        ((IMMORTAL_REFCNT, False, False, False), True)
    ]
    assert exploration.ops == {Thread.A: (Op.LOAD_LOCAL,), Thread.B: (Op.LOAD_LOCAL,)}


def test_an_immortal_call_reads_the_count_sees_the_immortal_value_and_writes_nothing() -> None:
    run = simulate(Config(scenario=Scenario.DEC_DEC, mode=Mode.IMMORTAL, n=2), "ABAB")
    assert [(s.op, s.events) for s in run.steps] == [(Op.LOAD_LOCAL, (Event.IMMORTAL,))] * 4
    assert {(s.rc, s.ref_local, s.ref_shared, s.owner) for s in run.steps} == {
        (IMMORTAL_REFCNT, IMMORTAL_LOCAL, 0, None)
    }


def test_b_dropping_the_owner_s_reference_queues_it_and_the_owner_frees_at_its_merge() -> None:
    """inc-dec, n = 1: B drops the one reference first. It was counted in A's local count, so B
    cannot free: it queues the object. A merges at its next call boundary, finds the true count
    0 and frees; A's Py_INCREF then reads freed memory."""
    config = Config(scenario=Scenario.INC_DEC, mode=Mode.BIASED, n=1)
    run = simulate(config, "BBBB" + "AAAAA")
    steps = run.steps
    assert [s.op for s in steps[:4]] == [Op.LOAD_LOCAL, Op.IS_OWNER, Op.DEC_SHARED, Op.QUEUE]
    assert (steps[2].ref_shared, steps[2].rc, steps[2].queued) == (QUEUED, 1, False)
    assert steps[3].queued and steps[3].events == (Event.QUEUED,) and not steps[3].freed
    assert [(s.thread, s.op) for s in steps[4:7]] == [
        (Thread.A, Op.TAKE_LOCAL),
        (Thread.A, Op.MERGE),
        (Thread.A, Op.FREE),
    ]
    assert (steps[5].ref_shared, steps[5].owner, steps[5].queued) == (MERGED, None, False)
    assert steps[7].op is Op.LOAD_LOCAL and steps[7].events == (Event.USE_AFTER_FREE,)
    assert run.outcome.freed and not run.outcome.correct


def test_an_owner_that_increments_before_its_merge_keeps_the_object() -> None:
    config = Config(scenario=Scenario.INC_DEC, mode=Mode.BIASED, n=2)
    run = simulate(config, "A3B4A5B3")
    merge = run.steps[7:9]  # at A's next call boundary
    assert [(s.thread, s.op) for s in merge] == [(Thread.A, Op.TAKE_LOCAL), (Thread.A, Op.MERGE)]
    assert merge[-1].ref_shared == (1 << 2) | MERGED and merge[-1].rc == 1
    assert run.outcome.final_rc == 1 and not run.outcome.freed and run.outcome.correct


def test_after_a_merge_a_decrement_to_zero_frees_at_once() -> None:
    """A merged with count 1 (ob_tid 0, flags merged); B's next drop reaches merged-and-zero and
    B frees at once, while A's increment is in flight: A's atomic add hits freed memory."""
    config = Config(scenario=Scenario.INC_DEC, mode=Mode.BIASED, n=2)
    run = simulate(config, "A3B4A4B4A1")
    free = next(s for s in run.steps if s.op is Op.FREE)
    assert free.thread is Thread.B and run.steps[free.index - 2].op is Op.DEC_SHARED
    last = run.steps[-1]
    assert (last.thread, last.op, last.events) == (
        Thread.A,
        Op.ATOMIC_ADD,
        (Event.USE_AFTER_FREE,),
    )


def test_after_its_merge_the_owner_takes_the_atomic_path() -> None:
    config = Config(scenario=Scenario.INC_DEC, mode=Mode.BIASED, n=2)
    run = simulate(config, "A3B4A5")
    assert [s.op for s in run.steps[7:12]] == [
        Op.TAKE_LOCAL,
        Op.MERGE,
        Op.LOAD_LOCAL,
        Op.IS_OWNER,
        Op.ATOMIC_ADD,
    ]


def test_b_merges_itself_once_the_owner_has_exited() -> None:
    config = Config(scenario=Scenario.INC_DEC, mode=Mode.BIASED, n=1)
    run = simulate(config, "AAA" + "BBBBBB")
    assert run.steps[2].index == 3 and run.runnable(3) == (Thread.B,)  # A has exited
    assert [(s.thread, s.op) for s in run.steps[3:]] == [
        (Thread.B, Op.LOAD_LOCAL),
        (Thread.B, Op.IS_OWNER),
        (Thread.B, Op.DEC_SHARED),
        (Thread.B, Op.QUEUE),
        (Thread.B, Op.TAKE_LOCAL),
        (Thread.B, Op.MERGE),
    ]
    assert run.outcome.final_rc == 1 and run.outcome.correct


@pytest.mark.parametrize("n", EVERY_N)
def test_biased_inc_dec_shows_every_way_it_goes_wrong(n: int) -> None:
    exploration = explore(Scenario.INC_DEC, Mode.BIASED, n)
    keys = {o.key for o in exploration.outcomes}
    assert (1, False, False, False) in keys  # A kept ahead: correct
    assert {o.key for o in exploration.outcomes if o.correct} == {(1, False, False, False)}
    assert any(o.freed and o.use_after_free for o in exploration.outcomes)
    assert any(o.double_free for o in exploration.outcomes) == (n >= 2)
    assert exploration.total == sum(o.count for o in exploration.outcomes)


def test_no_run_ends_with_the_object_still_queued() -> None:
    config = Config(scenario=Scenario.INC_DEC, mode=Mode.BIASED, n=2)
    for schedule in enumerate_schedules(config, keep_schedules=True).schedules:
        assert not simulate(config, "".join(schedule)).states[-1].queued
