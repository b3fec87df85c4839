"""Count every complete schedule exactly, grouped by outcome, with a witness for each group.

Schedules are astronomically many (inc-inc, mode none, n = 10: C(60, 30) ≈ 1.2e17), but they
pass through few distinct states. The explorer memoises, for each state, how many schedules
lead from it to each outcome group and which thread to run first to reach that group; a
group's count is then a sum over successor states, and a witness is rebuilt by following the
recorded first choices from the start.

States are merged on what can still change the outcome group: the counts of use-after-free
and double free shrink to "any yet?", the lost-update bookkeeping and the GIL's step counter
are dropped (the group ignores them), and a register is kept only while it is live (between
its read and its write).

In mode gil the explorer counts the schedules that switch threads only between whole calls,
whatever the interval: the GIL's interval picks one of them, the explorer counts them all.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from functools import lru_cache

from app.sim.errors import TooLarge
from app.sim.machine import Machine, State, outcome_of
from app.sim.model import MAX_N_EXPLORE, Config, Mode, Op, Scenario, Thread
from app.sim.schedule import format_schedule

MAX_STATES = 150_000
"""The explorer's budget: distinct merged states it may visit before it gives up with TooLarge.
Every scenario and mode fits at n <= MAX_N_EXPLORE (the largest, dec-dec in mode none at
n = 12, needs about 125,000); a few seconds of one core at most."""

OutcomeKey = tuple[int, bool, bool, bool]  # final_rc, freed, use_after_free?, double_free?
# Ops before which a register is still to be used (in modes biased and immortal the owner's
# register lives from load-local through is-owner to its store, and from take-local to merge).
_LIVE_REGISTER = frozenset(
    {Op.ADD, Op.SUB, Op.WRITE, Op.IS_OWNER, Op.STORE_LOCAL_INC, Op.STORE_LOCAL_DEC, Op.MERGE}
)


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeCount:
    final_rc: int
    freed: bool
    use_after_free: bool
    double_free: bool
    count: int
    witness: str  # a canonical schedule that reaches this outcome
    correct: bool  # the witness's outcome is the scenario's correct one (same for the group)

    @property
    def key(self) -> OutcomeKey:
        return (self.final_rc, self.freed, self.use_after_free, self.double_free)


@dataclass(frozen=True, slots=True, kw_only=True)
class Exploration:
    config: Config
    total: int
    outcomes: tuple[OutcomeCount, ...]  # sorted: correct first, then by count, descending
    states: int  # distinct merged states visited
    ops: dict[Thread, tuple[Op, ...]]  # every op each thread takes in some schedule, in order

    def atomic_or_locking(self, thread: Thread) -> tuple[Op, ...]:
        """The ops of `thread` that use an atomic instruction or take a lock, in any schedule."""
        return tuple(op for op in self.ops[thread] if op.atomic or op.locks)


class Explorer:
    """The memo of one config's state space: outcome counts from any reachable state.

    `explore()` builds one per question; challenges keep one per challenge to answer hints and
    live checks from any prefix a student has played."""

    def __init__(self, config: Config, *, max_states: int = MAX_STATES) -> None:
        self.machine = Machine(config, any_boundary=True)
        self.max_states = max_states
        self.memo: dict[tuple[object, ...], dict[OutcomeKey, int]] = {}
        self.ops: set[tuple[Thread, Op]] = set()  # (thread, op) of every step taken
        self._ops_a = tuple(i.op for i in self.machine.function(Thread.A).instructions)
        self._ops_b = tuple(i.op for i in self.machine.function(Thread.B).instructions)
        # Swapping A and B maps schedules one to one and keeps every outcome group, unless
        # the threads differ (inc-dec) or the object does (in mode biased A owns it).
        self.symmetric = config.scenario is not Scenario.INC_DEC and config.mode is not Mode.BIASED

    def key(self, state: State) -> tuple[object, ...]:
        a, b, lock = state.a, state.b, state.lock
        gil = state.gil if state.gil is not None and state.thread(state.gil).pc != 0 else None
        first = (
            a.pc,
            a.calls_done,
            a.stopped,
            lock is Thread.A,
            gil is Thread.A,
            a.register if a.stopped is None and self._ops_a[a.pc] in _LIVE_REGISTER else None,
        )
        second = (
            b.pc,
            b.calls_done,
            b.stopped,
            lock is Thread.B,
            gil is Thread.B,
            b.register if b.stopped is None and self._ops_b[b.pc] in _LIVE_REGISTER else None,
        )
        # Both threads run the same code: (x, y) and (y, x) count alike. Any fixed order of
        # the pair will do (a hash tie only costs a missed merge, never a wrong count).
        if self.symmetric and hash(second) < hash(first):
            first, second = second, first
        return (
            state.rc,
            state.freed,
            state.use_after_free > 0,
            state.double_free > 0,
            first,
            second,
            state.local,
            state.shared,
            state.owner,
            state.queued,
        )

    def counts(self, state: State) -> dict[OutcomeKey, int]:
        """Outcome group → number of complete schedules from `state` (memoised; don't mutate)."""
        key = self.key(state)
        known = self.memo.get(key)
        if known is not None:
            return known
        runnable = self.machine.runnable(state)
        if not runnable:
            outcome = (state.rc, state.freed, state.use_after_free > 0, state.double_free > 0)
            result = {outcome: 1}
        elif len(runnable) == 1:
            result = self.counts(self._successor(state, runnable[0]))
        else:
            first = self.counts(self._successor(state, runnable[0]))
            second = self.counts(self._successor(state, runnable[1]))
            result = dict(first)
            for outcome, count in second.items():
                result[outcome] = result.get(outcome, 0) + count
        if len(self.memo) >= self.max_states:
            raise TooLarge("n", f"this exploration needs more than {self.max_states:,} states")
        self.memo[key] = result
        return result

    def _successor(self, state: State, thread: Thread) -> State:
        successor, instruction, _ = self.machine.transition(state, thread)
        self.ops.add((thread, instruction.op))
        return successor

    def witness(self, outcome: OutcomeKey) -> tuple[str, State]:
        """Follow, from the start, any step that can still reach `outcome`."""
        state = self.machine.initial()
        threads: list[Thread] = []
        while not state.finished:
            for thread in self.machine.runnable(state):
                successor = self.machine.transition(state, thread)[0]
                if outcome in self.counts(successor):
                    threads.append(thread)
                    state = successor
                    break
        return format_schedule(threads), state


def _ops_in_code_order(explorer: Explorer, thread: Thread) -> tuple[Op, ...]:
    """The ops `thread` took in some schedule, in the order its function first uses them."""
    code = dict.fromkeys(i.op for i in explorer.machine.function(thread).instructions)
    return tuple(op for op in code if (thread, op) in explorer.ops)


def _max_depth(config: Config) -> int:
    machine = Machine(config)
    longest = max(len(machine.function(t).instructions) for t in (Thread.A, Thread.B))
    return 2 * config.n * longest


@lru_cache(maxsize=256)
def explore(scenario: Scenario, mode: Mode, n: int, *, max_states: int = MAX_STATES) -> Exploration:
    """Every complete schedule of (scenario, mode, n), counted exactly and grouped by outcome;
    TooLarge past `max_states` distinct states."""
    if not 1 <= n <= MAX_N_EXPLORE:
        raise TooLarge("n", f"the explorer takes n between 1 and {MAX_N_EXPLORE}, got {n}")
    config = Config(scenario=Scenario(scenario), mode=Mode(mode), n=n)
    explorer = Explorer(config, max_states=max_states)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, _max_depth(config) + 200))
    try:
        counts = explorer.counts(explorer.machine.initial())
    finally:
        sys.setrecursionlimit(limit)
    outcomes = []
    for key, count in counts.items():
        witness, final = explorer.witness(key)
        outcomes.append(
            OutcomeCount(
                final_rc=key[0],
                freed=key[1],
                use_after_free=key[2],
                double_free=key[3],
                count=count,
                witness=witness,
                correct=outcome_of(config, final).correct,
            )
        )
    outcomes.sort(key=lambda o: (not o.correct, -o.count, o.key))
    return Exploration(
        config=config,
        total=sum(o.count for o in outcomes),
        outcomes=tuple(outcomes),
        states=len(explorer.memo),
        ops={thread: _ops_in_code_order(explorer, thread) for thread in (Thread.A, Thread.B)},
    )
