"""One step function for two threads sharing one reference count.

What it models (DESIGN.md, "Simulator semantics"): two threads, A and B, each calling its C
function n times on one object. A step is one memory access to the object or one local
computation of one thread. `Machine.advance` is the only way a state changes; states and step
records are immutable, so a run is a tuple of them and a replay is deterministic.

Modes biased and immortal (docs/semantics.md) replace the one count with free-threaded
CPython 3.13t's ob_tid, ob_ref_local and ob_ref_shared, and have their own step function.

What it leaves out on purpose: memory reuse after free (freed memory keeps its last value and
every later access is counted), compiler and CPU reordering (every access is sequentially
consistent), and the thread's loop counter (its `calls_done` stands for it).

Invariants a change must keep:
- the lock is only held by a thread that is not stopped (every stopping path unlocks first);
- at least one thread is runnable until both have stopped (so a run always ends);
- in mode gil a thread switch happens only when the thread giving up the GIL is between calls;
- the state after k steps depends only on the config and the first k choices.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from app.sim import biased
from app.sim.errors import ScheduleError
from app.sim.model import (
    IMMORTAL_REFCNT,
    THREADS,
    Config,
    Event,
    Mode,
    Op,
    Scenario,
    Status,
    Thread,
)
from app.sim.program import Function, Instruction, Next, function_for

# Operations that access the object's memory (so count a use-after-free once it is freed).
_MEMORY_OPS = frozenset({Op.CHECK, Op.READ, Op.WRITE, Op.TEST, Op.ATOMIC_ADD, Op.ATOMIC_SUB})
_LOCK_OPS = frozenset({Op.LOCK, Op.UNLOCK})


# The threads that may run, by whether A and whether B may: _ALIVE[a][b].
_ALIVE: tuple[tuple[tuple[Thread, ...], ...], ...] = (
    ((), (Thread.B,)),
    ((Thread.A,), (Thread.A, Thread.B)),
)


# States are NamedTuples rather than frozen dataclasses: the explorer creates hundreds of
# thousands of them, and a tuple is built several times faster than a frozen dataclass.


class ThreadState(NamedTuple):
    pc: int = 0  # index of the next instruction of the current call (0: between calls)
    calls_done: int = 0
    register: int | None = None
    stale: bool = False  # the other thread wrote rc since this thread's last read
    stopped: Status | None = None  # FINISHED or FAILED once the thread has stopped


class State(NamedTuple):
    rc: int
    freed: bool = False
    lock: Thread | None = None
    gil: Thread | None = None
    gil_run: int = 0  # steps the GIL holder has run since it took the GIL
    a: ThreadState = ThreadState()
    b: ThreadState = ThreadState()
    use_after_free: int = 0
    double_free: int = 0
    lost_updates: int = 0
    # Modes biased and immortal only (docs/semantics.md): CPython 3.13t's split count. `rc` is
    # then the true count, local + (shared >> 2), or the immortal value.
    local: int = 0  # ob_ref_local
    shared: int = 0  # ob_ref_shared: the count shifted left by 2, the flags in the low two bits
    owner: Thread | None = None  # ob_tid (None: 0, no owner)
    queued: bool = False  # on the owner's merge queue, its eval-breaker bit set

    def thread(self, thread: Thread) -> ThreadState:
        return self.a if thread is Thread.A else self.b

    @property
    def finished(self) -> bool:
        return self.a.stopped is not None and self.b.stopped is not None


@dataclass(frozen=True, slots=True, kw_only=True)
class Step:
    """One micro-step, as /api/sim reports it: the values are those right after the step."""

    index: int  # 1-based: the permalink's step=index shows the state right after this step
    thread: Thread
    op: Op
    line: int  # 1-based line of `thread`'s C function listing
    rc: int
    reg_a: int | None
    reg_b: int | None
    lock: Thread | None
    gil: Thread | None
    freed: bool
    events: tuple[Event, ...]
    # Modes biased and immortal only; None (queued: False) in the other modes.
    ref_local: int | None = None
    ref_shared: int | None = None
    owner: Thread | None = None
    queued: bool = False

    @property
    def flags(self) -> biased.Flag | None:
        """ob_ref_shared's flags by name (init, maybe-weakref, queued, merged)."""
        return None if self.ref_shared is None else biased.flags_of(self.ref_shared)

    @property
    def reg(self) -> dict[Thread, int | None]:
        return {Thread.A: self.reg_a, Thread.B: self.reg_b}


class Machine:
    """The rules for one config. `any_boundary` makes mode gil switch at any call boundary,
    whatever the interval: that is the set of schedules the explorer counts."""

    __slots__ = (
        "_free_threaded",
        "_gil",
        "_has_lock",
        "_instructions",
        "_interval",
        "_merge_entry",
        "_object_lock",
        "any_boundary",
        "config",
    )

    def __init__(self, config: Config, *, any_boundary: bool = False) -> None:
        self.config = config
        self.any_boundary = any_boundary
        self._instructions = {t: self.function(t).instructions for t in THREADS}
        self._merge_entry = {t: self.function(t).merge_entry for t in THREADS}
        self._has_lock = config.mode.has_lock
        self._gil = config.mode is Mode.GIL
        self._object_lock = config.mode.lock_in_object
        self._interval = config.interval or 1
        self._free_threaded = config.mode.free_threaded

    def function(self, thread: Thread) -> Function:
        return function_for(self.config.scenario, self.config.mode, thread)

    def initial(self) -> State:
        config = self.config
        if config.mode is Mode.IMMORTAL:
            return State(rc=IMMORTAL_REFCNT, local=biased.IMMORTAL_LOCAL)
        if config.mode is Mode.BIASED:
            # A created the object and took its own references; B's went to the shared count.
            n_b = config.n if config.scenario is Scenario.DEC_DEC else 0
            local = config.initial_rc - n_b
            return State(
                rc=config.initial_rc,
                local=local,
                shared=n_b << biased.SHARED_SHIFT,
                owner=Thread.A,
            )
        return State(rc=config.initial_rc, gil=Thread.A if self._gil else None)

    def pc(self, state: State, thread: Thread) -> int:
        """The index of `thread`'s next instruction: its pc, except that the owner between
        calls with the object on its queue merges first (its eval-breaker check)."""
        ts = state.a if thread is Thread.A else state.b
        entry = self._merge_entry.get(thread)
        if entry is not None and ts.pc == 0 and state.queued:
            return entry
        return ts.pc

    def next_instruction(self, state: State, thread: Thread) -> Instruction | None:
        if state.thread(thread).stopped is not None:
            return None
        return self._instructions[thread][self.pc(state, thread)]

    def next_op(self, state: State, thread: Thread) -> Op | None:
        instruction = self.next_instruction(state, thread)
        return None if instruction is None else instruction.op

    def _lock_free_for(self, state: State, thread: Thread) -> bool:
        return not (
            self._has_lock and state.lock is thread.other and self.next_op(state, thread) is Op.LOCK
        )

    def runnable(self, state: State) -> tuple[Thread, ...]:
        """The threads that may take the next step, in order A, B."""
        a_alive, b_alive = state.a.stopped is None, state.b.stopped is None
        if self._has_lock:
            a_alive = a_alive and self._lock_free_for(state, Thread.A)
            b_alive = b_alive and self._lock_free_for(state, Thread.B)
        # Indexed rather than built: every step of every run and exploration asks.
        alive = _ALIVE[a_alive][b_alive]
        if not self._gil or len(alive) < 2:
            return alive
        holder = state.gil or Thread.A
        if state.thread(holder).pc != 0:  # never switch in the middle of a call
            return (holder,)
        if self.any_boundary:
            return alive
        return (holder.other,) if state.gil_run >= self._interval else (holder,)

    def status(self, state: State, thread: Thread) -> Status:
        """What a page shows for `thread`: ready, blocked, waiting for the GIL, or stopped."""
        ts = state.thread(thread)
        if ts.stopped is not None:
            return ts.stopped
        if not self._lock_free_for(state, thread):
            return Status.BLOCKED
        if thread not in self.runnable(state):
            return Status.WAITING_GIL
        return Status.READY

    def why_not(self, state: State, thread: Thread) -> str:
        status = self.status(state, thread)
        if status is Status.FINISHED:
            return f"thread {thread} has finished"
        if status is Status.FAILED:
            return f"thread {thread} stopped at a failed check"
        if status is Status.BLOCKED:
            return f"thread {thread} is blocked: {thread.other} holds the lock"
        return f"thread {thread} is waiting for the GIL, which {thread.other} holds"

    def advance(self, state: State, thread: Thread, *, index: int = 0) -> tuple[State, Step]:
        """Let `thread` take one step; raise ScheduleError (naming step `index`) if it cannot."""
        if thread not in self.runnable(state):
            raise ScheduleError(self.why_not(state, thread), step=index)
        new, instruction, events = self.transition(state, thread)
        step = Step(
            index=index,
            thread=thread,
            op=instruction.op,
            line=instruction.line,
            rc=new.rc,
            reg_a=new.a.register,
            reg_b=new.b.register,
            lock=new.lock,
            gil=new.gil,
            freed=new.freed,
            events=events,
        )
        if self._free_threaded:
            step = replace(
                step, ref_local=new.local, ref_shared=new.shared, owner=new.owner, queued=new.queued
            )
        return new, step

    def transition(
        self, state: State, thread: Thread
    ) -> tuple[State, Instruction, tuple[Event, ...]]:
        """The step function: `thread`'s next instruction applied to `state` (runnable assumed)."""
        if self._free_threaded:
            return self._free_threaded_transition(state, thread)
        is_a = thread is Thread.A
        me, other = (state.a, state.b) if is_a else (state.b, state.a)
        instruction = self._instructions[thread][me.pc]
        op = instruction.op
        rc, freed, lock = state.rc, state.freed, state.lock
        register, stale, other_stale = me.register, me.stale, other.stale
        uaf, double_free, lost = state.use_after_free, state.double_free, state.lost_updates
        events: tuple[Event, ...] = ()
        target = instruction.next

        if freed and (op in _MEMORY_OPS or (op in _LOCK_OPS and self._object_lock)):
            uaf += 1
            events = (Event.USE_AFTER_FREE,)
        if op is Op.READ:
            register, stale = rc, False
        elif op is Op.ADD:
            assert register is not None
            register += 1
        elif op is Op.SUB:
            assert register is not None
            register -= 1
        elif op is Op.WRITE:
            if stale:
                lost += 1
                events = (*events, Event.LOST_UPDATE)
            assert register is not None
            rc, stale, other_stale = register, False, True
        elif op is Op.LOCK:
            lock = thread
        elif op is Op.UNLOCK:
            lock = None
        elif op is Op.CHECK:
            if rc <= 0:
                events = (*events, Event.FAILED_CHECK)
                assert instruction.branch is not None
                target = instruction.branch
        elif op is Op.TEST:
            if rc != 0:
                assert instruction.branch is not None
                target = instruction.branch
        elif op is Op.FREE:
            freed, double_free, events = _free(freed, double_free)
        else:  # ATOMIC_ADD, ATOMIC_SUB
            rc += 1 if op is Op.ATOMIC_ADD else -1
            register, other_stale = rc, True
            if op is Op.ATOMIC_SUB and rc != 0:
                assert instruction.branch is not None
                target = instruction.branch

        pc, calls_done, stopped = target, me.calls_done, None
        if target < 0:
            pc, calls_done = 0, calls_done + 1
            if target == Next.STOP_FAILED:
                stopped = Status.FAILED
            elif target == Next.STOP_FREED or calls_done == self.config.n:
                stopped = Status.FINISHED
        me = ThreadState(pc, calls_done, register, stale, stopped)
        if other_stale is not other.stale:  # a new tuple: _replace takes three times as long
            pc_other, done_other, register_other, _, stopped_other = other
            other = ThreadState(pc_other, done_other, register_other, other_stale, stopped_other)
        gil, gil_run = state.gil, state.gil_run
        if self._gil:
            gil, gil_run = (thread, gil_run + 1) if gil is thread else (thread, 1)
        a, b = (me, other) if is_a else (other, me)
        new = State(rc, freed, lock, gil, gil_run, a, b, uaf, double_free, lost)
        return new, instruction, events

    def _free_threaded_transition(
        self, state: State, thread: Thread
    ) -> tuple[State, Instruction, tuple[Event, ...]]:
        """Modes biased and immortal: the step function over CPython 3.13t's split count
        (docs/semantics.md, "Micro-steps"). Every op but `free` accesses the object."""
        is_a = thread is Thread.A
        me = state.a if is_a else state.b
        instruction = self._instructions[thread][self.pc(state, thread)]
        op, target = instruction.op, instruction.next
        local, shared, owner, queued = state.local, state.shared, state.owner, state.queued
        freed, register = state.freed, me.register
        uaf, double_free = state.use_after_free, state.double_free
        events: tuple[Event, ...] = ()

        if freed and op is not Op.FREE:
            uaf += 1
            events = (Event.USE_AFTER_FREE,)
        taken: int | None = None  # the branch taken, if the op took one
        if op is Op.LOAD_LOCAL:
            register = local
            if local == biased.IMMORTAL_LOCAL:
                taken = instruction.branch
                events = (*events, Event.IMMORTAL)
        elif op is Op.IS_OWNER:
            if owner is not thread:
                taken = instruction.branch
        elif op is Op.STORE_LOCAL_INC:
            assert register is not None
            local = (register + 1) & biased.IMMORTAL_LOCAL  # a uint32_t
        elif op is Op.STORE_LOCAL_DEC:
            assert register is not None
            register = local = (register - 1) & biased.IMMORTAL_LOCAL
            if local != 0:
                taken = instruction.branch
        elif op is Op.ATOMIC_ADD:
            shared += 1 << biased.SHARED_SHIFT
        elif op is Op.LOAD_SHARED:
            if shared == 0:
                taken = instruction.branch
        elif op is Op.CLEAR_OWNER:
            owner = None
        elif op is Op.MARK_MERGED:
            shared = (shared & ~biased.FLAG_MASK) | biased.MERGED
            events = (*events, Event.MERGED)
            if shared != biased.MERGED:
                taken = instruction.branch
        elif op is Op.DEC_SHARED:
            register = shared  # the value its successful compare-and-swap expected
            if shared in (0, biased.MAYBE_WEAKREF):
                shared = biased.QUEUED  # the count stays: the queue holds the reference
                taken = instruction.branch
            else:
                shared -= 1 << biased.SHARED_SHIFT
                if shared == biased.MERGED:
                    taken = instruction.alternative
        elif op is Op.QUEUE:
            if owner is None:  # the owner merged meanwhile: Py_DECREF again
                taken = instruction.alternative
            elif state.thread(owner).stopped is not None:  # the owner has exited
                taken = instruction.branch
            else:
                queued = True
                events = (*events, Event.QUEUED)
        elif op is Op.TAKE_LOCAL:
            register, local, owner, queued = local, 0, None, False
        elif op is Op.MERGE:
            assert register is not None
            count = biased.shared_count(shared) + register - 1  # -1: the queue's reference
            shared = (count << biased.SHARED_SHIFT) | biased.MERGED
            events = (*events, Event.MERGED)
            if count != 0:
                taken = instruction.branch
        else:  # FREE
            freed, double_free, events = _free(freed, double_free)
        if taken is not None:
            target = taken

        pc, calls_done, stopped = target, me.calls_done, None
        if target < 0:
            pc = 0
            if target != Next.RESUME:
                calls_done += 1
            owes_merge = queued and self._merge_entry[thread] is not None
            if target == Next.STOP_FREED or (calls_done == self.config.n and not owes_merge):
                stopped = Status.FINISHED
        mine = ThreadState(pc, calls_done, register, False, stopped)
        a, b = (mine, state.b) if is_a else (state.a, mine)
        rc = (
            IMMORTAL_REFCNT
            if local == biased.IMMORTAL_LOCAL
            else local + biased.shared_count(shared)
        )
        new = State(
            rc, freed, None, None, 0, a, b, uaf, double_free, 0, local, shared, owner, queued
        )
        return new, instruction, events


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    final_rc: int
    freed: bool
    use_after_free: int
    double_free: int
    lost_updates: int
    correct: bool


def _free(freed: bool, double_free: int) -> tuple[bool, int, tuple[Event, ...]]:
    """`free()` of the object, in every mode: the first frees it, each later one is a double
    free. Returns freed, the double frees so far and the step's events."""
    if freed:
        return True, double_free + 1, (Event.DOUBLE_FREE,)
    return True, double_free, (Event.FREED,)


def outcome_of(config: Config, state: State) -> Outcome:
    """Judge a finished run against the scenario's correct outcome (DESIGN.md).

    A run that touched freed memory or freed twice is never correct. In inc-dec that leaves one
    correct outcome, rc = 1 and never freed: the seed also calls "freed, and the incrementing
    thread stops at its check" safe, but that check reads the freed object. Here freed memory
    keeps its last value (0), so the check gives up; a real allocator writes its free-list
    pointer over the count, the check passes, and the thread goes on incrementing freed memory.
    """
    rc, freed = state.rc, state.freed
    clean = state.use_after_free == 0 and state.double_free == 0
    if config.mode is Mode.IMMORTAL:  # whatever the scenario: untouched, never freed
        correct = clean and rc == IMMORTAL_REFCNT and not freed
    elif config.scenario is Scenario.INC_INC:
        correct = clean and rc == 2 * config.n + 1 and not freed
    elif config.scenario is Scenario.DEC_DEC:
        correct = clean and rc == 0 and freed
    else:
        correct = clean and rc == 1 and not freed
    return Outcome(
        final_rc=rc,
        freed=freed,
        use_after_free=state.use_after_free,
        double_free=state.double_free,
        lost_updates=state.lost_updates,
        correct=correct,
    )
