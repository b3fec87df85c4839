"""The Python-level race measured: `n += 1` against `n = n + one()` in two real threads, on any
interpreter found (the GIL lab runs it on the server's own, the versions survey on each).

Runs scripts/python_race.py in a fresh process of the interpreter (blocking: call it through a
JobRunner). What it shows depends on where the version checks for a switch
(app.sim.pyrace.Switching): up to 3.9 before almost every bytecode, so both statements lose
updates; from 3.10 only at back-edges and around calls, so `n += 1` (no call inside) loses none
while `n = n + one()` (a call between the load and the store) still does. Neither is atomic, and
on a free-threaded build with its GIL off both lose updates again: the two threads run at once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from app.lab.interpreters import Interpreter
from app.lab.scripts import ScriptFailed
from app.sim.pyrace import Switching, switching_of

Statement = Literal["inplace", "call"]
STATEMENTS: tuple[Statement, ...] = get_args(Statement)
STATEMENT_CODE: dict[str, str] = {"inplace": "n += 1", "call": "n = n + one()"}
MIN_ITERATIONS = 1_000
MAX_ITERATIONS = 1_000_000
DEFAULT_ITERATIONS = 200_000  # per thread: about 0.1-0.3 s a run, tens of switch intervals
MIN_RUNS = 1
MAX_RUNS = 5
DEFAULT_RUNS = 3


def timeout_s(iterations: int, runs: int) -> float:
    """About 0.3 s per run of 200,000 updates on 3.6, the slowest here; generous on purpose."""
    return 15.0 + runs * iterations / 20_000


@dataclass(frozen=True, slots=True, kw_only=True)
class RaceResult:
    python: str  # the version the script reported
    gil_enabled: bool
    switch_interval_ms: float
    statement: Statement
    iterations: int  # per thread; two threads, so 2 * iterations is the correct total
    lost_updates: tuple[int, ...]  # one per run

    @property
    def code(self) -> str:
        return STATEMENT_CODE[self.statement]

    @property
    def expected(self) -> int:
        return 2 * self.iterations

    @property
    def switching(self) -> Switching:
        """Where this interpreter checks for a GIL drop request."""
        major, minor = (int(part) for part in self.python.split(".")[:2])
        return switching_of((major, minor))

    @property
    def lost_fraction(self) -> float:
        """The mean share of all updates lost, 0..1."""
        runs = len(self.lost_updates) or 1
        return sum(self.lost_updates) / (runs * self.expected)

    @property
    def runs_with_losses(self) -> int:
        return sum(1 for lost in self.lost_updates if lost > 0)


def measure_race(
    interpreter: Interpreter,
    *,
    statement: Statement,
    iterations: int = DEFAULT_ITERATIONS,
    runs: int = DEFAULT_RUNS,
) -> RaceResult:
    if statement not in STATEMENTS:
        raise ValueError(f"statement must be one of {', '.join(STATEMENTS)}")
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must lie in {MIN_ITERATIONS}..{MAX_ITERATIONS}")
    if not MIN_RUNS <= runs <= MAX_RUNS:
        raise ValueError(f"runs must lie in {MIN_RUNS}..{MAX_RUNS}")
    report = interpreter.run(
        "python_race", statement, iterations, runs, timeout=timeout_s(iterations, runs)
    )
    try:
        return RaceResult(
            python=str(report["python"]),
            gil_enabled=bool(report["gil_enabled"]),
            switch_interval_ms=float(report["switch_interval_s"]) * 1000,
            statement=statement,
            iterations=iterations,
            lost_updates=tuple(int(run["lost_updates"]) for run in report["runs"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ScriptFailed(
            f"python_race on Python {interpreter.version} printed an unexpected report"
        ) from exc


def _percent(fraction: float) -> str:
    return f"{fraction:.0%}" if fraction >= 0.01 or fraction == 0 else "under 1%"


def explain(interpreter: Interpreter, race: RaceResult) -> str:
    """Why this interpreter lost (or kept) the updates of `race`, in one sentence."""
    lost = race.runs_with_losses
    runs = len(race.lost_updates)
    share = _percent(race.lost_fraction)
    if interpreter.free_threaded and not race.gil_enabled:
        if lost:
            return (
                f"No GIL in this build: both threads run `{race.code}` at the same moment on "
                f"two cores, and {share} of the updates were lost ({lost} of {runs} runs)."
            )
        return (
            f"No GIL in this build, yet no update was lost in {runs} runs: the threads "
            "barely overlapped here; the statement is no more atomic than with the GIL."
        )
    switching = race.switching
    series = interpreter.series
    if race.statement == "inplace":
        if switching is Switching.ANY_BYTECODE:
            if lost:
                return (
                    f"{series} checks for a switch {switching.rule}, so after the "
                    f"load of `n` and after the add: a thread switched out there writes back a "
                    f"stale value, and {share} of the updates were lost."
                )
            return (
                f"{series} may switch after the load of `n` in `n += 1`, but no "
                f"run of {runs} happened to: run it again."
            )
        if lost:
            return (
                f"{series} checks for a switch only {switching.rule}, none of "
                f"which lies inside `n += 1`, yet {share} of the updates were lost: something "
                "else switched threads here (a signal, a debugger, a tracer)."
            )
        return (
            f"{series} checks for a switch only {switching.rule}, so `n += 1` no "
            "longer loses updates; it is not atomic, just never interrupted in the middle."
        )
    # call
    if lost:
        return (
            f"The call to `one()` between the load of `n` and the store is a switch point on "
            f"every version (entering a Python function checks), {series} "
            f"included: {share} of the updates were lost ({lost} of {runs} runs)."
        )
    return (
        f"No update lost in {runs} runs, but the call to `one()` is a switch point: the race "
        "is there, this run's switches just fell elsewhere."
    )
