"""Print the GIL lab's figures: median slices at 1, 5 and 20 ms, and the CPU-bound timings.

    .venv/bin/python benchmarks/gil_lab.py

The I/O demo needs a running server (its subprocess fetches the site's delay endpoint):
`make run`, then `curl 'http://127.0.0.1:8000/api/gil/io?seconds=0.3'`.
"""

from __future__ import annotations

import os

from app.lab.gil import measure_timeline
from app.lab.interpreters import current
from app.lab.workloads import measure_cpu


def main() -> None:
    print(f"load average {os.getloadavg()[0]:.1f} on {len(os.sched_getaffinity(0))} CPUs")
    for interval_ms in (1.0, 5.0, 20.0):
        timeline = measure_timeline(current(), interval_ms=interval_ms, duration_ms=1000)
        median = timeline.median_slice_ms or 0.0
        print(
            f"Python {timeline.python}: interval {interval_ms:g} ms -> median slice "
            f"{median:.2f} ms ({median / interval_ms:.2f}x), {timeline.handoffs} hand-overs in 1 s"
        )
    cpu = measure_cpu(current(), count=2_000_000, workers=2)
    print(
        f"CPU-bound, 2 x count down from 2,000,000, median of {cpu.sequential.count} rounds: "
        f"in turn {cpu.sequential.median:.2f} s, threads {cpu.threads.median:.2f} s, "
        f"processes {cpu.processes.median:.2f} s"
    )


if __name__ == "__main__":
    main()
