"""The Python-level race measured: `n += 1` against `n = n + one()` in two real threads.

Runs scripts/python_race.py in a fresh interpreter (blocking: call it through a JobRunner).
What it shows depends on where the version checks for a switch (app.sim.pyrace.Switching):
up to 3.9 before almost every bytecode, so both statements lose updates; from 3.10 only at
back-edges and around calls, so `n += 1` (no call inside) loses none while `n = n + one()`
(a call between the load and the store) still does. Neither is atomic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from app.lab import scripts
from app.sim.pyrace import Switching, switching_of

Statement = Literal["inplace", "call"]
STATEMENT_CODE: dict[str, str] = {"inplace": "n += 1", "call": "n = n + one()"}
MIN_ITERATIONS = 1_000
MAX_ITERATIONS = 1_000_000
MIN_RUNS = 1
MAX_RUNS = 5


@dataclass(frozen=True, slots=True, kw_only=True)
class RaceResult:
    python: str
    gil_enabled: bool
    switch_interval_ms: float
    statement: str
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


def measure_race(*, statement: Statement, iterations: int = 200_000, runs: int = 3) -> RaceResult:
    if statement not in STATEMENT_CODE:
        raise ValueError(f"statement must be one of {', '.join(STATEMENT_CODE)}")
    if not MIN_ITERATIONS <= iterations <= MAX_ITERATIONS:
        raise ValueError(f"iterations must lie in {MIN_ITERATIONS}..{MAX_ITERATIONS}")
    if not MIN_RUNS <= runs <= MAX_RUNS:
        raise ValueError(f"runs must lie in {MIN_RUNS}..{MAX_RUNS}")
    # About 0.1 s per 200,000 updates per run on this machine's 3.11; generous for old ones.
    timeout = 10.0 + runs * iterations / 50_000
    report = scripts.run("python_race", statement, iterations, runs, timeout=timeout)
    return RaceResult(
        python=str(report["python"]),
        gil_enabled=bool(report["gil_enabled"]),
        switch_interval_ms=float(report["switch_interval_s"]) * 1000,
        statement=statement,
        iterations=iterations,
        lost_updates=tuple(int(run["lost_updates"]) for run in report["runs"]),
    )
