"""Free-threaded CPython 3.13t's reference counting as listings and tables of micro-steps.

Modes `biased` and `immortal` (docs/semantics.md, normative). Both threads run CPython's own
`Py_INCREF` / `Py_DECREF` for the free-threaded build (`Include/object.h`, `Py_GIL_DISABLED`),
shortened but with CPython's names and tests in CPython's order, and the object decides the
path: its owner (`ob_tid`), whether it is immortal (`ob_ref_local == UINT32_MAX`). The slow
paths come from `Objects/object.c` (`_Py_MergeZeroLocalRefcount`, `_Py_DecRefShared`,
`_Py_ExplicitMergeRefcount`) and `Python/brc.c` (`_Py_brc_queue_object`,
`_Py_brc_merge_refcounts`).

Each instruction names its line by a marker, the unique text of that line, so the listing can be
read and edited as C. How each op branches (`next`, `branch`, `alternative`):
- load-local: branch when the count is the immortal value (the call returns);
- is-owner: branch when this thread is not the owner;
- store-local-dec: branch when the new local count is not 0;
- load-shared: branch when the shared field is 0 (dealloc at once);
- mark-merged / merge: branch when the merged count is not 0;
- dec-shared: branch when it queued, alternative when the result is "merged, 0" (dealloc);
- queue: branch when the owner has exited (merge here), alternative when `ob_tid` is 0.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

from app.sim.model import Op, Scenario, Thread
from app.sim.program import Function, Instruction, Next

SHARED_SHIFT = 2  # _Py_REF_SHARED_SHIFT
FLAG_MASK = 0x3  # _Py_REF_SHARED_FLAG_MASK
MAYBE_WEAKREF = 0x1  # _Py_REF_MAYBE_WEAKREF
QUEUED = 0x2  # _Py_REF_QUEUED
MERGED = 0x3  # _Py_REF_MERGED
IMMORTAL_LOCAL = 0xFFFF_FFFF  # _Py_IMMORTAL_REFCNT_LOCAL: ob_ref_local of an immortal object
Flag = Literal["init", "maybe-weakref", "queued", "merged"]
FLAG_NAMES: tuple[Flag, Flag, Flag, Flag] = ("init", "maybe-weakref", "queued", "merged")


def flags_of(shared: int) -> Flag:
    """The name of ob_ref_shared's flags (its low two bits)."""
    return FLAG_NAMES[shared & FLAG_MASK]


def shared_count(shared: int) -> int:
    """ob_ref_shared's count: an arithmetic shift, as in C (it may be negative)."""
    return shared >> SHARED_SHIFT


_INCREF = """
void Py_INCREF(PyObject *op) {
    uint32_t local = op->ob_ref_local;            /* relaxed load */
    uint32_t new_local = local + 1;
    if (new_local == 0)
        return;                                    /* immortal */
    if (op->ob_tid == _Py_ThreadId())
        op->ob_ref_local = new_local;              /* owner: relaxed store */
    else
        _Py_atomic_add_ssize(&op->ob_ref_shared, 1 << _Py_REF_SHARED_SHIFT);
}"""

_DECREF = """
void Py_DECREF(PyObject *op) {
    uint32_t local = op->ob_ref_local;            /* relaxed load */
    if (local == _Py_IMMORTAL_REFCNT_LOCAL)
        return;                                    /* immortal */
    if (op->ob_tid == _Py_ThreadId()) {
        local--;
        op->ob_ref_local = local;                  /* owner: relaxed store */
        if (local == 0)
            _Py_MergeZeroLocalRefcount(op);
    }
    else
        _Py_DecRefShared(op);
}
void _Py_MergeZeroLocalRefcount(PyObject *op) {   /* Objects/object.c */
    Py_ssize_t shared = _Py_atomic_load_ssize_acquire(&op->ob_ref_shared);
    if (shared == 0) {
        _Py_Dealloc(op);                            /* fast path */
        return;
    }
    op->ob_tid = 0;
    do {
        new_shared = (shared & ~_Py_REF_SHARED_FLAG_MASK) | _Py_REF_MERGED;
    } while (!_Py_atomic_compare_exchange_ssize(&op->ob_ref_shared, &shared, new_shared));
    if (new_shared == _Py_REF_MERGED)
        _Py_Dealloc(op);                            /* merged, and zero */
}
void _Py_DecRefShared(PyObject *o) {              /* Objects/object.c */
    Py_ssize_t shared = _Py_atomic_load_ssize_relaxed(&o->ob_ref_shared);
    do {
        should_queue = (shared == 0 || shared == _Py_REF_MAYBE_WEAKREF);
        new_shared = should_queue ? _Py_REF_QUEUED
                                  : shared - (1 << _Py_REF_SHARED_SHIFT);
    } while (!_Py_atomic_compare_exchange_ssize(&o->ob_ref_shared, &shared, new_shared));
    if (should_queue)
        _Py_brc_queue_object(o);                   /* the queue keeps the reference */
    else if (new_shared == _Py_REF_MERGED)
        _Py_Dealloc(o);                             /* dropped the last reference */
}
void _Py_brc_queue_object(PyObject *ob) {         /* Python/brc.c */
    uintptr_t ob_tid = _Py_atomic_load_uintptr(&ob->ob_tid);
    if (ob_tid == 0) {
        Py_DECREF(ob);                              /* the owner merged meanwhile */
        return;
    }
    PyMutex_Lock(&bucket->mutex);
    if (find_thread_state(bucket, ob_tid) == NULL) {   /* the owner has exited */
        Py_ssize_t refcount = _Py_ExplicitMergeRefcount(ob, -1);
        PyMutex_Unlock(&bucket->mutex);
        if (refcount == 0)
            _Py_Dealloc(ob);                        /* merged here, and zero */
        return;
    }
    _PyObjectStack_Push(&owner->brc.objects_to_merge, ob);
    _Py_set_eval_breaker_bit(owner, _PY_EVAL_EXPLICIT_MERGE_BIT);
    PyMutex_Unlock(&bucket->mutex);
}"""

_MERGE_AT_EVAL_BREAKER = """
/* The owner's next eval-breaker check (Python/ceval_gil.c, _Py_HandlePending) */
void _Py_brc_merge_refcounts(PyThreadState *tstate) {   /* Python/brc.c */
    PyObject *ob;
    while ((ob = _PyObjectStack_Pop(&brc->objects_to_merge)) != NULL) {
        Py_ssize_t refcount = _Py_ExplicitMergeRefcount(ob, -1);
        if (refcount == 0)
            _Py_Dealloc(ob);                        /* merged at the owner, and zero */
    }
}"""

_EXPLICIT_MERGE = """
Py_ssize_t _Py_ExplicitMergeRefcount(PyObject *op, Py_ssize_t extra) {
    Py_ssize_t local = op->ob_ref_local;           /* local: read, then cleared */
    op->ob_ref_local = 0;
    op->ob_tid = 0;
    do {
        refcnt = (shared >> _Py_REF_SHARED_SHIFT) + local + extra;
        new_shared = _Py_REF_SHARED(refcnt, _Py_REF_MERGED);
    } while (!_Py_atomic_compare_exchange_ssize(&op->ob_ref_shared, &shared, new_shared));
    return refcnt;
}"""

_END, _FREED, _RESUME = Next.END_CALL, Next.STOP_FREED, Next.RESUME
# op, marker of its line, next, branch, alternative
_Row = tuple[Op, str, int, int | None, int | None]

_INC_ROWS: list[_Row] = [
    (Op.LOAD_LOCAL, "uint32_t local = op->ob_ref_local;", 1, _END, None),  # 0
    (Op.IS_OWNER, "if (op->ob_tid == _Py_ThreadId())", 2, 3, None),  # 1
    (Op.STORE_LOCAL_INC, "op->ob_ref_local = new_local;", _END, None, None),  # 2
    (Op.ATOMIC_ADD, "_Py_atomic_add_ssize(", _END, None, None),  # 3
]
_MERGE_ROWS: list[_Row] = [  # the owner's eval-breaker merge, appended to A's Py_INCREF
    (Op.TAKE_LOCAL, "Py_ssize_t local = op->ob_ref_local;", 5, None, None),  # 4
    (Op.MERGE, "} while (!_Py_atomic_compare_exchange_ssize(&op->", 6, _RESUME, None),  # 5
    (Op.FREE, "merged at the owner, and zero", _RESUME, None, None),  # 6
]
_DEC_ROWS: list[_Row] = [
    (Op.LOAD_LOCAL, "uint32_t local = op->ob_ref_local;", 1, _END, None),  # 0
    (Op.IS_OWNER, "if (op->ob_tid == _Py_ThreadId())", 2, 8, None),  # 1
    (Op.STORE_LOCAL_DEC, "op->ob_ref_local = local;", 3, _END, None),  # 2
    (Op.LOAD_SHARED, "_Py_atomic_load_ssize_acquire(", 5, 4, None),  # 3
    (Op.FREE, "/* fast path */", _FREED, None, None),  # 4
    (Op.CLEAR_OWNER, "    }\n>>    op->ob_tid = 0;", 6, None, None),  # 5
    (Op.MARK_MERGED, "&shared, new_shared));\n    if (new_shared", 7, _END, None),  # 6
    (Op.FREE, "/* merged, and zero */", _FREED, None, None),  # 7
    (Op.DEC_SHARED, "(&o->ob_ref_shared, &shared, new_shared));", _END, 10, 9),  # 8
    (Op.FREE, "/* dropped the last reference */", _FREED, None, None),  # 9
    (Op.QUEUE, "_PyObjectStack_Push(", _END, 11, 0),  # 10
    (Op.TAKE_LOCAL, "Py_ssize_t local = op->ob_ref_local;", 12, None, None),  # 11
    (Op.MERGE, "new_shared));\n    return refcnt;", 13, _END, None),  # 12
    (Op.FREE, "/* merged here, and zero */", _FREED, None, None),  # 13
]


def _line_of(source: str, marker: str) -> int:
    """The 1-based line of `marker`, which must occur once. A marker may span lines, and may
    start with context that ends in ">>": the line is then where the text after ">>" starts."""
    context, _, text = marker.rpartition(">>")
    at = source.find(context + text)
    if at < 0 or source.find(context + text, at + 1) >= 0:
        raise ValueError(f"marker {marker!r} must occur exactly once")
    return source.count("\n", 0, at + len(context)) + 1


def _build(source: str, rows: list[_Row], merge_entry: int | None = None) -> Function:
    source = source.strip("\n")
    instructions = tuple(
        Instruction(
            op=op, line=_line_of(source, marker), next=next_, branch=branch, alternative=other
        )
        for op, marker, next_, branch, other in rows
    )
    listing = tuple(source.splitlines())
    name = listing[0].split("(")[0].split()[-1]
    return Function(name=name, listing=listing, instructions=instructions, merge_entry=merge_entry)


@cache
def free_threaded_function(scenario: Scenario, thread: Thread) -> Function:
    """What `thread` runs n times in `scenario` in modes biased and immortal.

    Only A owns the object, so only A's increments in inc-dec (where B queues the object to
    it) carry the eval-breaker merge; B's Py_DECREF carries its own merge for when A has exited.
    """
    if scenario is Scenario.DEC_DEC or (scenario is Scenario.INC_DEC and thread is Thread.B):
        return _build(_DECREF + _EXPLICIT_MERGE, _DEC_ROWS)
    if scenario is Scenario.INC_DEC:
        return _build(
            _INCREF + _MERGE_AT_EVAL_BREAKER + _EXPLICIT_MERGE,
            _INC_ROWS + _MERGE_ROWS,
            merge_entry=len(_INC_ROWS),
        )
    return _build(_INCREF, _INC_ROWS)
