"""Every micro-step sits on a line of C that does what the step does."""

from __future__ import annotations

import pytest

from app.sim import THREADS, Mode, Op, Scenario, code_listing
from app.sim.program import function_for

_SAYS = {
    Op.LOCK: "pthread_mutex_lock(",
    Op.UNLOCK: "pthread_mutex_unlock(",
    Op.CHECK: "<= 0",
    Op.READ: "ref_count",
    Op.ADD: "++",
    Op.SUB: "--",
    Op.WRITE: "ref_count",
    Op.TEST: "== 0",
    Op.FREE: "free(obj)",
    Op.ATOMIC_ADD: "atomic_fetch_add(",
    Op.ATOMIC_SUB: "atomic_fetch_sub(",
}


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("scenario", list(Scenario))
def test_each_step_names_the_statement_it_executes(scenario: Scenario, mode: Mode) -> None:
    for thread in THREADS:
        function = function_for(scenario, mode, thread)
        for instruction in function.instructions:
            assert _SAYS[instruction.op] in function.listing[instruction.line - 1]


def test_the_mutex_lives_where_the_mode_says() -> None:
    assert "&obj->lock" in "\n".join(code_listing(Scenario.INC_DEC, Mode.OBJECT_LOCK, THREADS[1]))
    assert "&refcount_lock" in "\n".join(
        code_listing(Scenario.INC_DEC, Mode.GLOBAL_LOCK, THREADS[1])
    )


def test_inc_dec_runs_a_checked_increment_against_a_decrement() -> None:
    inc, dec = (code_listing(Scenario.INC_DEC, Mode.NONE, thread) for thread in THREADS)
    assert inc[0].startswith("int inc_ref") and any("<= 0" in line for line in inc)
    assert dec[0].startswith("int dec_ref") and any("free(obj)" in line for line in dec)
