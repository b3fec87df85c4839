"""Was the machine busy while a lab measured? A timing taken while other work competed for the
cores says more about that work than about what was measured, so results carry a flag.

Busy means: the one-minute load average (runnable threads, averaged) above the CPUs this
process may use, before or after the measurement, or another timed lab measurement (the GIL
lab's and the versions page's, which take turns machine-wide under one lock) running at the
start or the end. The load average lags by design (it is a one-minute average, and includes the
measurement's own threads), so a flag is a warning to read the figures with care, not proof
that they are wrong; a quiet machine is the only clean reading.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from app.lab import jobs

T = TypeVar("T")

MEASUREMENTS = "measurements"
"""The machine-wide lock the timed GIL and versions experiments hold (JobRunner exclusive=)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Conditions:
    cpus: int
    load_average: float  # one-minute load average: the higher of before and after
    others_measuring: bool  # another timed lab measurement ran at the start or the end

    @property
    def busy(self) -> bool:
        return self.load_average > self.cpus or self.others_measuring

    @property
    def reason(self) -> str | None:
        """Why the result is flagged, in words, or None on a quiet machine."""
        reasons = []
        if self.load_average > self.cpus:
            reasons.append(
                f"the load average was {self.load_average:.1f} on {self.cpus} "
                f"CPU{'' if self.cpus == 1 else 's'}"
            )
        if self.others_measuring:
            reasons.append("another timed lab measurement (GIL lab or versions) was running")
        return "; ".join(reasons) or None


def measured(job: Callable[[], T]) -> tuple[T, Conditions]:
    """Run `job()` and report the conditions it ran in (blocking, as `job` is)."""
    load_before, others_before = os.getloadavg()[0], jobs.held(MEASUREMENTS)
    result = job()
    load_after, others_after = os.getloadavg()[0], jobs.held(MEASUREMENTS)
    conditions = Conditions(
        cpus=len(os.sched_getaffinity(0)),
        load_average=max(load_before, load_after),
        others_measuring=others_before or others_after,
    )
    return result, conditions
