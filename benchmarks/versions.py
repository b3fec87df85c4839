"""Print the /versions table for every interpreter this host has: `python benchmarks/versions.py`.

Each interpreter runs the same scripts as the page, one after the other, in fresh processes:
the race (`n += 1` and `n = n + one()`, two threads, 200,000 updates each, 3 runs), the
reference-count facts, the median GIL slice of two CPU-bound threads, and the convoy (median
echo round trip alone → beside one CPU-bound thread) at switch intervals of 5, 1 and 0.1 ms.
"""

from __future__ import annotations

import os
import time

from app.lab import interpreters
from app.lab.convoy import INTERVALS_MS as CONVOY_INTERVALS_MS
from app.lab.lost_updates import STATEMENTS
from app.lab.survey import Row, measure_row


def _lost(row: Row, statement: str) -> str:
    race = row.race(statement)
    if race is None:
        return "-"
    return f"{race.lost_fraction:4.0%} {race.runs_with_losses}/{len(race.lost_updates)}"


def _convoy(row: Row, interval_ms: float) -> str:
    result = next((r for r in row.convoy if r.interval_ms == interval_ms), None)
    if result is None:
        return "-"
    return f"{result.idle_rtt_ms:.3f}→{result.loaded_rtt_ms:.2f}"


def main() -> None:
    found = interpreters.available()
    print(f"{len(found)} interpreters; {len(os.sched_getaffinity(0))} cores")
    header = (
        f"{'python':<9} {'n += 1':>9} {'n=n+one()':>9} {'refcnt(1)':>13} {'fresh':>5} "
        f"{'size':>4} {'switch':>6} {'slice':>7} {'threads':>7} "
        + " ".join(f"{f'rtt ms @{interval:g}':>14}" for interval in CONVOY_INTERVALS_MS)
        + "  seconds"
    )
    print(header)
    print("-" * len(header))
    for interpreter in found:
        started = time.perf_counter()
        row = measure_row(interpreter)
        facts = row.facts
        cells = [
            f"{interpreter.version:<9}",
            *(f"{_lost(row, statement):>9}" for statement in STATEMENTS),
            f"{facts.refcount_small_int_1:>13,}" if facts else f"{'-':>13}",
            f"{facts.refcount_fresh_int:>5}" if facts else f"{'-':>5}",
            f"{facts.getsizeof_2781:>4}" if facts else f"{'-':>4}",
            f"{facts.switch_interval_ms:>4g}ms" if facts else f"{'-':>6}",
            f"{row.median_slice_ms:>5.2f}ms" if row.median_slice_ms else f"{'-':>7}",
            f"{row.cpu.thread_speedup.median:>6.2f}x" if row.cpu else f"{'-':>7}",
            *(f"{_convoy(row, interval):>14}" for interval in CONVOY_INTERVALS_MS),
            f"{time.perf_counter() - started:7.1f}",
        ]
        print(" ".join(cells), flush=True)
        for error in row.errors:
            print(f"  ! {error}")
    print("slice: median time a CPU-bound thread kept the GIL beside another (default interval);")
    print("lost: mean share of 2 x 200,000 updates lost, and runs with any loss of 3;")
    print("threads: speed-up of 2 CPU-bound threads over running them in turn (no GIL: ~cores);")
    print("rtt: median round trip of a 1-byte echo alone → beside one CPU-bound thread.")


if __name__ == "__main__":
    main()
