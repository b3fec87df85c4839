"""Measurements given at once, for tests that check a page or a flow rather than a measurement.

`GivenMeasurements` stands in for the app's runner of timed experiments (`deps.measurements`):
asked for a GIL timeline, the I/O or CPU rounds, a race or the interpreter's facts, it answers
at once with a result of the shape the parameters ask for, with figures as an idle two-core
machine gives them; `GivenNativeRuns` does the same for the native lab's lock-cost table and
its runs of the race (`trial`). A real measurement takes seconds on a quiet machine and over
15 s on a busy one, the GIL lab's queue machine-wide behind every other (JobRunner's
`exclusive` lock), and the lab's C runs wait at nice 19 behind everything else on the machine,
so a page test that waits on one fails by the load, not by the page. The measurements
themselves are tested for real (tests/lab, tests/web/lab, and the tests marked `measures`).

    with given_measurements(app):  # /gil, /versions' rows, /lab's runs and /lab/cost at once
        ...
"""

from __future__ import annotations

import platform
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial
from urllib.parse import parse_qs, urlsplit

from fastapi import FastAPI

from app.lab import gil, interpreters, native, seed
from app.lab.conditions import Conditions
from app.lab.jobs import JobRunner
from app.lab.lost_updates import RaceResult
from app.lab.native import Freeing
from app.lab.replay import replay
from app.lab.survey_cache import SurveyCache
from app.lab.trial import Trial, run_trial
from app.lab.workloads import CpuRound, CpuTimes, FetchRound, FetchTimes
from app.sim import Mode, Scenario
from app.web.infra import deps
from tests.lab import recordings
from tests.lab.rows import facts_of, row_of

PYTHON = platform.python_version()
QUIET = Conditions(cpus=2, load_average=0.3, other_jobs=0)
_MS = 1_000_000
# Idle figures: a hand-over takes about 60 us, and the holder keeps the GIL 2% past the interval.
_HANDOVER_NS = 60_000
_OVERSHOOT = 1.02
# The lost updates of three runs: `n += 1` loses none from 3.10 on, `n = n + one()` does.
_LOST = {"inplace": (0, 0, 0), "call": (41_518, 0, 17_004)}


def timeline(*, interval_ms: float, duration_ms: int, threads: int) -> gil.Timeline:
    """Threads taking the GIL in turn for a little over the interval each, to the end."""
    runs, start, turn = [], 0, 0
    while start < duration_ms * _MS:
        end = min(start + round(interval_ms * _OVERSHOOT * _MS), duration_ms * _MS)
        runs.append(gil.Run(thread=turn % threads, start_ns=start, end_ns=end))
        start, turn = end + _HANDOVER_NS, turn + 1
    return gil.derive_timeline(
        runs, interval_ms=interval_ms, duration_ms=duration_ms, threads=threads, python=PYTHON,
        conditions=QUIET,
    )  # fmt: skip


def fetch_times(*, delay_s: float, requests: int) -> FetchTimes:
    """The waits in turn add up; in threads they overlap."""
    return FetchTimes(
        python=PYTHON, delay_s=delay_s, requests=requests, conditions=QUIET,
        rounds=tuple(
            FetchRound(sequential_s=requests * delay_s + 0.004 * k, threaded_s=delay_s + 0.003 * k)
            for k in (1, 2, 3)
        ),
    )  # fmt: skip


def cpu_times(*, count: int, workers: int) -> CpuTimes:
    """About 0.1 s per million: threads no faster under the GIL, processes on both cores."""
    alone = workers * count / 10_000_000
    return CpuTimes(
        python=PYTHON, cpus=2, count=count, workers=workers, conditions=QUIET, gil_enabled=True,
        rounds=tuple(
            CpuRound(sequential_s=alone * k, threads_s=alone * k * 1.04, processes_s=alone * k / 2)
            for k in (1.0, 1.01, 1.03, 0.99, 1.02)
        ),
    )  # fmt: skip


def race(*, statement: str, iterations: int, runs: int) -> RaceResult:
    lost = (_LOST[statement] * runs)[:runs]
    return RaceResult(
        python=PYTHON, gil_enabled=True, switch_interval_ms=5.0, iterations=iterations,
        statement="call" if statement == "call" else "inplace", lost_updates=lost,
    )  # fmt: skip


# Idle figures of the lock-cost table: ns per call for one thread, and how much slower each
# layout makes it (a shared object's cache line moving between the cores).
_ALONE_NS = {Mode.NONE: 0.5, Mode.ATOMIC: 4.5, Mode.GLOBAL_LOCK: 13.0, Mode.OBJECT_LOCK: 13.5,
             Mode.BIASED: 0.9, Mode.IMMORTAL: 0.6}  # fmt: skip
_LAYOUT_TIMES = {native.Layout.ONE_THREAD: 1.0, native.Layout.ONE_OBJECT: 6.0,
                 native.Layout.TWO_OBJECTS: 1.1, native.Layout.FALSE_SHARING: 5.0,
                 native.Layout.NOT_OWNER: 9.0}  # fmt: skip


def cost_table(*, iterations: int, repeats: int) -> tuple[native.CostRow, ...]:
    """Every cell native.cost_table measures, `repeats` passes each."""
    cells = [(mode, layout) for mode in native.COST_MODES for layout in native.Layout
             if layout.measures(mode)]  # fmt: skip
    return tuple(_cost_row(mode, layout, repeats) for mode, layout in cells)


def _cost_row(mode: Mode, layout: native.Layout, repeats: int) -> native.CostRow:
    ns = _ALONE_NS[mode] * _LAYOUT_TIMES[layout]
    return native.CostRow(
        mode=mode, layout=layout, threads=layout.threads, objects=layout.objects,
        samples=tuple(ns * (1 + 0.02 * k) for k in range(repeats)),
        thread_ns=(ns,) * layout.threads,
    )  # fmt: skip


# The native lab's runs of the race, as two idle cores give them. Unlocked inc-inc: one thread
# usually makes a few calls before the other's first access lands, and one run in three loses
# an update in its first calls (and a third of its calls past them).
_LOSSY_EVERY = 3
# inc-dec under one lock with a real free(), ten runs on this machine: B freed the object first
# in seven (A's checks then read glibc's free-list pointer, pass, and A increments it), A went
# first in one, and two ended in glibc's abort.
_GLIBC_POINTER = 22_936_302_621  # the chunk's address >> 12: glibc's safe-linked list end
_TCACHE_ABORT = "SIGABRT: tcache_thread_shutdown(): unaligned tcache chunk detected"


def trial(number: int, scenario: Scenario, mode: Mode, iterations: int, freeing: Freeing) -> Trial:
    """Run `number` of a series, as app.lab.trial.run_trial returns it; an unlocked run's
    replay comes from the real replay search over the records of a chosen interleaving."""
    match scenario, mode, freeing:
        case Scenario.INC_INC, Mode.NONE, Freeing.OBSERVED:
            return _inc_inc_unlocked(number, iterations)
        case Scenario.INC_INC, Mode.GLOBAL_LOCK | Mode.OBJECT_LOCK | Mode.ATOMIC, Freeing.OBSERVED:
            result = _counted(final_rc=2 * iterations + 1, expected_rc=2 * iterations + 1,
                              iterations=iterations)  # fmt: skip
            return Trial(number=number, result=result, replay=None)
        case Scenario.INC_DEC, Mode.GLOBAL_LOCK, Freeing.REAL:
            return Trial(number=number, result=_freed_for_real(number, iterations), replay=None)
    raise AssertionError(f"no given trial for {scenario.value} {mode.value} {freeing.value}")


def _inc_inc_unlocked(number: int, iterations: int) -> Trial:
    """A makes its first calls; in a lossy run it then reads, B makes a whole call, and A's
    write erases it; then each makes the rest of its calls."""
    window = min(native.REPLAY_WINDOW, iterations)
    if number % _LOSSY_EVERY:
        schedule, past_window = "A" * 3 * window + "B" * 3 * window, 0
    else:
        ahead = number // _LOSSY_EVERY % window  # A's calls before the race
        schedule = ("A" * (3 * ahead + 1) + "B" * 3 + "A" * (3 * (window - ahead) - 1)
                    + "B" * 3 * (window - 1))  # fmt: skip
        past_window = (iterations - window) // 3
    found = replay(recordings.recording(Scenario.INC_INC, window, schedule))
    lost = 2 * window + 1 - found.window_rc + past_window
    expected = 2 * iterations + 1
    result = _counted(final_rc=expected - lost, expected_rc=expected, iterations=iterations)
    return Trial(number=number, result=result, replay=found)


def _counted(*, final_rc: int, expected_rc: int, iterations: int) -> native.NativeRun:
    """A run that never freed the object."""
    return native.NativeRun(
        final_rc=final_rc, expected_rc=expected_rc, lost_updates=abs(expected_rc - final_rc),
        freed=False, use_after_free=0, double_free=0, failed_checks=0, freed_read=None,
        crashed=None, elapsed_ns=_elapsed_ns(iterations),
    )  # fmt: skip


def _freed_for_real(number: int, iterations: int) -> native.NativeRun:
    """inc-dec under one lock: A makes `ahead` calls, B's decrements then free the object, and
    A's remaining calls each check, read and write glibc's pointer."""
    match number % 5:
        case 0:  # A made all its calls first: B never brought the count to 0
            return _counted(final_rc=1, expected_rc=1, iterations=iterations)
        case 4:
            return native.NativeRun(
                final_rc=None, expected_rc=None, lost_updates=None, freed=None,
                use_after_free=None, double_free=None, failed_checks=None, freed_read=None,
                crashed=_TCACHE_ABORT, elapsed_ns=20_000_000 + number * 100_000,
            )  # fmt: skip
    ahead = min(number % 3, iterations - 1)
    after_free = iterations - ahead
    return native.NativeRun(
        final_rc=_GLIBC_POINTER + after_free, expected_rc=after_free, lost_updates=None,
        freed=True, use_after_free=3 * after_free, double_free=0, failed_checks=0,
        freed_read=_GLIBC_POINTER, crashed=None, elapsed_ns=_elapsed_ns(iterations),
    )  # fmt: skip


def _elapsed_ns(iterations: int) -> int:
    return 40_000 + 10 * iterations


def _delay_s(url: str) -> float:
    return float(parse_qs(urlsplit(url).query)["seconds"][0])


class GivenMeasurements:
    """The app's runner for timed experiments, answering every experiment of /gil at once."""

    async def run_shared(
        self, key: tuple[object, ...], job: Callable[[], object], *, timeout: float
    ) -> object:
        match key:
            case ("timeline", float(interval_ms), int(duration_ms), int(threads)):
                return timeline(interval_ms=interval_ms, duration_ms=duration_ms, threads=threads)
            case ("fetch", str(url), int(requests)):
                return fetch_times(delay_s=_delay_s(url), requests=requests)
            case ("cpu", int(count), int(workers)):
                return cpu_times(count=count, workers=workers)
            case ("race", str(statement), int(iterations), int(runs)):
                return race(statement=statement, iterations=iterations, runs=runs)
            case ("facts",):
                return facts_of(interpreters.current())
        raise AssertionError(f"no given result for the measurement {key}")


class GivenNativeRuns:
    """The native lab's runner, answering its runs of the race and the lock-cost table at once
    (the seed's program, a few milliseconds, runs for real)."""

    def __init__(self, runner: JobRunner) -> None:
        self._runner = runner

    async def run(self, job: Callable[[], object], *, timeout: float) -> object:
        if isinstance(job, partial) and job.func is run_trial:
            return trial(*job.args)
        if isinstance(job, partial) and job.func is seed.run_seed:
            return await self._runner.run(job, timeout=timeout)
        raise AssertionError(f"no given result for the native job {job}")

    async def run_shared(
        self, key: tuple[object, ...], job: Callable[[], object], *, timeout: float
    ) -> object:
        match key:
            case ("cost", int(iterations), int(repeats)):
                return cost_table(iterations=iterations, repeats=repeats), QUIET
        raise AssertionError(f"no given result for the native measurement {key}")


@contextmanager
def given_measurements(app: FastAPI) -> Iterator[None]:
    """Give `app` the measurements of /gil, the rows of the /versions survey, the native lab's
    runs of the race and its lock-cost table at once."""
    runner = JobRunner(workers=1, queue=16)  # the survey's rows, in a thread of its own
    survey = SurveyCache(runner, measure=row_of)
    overrides = {
        deps.measurements: GivenMeasurements,
        deps.survey: lambda: survey,
        deps.native_runs: lambda: GivenNativeRuns(deps.resources_of(app).native_runs),
    }
    app.dependency_overrides.update(overrides)
    try:
        yield
    finally:
        for provider in overrides:
            del app.dependency_overrides[provider]
        runner.shutdown()
