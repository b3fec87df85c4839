"""The native lab's typed face: the only module that touches the compiled `app._native` lib.

Each call runs the seed's C race (native/race.c) on two pthreads pinned to two CPUs and
returns frozen records. The modes, scenarios and layouts reach C by the names of race.h's enums
(`Mode.BIASED` is `RACE_BIASED`), which cffi reads from the header itself: a mode exists natively
exactly when race.h has it. cffi releases the GIL for the call, so the C threads run truly in
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
import statistics
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from app._native import ffi, lib
from app.lab.conditions import Spread
from app.sim import MAX_N_SIMULATE, Mode, Scenario

MAX_ITERATIONS = 2_000_000
"""Calls per thread: a contended mutex run of this size takes about half a second."""

MAX_RUNS = 50
MAX_COST_ITERATIONS = 2_000_000
MAX_COST_REPEATS = 15
MAX_COST_CALLS = MAX_COST_ITERATIONS
"""Calls per thread per cell over all passes: the work one measurement may ask for."""
REPLAY_WINDOW = MAX_N_SIMULATE
"""Calls per thread whose reads are recorded: the simulator replays at most this many."""


def child_timeout_ms(iterations: int) -> int:
    """How long a real-free child may run before it is killed as hung (on a mutex in freed
    memory, typically): a second, plus 2 µs per call, ten times a contended mutex's cost."""
    return 1_000 + 2 * iterations // 1_000


_MESSAGE_BYTES = 1024


def _code(member: enum.Enum) -> int | None:
    """The value of race.h's enum constant for a scenario, mode or layout, if it has one."""
    code = getattr(lib, f"RACE_{member.name}", None)
    return None if code is None else int(code)


_MODE_CODES = {mode: code for mode in Mode if (code := _code(mode)) is not None}
NATIVE_MODES = tuple(_MODE_CODES)
"""The modes race.c implements, in the simulator's order."""
_EXPERIMENT_CODES = {scenario: _code(scenario) for scenario in Scenario}
IMMORTAL_RC = int(lib.RACE_IMMORTAL_RC)
"""An immortal object's count (what sys.getrefcount reports for one on 3.12 and 3.13)."""
COST_MODES = tuple(mode for mode in NATIVE_MODES if mode is not Mode.UNLOCK_THEN_FREE)
"""Modes the lock-cost table times: unlock-then-free's inc_ref is object-lock's."""


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
    NOT_OWNER = "not-owner"  # biased only: one thread, an object another thread owns

    @property
    def threads(self) -> int:
        return 1 if self in (Layout.ONE_THREAD, Layout.NOT_OWNER) else 2

    def measures(self, mode: Mode) -> bool:
        """Whether the cost table has this layout for `mode` (not-owner only means something
        where objects have owners)."""
        return self is not Layout.NOT_OWNER or mode is Mode.BIASED

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
    Layout.NOT_OWNER: "one thread, one object another thread owns",
}
_LAYOUT_LABELS = {
    Layout.ONE_THREAD: "1 thread, 1 object",
    Layout.ONE_OBJECT: "2 threads, 1 shared object",
    Layout.TWO_OBJECTS: "2 threads, 2 objects, separate cache lines",
    Layout.FALSE_SHARING: "2 threads, 2 objects, 1 cache line (false sharing)",
    Layout.NOT_OWNER: "1 thread, 1 object owned by another",
}


class NativeError(RuntimeError):
    """The C side could not run the experiment (a failed pthread or fork call)."""


SharedFlags = Literal["none", "maybe-weakref", "queued", "merged"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitCount:
    """The free-threaded header at the end of a run (modes biased and immortal): the owner's
    count, the shared word (count << 2 | flags), and what the merge protocol did."""

    ref_local: int
    ref_shared: int
    owned: bool  # A still owns the object: its counts were never merged
    queued: int  # times B queued the object to its owner
    merges: int  # merges of the two counts (the owner's zero local count, its queue, or B's)

    @property
    def shared_count(self) -> int:
        return self.ref_shared >> int(lib.RACE_SHARED_SHIFT)

    @property
    def flags(self) -> SharedFlags:
        return _FLAG_NAMES[self.ref_shared & int(lib.RACE_SHARED_FLAGS)]


_FLAG_NAMES: dict[int, SharedFlags] = {
    0: "none",
    int(lib.RACE_SHARED_MAYBE_WEAKREF): "maybe-weakref",
    int(lib.RACE_SHARED_QUEUED): "queued",
    int(lib.RACE_SHARED_MERGED): "merged",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class NativeRun:
    """One run of the C race. The counts are None when a real-free child crashed before it could
    report."""

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
    split: SplitCount | None = None  # modes biased and immortal, when the run reported


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
    """One cell of the cost table, measured `len(samples)` times."""

    mode: Mode
    layout: Layout
    threads: int
    objects: int
    samples: tuple[float, ...]  # each pass: wall time divided by the calls each thread made
    thread_ns: tuple[float, ...]  # each thread's own time per call, median over the passes

    @property
    def spread(self) -> Spread:
        return Spread.of(self.samples)

    @property
    def ns_per_op(self) -> float:
        """The median pass."""
        return self.spread.median


def cpu_count() -> int:
    """CPUs this process may run on: with one, no race can show."""
    return len(os.sched_getaffinity(0))


def _params(
    scenario: Scenario, mode: Mode, iterations: int, *, real_free: bool, record_calls: int
) -> Any:
    if Mode(mode) not in _MODE_CODES:
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


def _initial_rc(scenario: Scenario, mode: Mode, iterations: int) -> int:
    if mode is Mode.IMMORTAL:
        return IMMORTAL_RC
    return 2 * iterations if scenario is Scenario.DEC_DEC else 1


def _result_of(
    raw: Any, scenario: Scenario, mode: Mode, iterations: int, *, real: bool
) -> NativeRun:
    # Calls on an immortal object write nothing, so C counts them as no increment or decrement.
    expected = _initial_rc(scenario, mode, iterations) + raw.increments - raw.decrements
    freed = raw.frees > 0
    final = int(raw.final_rc)
    # After a real free glibc writes its free-list pointer over the count: no lost updates
    # can be read off it.
    lost = None if real and freed else abs(expected - final)
    return NativeRun(
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
        # After a real free the header is glibc's free-list pointer, not counts.
        split=_split_of(raw) if mode.free_threaded and lost is not None else None,
    )


def _split_of(raw: Any) -> SplitCount:
    return SplitCount(
        ref_local=int(raw.ref_local),
        ref_shared=int(raw.ref_shared),
        owned=bool(raw.owned),
        queued=int(raw.queued),
        merges=int(raw.merges),
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
) -> NativeRun:
    """One run of the experiment; blocking (up to about a second, or child_timeout_ms)."""
    scenario, mode = Scenario(scenario), Mode(mode)
    result = ffi.new("race_result *")
    if Freeing(freeing) is Freeing.OBSERVED:
        params = _params(scenario, mode, iterations, real_free=False, record_calls=0)
        if lib.race_run(params, result, ffi.NULL, ffi.NULL) != 0:
            raise NativeError("the C experiment could not start its threads")
        return _result_of(result, scenario, mode, iterations, real=False)

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
        return NativeRun(
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
    return _result_of(result, scenario, mode, iterations, real=True)


def run_races(
    scenario: Scenario,
    mode: Mode,
    iterations: int,
    runs: int,
    *,
    freeing: Freeing = Freeing.OBSERVED,
) -> Iterator[NativeRun]:
    """`runs` runs, one at a time (each blocking); stop iterating to stop early."""
    if not 1 <= runs <= MAX_RUNS:
        raise ValueError(f"runs must be from 1 to {MAX_RUNS}")
    for _ in range(runs):
        yield run_race(scenario, mode, iterations, freeing=freeing)


def record_race(
    scenario: Scenario, iterations: int, *, window: int = REPLAY_WINDOW
) -> tuple[NativeRun, Recording]:
    """One unlocked run (mode none, observed freeing) whose first `window` calls per thread
    record every value they read, for app.lab.replay to turn into a simulator schedule."""
    scenario = Scenario(scenario)
    if not 1 <= window <= min(REPLAY_WINDOW, max(iterations, 1)):
        raise ValueError(f"window must be from 1 to {min(REPLAY_WINDOW, iterations)}")
    params = _params(scenario, Mode.NONE, iterations, real_free=False, record_calls=window)
    result = ffi.new("race_result *")
    capacity = window * int(lib.RACE_READS_PER_CALL)
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
    return _result_of(result, scenario, Mode.NONE, iterations, real=False), recording


def _cost_pass(mode: Mode, layout: Layout, iterations: int) -> tuple[float, tuple[float, ...]]:
    """One timed run of a cell: (wall ns per call, each thread's own ns per call)."""
    result = ffi.new("race_cost_result *")
    if lib.race_cost(_MODE_CODES[mode], _code(layout), iterations, result) != 0:
        raise NativeError("the C cost measurement could not start its threads")
    return float(result.ns_per_op), tuple(float(ns) for ns in result.thread_ns[0 : layout.threads])


def cost_repeats_rule(iterations: int) -> str:
    """What `repeats` may be with `iterations` calls per pass, in words."""
    most = min(MAX_COST_REPEATS, MAX_COST_CALLS // iterations)
    return (
        f"repeats must be from 1 to {most} with iterations={iterations:,} (at most "
        f"{MAX_COST_REPEATS} passes and {MAX_COST_CALLS:,} calls per cell in all)"
    )


def cost_table(iterations: int, repeats: int = 1) -> tuple[CostRow, ...]:
    """Every mode in every layout it has, `repeats` passes over all cells (so that a burst of
    other work on the machine hits every cell alike, not a few whole ones): what each kind of
    lock costs, and what it serialises. Blocking."""
    if not 1 <= iterations <= MAX_COST_ITERATIONS:
        raise ValueError(f"iterations must be from 1 to {MAX_COST_ITERATIONS}")
    if not 1 <= repeats <= min(MAX_COST_REPEATS, MAX_COST_CALLS // iterations):
        raise ValueError(cost_repeats_rule(iterations))
    cells = [(mode, layout) for mode in COST_MODES for layout in Layout if layout.measures(mode)]
    passes = [[_cost_pass(mode, layout, iterations) for mode, layout in cells]
              for _ in range(repeats)]  # fmt: skip
    rows = []
    for index, (mode, layout) in enumerate(cells):
        measured = [one_pass[index] for one_pass in passes]
        rows.append(
            CostRow(
                mode=mode,
                layout=layout,
                threads=layout.threads,
                objects=layout.objects,
                samples=tuple(wall for wall, _ in measured),
                thread_ns=tuple(
                    statistics.median(per_thread[thread] for _, per_thread in measured)
                    for thread in range(layout.threads)
                ),
            )
        )
    return tuple(rows)


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
