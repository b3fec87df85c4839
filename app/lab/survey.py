"""The /versions survey: every Python-level experiment on one interpreter, one row per
interpreter. Each experiment lives in its own module and takes the interpreter as a parameter;
this module only composes them (blocking: call it through a `JobRunner`):

- the race (`app.lab.lost_updates`): `n += 1` and `n = n + one()` in two threads;
- the interpreter's facts (`app.lab.facts`) and the median time a CPU-bound thread keeps the
  GIL (`app.lab.gil`, the GIL lab's timeline);
- CPU-bound work in turn and in threads (`app.lab.workloads`): where a free-threaded build with
  its GIL off finally scales;
- the convoy effect (`app.lab.convoy`) at three switch intervals.

A free-threaded build appears twice (`app.lab.interpreters`): with its GIL off and on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import TypeVar

from app.lab import convoy, facts, gil, lost_updates, workloads
from app.lab.convoy import ConvoyResult
from app.lab.facts import Facts
from app.lab.interpreters import Interpreter
from app.lab.jobs import TimedOut, WorkerDied
from app.lab.lost_updates import RaceResult
from app.lab.scripts import ScriptFailed
from app.lab.workloads import CpuTimes

SLICE_DURATION_MS = 400  # about 80 slices at 5 ms: enough for a steady median
CPU_COUNT = 1_000_000  # per worker: about 0.1 s on an idle core
CPU_WORKERS = 2
CPU_ROUNDS = 3
_FAILURES = (ScriptFailed, TimedOut, WorkerDied, OSError, KeyError, TypeError, ValueError)
T = TypeVar("T")


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """Everything measured on one interpreter: one row of the /versions table."""

    interpreter: Interpreter
    races: tuple[RaceResult, ...] = ()
    facts: Facts | None = None
    median_slice_ms: float | None = None  # the GIL lab's timeline, at the default interval
    cpu: CpuTimes | None = None
    convoy: tuple[ConvoyResult, ...] = ()
    errors: tuple[str, ...] = ()

    def race(self, statement: str) -> RaceResult | None:
        return next((race for race in self.races if race.statement == statement), None)


def measure_row(
    interpreter: Interpreter,
    *,
    runs: int = lost_updates.DEFAULT_RUNS,
    convoy_intervals_ms: tuple[float, ...] = convoy.INTERVALS_MS,
) -> Row:
    """Every experiment on one interpreter, one after the other (the convoy at each of
    `convoy_intervals_ms`); a failure spoils only its cell."""
    errors: list[str] = []

    def attempt(what: str, measure: Callable[[], T]) -> T | None:
        try:
            return measure()
        except _FAILURES as exc:
            errors.append(f"{what} on Python {interpreter.version}: {exc}")
            return None

    races = [
        attempt(
            f"the race ({statement})",
            partial(lost_updates.measure_race, interpreter, statement=statement, runs=runs),
        )
        for statement in lost_updates.STATEMENTS
    ]
    found = attempt("the facts", partial(facts.measure_facts, interpreter))
    median = None
    if found is not None:
        timeline = attempt(
            "the GIL timeline",
            partial(
                gil.measure_timeline,
                interpreter,
                interval_ms=found.switch_interval_ms,
                duration_ms=SLICE_DURATION_MS,
            ),
        )
        median = timeline.median_slice_ms if timeline is not None else None
    cpu = attempt(
        "CPU-bound threads",
        partial(
            workloads.measure_cpu,
            interpreter,
            count=CPU_COUNT,
            workers=CPU_WORKERS,
            rounds=CPU_ROUNDS,
        ),
    )
    convoys = [
        attempt(
            f"the convoy at {interval_ms:g} ms",
            partial(convoy.measure_convoy, interpreter, interval_ms=interval_ms),
        )
        for interval_ms in convoy_intervals_ms
    ]
    return Row(
        interpreter=interpreter,
        races=tuple(race for race in races if race is not None),
        facts=found,
        median_slice_ms=median,
        cpu=cpu,
        convoy=tuple(result for result in convoys if result is not None),
        errors=tuple(errors),
    )


# The longest a whole row may take: two races of MAX_RUNS, the facts, the slices, the CPU work,
# three convoys.
ROW_TIMEOUT_S = (
    2 * lost_updates.timeout_s(lost_updates.DEFAULT_ITERATIONS, lost_updates.MAX_RUNS)
    + facts.FACTS_TIMEOUT_S
    + gil.timeout_s(SLICE_DURATION_MS)
    + workloads.cpu_timeout_s(CPU_COUNT, CPU_WORKERS, CPU_ROUNDS)
    + len(convoy.INTERVALS_MS) * convoy.TIMEOUT_S
)


def explain(row: Row) -> list[str]:
    """Why this interpreter shows what it shows: a sentence per result, in table order."""
    interpreter = row.interpreter
    why = [lost_updates.explain(interpreter, race) for race in row.races]
    if row.facts is not None:
        notes = facts.explain(row.facts)
        why += [notes[key] for key in _FACT_NOTES if key in notes]
        if row.median_slice_ms is not None:
            why.append(gil.explain_median_slice(row.median_slice_ms, row.facts.switch_interval_ms))
    if row.cpu is not None:
        why.append(row.cpu.thread_verdict())
    if row.convoy:
        why.append(convoy.explain(interpreter, row.convoy))
    return why


_FACT_NOTES = ("small_int", "refcount_sequence", "getsizeof", "switch_interval", "gil")
