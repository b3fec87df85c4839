"""The Python-level experiments, run on one chosen interpreter, and what each result means.

Each experiment is one of the lab's fixed scripts, run in a fresh subprocess of the chosen
interpreter (see `app.lab.interpreters`) with a timeout. All functions here block: call them
through a `JobRunner`.

- the race: two threads do `n += 1` (`inplace`) or `n = n + one()` (`call`); lost updates
  per run (scripts/python_race.py);
- reference-count facts: `sys.getrefcount(1)`, of a fresh int, `sys.getsizeof(2781)`, the
  default switch interval (scripts/interpreter_facts.py), and the median time a CPU-bound
  thread keeps the GIL (scripts/gil_slices.py, the GIL lab's);
- the convoy effect: the median round trip of a one-byte echo alone and beside one CPU-bound
  thread, at a chosen switch interval (scripts/convoy.py).

`explain_*` turn a measurement into one sentence that says why this version shows it; they
read the measured values, so an unexpected result is reported as such, never papered over.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal, get_args

from app.lab import gil, scripts
from app.lab.conditions import Conditions, busy_during
from app.lab.interpreter import int_layout
from app.lab.interpreters import Interpreter
from app.lab.jobs import TimedOut, WorkerDied
from app.sim.pyrace import Switching, switching_of

Statement = Literal["inplace", "call"]
STATEMENTS: tuple[Statement, ...] = get_args(Statement)
STATEMENT_CODE: dict[str, str] = {"inplace": "n += 1", "call": "n = n + one()"}
RACE_ITERATIONS = 200_000  # per thread: about 0.1-0.3 s a run, tens of switch intervals
MIN_RUNS = 1
MAX_RUNS = 5
DEFAULT_RUNS = 3
# The switch intervals the convoy is measured at: the default, and two shorter ones.
IntervalMs = Literal["5", "1", "0.1"]
CONVOY_INTERVALS_MS: tuple[float, ...] = tuple(float(value) for value in get_args(IntervalMs))
SLICE_DURATION_MS = 400  # about 80 slices at 5 ms: enough for a steady median
IMMORTAL_REFCOUNT = 2**32 - 1  # what 3.12+ reports for an immortal object on 64-bit builds


class ExperimentFailed(Exception):
    """A script exited with an error, printed nothing usable, or ran past its time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class RaceResult:
    statement: str
    iterations: int  # per thread; the correct total is 2 * iterations
    lost_updates: tuple[int, ...]  # one per run

    @property
    def code(self) -> str:
        return STATEMENT_CODE[self.statement]

    @property
    def lost_fraction(self) -> float:
        """The mean share of all updates lost, 0..1."""
        runs = len(self.lost_updates) or 1
        return sum(self.lost_updates) / (runs * 2 * self.iterations)

    @property
    def runs_with_losses(self) -> int:
        return sum(1 for lost in self.lost_updates if lost > 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    refcount_one: int  # sys.getrefcount(1)
    refcount_fresh_int: int  # of an int built at run time and held by one name
    sizeof_2781: int
    switch_interval_ms: float
    median_slice_ms: float | None = None  # measured by the GIL lab's script, when present


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvoyResult:
    interval_ms: float
    idle_rtt_ms: float
    loaded_rtt_ms: float
    conditions: Conditions | None = None  # how busy the machine was (None: not recorded)

    @property
    def slowdown(self) -> float:
        return self.loaded_rtt_ms / self.idle_rtt_ms if self.idle_rtt_ms > 0 else float("inf")


@dataclass(frozen=True, slots=True, kw_only=True)
class Row:
    """Everything measured on one interpreter: one row of the /versions table."""

    interpreter: Interpreter
    races: tuple[RaceResult, ...] = ()
    facts: Facts | None = None
    convoy: tuple[ConvoyResult, ...] = ()
    errors: tuple[str, ...] = ()

    def race(self, statement: str) -> RaceResult | None:
        return next((race for race in self.races if race.statement == statement), None)


def _run(interpreter: Interpreter, name: str, *args: object, timeout: float) -> dict[str, Any]:
    try:
        report = scripts.run(name, *args, timeout=timeout, python=interpreter.executable)
    except (scripts.ScriptFailed, TimedOut, WorkerDied, OSError) as exc:
        raise ExperimentFailed(f"{name} on Python {interpreter.version}: {exc}") from exc
    if not isinstance(report, dict):
        raise ExperimentFailed(f"{name} on Python {interpreter.version} printed no JSON object")
    return report


def measure_race(
    interpreter: Interpreter,
    *,
    statement: Statement,
    runs: int = DEFAULT_RUNS,
    iterations: int = RACE_ITERATIONS,
) -> RaceResult:
    if statement not in STATEMENTS:
        raise ValueError(f"statement must be one of {', '.join(STATEMENTS)}")
    if not MIN_RUNS <= runs <= MAX_RUNS or not 1 <= iterations <= RACE_ITERATIONS:
        raise ValueError(
            f"runs must lie in {MIN_RUNS}..{MAX_RUNS}, iterations in 1..{RACE_ITERATIONS}"
        )
    # About 0.3 s per run of 200,000 updates on 3.6, the slowest here; generous on purpose.
    timeout = 15.0 + runs * iterations / 20_000
    report = _run(interpreter, "python_race", statement, iterations, runs, timeout=timeout)
    try:
        lost = tuple(int(run["lost_updates"]) for run in report["runs"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ExperimentFailed(f"python_race on Python {interpreter.version}: bad report") from exc
    return RaceResult(statement=statement, iterations=iterations, lost_updates=lost)


def measure_facts(interpreter: Interpreter) -> Facts:
    report = _run(interpreter, "interpreter_facts", timeout=15.0)
    try:
        sequence = report["refcount_sequence"]
        return Facts(
            refcount_one=int(report["refcount_small_int_1"]),
            refcount_fresh_int=int(sequence[0]["refcount"]),
            sizeof_2781=int(report["getsizeof_2781"]),
            switch_interval_ms=float(report["switch_interval_s"]) * 1000,
        )
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ExperimentFailed(
            f"interpreter_facts on Python {interpreter.version}: bad report"
        ) from exc


def measure_median_slice(interpreter: Interpreter, facts: Facts) -> float | None:
    """The median time two CPU-bound threads kept the GIL, at the default switch interval.

    Measured by the GIL lab's own script (scripts/gil_slices.py, see `app.lab.gil`).
    """
    try:
        timeline = gil.measure_timeline(
            interval_ms=facts.switch_interval_ms,
            duration_ms=SLICE_DURATION_MS,
            python=interpreter.executable,
        )
    except (scripts.ScriptFailed, TimedOut, OSError, KeyError, TypeError, ValueError) as exc:
        raise ExperimentFailed(f"gil_slices on Python {interpreter.version}: {exc}") from exc
    return timeline.median_slice_ms


def measure_convoy(interpreter: Interpreter, *, interval_ms: float) -> ConvoyResult:
    if interval_ms not in CONVOY_INTERVALS_MS:
        raise ValueError(f"interval_ms must be one of {', '.join(map(str, CONVOY_INTERVALS_MS))}")
    # The script bounds each of its two measurements to 3 s; start-up and fork add little.
    report, seen = busy_during(lambda: _run(interpreter, "convoy", interval_ms, timeout=20.0))
    try:
        return ConvoyResult(
            interval_ms=interval_ms,
            idle_rtt_ms=float(report["idle_rtt_ms"]),
            loaded_rtt_ms=float(report["loaded_rtt_ms"]),
            conditions=seen,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ExperimentFailed(f"convoy on Python {interpreter.version}: bad report") from exc


def measure_row(interpreter: Interpreter, *, runs: int = DEFAULT_RUNS) -> Row:
    """Every experiment on one interpreter, one after the other; a failure spoils only its cell."""
    races: list[RaceResult] = []
    convoy: list[ConvoyResult] = []
    facts: Facts | None = None
    errors: list[str] = []
    for statement in STATEMENTS:
        try:
            races.append(measure_race(interpreter, statement=statement, runs=runs))
        except ExperimentFailed as exc:
            errors.append(str(exc))
    try:
        facts = measure_facts(interpreter)
        facts = replace(facts, median_slice_ms=measure_median_slice(interpreter, facts))
    except ExperimentFailed as exc:
        errors.append(str(exc))
    for interval_ms in CONVOY_INTERVALS_MS:
        try:
            convoy.append(measure_convoy(interpreter, interval_ms=interval_ms))
        except ExperimentFailed as exc:
            errors.append(str(exc))
    return Row(
        interpreter=interpreter,
        races=tuple(races),
        facts=facts,
        convoy=tuple(convoy),
        errors=tuple(errors),
    )


# The longest a whole row may take: two races of MAX_RUNS, the facts, the slices, three convoys.
ROW_TIMEOUT_S = (
    2 * (15.0 + MAX_RUNS * RACE_ITERATIONS / 20_000)
    + 15.0
    + gil.timeout_s(SLICE_DURATION_MS)
    + 3 * 20.0
)


def _percent(fraction: float) -> str:
    return f"{fraction:.0%}" if fraction >= 0.01 or fraction == 0 else "under 1%"


def explain_race(interpreter: Interpreter, race: RaceResult) -> str:
    """Why this interpreter lost (or kept) the updates of `race`, in one sentence."""
    version = interpreter.version_info[:2]
    lost = race.runs_with_losses
    runs = len(race.lost_updates)
    share = _percent(race.lost_fraction)
    if interpreter.free_threaded and not interpreter.gil_enabled:
        if lost:
            return (
                f"No GIL in this build: both threads run `{race.code}` at the same moment on "
                f"two cores, and {share} of the updates were lost ({lost} of {runs} runs)."
            )
        return (
            f"No GIL in this build, yet no update was lost in {runs} runs: the threads "
            "barely overlapped here; the statement is no more atomic than with the GIL."
        )
    switching = switching_of(version)
    if race.statement == "inplace":
        if switching is Switching.ANY_BYTECODE:
            if lost:
                return (
                    f"{interpreter.series} checks for a switch {switching.rule}, so after the "
                    f"load of `n` and after the add: a thread switched out there writes back a "
                    f"stale value, and {share} of the updates were lost."
                )
            return (
                f"{interpreter.series} may switch after the load of `n` in `n += 1`, but no "
                f"run of {runs} happened to: run it again."
            )
        if lost:
            return (
                f"{interpreter.series} checks for a switch only {switching.rule}, none of "
                f"which lies inside `n += 1`, yet {share} of the updates were lost: something "
                "else switched threads here (a signal, a debugger, a tracer)."
            )
        return (
            f"{interpreter.series} checks for a switch only {switching.rule}, so `n += 1` no "
            "longer loses updates; it is not atomic, just never interrupted in the middle."
        )
    # call
    if lost:
        return (
            f"The call to `one()` between the load of `n` and the store is a switch point on "
            f"every version (entering a Python function checks), {interpreter.series} "
            f"included: {share} of the updates were lost ({lost} of {runs} runs)."
        )
    return (
        f"No update lost in {runs} runs, but the call to `one()` is a switch point: the race "
        "is there, this run's switches just fell elsewhere."
    )


def explain_facts(interpreter: Interpreter, facts: Facts) -> dict[str, str]:
    """A sentence per fact: why this version reads what it reads."""
    version = interpreter.version_info[:2]
    notes: dict[str, str] = {}
    if facts.refcount_one == IMMORTAL_REFCOUNT:
        notes["refcount_one"] = (
            f"{facts.refcount_one:,}: since 3.12 small ints are immortal (PEP 683); the count "
            "is pinned and never written, so threads sharing 1 never race on it."
        )
    elif version == (3, 11):
        notes["refcount_one"] = (
            f"{facts.refcount_one:,}: in 3.11 small ints are static objects whose counts start "
            "near 10^9 so they can never reach zero; each use still writes the count."
        )
    else:
        notes["refcount_one"] = (
            f"{facts.refcount_one:,}: every reference to the cached 1 anywhere in the "
            "interpreter (constants, modules, frames) counts, and each one wrote the count."
        )
    notes["refcount_fresh_int"] = (
        f"{facts.refcount_fresh_int}: the name that holds it and getrefcount's own argument."
        if facts.refcount_fresh_int == 2
        else f"{facts.refcount_fresh_int}: the name that holds it and what this version adds "
        "while calling getrefcount."
    )
    notes["sizeof_2781"] = int_layout(version, facts.sizeof_2781)
    notes["switch_interval_ms"] = (
        f"{facts.switch_interval_ms:g} ms: a thread waiting for the GIL asks the holder to "
        "drop it after this long (the default since Python 3.2)."
    )
    if facts.median_slice_ms is not None:
        ratio = facts.median_slice_ms / facts.switch_interval_ms
        notes["median_slice_ms"] = (
            f"{facts.median_slice_ms:.2f} ms: two CPU-bound threads each kept the GIL about one "
            "switch interval before the waiting one asked for it and got it."
            if ratio <= 1.5
            else f"{facts.median_slice_ms:.2f} ms, {ratio:.1f} times the switch interval: the "
            "waiting thread needs a core of its own to time out and ask for the GIL, and on a "
            "busy host the OS runs it late, so the holder's slices stretch."
        )
    return notes


def explain_convoy(interpreter: Interpreter, results: tuple[ConvoyResult, ...]) -> str:
    """What the round trips at the measured intervals say, in one or two sentences."""
    if not results:
        return "Not measured."
    if interpreter.free_threaded and not interpreter.gil_enabled:
        return (
            "No GIL in this build: the echo thread never waits for the spinning one, so the "
            "round trip barely changes with the switch interval."
        )
    by_interval = sorted(results, key=lambda result: result.interval_ms, reverse=True)
    idle = min(result.idle_rtt_ms for result in results)
    # A request "waited" for the GIL when its median round trip came to about a switch interval
    # (half to three of them: at 0.1 ms the wake-up itself adds about as much again).
    waited = [r for r in by_interval if r.interval_ms / 2 <= r.loaded_rtt_ms <= 3 * r.interval_ms]
    escaped = [r for r in by_interval if r.loaded_rtt_ms < r.interval_ms / 2]
    delayed = [r for r in by_interval if r.loaded_rtt_ms > 3 * r.interval_ms]
    sentence = f"Alone, the echo took {idle:.3f} ms."
    if waited:
        parts = ", ".join(
            f"{result.loaded_rtt_ms:.2f} ms at {result.interval_ms:g} ms" for result in waited
        )
        sentence += (
            " Beside one CPU-bound thread each request waited about a switch interval for the "
            f"GIL ({parts}): a shorter interval cuts that latency but hands the GIL over more "
            "often, which costs the CPU-bound thread."
        )
    if escaped:
        parts = ", ".join(
            f"{result.loaded_rtt_ms:.3f} ms at {result.interval_ms:g} ms" for result in escaped
        )
        sentence += (
            f" In this run most requests did not wait ({parts}): the echo thread found the GIL "
            "free when its byte arrived. Who gets the GIL next is neither fair nor ordered, so "
            "this varies from run to run: re-run to see."
        )
    if delayed:
        parts = ", ".join(
            f"{result.loaded_rtt_ms:.2f} ms at {result.interval_ms:g} ms" for result in delayed
        )
        sentence += (
            f" Some requests waited far longer than the interval ({parts}): other work on this "
            "host's cores kept the threads from running on time; re-run when it is idle."
        )
    reasons = sorted(
        {reason for r in results if r.conditions is not None for reason in r.conditions.reasons}
    )
    if reasons:
        sentence += f" Measured while the server was busy ({'; '.join(reasons)})."
    return sentence
