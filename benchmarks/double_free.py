"""How rare a double free is on real cores: the figures behind the native lab's recipe.

A double free in dec-dec needs both threads' tests to read 0: one thread's write of 1 must
reach the other before it reads, and the other's write of 0 must land between the first
thread's own write and its test, a window of a few nanoseconds (the simulator's witness:
/sim?scenario=dec-dec&mode=none&n=1&schedule=A4B4A1B1A1B1). The explorer counts 60 of the 292
interleavings of n = 1 as double frees; the hardware almost never lines the threads up so.

For each number of calls per thread this runs dec-dec, mode none, `--runs` times with observed
freeing (every second free is counted) and, with `--real`, as many again with a real free()
in a child (glibc aborts the child when it notices). It prints the share of runs with a double
free and the chance that one request of 50 runs (the lab's most) shows at least one. Usage:

    .venv/bin/python benchmarks/double_free.py [--runs 3000] [--calls 1 2 5] [--real]
"""

from __future__ import annotations

import argparse
import os

from app.lab import native
from app.lab.native import Freeing
from app.sim import Mode, Scenario


def _rate(calls: int, runs: int, freeing: Freeing) -> tuple[int, int]:
    """(runs with a double free, for observed; runs that aborted on one, for real)."""
    seen = 0
    for _ in range(runs):
        result = native.run_race(Scenario.DEC_DEC, Mode.NONE, calls, freeing=freeing)
        if freeing is Freeing.OBSERVED:
            seen += bool(result.double_free)
        else:
            seen += bool(result.crashed and "double free" in result.crashed)
    return seen, runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3000)
    parser.add_argument("--calls", type=int, nargs="+", default=[1, 2, 5])
    parser.add_argument("--real", action="store_true", help="also free() for real in a child")
    args = parser.parse_args()
    print(f"CPUs {native.cpu_count()}, load average {os.getloadavg()[0]:.1f}")
    kinds = [Freeing.OBSERVED, Freeing.REAL] if args.real else [Freeing.OBSERVED]
    for freeing in kinds:
        for calls in args.calls:
            seen, runs = _rate(calls, args.runs, freeing)
            share = seen / runs
            per_request = 1 - (1 - share) ** native.MAX_RUNS
            print(
                f"{freeing.value:8} calls {calls:3}: {seen:4} of {runs} runs ({100 * share:.2f}%);"
                f" one request of {native.MAX_RUNS} runs shows one {100 * per_request:.0f}% of"
                " the time"
            )


if __name__ == "__main__":
    main()
