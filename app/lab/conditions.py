"""The conditions a measurement was taken in, and the spread of repeated ones.

A timing taken once on a shared machine says as much about the machine as about the code: one
run of a one-thread atomic add read 343 ns where the run before read 3.5 ns. So the labs repeat
what they time and report a `Spread` (median and range, never a best or a single run), and
take a `Conditions` snapshot before and after, which says whether the machine was busy:

- the 1-minute load average above the usable CPUs: more runnable work than cores, so a thread
  that wants a core may wait for one;
- other lab jobs running on this machine at the same time, in any of the server's worker
  processes (or another server of the same user): each lab job holds a marker file locked with
  flock while it runs (`marked`, which JobRunner wraps around every job), and `snapshot` counts
  the locked markers that are not the caller's own. A marker whose process died is unlocked by
  the kernel and removed by the next count.

Any lab may use this: time in rounds, `Spread.of` the rounds, `busy_during` around the work.
"""

from __future__ import annotations

import contextlib
import fcntl
import itertools
import os
import statistics
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

_counter = itertools.count()
_local = threading.local()  # the marker of the job running in this thread, if any


def jobs_dir() -> Path:
    """Where running lab jobs keep their markers: one directory per user of the machine."""
    return Path(tempfile.gettempdir()) / f"gil-lab-{os.getuid()}-jobs"


@dataclass(frozen=True, slots=True, kw_only=True)
class Spread:
    """Repeated measurements of one quantity: the median and the range."""

    median: float
    low: float
    high: float
    count: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        if not values:
            raise ValueError("a spread needs at least one value")
        return cls(
            median=statistics.median(values), low=min(values), high=max(values), count=len(values)
        )

    @property
    def relative_range(self) -> float:
        """(high - low) / median: 0.1 means the rounds differed by a tenth of the median."""
        return (self.high - self.low) / self.median if self.median else 0.0

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high


@dataclass(frozen=True, slots=True, kw_only=True)
class Conditions:
    """How busy the machine was around a measurement (the worse of before and after)."""

    cpus: int
    load_average: float | None  # 1-minute, None where the OS has none
    other_jobs: int  # other lab jobs running at the same time

    @property
    def busy(self) -> bool:
        overloaded = self.load_average is not None and self.load_average > self.cpus
        return overloaded or self.other_jobs > 0

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the result may be disturbed, one short clause each (empty when idle)."""
        reasons = []
        if self.load_average is not None and self.load_average > self.cpus:
            reasons.append(
                f"the load average was {self.load_average:.1f} on {self.cpus} "
                f"CPU{'s' if self.cpus != 1 else ''}"
            )
        if self.other_jobs:
            reasons.append(
                f"{self.other_jobs} other lab job{'s' if self.other_jobs != 1 else ''} "
                f"{'were' if self.other_jobs != 1 else 'was'} running"
            )
        return tuple(reasons)

    def worse(self, other: Conditions) -> Conditions:
        loads = [load for load in (self.load_average, other.load_average) if load is not None]
        return Conditions(
            cpus=min(self.cpus, other.cpus),
            load_average=max(loads) if loads else None,
            other_jobs=max(self.other_jobs, other.other_jobs),
        )


def usable_cpus() -> int:
    return len(os.sched_getaffinity(0))


def other_jobs(directory: Path | None = None) -> int:
    """Lab jobs running now, besides the caller's own (see the module docstring)."""
    directory = directory or jobs_dir()
    own = getattr(_local, "marker", None)
    count = 0
    with contextlib.suppress(FileNotFoundError):
        for marker in directory.iterdir():
            if marker == own:
                continue
            try:
                with marker.open("rb") as handle:
                    fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except BlockingIOError:
                count += 1  # held: its job is running
            except FileNotFoundError:
                continue  # finished while we looked
            else:
                marker.unlink(missing_ok=True)  # unlocked: its process is gone
    return count


def snapshot(directory: Path | None = None) -> Conditions:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    return Conditions(cpus=usable_cpus(), load_average=load, other_jobs=other_jobs(directory))


def busy_during(work: Callable[[], T], directory: Path | None = None) -> tuple[T, Conditions]:
    """Run `work` and report the conditions around it: the worse of before and after."""
    before = snapshot(directory)
    result = work()
    return result, before.worse(snapshot(directory))


@contextlib.contextmanager
def marking(directory: Path | None = None) -> Iterator[Path]:
    """Hold a marker that tells other measurements a lab job is running here."""
    directory = directory or jobs_dir()
    directory.mkdir(mode=0o700, exist_ok=True)
    marker = directory / f"{os.getpid()}-{threading.get_ident()}-{next(_counter)}"
    previous = getattr(_local, "marker", None)
    with marker.open("wb") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        _local.marker = marker
        try:
            yield marker
        finally:
            _local.marker = previous
            marker.unlink(missing_ok=True)


def marked(job: Callable[[], T]) -> T:
    """`job()` while holding a marker (module level, so process pools can pickle it)."""
    with marking():
        return job()
