"""The simulator's vocabulary: scenarios, modes, threads, micro-operations, statuses, events.

All enums are str-valued: `.value` is the spelling used in URLs, JSON and templates.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from app.sim.errors import InvalidParameter

MAX_N_SIMULATE = 30
"""Calls per thread the simulator accepts (a run then has at most a few hundred steps)."""

MAX_N_EXPLORE = 12
"""Calls per thread the explorer accepts; see explorer.MAX_STATES for the real budget."""

MAX_INTERVAL = 100
"""Largest switch interval, in steps, for mode gil."""

DEFAULT_INTERVAL = 5


class Scenario(enum.StrEnum):
    INC_INC = "inc-inc"
    INC_DEC = "inc-dec"
    DEC_DEC = "dec-dec"


class Mode(enum.StrEnum):
    NONE = "none"
    GLOBAL_LOCK = "global-lock"
    OBJECT_LOCK = "object-lock"
    ATOMIC = "atomic"
    GIL = "gil"
    # object-lock, but the thread that frees unlocks first (docs/semantics.md)
    UNLOCK_THEN_FREE = "unlock-then-free"
    BIASED = "biased"  # free-threaded CPython 3.13t: biased reference counting (docs/semantics.md)
    IMMORTAL = "immortal"  # the same code on an immortal object (PEP 683)

    @property
    def has_lock(self) -> bool:
        return self in (Mode.GLOBAL_LOCK, Mode.OBJECT_LOCK, Mode.UNLOCK_THEN_FREE)

    @property
    def lock_in_object(self) -> bool:
        """The mutex lives in the object: lock and unlock after its free touch freed memory."""
        return self in (Mode.OBJECT_LOCK, Mode.UNLOCK_THEN_FREE)

    @property
    def free_threaded(self) -> bool:
        """The object has CPython 3.13t's split count (ob_tid, ob_ref_local, ob_ref_shared)."""
        return self in (Mode.BIASED, Mode.IMMORTAL)


class Thread(enum.StrEnum):
    A = "A"
    B = "B"

    @property
    def other(self) -> Thread:
        return Thread.B if self is Thread.A else Thread.A


THREADS = (Thread.A, Thread.B)


class Op(enum.StrEnum):
    LOCK = "lock"
    CHECK = "check"
    READ = "read"
    ADD = "add"
    SUB = "sub"
    WRITE = "write"
    TEST = "test"
    FREE = "free"
    UNLOCK = "unlock"
    ATOMIC_ADD = "atomic-add"
    ATOMIC_SUB = "atomic-sub"
    # Modes biased and immortal (docs/semantics.md, "Micro-steps"):
    LOAD_LOCAL = "load-local"
    IS_OWNER = "is-owner"
    STORE_LOCAL_INC = "store-local-inc"
    STORE_LOCAL_DEC = "store-local-dec"
    LOAD_SHARED = "load-shared"
    CLEAR_OWNER = "clear-owner"
    MARK_MERGED = "mark-merged"
    DEC_SHARED = "dec-shared"
    QUEUE = "queue"
    TAKE_LOCAL = "take-local"
    MERGE = "merge"

    @property
    def atomic(self) -> bool:
        """An atomic read-modify-write instruction (atomic add, or a compare-and-swap loop)."""
        return self in _ATOMIC_OPS

    @property
    def locks(self) -> bool:
        """Takes a mutex: the refcount lock, or (mode biased) the merge queue's bucket mutex."""
        return self in _LOCKING_OPS


_ATOMIC_OPS = frozenset({Op.ATOMIC_ADD, Op.ATOMIC_SUB, Op.MARK_MERGED, Op.DEC_SHARED, Op.MERGE})
_LOCKING_OPS = frozenset({Op.LOCK, Op.UNLOCK, Op.QUEUE, Op.TAKE_LOCAL})


class Status(enum.StrEnum):
    READY = "ready"
    BLOCKED = "blocked"  # its next step is `lock` and the other thread holds the lock
    WAITING_GIL = "waiting-gil"
    FINISHED = "finished"  # made all its calls, or freed the object and left its loop
    FAILED = "failed"  # stopped at a failed check (it saw rc <= 0)

    @property
    def stopped(self) -> bool:
        return self in (Status.FINISHED, Status.FAILED)


class Event(enum.StrEnum):
    LOST_UPDATE = "lost-update"
    USE_AFTER_FREE = "use-after-free"
    DOUBLE_FREE = "double-free"
    FAILED_CHECK = "failed-check"
    FREED = "freed"
    IMMORTAL = "immortal"  # a call saw the immortal value and wrote nothing
    QUEUED = "queued"  # the object went onto its owner's merge queue
    MERGED = "merged"  # the shared count's flags became merged (no owner any more)


@dataclass(frozen=True, slots=True, kw_only=True)
class Config:
    """What is simulated: the scenario, the locking mode, n calls per thread, the GIL interval."""

    scenario: Scenario
    mode: Mode
    n: int
    interval: int | None = None  # steps; only in mode gil (defaults to DEFAULT_INTERVAL there)

    def __post_init__(self) -> None:
        object.__setattr__(self, "scenario", Scenario(self.scenario))
        object.__setattr__(self, "mode", Mode(self.mode))
        if not 1 <= self.n <= MAX_N_SIMULATE:
            raise InvalidParameter("n", f"must be between 1 and {MAX_N_SIMULATE}, got {self.n}")
        if self.mode is Mode.GIL:
            interval = DEFAULT_INTERVAL if self.interval is None else self.interval
            if not 1 <= interval <= MAX_INTERVAL:
                raise InvalidParameter(
                    "interval", f"must be between 1 and {MAX_INTERVAL} steps, got {interval}"
                )
            object.__setattr__(self, "interval", interval)
        else:
            object.__setattr__(self, "interval", None)

    @property
    def initial_rc(self) -> int:
        if self.mode is Mode.IMMORTAL:
            return IMMORTAL_REFCNT
        return 2 * self.n if self.scenario is Scenario.DEC_DEC else 1


IMMORTAL_REFCNT = 4_294_967_295
"""What Py_REFCNT reports for an immortal object on 64-bit CPython 3.13t (_Py_IMMORTAL_REFCNT)."""
