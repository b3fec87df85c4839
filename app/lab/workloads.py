"""I/O-bound against CPU-bound work in threads: where the GIL matters and where it does not.

Both run the lab's fixed scripts in a fresh process of the interpreter given (blocking: call
them through a JobRunner). The CPU-bound one is the one where a free-threaded build with its GIL
off differs: its threads finally run at once and scale with the cores. The I/O demo fetches
the site's own delay endpoint, so it needs no internet; the caller passes the URL, built from
the server's own address, never from user input.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.lab.interpreters import Interpreter

MIN_DELAY_S = 0.05
MAX_DELAY_S = 2.0
MIN_REQUESTS = 2
MAX_REQUESTS = 5
MIN_COUNT = 100_000
MAX_COUNT = 5_000_000
MIN_WORKERS = 2
MAX_WORKERS = 4


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchTimes:
    python: str
    delay_s: float
    requests: int
    sequential_s: float
    threaded_s: float

    @property
    def speedup(self) -> float:
        return self.sequential_s / self.threaded_s if self.threaded_s else 0.0


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuTimes:
    python: str
    cpus: int
    load_average: float | None
    count: int
    workers: int
    repeats: int
    sequential_s: float
    threads_s: float
    processes_s: float
    gil_enabled: bool

    @property
    def thread_speedup(self) -> float:
        return self.sequential_s / self.threads_s if self.threads_s else 0.0

    @property
    def process_speedup(self) -> float:
        return self.sequential_s / self.processes_s if self.processes_s else 0.0


def measure_fetch(
    interpreter: Interpreter, *, delay_url: str, delay_s: float, requests: int = 3
) -> FetchTimes:
    """Fetch `delay_url` (which answers after `delay_s`) `requests` times in turn, then at once."""
    if not MIN_DELAY_S <= delay_s <= MAX_DELAY_S:
        raise ValueError(f"seconds must lie in {MIN_DELAY_S}..{MAX_DELAY_S}")
    if not MIN_REQUESTS <= requests <= MAX_REQUESTS:
        raise ValueError(f"requests must lie in {MIN_REQUESTS}..{MAX_REQUESTS}")
    # The warm-up, the sequential fetches and the threaded ones, with room for a slow start.
    timeout = 10.0 + (2 * requests + 2) * delay_s
    report = interpreter.run("io_fetch", delay_url, requests, timeout=timeout)
    return FetchTimes(
        python=str(report["python"]),
        delay_s=delay_s,
        requests=int(report["requests"]),
        sequential_s=float(report["sequential_s"]),
        threaded_s=float(report["threaded_s"]),
    )


def cpu_timeout_s(count: int, workers: int) -> float:
    """About 0.1 s per million on an idle core; three ways, twice; generous for a busy machine."""
    return 10.0 + 6 * workers * count / 1_000_000


def measure_cpu(
    interpreter: Interpreter, *, count: int = 2_000_000, workers: int = 2
) -> CpuTimes:
    """Count down from `count`, `workers` times: in turn, in threads, in processes."""
    if not MIN_COUNT <= count <= MAX_COUNT:
        raise ValueError(f"count must lie in {MIN_COUNT}..{MAX_COUNT}")
    if not MIN_WORKERS <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must lie in {MIN_WORKERS}..{MAX_WORKERS}")
    timeout = cpu_timeout_s(count, workers)
    report = interpreter.run("cpu_work", count, workers, timeout=timeout)
    load = report.get("load_average")
    return CpuTimes(
        python=str(report["python"]),
        cpus=int(report["cpus"]),
        load_average=None if load is None else float(load),
        count=count,
        workers=workers,
        repeats=int(report["repeats"]),
        sequential_s=float(report["sequential_s"]),
        threads_s=float(report["threads_s"]),
        processes_s=float(report["processes_s"]),
        gil_enabled=bool(report["gil_enabled"]),
    )


def explain_cpu(interpreter: Interpreter, times: CpuTimes) -> str:
    """What the threads' speed-up says about this interpreter's GIL, in a sentence or two."""
    measured = (
        f"{times.workers} threads counting down took {times.threads_s:.2f} s against "
        f"{times.sequential_s:.2f} s one after another ({times.thread_speedup:.2f}x)"
    )
    if not times.gil_enabled:
        if times.thread_speedup >= 1.5:
            return (
                f"{measured}: with no GIL the threads ran at once on {times.cpus} CPUs, as "
                "processes do."
            )
        return (
            f"{measured}: no GIL, yet the threads did not run at once here (the host's cores "
            "were busy, or it has one): run it again on an idle machine."
        )
    if times.thread_speedup >= 1.5:
        return (
            f"{measured}, though the GIL lets one thread run Python at a time: something else "
            "ran here; run it again."
        )
    return (
        f"{measured}: the GIL lets one thread run Python at a time, so threads take turns and "
        f"gain nothing; processes took {times.processes_s:.2f} s."
    )
