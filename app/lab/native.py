"""The native lab's typed face: the only module that touches the compiled `app._native` lib.

Each call runs the seed's C race (native/race.c) on two pthreads pinned to two CPUs and
returns frozen records. cffi releases the GIL for the call, so the C threads run truly in
parallel with the server; callers still run these off the event loop (app.lab.jobs).

Freeing comes in two kinds:
- `observed` (the default) runs in this process. A freed object is quarantined: its memory
  stays as it was, each later access and each second free is counted, and it is released only
  after both threads have been joined. Nothing here ever frees an object a thread can reach.
- `real` forks a child that calls free() for real. What happens there (glibc aborting on a
  double free or a corrupted free list, a segfault, a thread hung on a freed mutex) is the
  result: the signal's name and what the C library printed. The server process never shares
  its fate.
"""

from __future__ import annotations

import enum
import os
import signal
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from app._native import ffi, lib
from app.sim import MAX_N_SIMULATE, Mode, Scenario

MAX_ITERATIONS = 2_000_000
"""Calls per thread: a contended mutex run of this size takes about half a second."""

MAX_RUNS = 50
MAX_COST_ITERATIONS = 2_000_000
REPLAY_WINDOW = MAX_N_SIMULATE
"""Calls per thread whose reads are recorded: the simulator replays at most this many."""

def child_timeout_ms(iterations: int) -> int:
    """How long a real-free child may run before it is killed as hung (on a mutex in freed
    memory, typically): a second, plus 2 µs per call, ten times a contended mutex's cost."""
    return 1_000 + 2 * iterations // 1_000

_READS_PER_CALL = 3  # check, read, test: RACE_READS_PER_CALL in race.h
_MESSAGE_BYTES = 1024

NATIVE_MODES = (Mode.NONE, Mode.GLOBAL_LOCK, Mode.OBJECT_LOCK, Mode.UNLOCK_THEN_FREE, Mode.ATOMIC)
# Modes the lock-cost table times: unlock-then-free's inc_ref is object-lock's.
COST_MODES = (Mode.NONE, Mode.GLOBAL_LOCK, Mode.OBJECT_LOCK, Mode.ATOMIC)
_EXPERIMENT_CODES = {Scenario.INC_INC: 0, Scenario.INC_DEC: 1, Scenario.DEC_DEC: 2}
_MODE_CODES = {
    Mode.NONE: 0,
    Mode.GLOBAL_LOCK: 1,
    Mode.OBJECT_LOCK: 2,
    Mode.ATOMIC: 3,
    Mode.UNLOCK_THEN_FREE: 6,  # RACE_UNLOCK_THEN_FREE
}


def counterpart(mode: Mode) -> Mode | None:
    """The native mode that runs what the simulator's `mode` runs (None: none does). The GIL
    keeps whole calls apart, which is what one global lock around each call does."""
    mode = Mode.GLOBAL_LOCK if mode is Mode.GIL else Mode(mode)
    return mode if mode in NATIVE_MODES else None


class Freeing(enum.StrEnum):
    OBSERVED = "observed"
    REAL = "real"


class Layout(enum.StrEnum):
    """Where the threads and objects of a lock-cost measurement sit."""

    ONE_THREAD = "one-thread"  # one thread, one object
    ONE_OBJECT = "one-object"  # two threads share one object
    TWO_OBJECTS = "two-objects"  # two threads, an object each, on separate cache lines
    FALSE_SHARING = "false-sharing"  # two threads, an object each, both in one cache line

    @property
    def threads(self) -> int:
        return 1 if self is Layout.ONE_THREAD else 2

    @property
    def objects(self) -> int:
        return 2 if self in (Layout.TWO_OBJECTS, Layout.FALSE_SHARING) else 1

    @property
    def description(self) -> str:
        return _LAYOUT_DESCRIPTIONS[self]

    @property
    def label(self) -> str:
        """A short form of the description, for charts."""
        return _LAYOUT_LABELS[self]


_LAYOUT_DESCRIPTIONS = {
    Layout.ONE_THREAD: "one thread, one object",
    Layout.ONE_OBJECT: "two threads, one shared object",
    Layout.TWO_OBJECTS: "two threads, two objects on separate cache lines",
    Layout.FALSE_SHARING: "two threads, two objects sharing one cache line (false sharing)",
}
_LAYOUT_LABELS = {
    Layout.ONE_THREAD: "1 thread, 1 object",
    Layout.ONE_OBJECT: "2 threads, 1 shared object",
    Layout.TWO_OBJECTS: "2 threads, 2 objects, separate cache lines",
    Layout.FALSE_SHARING: "2 threads, 2 objects, 1 cache line (false sharing)",
}
_LAYOUT_CODES = {
    Layout.ONE_THREAD: 0,
    Layout.ONE_OBJECT: 1,
    Layout.TWO_OBJECTS: 2,
    Layout.FALSE_SHARING: 3,
}


class NativeError(RuntimeError):
    """The C side could not run the experiment (a failed pthread or fork call)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RaceResult:
    """One run. The counts are None when a real-free child crashed before it could report."""

    final_rc: int | None
    expected_rc: int | None  # the initial count plus completed increments minus decrements
    lost_updates: int | None  # |expected_rc - final_rc|: updates missing from the final count
    freed: bool | None
    use_after_free: int | None
    double_free: int | None
    failed_checks: int | None
    # The first value a thread loaded from the count after the free (None: no load did). With
    # observed freeing the memory keeps its last value; with real freeing it is what glibc
    # wrote over it, which is what inc-dec's check after the free really reads.
    freed_read: int | None
    crashed: str | None  # e.g. "SIGABRT: free(): double free detected in tcache 2"
    elapsed_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Recording:
    """The values each thread read during its first `window` calls (check, read, test, in
    program order), and the count when both had left the window. No synchronisation was added
    inside the window; the threads met only once, after it."""

    scenario: Scenario
    window: int
    reads_a: tuple[int, ...]
    reads_b: tuple[int, ...]
    window_rc: int


@dataclass(frozen=True, slots=True, kw_only=True)
class CostRow:
    mode: Mode
    layout: Layout
    threads: int
    objects: int
    ns_per_op: float  # wall time divided by the calls each thread made


def cpu_count() -> int:
    """CPUs this process may run on: with one, no race can show."""
    return len(os.sched_getaffinity(0))


def _params(
    scenario: Scenario, mode: Mode, iterations: int, *, real_free: bool, record_calls: int
) -> Any:
    if mode not in _MODE_CODES:
        raise ValueError(f"mode {mode.value!r} has no native experiment")
    if not 0 <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must be from 0 to {MAX_ITERATIONS}")
    return ffi.new(
        "race_params *",
        {
            "experiment": _EXPERIMENT_CODES[Scenario(scenario)],
            "mode": _MODE_CODES[Mode(mode)],
            "iterations": iterations,
            "real_free": int(real_free),
            "record_calls": record_calls,
        },
    )


def _initial_rc(scenario: Scenario, iterations: int) -> int:
    return 2 * iterations if scenario is Scenario.DEC_DEC else 1


def _result_of(raw: Any, scenario: Scenario, iterations: int, *, real: bool) -> RaceResult:
    expected = _initial_rc(scenario, iterations) + raw.increments - raw.decrements
    freed = raw.frees > 0
    final = int(raw.final_rc)
    # After a real free glibc writes its free-list pointer over the count: no lost updates
    # can be read off it.
    lost = None if real and freed else abs(expected - final)
    return RaceResult(
        final_rc=final,
        expected_rc=expected,
        lost_updates=lost,
        freed=freed,
        use_after_free=int(raw.use_after_free),
        double_free=int(raw.double_free),
        failed_checks=int(raw.failed_checks),
        freed_read=int(raw.freed_value) if raw.read_freed else None,
        crashed=None,
        elapsed_ns=int(raw.elapsed_ns),
    )


def _crash_text(signal_number: int, message: str) -> str:
    try:
        name = signal.Signals(signal_number).name
    except ValueError:
        name = f"signal {signal_number}"
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return f"{name}: {lines[0]}" if lines else name


def run_race(
    scenario: Scenario,
    mode: Mode,
    iterations: int,
    *,
    freeing: Freeing = Freeing.OBSERVED,
) -> RaceResult:
    """One run of the experiment; blocking (up to about a second, or child_timeout_ms)."""
    scenario = Scenario(scenario)
    result = ffi.new("race_result *")
    if Freeing(freeing) is Freeing.OBSERVED:
        params = _params(scenario, mode, iterations, real_free=False, record_calls=0)
        if lib.race_run(params, result, ffi.NULL, ffi.NULL) != 0:
            raise NativeError("the C experiment could not start its threads")
        return _result_of(result, scenario, iterations, real=False)

    params = _params(scenario, mode, iterations, real_free=True, record_calls=0)
    message = ffi.new("char[]", _MESSAGE_BYTES)
    started = time.perf_counter_ns()
    timeout = child_timeout_ms(iterations)
    status = lib.race_run_in_child(params, result, message, _MESSAGE_BYTES, timeout)
    elapsed = time.perf_counter_ns() - started
    if status < 0:
        raise NativeError("the C experiment could not run in a child process")
    if status > 0:
        text = ffi.string(message).decode("utf-8", errors="replace")
        return RaceResult(
            final_rc=None,
            expected_rc=None,
            lost_updates=None,
            freed=None,
            use_after_free=None,
            double_free=None,
            failed_checks=None,
            freed_read=None,
            crashed=_crash_text(status, text),
            elapsed_ns=elapsed,
        )
    return _result_of(result, scenario, iterations, real=True)


def run_races(
    scenario: Scenario,
    mode: Mode,
    iterations: int,
    runs: int,
    *,
    freeing: Freeing = Freeing.OBSERVED,
) -> Iterator[RaceResult]:
    """`runs` runs, one at a time (each blocking); stop iterating to stop early."""
    if not 1 <= runs <= MAX_RUNS:
        raise ValueError(f"runs must be from 1 to {MAX_RUNS}")
    for _ in range(runs):
        yield run_race(scenario, mode, iterations, freeing=freeing)


def record_race(
    scenario: Scenario, iterations: int, *, window: int = REPLAY_WINDOW
) -> tuple[RaceResult, Recording]:
    """One unlocked run (mode none, observed freeing) whose first `window` calls per thread
    record every value they read, for app.lab.replay to turn into a simulator schedule."""
    scenario = Scenario(scenario)
    if not 1 <= window <= min(REPLAY_WINDOW, max(iterations, 1)):
        raise ValueError(f"window must be from 1 to {min(REPLAY_WINDOW, iterations)}")
    params = _params(scenario, Mode.NONE, iterations, real_free=False, record_calls=window)
    result = ffi.new("race_result *")
    capacity = window * _READS_PER_CALL
    reads_a = ffi.new("long[]", capacity)
    reads_b = ffi.new("long[]", capacity)
    if lib.race_run(params, result, reads_a, reads_b) != 0:
        raise NativeError("the C experiment could not start its threads")
    recording = Recording(
        scenario=scenario,
        window=window,
        reads_a=tuple(reads_a[0 : result.recorded_a]),
        reads_b=tuple(reads_b[0 : result.recorded_b]),
        window_rc=int(result.window_rc),
    )
    return _result_of(result, scenario, iterations, real=False), recording


def measure_cost(mode: Mode, layout: Layout, iterations: int) -> float:
    """Nanoseconds per inc_ref for one mode and layout (blocking)."""
    if not 1 <= iterations <= MAX_COST_ITERATIONS:
        raise ValueError(f"iterations must be from 1 to {MAX_COST_ITERATIONS}")
    ns = float(lib.race_cost(_MODE_CODES[Mode(mode)], _LAYOUT_CODES[Layout(layout)], iterations))
    if ns < 0:
        raise NativeError("the C cost measurement could not start its threads")
    return ns


def cost_table(iterations: int) -> tuple[CostRow, ...]:
    """Every mode in every layout: what each kind of lock costs, and what it serialises."""
    return tuple(
        CostRow(
            mode=mode,
            layout=layout,
            threads=layout.threads,
            objects=layout.objects,
            ns_per_op=measure_cost(mode, layout, iterations),
        )
        for mode in COST_MODES
        for layout in Layout
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class RelativeCost:
    """How many plain increments one update under `mode` costs, in one layout."""

    mode: Mode
    layout: Layout
    times_plain: float


def relative_costs(rows: Sequence[CostRow], layout: Layout) -> tuple[RelativeCost, ...]:
    """Each locking mode's cost in `layout` over the plain increment's in the same layout,
    from a measured table: what a page says about "N times a plain increment" comes from here,
    never from prose. Empty when the table lacks the plain row or it measured 0."""
    in_layout = [row for row in rows if row.layout is layout]
    plain = next((row.ns_per_op for row in in_layout if row.mode is Mode.NONE), 0.0)
    if plain <= 0:
        return ()
    return tuple(
        RelativeCost(mode=row.mode, layout=layout, times_plain=row.ns_per_op / plain)
        for row in in_layout
        if row.mode is not Mode.NONE
    )
