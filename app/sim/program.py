"""The C functions each thread runs, as listings and as tables of micro-steps.

Each function is written once, as C source; each micro-step names the (1-based) line it
executes, so pages highlight the statement from this data and nothing is written twice.
Control flow is data too: every instruction says where to go next, and `check`, `test` and
`atomic-sub` also say where to go on their other branch. tests/sim/test_program.py checks that
every step sits on a line that does what the step does.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from functools import cache

from app.sim.model import Mode, Op, Scenario, Thread


class Next(enum.IntEnum):
    """Targets that leave the call (instruction indexes are >= 0)."""

    END_CALL = -1  # the call returned normally; the thread's loop goes on
    STOP_FAILED = -2  # the call failed its check; the thread stops
    STOP_FREED = -3  # the call freed the object; the thread's loop breaks
    RESUME = -4  # an eval-breaker merge is over; the thread's loop goes on where it was


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    op: Op
    line: int
    next: int  # instruction index, or a Next target
    branch: int | None = None  # check: when it fails; test / atomic-sub: when rc is not 0
    alternative: int | None = None  # a third way out (modes biased, immortal; see biased.py)


@dataclass(frozen=True, slots=True, kw_only=True)
class Function:
    name: str
    listing: tuple[str, ...]
    instructions: tuple[Instruction, ...]
    merge_entry: int | None = None  # where the owner's eval-breaker merge starts (mode biased)


_END, _FAILED, _FREED = Next.END_CALL, Next.STOP_FAILED, Next.STOP_FREED
Row = tuple[Op, int, int, int | None]  # op, line, next, branch


def _function(source: str, rows: list[Row]) -> Function:
    listing = tuple(source.strip("\n").splitlines())
    instructions = tuple(
        Instruction(op=op, line=line, next=next_, branch=branch) for op, line, next_, branch in rows
    )
    name = listing[0].split("(")[0].split()[-1]
    return Function(name=name, listing=listing, instructions=instructions)


# Mode none, and mode gil (whose interpreter switches only between whole calls).

_INC_PLAIN = _function(
    """
void inc_ref(object *obj) {
    obj->ref_count++;
}""",
    [(Op.READ, 2, 1, None), (Op.ADD, 2, 2, None), (Op.WRITE, 2, _END, None)],
)

_INC_CHECKED_PLAIN = _function(
    """
int inc_ref(object *obj) {
    if (obj->ref_count <= 0)
        return -1;
    obj->ref_count++;
    return 0;
}""",
    [
        (Op.CHECK, 2, 1, _FAILED),
        (Op.READ, 4, 2, None),
        (Op.ADD, 4, 3, None),
        (Op.WRITE, 4, _END, None),
    ],
)

_DEC_PLAIN = _function(
    """
int dec_ref(object *obj) {
    if (obj->ref_count <= 0)
        return -1;
    obj->ref_count--;
    if (obj->ref_count == 0) {
        free(obj);
        return 1;
    }
    return 0;
}""",
    [
        (Op.CHECK, 2, 1, _FAILED),
        (Op.READ, 4, 2, None),
        (Op.SUB, 4, 3, None),
        (Op.WRITE, 4, 4, None),
        (Op.TEST, 5, 5, _END),
        (Op.FREE, 6, _FREED, None),
    ],
)


# Modes global-lock (the mutex is a global) and object-lock (the mutex lives in the object,
# so locking or unlocking it after the free touches freed memory).


def _inc_locked(mutex: str) -> Function:
    return _function(
        f"""
void inc_ref(object *obj) {{
    pthread_mutex_lock({mutex});
    obj->ref_count++;
    pthread_mutex_unlock({mutex});
}}""",
        [
            (Op.LOCK, 2, 1, None),
            (Op.READ, 3, 2, None),
            (Op.ADD, 3, 3, None),
            (Op.WRITE, 3, 4, None),
            (Op.UNLOCK, 4, _END, None),
        ],
    )


def _inc_checked_locked(mutex: str) -> Function:
    return _function(
        f"""
int inc_ref(object *obj) {{
    pthread_mutex_lock({mutex});
    if (obj->ref_count <= 0) {{
        pthread_mutex_unlock({mutex});
        return -1;
    }}
    obj->ref_count++;
    pthread_mutex_unlock({mutex});
    return 0;
}}""",
        [
            (Op.LOCK, 2, 1, None),
            (Op.CHECK, 3, 3, 2),
            (Op.UNLOCK, 4, _FAILED, None),
            (Op.READ, 7, 4, None),
            (Op.ADD, 7, 5, None),
            (Op.WRITE, 7, 6, None),
            (Op.UNLOCK, 8, _END, None),
        ],
    )


def _dec_locked(mutex: str, *, unlock_first: bool = False) -> Function:
    """dec_ref under `mutex`. The seed frees, then unlocks; with `unlock_first` (mode
    unlock-then-free, docs/semantics.md) the thread that took the count to 0, which owns the
    object since nobody else holds a reference, unlocks before it frees."""
    free, unlock = "free(obj);", f"pthread_mutex_unlock({mutex});"
    first, second = (unlock, free) if unlock_first else (free, unlock)
    freeing: list[Row] = [(Op.FREE, 9, 8, None), (Op.UNLOCK, 10, _FREED, None)]
    if unlock_first:
        freeing = [(Op.UNLOCK, 9, 8, None), (Op.FREE, 10, _FREED, None)]
    return _function(
        f"""
int dec_ref(object *obj) {{
    pthread_mutex_lock({mutex});
    if (obj->ref_count <= 0) {{
        pthread_mutex_unlock({mutex});
        return -1;
    }}
    obj->ref_count--;
    if (obj->ref_count == 0) {{
        {first}
        {second}
        return 1;
    }}
    pthread_mutex_unlock({mutex});
    return 0;
}}""",
        [
            (Op.LOCK, 2, 1, None),
            (Op.CHECK, 3, 3, 2),
            (Op.UNLOCK, 4, _FAILED, None),
            (Op.READ, 7, 4, None),
            (Op.SUB, 7, 5, None),
            (Op.WRITE, 7, 6, None),
            (Op.TEST, 8, 7, 9),
            *freeing,
            (Op.UNLOCK, 13, _END, None),
        ],
    )


# Mode atomic: C11 read-modify-write operations that no other thread can split.

_INC_ATOMIC = _function(
    """
void inc_ref(object *obj) {
    atomic_fetch_add(&obj->ref_count, 1);
}""",
    [(Op.ATOMIC_ADD, 2, _END, None)],
)

_INC_CHECKED_ATOMIC = _function(
    """
int inc_ref(object *obj) {
    if (atomic_load(&obj->ref_count) <= 0)
        return -1;
    atomic_fetch_add(&obj->ref_count, 1);
    return 0;
}""",
    [(Op.CHECK, 2, 1, _FAILED), (Op.ATOMIC_ADD, 4, _END, None)],
)

_DEC_ATOMIC = _function(
    """
int dec_ref(object *obj) {
    if (atomic_load(&obj->ref_count) <= 0)
        return -1;
    if (atomic_fetch_sub(&obj->ref_count, 1) == 1) {
        free(obj);
        return 1;
    }
    return 0;
}""",
    [(Op.CHECK, 2, 1, _FAILED), (Op.ATOMIC_SUB, 4, 2, _END), (Op.FREE, 5, _FREED, None)],
)

_GLOBAL_MUTEX = "&refcount_lock"
_OBJECT_MUTEX = "&obj->lock"

_TABLE: dict[Mode, tuple[Function, Function, Function]] = {
    # (unchecked inc_ref, checked inc_ref, dec_ref)
    Mode.NONE: (_INC_PLAIN, _INC_CHECKED_PLAIN, _DEC_PLAIN),
    Mode.GIL: (_INC_PLAIN, _INC_CHECKED_PLAIN, _DEC_PLAIN),
    Mode.GLOBAL_LOCK: (
        _inc_locked(_GLOBAL_MUTEX),
        _inc_checked_locked(_GLOBAL_MUTEX),
        _dec_locked(_GLOBAL_MUTEX),
    ),
    Mode.OBJECT_LOCK: (
        _inc_locked(_OBJECT_MUTEX),
        _inc_checked_locked(_OBJECT_MUTEX),
        _dec_locked(_OBJECT_MUTEX),
    ),
    Mode.UNLOCK_THEN_FREE: (
        _inc_locked(_OBJECT_MUTEX),
        _inc_checked_locked(_OBJECT_MUTEX),
        _dec_locked(_OBJECT_MUTEX, unlock_first=True),
    ),
    Mode.ATOMIC: (_INC_ATOMIC, _INC_CHECKED_ATOMIC, _DEC_ATOMIC),
}


@cache
def function_for(scenario: Scenario, mode: Mode, thread: Thread) -> Function:
    """The function `thread` calls n times in `scenario` under `mode`."""
    mode, scenario = Mode(mode), Scenario(scenario)
    if mode.free_threaded:
        from app.sim.biased import free_threaded_function  # biased.py builds on this module

        return free_threaded_function(scenario, Thread(thread))
    inc, inc_checked, dec = _TABLE[mode]
    if scenario is Scenario.INC_INC:
        return inc
    if scenario is Scenario.DEC_DEC:
        return dec
    return inc_checked if Thread(thread) is Thread.A else dec


def code_listing(scenario: Scenario, mode: Mode, thread: Thread) -> tuple[str, ...]:
    """The C source of the function `thread` runs, one line per element."""
    return function_for(scenario, mode, thread).listing
