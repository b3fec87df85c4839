"""Real GIL hand-overs: measured in a fresh interpreter, derived into slices.

`measure_timeline` runs scripts/gil_slices.py, where K CPU-bound threads each record the runs
of time in which they could read the clock. `derive_timeline` (pure, testable on synthetic
records) turns those runs into who held the GIL when:

- Runs of all threads are taken in order of start. Consecutive runs of one thread form one
  slice (a short gap in which nobody else ran is the OS, not a hand-over).
- A slice ends when another thread's run begins; that is one hand-over.
- Runs of two threads that overlap would mean two threads ran Python at once (a free-threaded
  build): the later one is clipped to start where the earlier ends, and the overlap is counted.
- The first and last slices are cut short by the start and the end of the measurement, so the
  median slice leaves them out when there are others.

The white space in a measured timeline is time no thread read the clock, and it comes in two
kinds, which the timeline measures apart:

- hand-over gaps, between the last sample of one slice and the first of the next: the old
  holder dropped the GIL and signalled, and the waiting thread had to be woken by the OS,
  given a core and take the GIL (tens of microseconds on an idle machine; milliseconds when
  other processes hold the cores);
- stalls, inside one thread's slice: the holder stopped reading the clock though nobody else
  ran, because the OS ran other work on its core while it held the GIL. Stalls are why slices
  outgrow the interval on a busy machine.

Gaps shorter than the sampler's threshold (GAP_US) are not seen at all.
"""

from __future__ import annotations

import itertools
import statistics
import string
from collections.abc import Sequence
from dataclasses import dataclass

from app.lab.conditions import Conditions, Spread, busy_during
from app.lab.interpreters import Interpreter

MIN_INTERVAL_MS = 0.1
MAX_INTERVAL_MS = 50.0
MIN_DURATION_MS = 50
MAX_DURATION_MS = 2000
MIN_THREADS = 2
MAX_THREADS = 4
# A thread that did not read the clock for this long was not holding the GIL.
GAP_US = 20.0
# Bins of the slice-length histogram, in units of the switch interval.
_BIN_WIDTH = 0.25
_BINS = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    """A stretch of time in which one thread kept reading the clock."""

    thread: int
    start_ns: int
    end_ns: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Slice:
    """A stretch of time in which one thread held the GIL."""

    thread: str
    start_ms: float
    end_ms: float

    @property
    def length_ms(self) -> float:
        return self.end_ms - self.start_ms


@dataclass(frozen=True, slots=True, kw_only=True)
class Bin:
    """Slices whose length lies in [from_ms, to_ms); the last bin has no upper end."""

    from_ms: float
    to_ms: float | None
    count: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Timeline:
    interval_ms: float
    duration_ms: float
    python: str
    gil_enabled: bool
    threads: tuple[str, ...]
    slices: tuple[Slice, ...]
    handoffs: int
    median_slice_ms: float | None
    distribution: tuple[Bin, ...]
    overlap_ms: float  # time two threads ran at once: zero under a GIL
    handover_gaps_ms: tuple[float, ...]  # between consecutive slices, in order
    stalls_ms: tuple[float, ...]  # pauses of the holder inside its slices, in order
    conditions: Conditions | None = None  # how busy the machine was; None if not measured

    @property
    def handover_gaps(self) -> Spread | None:
        return Spread.of(self.handover_gaps_ms) if self.handover_gaps_ms else None

    @property
    def stalls(self) -> Spread | None:
        return Spread.of(self.stalls_ms) if self.stalls_ms else None


def thread_name(index: int) -> str:
    """Threads are named A, B, C, ... like the simulator's."""
    return string.ascii_uppercase[index]


def runs_from_edges(edges_per_thread: Sequence[Sequence[int]]) -> tuple[Run, ...]:
    """The script's flat [start0, end0, start1, end1, ...] lists, as runs."""
    runs = []
    for thread, edges in enumerate(edges_per_thread):
        if len(edges) % 2:
            raise ValueError(f"thread {thread_name(thread)} has an odd number of run edges")
        for start, end in zip(edges[0::2], edges[1::2], strict=True):
            if end < start:
                raise ValueError(
                    f"thread {thread_name(thread)} has a run that ends before it starts"
                )
            runs.append(Run(thread=thread, start_ns=start, end_ns=end))
    return tuple(runs)


def derive_timeline(
    runs: Sequence[Run],
    *,
    interval_ms: float,
    duration_ms: float,
    threads: int,
    python: str = "",
    gil_enabled: bool = True,
    conditions: Conditions | None = None,
) -> Timeline:
    """Who held the GIL when, from every thread's runs (see the module docstring)."""
    ordered = sorted(runs, key=lambda run: (run.start_ns, run.end_ns))
    holders: list[list[int]] = []  # [thread, start_ns, end_ns] of each slice, merged in place
    overlap_ns = 0
    stalls_ns: list[int] = []
    for run in ordered:
        if holders and holders[-1][0] == run.thread:
            if run.start_ns > holders[-1][2]:
                stalls_ns.append(run.start_ns - holders[-1][2])
            holders[-1][2] = max(holders[-1][2], run.end_ns)
            continue
        start = run.start_ns
        if holders and start < holders[-1][2]:
            clipped = min(run.end_ns, holders[-1][2])
            overlap_ns += clipped - start
            start = clipped
        if start >= run.end_ns and holders:
            continue  # wholly inside another thread's slice
        holders.append([run.thread, start, run.end_ns])
    slices = tuple(
        Slice(thread=thread_name(thread), start_ms=start / 1e6, end_ms=end / 1e6)
        for thread, start, end in holders
    )
    gaps = [after.start_ms - before.end_ms for before, after in itertools.pairwise(slices)]
    return Timeline(
        interval_ms=interval_ms,
        duration_ms=duration_ms,
        python=python,
        gil_enabled=gil_enabled,
        threads=tuple(thread_name(index) for index in range(threads)),
        slices=slices,
        handoffs=max(0, len(slices) - 1),
        median_slice_ms=median_slice_ms(slices),
        distribution=distribution(slices, interval_ms=interval_ms),
        overlap_ms=overlap_ns / 1e6,
        handover_gaps_ms=tuple(gaps),
        stalls_ms=tuple(stall / 1e6 for stall in stalls_ns),
        conditions=conditions,
    )


def _whole(slices: Sequence[Slice]) -> Sequence[Slice]:
    """The slices not cut short by the start or the end of the measurement."""
    return slices[1:-1] if len(slices) > 2 else slices


def median_slice_ms(slices: Sequence[Slice]) -> float | None:
    whole = _whole(slices)
    if not whole:
        return None
    return statistics.median(piece.length_ms for piece in whole)


def distribution(slices: Sequence[Slice], *, interval_ms: float) -> tuple[Bin, ...]:
    """How many slices last 0-¼, ¼-½, ... of the interval, and how many last 3 intervals or more."""
    width = interval_ms * _BIN_WIDTH
    counts = [0] * (_BINS + 1)
    for piece in _whole(slices):
        counts[min(_BINS, int(piece.length_ms / width))] += 1
    return tuple(
        Bin(
            from_ms=round(index * width, 6),
            to_ms=round((index + 1) * width, 6) if index < _BINS else None,
            count=count,
        )
        for index, count in enumerate(counts)
    )


def measure_timeline(
    interpreter: Interpreter, *, interval_ms: float, duration_ms: float, threads: int = 2
) -> Timeline:
    """Run the measurement in a fresh process of `interpreter` (blocking: call it through a
    JobRunner)."""
    if not MIN_INTERVAL_MS <= interval_ms <= MAX_INTERVAL_MS:
        raise ValueError(f"interval_ms must lie in {MIN_INTERVAL_MS}..{MAX_INTERVAL_MS}")
    if not MIN_DURATION_MS <= duration_ms <= MAX_DURATION_MS:
        raise ValueError(f"duration_ms must lie in {MIN_DURATION_MS}..{MAX_DURATION_MS}")
    if not MIN_THREADS <= threads <= MAX_THREADS:
        raise ValueError(f"threads must lie in {MIN_THREADS}..{MAX_THREADS}")
    report, seen = busy_during(
        lambda: interpreter.run(
            "gil_slices", interval_ms, duration_ms, threads, GAP_US, timeout=timeout_s(duration_ms)
        )
    )
    return derive_timeline(
        runs_from_edges(report["threads"]),
        interval_ms=interval_ms,
        duration_ms=duration_ms,
        threads=threads,
        python=str(report["python"]),
        gil_enabled=bool(report["gil_enabled"]),
        conditions=seen,
    )


def timeout_s(duration_ms: float) -> float:
    """Start-up, the run itself, the last slices to notice the deadline, and slack."""
    return 5.0 + 2 * duration_ms / 1000


def explain_median_slice(median_slice_ms: float, interval_ms: float) -> str:
    """Why two CPU-bound threads kept the GIL this long, against the switch interval."""
    ratio = median_slice_ms / interval_ms
    if ratio <= 1.5:
        return (
            f"{median_slice_ms:.2f} ms: two CPU-bound threads each kept the GIL about one "
            "switch interval before the waiting one asked for it and got it."
        )
    return (
        f"{median_slice_ms:.2f} ms, {ratio:.1f} times the switch interval: the waiting thread "
        "needs a core of its own to time out and ask for the GIL, and on a busy host the OS "
        "runs it late, so the holder's slices stretch."
    )
