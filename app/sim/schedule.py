"""Schedules: who takes each step, as letters (`ABBA`) or run-length form (`A1B2A1`).

Both forms parse (and mix: `A2BA`); the run-length form with every count written out is
canonical, so a schedule has exactly one canonical spelling.
"""

from __future__ import annotations

import re

from app.sim.errors import ScheduleError
from app.sim.model import Thread

MAX_SCHEDULE_STEPS = 10_000
_TOKEN = re.compile(r"([ABab])(\d*)")
_RUN = re.compile(r"A+|B+")


def parse_schedule(text: str) -> tuple[Thread, ...]:
    """`"A2B1"` or `"AAB"` → (A, A, B). Spaces are ignored; anything else is an error."""
    compact = "".join(text.split())
    threads: list[Thread] = []
    position = 0
    for match in _TOKEN.finditer(compact):
        if match.start() != position:
            break
        count = int(match.group(2)) if match.group(2) else 1
        if count == 0 or len(threads) + count > MAX_SCHEDULE_STEPS:
            raise ScheduleError(
                f"run lengths must be between 1 and {MAX_SCHEDULE_STEPS} steps in all "
                f"(at {match.group(0)!r})"
            )
        threads.extend([Thread(match.group(1).upper())] * count)
        position = match.end()
    if position != len(compact):
        raise ScheduleError(
            f"expected letters A and B, each optionally followed by a count (like A2B1), "
            f"found {compact[position : position + 10]!r} at character {position + 1}"
        )
    return tuple(threads)


def format_schedule(threads: tuple[Thread, ...] | list[Thread]) -> str:
    """(A, A, B) → `"A2B1"`, the canonical form."""
    # The letters joined as one string first: /sim formats a whole run's schedule for each of
    # its "Step A"/"Step B" links, and formatting each enum member took most of that.
    letters = "".join(threads)
    return "".join(f"{run[0]}{len(run)}" for run in _RUN.findall(letters))
