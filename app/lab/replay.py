"""Turn what the hardware did into a simulator schedule: "replay this real race step by step".

The method. During the first `window` calls of an unlocked run (mode none) each C thread writes
every value it reads from the count (the `check`, `read` and `test` loads) into its own buffer;
nothing else is shared and no synchronisation is added inside the window. After the window the
threads meet once, and the count at that moment is recorded.

The records fix each thread's own path through its C function (a check that saw 0 fails, a test
that saw 0 frees) and the value of each of its writes (the value it read, plus or minus one).
What they do not say is how the two threads' steps were interleaved. We search for an
interleaving of the simulator's micro-steps in which every load returns the value that the
hardware recorded: a load sees the initial count or the latest write before it, so each state
of the search is (steps taken by A, steps taken by B, whose write came last), at most a few
hundred thousand states for the simulator's largest n. The last write must leave the count the
hardware had after the window (writes no load saw are pinned down by that). The search prefers
to keep running the same thread, so the schedule has as few switches as the records allow. For
a single memory location the hardware keeps one order of all accesses that agrees with each
thread's program order (cache coherence), so such an interleaving exists; the search finds one.

Its limits, which the page states too:
- It is *an* interleaving consistent with the records, not necessarily the one that happened:
  local steps (`add`, `sub`) and loads that saw an unchanged value can often move without
  changing anything the records show, and two writes of the same value are indistinguishable.
- Only the recorded window is replayed (at most the simulator's largest n calls per thread),
  and only mode none: the locked and atomic modes serialise whole updates, which the simulator
  already shows as they are. dec-dec replays only runs of at most that many calls, since its
  count starts at 2n (a window of a longer run starts far from where the simulator starts).
- The window is the start of the run. There one thread often gets the cache line first and
  makes several calls before the other's first access lands: real races come in bursts, and a
  replay often shows long runs of one thread with a few decisive switches.
- The hardware's writes are not recorded; they are inferred from the reads. A write that no
  load saw is placed wherever the search puts it, so the replay's lost updates are one account
  of the count the hardware ended with, which the replayed run reproduces exactly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

from app.lab.native import Recording
from app.sim import (
    MAX_N_SIMULATE,
    Config,
    Event,
    Mode,
    Op,
    Permalink,
    Run,
    Scenario,
    Thread,
    simulate,
)
from app.sim.program import Next, function_for

_LOADS = frozenset({Op.CHECK, Op.READ, Op.TEST})
# Events no correct run has: where a race shows. Freeing is one too, except in dec-dec, whose
# correct run ends by freeing the object.
_RACE_EVENTS = frozenset(
    {Event.LOST_UPDATE, Event.USE_AFTER_FREE, Event.DOUBLE_FREE, Event.FAILED_CHECK}
)
_INITIAL, _BY_A, _BY_B = 0, 1, 2


class ReplayError(ValueError):
    """The records do not fit the simulator's model (they should always fit; see above)."""


class _Access(NamedTuple):
    load: int | None  # the value a load must see
    store: int | None  # the value a store writes


@dataclass(frozen=True, slots=True, kw_only=True)
class Replay:
    scenario: Scenario
    n: int
    schedule: str  # canonical run-length form
    window_rc: int  # what the hardware's count was after the window
    # The replayed run where the race first shows (race_step), or at its first step when
    # nothing went wrong; the web layer makes it a link.
    permalink: Permalink
    race_step: int | None  # that step, None for a window in which nothing went wrong

    @property
    def switches(self) -> int:
        return sum(1 for character in self.schedule if character in "AB") - 1


def _accesses(scenario: Scenario, thread: Thread, reads: Sequence[int], n: int) -> list[_Access]:
    """The thread's micro-steps in the window, each with the value it loads or stores."""
    function = function_for(scenario, Mode.NONE, thread)
    steps: list[_Access] = []
    values = iter(reads)
    register = 0
    for _ in range(n):
        pc = 0
        while pc >= 0:
            instruction = function.instructions[pc]
            op = instruction.op
            target = instruction.next
            if op in _LOADS:
                try:
                    value = next(values)
                except StopIteration:
                    raise ReplayError(f"thread {thread.value} recorded too few values") from None
                steps.append(_Access(load=value, store=None))
                if op is Op.READ:
                    register = value
                elif (op is Op.CHECK and value <= 0) or (op is Op.TEST and value != 0):
                    assert instruction.branch is not None
                    target = instruction.branch
            elif op is Op.WRITE:
                steps.append(_Access(load=None, store=register))
            else:
                if op is Op.ADD:
                    register += 1
                elif op is Op.SUB:
                    register -= 1
                steps.append(_Access(load=None, store=None))
            pc = target
        if pc in (Next.STOP_FAILED, Next.STOP_FREED):
            break
    if next(values, None) is not None:
        raise ReplayError(f"thread {thread.value} recorded more values than its calls read")
    return steps


def _last_stores(accesses: Sequence[_Access]) -> list[int | None]:
    """For each position, the value of the thread's latest store before it (None: none yet)."""
    latest: list[int | None] = [None]
    for access in accesses:
        latest.append(access.store if access.store is not None else latest[-1])
    return latest


def interleave(
    a: Sequence[_Access], b: Sequence[_Access], initial: int, final: int
) -> list[Thread]:
    """An order of the two threads' accesses in which every load sees the latest store and
    the last store leaves `final`."""
    stores = (_last_stores(a), _last_stores(b))
    sides = (a, b)
    dead: set[tuple[int, int, int]] = set()
    path: list[Thread] = []

    def count(i: int, j: int, last: int) -> int | None:
        if last == _INITIAL:
            return initial
        return stores[0][i] if last == _BY_A else stores[1][j]

    # Depth-first, iteratively (a window's steps would strain Python's recursion limit).
    # Each frame: (i, j, last, threads still to try).
    frames: list[tuple[int, int, int, list[int]]] = [(0, 0, _INITIAL, [0, 1])]
    while frames:
        i, j, last, options = frames[-1]
        if i == len(a) and j == len(b) and count(i, j, last) == final:
            return path
        moved = False
        while options:
            side = options.pop(0)
            position = (i, j)[side]
            if position == len(sides[side]):
                continue
            access = sides[side][position]
            if access.load is not None and access.load != count(i, j, last):
                continue
            ni, nj = (i + 1, j) if side == 0 else (i, j + 1)
            nlast = last if access.store is None else (_BY_A if side == 0 else _BY_B)
            if (ni, nj, nlast) in dead:
                continue
            path.append(Thread.A if side == 0 else Thread.B)
            frames.append((ni, nj, nlast, [side, 1 - side]))  # keep the same thread first
            moved = True
            break
        if not moved:
            dead.add((i, j, last))
            frames.pop()
            if path:
                path.pop()
    raise ReplayError("no interleaving of the simulator's steps explains these records")


def race_step(run: Run) -> int | None:
    """Where the race first shows in a replayed run: the first step with an event no correct
    run has (a lost update, a touch of freed memory, a second free, a failed check, a free in
    a scenario that must keep the object); None when nothing went wrong in the window."""
    wrong = _RACE_EVENTS
    if run.config.scenario is not Scenario.DEC_DEC:
        wrong |= {Event.FREED}
    return next((step.index for step in run.steps if wrong & set(step.events)), None)


def replay(recording: Recording) -> Replay:
    """The schedule that makes the simulator read what the hardware read, and its /sim link."""
    n = recording.window
    if not 1 <= n <= MAX_N_SIMULATE:
        raise ReplayError(f"the window must be from 1 to {MAX_N_SIMULATE} calls")
    scenario = recording.scenario
    initial = 2 * n if scenario is Scenario.DEC_DEC else 1
    a = _accesses(scenario, Thread.A, recording.reads_a, n)
    b = _accesses(scenario, Thread.B, recording.reads_b, n)
    order = interleave(a, b, initial, recording.window_rc)
    run = simulate(Config(scenario=scenario, mode=Mode.NONE, n=n), "".join(order))
    first = race_step(run)
    return Replay(
        scenario=scenario,
        n=n,
        schedule=run.schedule,
        window_rc=recording.window_rc,
        permalink=Permalink.of(run, first or 0),
        race_step=first,
    )
