"""Every micro-step sits on a line of C that does what the step does."""

from __future__ import annotations

import pytest

from app.sim import THREADS, Mode, Op, Scenario, code_listing
from app.sim.program import function_for

_SAYS: dict[Op, str | tuple[str, ...]] = {
    Op.LOCK: "pthread_mutex_lock(",
    Op.UNLOCK: "pthread_mutex_unlock(",
    Op.CHECK: "<= 0",
    Op.READ: "ref_count",
    Op.ADD: "++",
    Op.SUB: "--",
    Op.WRITE: "ref_count",
    Op.TEST: "== 0",
    Op.ATOMIC_ADD: ("atomic_fetch_add(", "_Py_atomic_add_ssize("),
    Op.ATOMIC_SUB: "atomic_fetch_sub(",
    Op.LOAD_LOCAL: "uint32_t local = op->ob_ref_local;",
    Op.IS_OWNER: "op->ob_tid == _Py_ThreadId()",
    Op.STORE_LOCAL_INC: "op->ob_ref_local = new_local;",
    Op.STORE_LOCAL_DEC: "op->ob_ref_local = local;",
    Op.LOAD_SHARED: "_Py_atomic_load_ssize_acquire(&op->ob_ref_shared)",
    Op.CLEAR_OWNER: "op->ob_tid = 0;",
    Op.MARK_MERGED: "_Py_atomic_compare_exchange_ssize(&op->ob_ref_shared",
    Op.DEC_SHARED: "_Py_atomic_compare_exchange_ssize(&o->ob_ref_shared",
    Op.QUEUE: "_PyObjectStack_Push(",
    Op.TAKE_LOCAL: "Py_ssize_t local = op->ob_ref_local;",
    Op.MERGE: "_Py_atomic_compare_exchange_ssize(&op->ob_ref_shared",
    Op.FREE: ("free(obj)", "_Py_Dealloc("),
}


@pytest.mark.parametrize("mode", list(Mode))
@pytest.mark.parametrize("scenario", list(Scenario))
def test_each_step_names_the_statement_it_executes(scenario: Scenario, mode: Mode) -> None:
    for thread in THREADS:
        function = function_for(scenario, mode, thread)
        for instruction in function.instructions:
            line = function.listing[instruction.line - 1]
            says = _SAYS[instruction.op]
            assert any(text in line for text in ((says,) if isinstance(says, str) else says))


def test_the_mutex_lives_where_the_mode_says() -> None:
    assert "&obj->lock" in "\n".join(code_listing(Scenario.INC_DEC, Mode.OBJECT_LOCK, THREADS[1]))
    assert "&refcount_lock" in "\n".join(
        code_listing(Scenario.INC_DEC, Mode.GLOBAL_LOCK, THREADS[1])
    )


def test_inc_dec_runs_a_checked_increment_against_a_decrement() -> None:
    inc, dec = (code_listing(Scenario.INC_DEC, Mode.NONE, thread) for thread in THREADS)
    assert inc[0].startswith("int inc_ref") and any("<= 0" in line for line in inc)
    assert dec[0].startswith("int dec_ref") and any("free(obj)" in line for line in dec)


def test_the_free_threaded_modes_run_cpython_s_own_functions() -> None:
    for mode in (Mode.BIASED, Mode.IMMORTAL):
        inc, dec = (code_listing(Scenario.INC_DEC, mode, thread) for thread in THREADS)
        assert inc[0] == "void Py_INCREF(PyObject *op) {"
        assert dec[0] == "void Py_DECREF(PyObject *op) {"
        # A's listing carries the owner's eval-breaker merge; B's the queueing to the owner.
        assert any("_Py_brc_merge_refcounts" in line for line in inc)
        assert any("_Py_brc_queue_object" in line for line in dec)
