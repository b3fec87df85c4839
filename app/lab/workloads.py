"""I/O-bound against CPU-bound work in threads: where the GIL matters and where it does not.

Both run the lab's fixed scripts in a fresh process of the interpreter given (blocking: call
them through a JobRunner). The CPU-bound one is where a free-threaded build with its GIL off
differs: its threads finally run at once and scale with the cores. The I/O demo fetches the
site's own delay endpoint, so it needs no internet; the caller passes the URL, built from the
server's own address, never from user input.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.lab import conditions
from app.lab.conditions import Conditions, Spread
from app.lab.interpreters import Interpreter

MIN_DELAY_S = 0.05
MAX_DELAY_S = 2.0
MIN_REQUESTS = 2
MAX_REQUESTS = 5
MIN_COUNT = 100_000
MAX_COUNT = 5_000_000
MIN_WORKERS = 2
MAX_WORKERS = 4


FETCH_ROUNDS = 3
CPU_ROUNDS = 5
_TIMES = "\u00d7"  # the multiplication sign of "1.04x"
# Speed-ups within this of 1x are "the same time", whatever the rounds' own spread.
_SAME = 0.1


def _times(spread: Spread, digits: int = 2) -> str:
    """A ratio's rounds: "1.04x (from 0.98x to 1.22x over 5 rounds)"."""
    low, high = f"{spread.low:.{digits}f}{_TIMES}", f"{spread.high:.{digits}f}{_TIMES}"
    return f"{spread.median:.{digits}f}{_TIMES} (from {low} to {high} over {spread.count} rounds)"


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchRound:
    sequential_s: float
    threaded_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class FetchTimes:
    python: str
    delay_s: float
    requests: int
    rounds: tuple[FetchRound, ...]
    conditions: Conditions

    @property
    def sequential(self) -> Spread:
        return Spread.of([r.sequential_s for r in self.rounds])

    @property
    def threaded(self) -> Spread:
        return Spread.of([r.threaded_s for r in self.rounds])

    @property
    def speedup(self) -> Spread:
        """In-turn time over threaded time, round by round."""
        return Spread.of([r.sequential_s / r.threaded_s for r in self.rounds if r.threaded_s])

    def verdict(self) -> str:
        """What the rounds show, in a sentence that follows the numbers."""
        speedup = self.speedup
        overlap = speedup.low > 1 + _SAME
        if overlap:
            return (
                f"Threads were {_times(speedup, 1)} faster: a thread waiting for the network has "
                "released the GIL, so the waits overlap."
            )
        return (
            f"Threads were not clearly faster this time, {_times(speedup)}: the requests did "
            "not overlap, which a slow or busy server can cause; measure again."
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuRound:
    sequential_s: float
    threads_s: float
    processes_s: float


@dataclass(frozen=True, slots=True, kw_only=True)
class CpuTimes:
    python: str
    cpus: int
    count: int
    workers: int
    rounds: tuple[CpuRound, ...]
    conditions: Conditions
    gil_enabled: bool  # False only on a free-threaded build run with its GIL off

    @property
    def sequential(self) -> Spread:
        return Spread.of([r.sequential_s for r in self.rounds])

    @property
    def threads(self) -> Spread:
        return Spread.of([r.threads_s for r in self.rounds])

    @property
    def processes(self) -> Spread:
        return Spread.of([r.processes_s for r in self.rounds])

    @property
    def thread_speedup(self) -> Spread:
        """In-turn time over threads' time, round by round (rounds are taken in turn)."""
        return Spread.of([r.sequential_s / r.threads_s for r in self.rounds if r.threads_s])

    @property
    def process_speedup(self) -> Spread:
        return Spread.of([r.sequential_s / r.processes_s for r in self.rounds if r.processes_s])

    @property
    def noise(self) -> float:
        """How much the same work's time varied between rounds: the larger relative range of
        the runs in turn and of the threads. A speed-up smaller than this is not one."""
        return max(self.sequential.relative_range, self.threads.relative_range)

    def thread_verdict(self) -> str:
        """What the threads' rounds show, in a sentence that follows the numbers."""
        speedup = self.thread_speedup
        figures = f"{_times(speedup)} the speed of running in turn"
        if not self.gil_enabled:
            if speedup.low > 1 + max(_SAME, self.noise):
                return (
                    f"Threads: {figures}: with no GIL the {self.workers} threads ran Python at "
                    f"the same moment on {self.cpus} CPUs, as processes do."
                )
            cause = "; ".join(self.conditions.reasons) or "the cores were not both free"
            return (
                f"Threads: {figures}: there is no GIL here, yet the threads did not clearly run "
                f"at once this time ({cause}); measure again on an idle machine."
            )
        gil = (
            f"only the thread holding the GIL runs Python, so {self.workers} threads do the "
            "work one slice at a time"
        )
        margin = max(_SAME, self.noise)
        if abs(speedup.median - 1) <= margin or speedup.contains(1.0):
            return (
                f"Threads: {figures}, the same time within the rounds' own spread (the same "
                f"work varied by {self.noise:.0%} of its median between rounds): {gil}."
            )
        if speedup.median < 1:
            return (
                f"Threads: {figures}, slower than running in turn: {gil}, and every hand-over "
                "of the GIL costs time on top."
            )
        cause = (
            "; ".join(self.conditions.reasons)
            if self.conditions.busy
            else "nothing else was measured on the machine, so measure again"
        )
        return (
            f"Threads: {figures}. That gain is not parallelism ({gil}): the runs in turn were "
            f"slowed by something the threads were not ({cause})."
        )


def measure_fetch(
    interpreter: Interpreter,
    *,
    delay_url: str,
    delay_s: float,
    requests: int = 3,
    rounds: int = FETCH_ROUNDS,
) -> FetchTimes:
    """Fetch `delay_url` (which answers after `delay_s`) `requests` times in turn, then at once,
    `rounds` times."""
    if not MIN_DELAY_S <= delay_s <= MAX_DELAY_S:
        raise ValueError(f"seconds must lie in {MIN_DELAY_S}..{MAX_DELAY_S}")
    if not MIN_REQUESTS <= requests <= MAX_REQUESTS:
        raise ValueError(f"requests must lie in {MIN_REQUESTS}..{MAX_REQUESTS}")
    report, seen = conditions.busy_during(
        lambda: interpreter.run(
            "io_fetch", delay_url, requests, rounds, timeout=fetch_timeout_s(delay_s, requests)
        )
    )
    return FetchTimes(
        python=str(report["python"]),
        delay_s=delay_s,
        requests=int(report["requests"]),
        rounds=tuple(
            FetchRound(sequential_s=float(r["sequential_s"]), threaded_s=float(r["threaded_s"]))
            for r in report["rounds"]
        ),
        conditions=seen,
    )


def fetch_timeout_s(delay_s: float, requests: int, rounds: int = FETCH_ROUNDS) -> float:
    """The warm-up and each round's sequential and threaded fetches, with room for a slow
    start."""
    return 10.0 + (1 + rounds * (requests + 1)) * delay_s * 2


def cpu_timeout_s(count: int, workers: int, rounds: int = CPU_ROUNDS) -> float:
    """About 0.1 s per million on an idle core; three ways per round; generous for a busy
    machine."""
    return 10.0 + 3 * rounds * workers * count / 1_000_000


def measure_cpu(
    interpreter: Interpreter,
    *,
    count: int = 2_000_000,
    workers: int = 2,
    rounds: int = CPU_ROUNDS,
) -> CpuTimes:
    """Count down from `count`, `workers` times: in turn, in threads, in processes, `rounds`
    times."""
    if not MIN_COUNT <= count <= MAX_COUNT:
        raise ValueError(f"count must lie in {MIN_COUNT}..{MAX_COUNT}")
    if not MIN_WORKERS <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must lie in {MIN_WORKERS}..{MAX_WORKERS}")
    report, seen = conditions.busy_during(
        lambda: interpreter.run(
            "cpu_work", count, workers, rounds, timeout=cpu_timeout_s(count, workers, rounds)
        )
    )
    return CpuTimes(
        python=str(report["python"]),
        cpus=int(report["cpus"]),
        count=count,
        workers=workers,
        rounds=tuple(
            CpuRound(
                sequential_s=float(r["sequential_s"]),
                threads_s=float(r["threads_s"]),
                processes_s=float(r["processes_s"]),
            )
            for r in report["rounds"]
        ),
        conditions=seen,
        gil_enabled=bool(report["gil_enabled"]),
    )
