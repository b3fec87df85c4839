"""CPU-bound work: threads take turns holding the GIL, processes each have their own.

Usage: python -I cpu_work.py COUNT WORKERS [REPEATS]

The job is counting down from COUNT in pure Python. It runs WORKERS times one after another,
then in WORKERS threads, then in WORKERS processes (each with its own interpreter and GIL).
The three are taken in turn, REPEATS rounds (default 5), and every round is reported: the
caller shows the median and the range, so one round disturbed by other work on the machine
neither hides nor makes the result. Prints one JSON object with the rounds' wall-clock times
and the CPUs this process may use. Processes pay their start-up in their time; that is part of
the honest comparison.

Standard library only, no syntax newer than 3.6: every CPython from 3.6 on runs this file.
"""

import json
import multiprocessing
import os
import platform
import sys
import threading
import time
from typing import List


def count_down(count: int) -> None:
    while count:
        count -= 1


def sequential(count: int, workers: int) -> float:
    started = time.perf_counter()
    for _ in range(workers):
        count_down(count)
    return time.perf_counter() - started


def in_threads(count: int, workers: int) -> float:
    threads = [threading.Thread(target=count_down, args=(count,)) for _ in range(workers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def in_processes(count: int, workers: int) -> float:
    processes = [multiprocessing.Process(target=count_down, args=(count,)) for _ in range(workers)]
    started = time.perf_counter()
    for process in processes:
        process.start()
    for process in processes:
        process.join()
    return time.perf_counter() - started


def usable_cpus() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def main(argv: List[str]) -> None:
    count = int(argv[1])
    workers = int(argv[2])
    repeats = int(argv[3]) if len(argv) > 3 else 5
    count_down(count // 10)  # warm up
    rounds = []
    for _ in range(repeats):
        rounds.append(
            {
                "sequential_s": sequential(count, workers),
                "threads_s": in_threads(count, workers),
                "processes_s": in_processes(count, workers),
            }
        )
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)  # 3.13+
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "gil_enabled": True if is_gil_enabled is None else bool(is_gil_enabled()),
                "cpus": usable_cpus(),
                "count": count,
                "workers": workers,
                "rounds": rounds,
            }
        )
    )


if __name__ == "__main__":
    main(sys.argv)
