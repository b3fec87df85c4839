"""The experiments on a real free-threaded CPython (3.13t, 3.14t), with its GIL off and on.

None can be installed on the machine these tests were written on (TECH-NOTES), so each test
skips, saying why, unless discovery finds one (for example after `uv python install 3.14t`,
or with its path in GILLAB_PYTHONS). Nothing here is simulated."""

from __future__ import annotations

import os

import pytest

from app.lab import facts, interpreters, lost_updates, workloads
from app.lab.interpreters import Interpreter


def _free_threaded() -> tuple[Interpreter, Interpreter] | None:
    found = interpreters.free_threaded(interpreters.available())
    off = next((one for one in found if not one.forced_gil), None)
    return None if off is None else (off, off.with_gil())


FOUND = _free_threaded()
pytestmark = pytest.mark.skipif(
    FOUND is None,
    reason="no free-threaded CPython on this host: `uv python install 3.14t`, then "
    "GILLAB_PYTHONS=<its path>, to run these",
)


def _pair() -> tuple[Interpreter, Interpreter]:
    assert FOUND is not None
    return FOUND


def test_the_gil_is_off_by_default_and_on_with_the_option() -> None:
    off, on = _pair()
    assert not facts.measure_facts(off).gil_enabled
    assert facts.measure_facts(on).gil_enabled


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="a race needs two cores")
def test_n_plus_equals_one_loses_updates_again_without_the_gil() -> None:
    off, _ = _pair()
    races = [
        lost_updates.measure_race(off, statement="inplace", iterations=200_000, runs=5)
        for _ in range(3)
    ]
    assert any(race.runs_with_losses for race in races), races
    assert not races[0].gil_enabled


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="threads scale only on two cores")
def test_cpu_bound_threads_scale_without_the_gil_and_not_with_it() -> None:
    off, on = _pair()
    free = workloads.measure_cpu(off, count=2_000_000, workers=2)
    held = workloads.measure_cpu(on, count=2_000_000, workers=2)
    assert not free.gil_enabled and held.gil_enabled
    assert free.thread_speedup.median > 1.3 > held.thread_speedup.median, (free, held)
