"""The Python-level race: two threads update one global counter; how many updates are lost?

Usage: python -I python_race.py STATEMENT ITERATIONS RUNS [INTERVAL_MS]

STATEMENT is `inplace` (`n += 1`) or `call` (`n = n + one()`). Each of two threads runs the
statement ITERATIONS times, started together at a gate; the script does that RUNS times and
prints one JSON object with the lost updates of each run. INTERVAL_MS, when given, is passed
to sys.setswitchinterval (the default is the interpreter's own).

The GIL passes only where the interpreter checks for a drop request, between bytecodes, never
inside a statement's whole: a switch between the load of `n` and the store back loses the other
thread's updates. Where the checks fall differs between versions (3.6-3.9: before almost every
bytecode; 3.10: back-edges, function starts and returns from calls; 3.11+: back-edges and
function starts), so `n += 1` loses updates on old versions and `n = n + one()` on all.

Standard library only, no syntax newer than 3.6: every CPython from 3.6 on runs this file.
"""

import json
import platform
import sys
import threading
import time
from typing import Callable, List

n = 0


def one() -> int:
    return 1


def add_inplace(iterations: int) -> None:
    global n
    for _ in range(iterations):
        n += 1


def add_with_call(iterations: int) -> None:
    global n
    for _ in range(iterations):
        n = n + one()


STATEMENTS = {"inplace": add_inplace, "call": add_with_call}


def race(work: Callable[[int], None], iterations: int) -> int:
    global n
    n = 0
    gate = threading.Barrier(2)

    def worker() -> None:
        gate.wait()
        work(iterations)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 2 * iterations - n


def main(argv: List[str]) -> None:
    statement = argv[1]
    iterations = int(argv[2])
    runs = int(argv[3])
    if len(argv) > 4:
        sys.setswitchinterval(float(argv[4]) / 1000.0)
    work = STATEMENTS[statement]
    started = time.perf_counter()
    lost = [race(work, iterations) for _ in range(runs)]
    elapsed = time.perf_counter() - started
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "implementation": platform.python_implementation(),
                "gil_enabled": True if is_gil_enabled is None else bool(is_gil_enabled()),
                "switch_interval_s": sys.getswitchinterval(),
                "statement": statement,
                "iterations": iterations,
                "runs": [{"lost_updates": count} for count in lost],
                "elapsed_s": elapsed,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv)
