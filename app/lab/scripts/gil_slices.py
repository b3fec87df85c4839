"""Measure who holds the GIL when: K CPU-bound threads under a chosen switch interval.

Usage: python -I gil_slices.py INTERVAL_MS DURATION_MS [THREADS [GAP_US]]

Each thread reads the clock in a tight loop. Python has no hook for GIL hand-overs, but a
thread can only read the clock while it holds the GIL, so a gap in its samples longer than
GAP_US microseconds is a time it did not run: another thread held the GIL, the GIL was
changing hands, or the OS ran other work on its core (app.lab.gil tells these apart). To
keep memory bounded, a thread records only the edges of its runs (the sample before and after
each gap), not every sample.

Prints one JSON object: the interpreter, the switch interval in force, the start of the
measurement, and per thread a flat list of run edges [start0, end0, start1, end1, ...] in
nanoseconds relative to that start.

This file is run by every CPython from 3.6 on, alone, in a fresh interpreter: standard
library only, no syntax newer than 3.6.
"""

import json
import platform
import sys
import threading
import time
from typing import List

# Each thread stops recording past this many runs: at 0.1 ms slices and 2 s that is far off.
MAX_RUNS_PER_THREAD = 200000

if hasattr(time, "perf_counter_ns"):
    clock_ns = time.perf_counter_ns
else:  # Python 3.6

    def clock_ns() -> int:
        return int(time.perf_counter() * 1e9)


def spin(
    start_gate: threading.Barrier, deadline_box: List[int], gap_ns: int, edges: List[int]
) -> None:
    start_gate.wait()
    deadline = deadline_box[0]
    previous = clock_ns()
    edges.append(previous)
    runs = 1
    while True:
        now = clock_ns()
        if now - previous > gap_ns:
            # We were not running between `previous` and `now`: close one run, open the next.
            edges.append(previous)
            edges.append(now)
            runs += 1
            if runs >= MAX_RUNS_PER_THREAD:
                break
        previous = now
        if now >= deadline:
            break
    edges.append(previous)


def main(argv: List[str]) -> None:
    interval_ms = float(argv[1])
    duration_ms = float(argv[2])
    threads = int(argv[3]) if len(argv) > 3 else 2
    gap_us = float(argv[4]) if len(argv) > 4 else 20.0
    sys.setswitchinterval(interval_ms / 1000.0)

    deadline_box = [0]

    def set_deadline() -> None:
        # Runs once, in the last thread to reach the gate, before any thread is released.
        deadline_box[0] = clock_ns() + int(duration_ms * 1e6)

    start_gate = threading.Barrier(threads, action=set_deadline)
    edges = [[] for _ in range(threads)]  # type: List[List[int]]
    workers = [
        threading.Thread(target=spin, args=(start_gate, deadline_box, int(gap_us * 1000), edges[i]))
        for i in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    origin = deadline_box[0] - int(duration_ms * 1e6)
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "implementation": platform.python_implementation(),
                "switch_interval_s": sys.getswitchinterval(),
                "gil_enabled": True if is_gil_enabled is None else bool(is_gil_enabled()),
                "duration_ms": duration_ms,
                "gap_us": gap_us,
                "threads": [[edge - origin for edge in thread_edges] for thread_edges in edges],
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv)
