"""The busy flag on lab measurements: load average against the CPUs, and another timed
measurement holding the machine-wide lock."""

from __future__ import annotations

import asyncio
import threading

import pytest

from app.lab import jobs, load
from app.lab.load import Conditions


def test_a_quiet_machine_is_not_busy_and_says_nothing() -> None:
    quiet = Conditions(cpus=2, load_average=1.5, others_measuring=False)
    assert not quiet.busy and quiet.reason is None


def test_load_above_the_cpus_or_another_measurement_flags_the_result() -> None:
    loaded = Conditions(cpus=2, load_average=3.25, others_measuring=False)
    assert loaded.busy and loaded.reason == "the load average was 3.2 on 2 CPUs"
    shared = Conditions(cpus=1, load_average=0.2, others_measuring=True)
    assert shared.busy and shared.reason is not None and "GIL lab or versions" in shared.reason
    both = Conditions(cpus=1, load_average=4.0, others_measuring=True)
    assert both.reason is not None and both.reason.count(";") == 1


def test_measured_reads_the_load_before_and_after(monkeypatch: pytest.MonkeyPatch) -> None:
    readings = iter([(0.5, 0.5, 0.5), (9.0, 1.0, 1.0)])
    monkeypatch.setattr(load.os, "getloadavg", lambda: next(readings))
    result, conditions = load.measured(lambda: 42)
    assert result == 42
    assert conditions.load_average == 9.0 and conditions.busy


def test_another_measurement_holding_the_lock_is_seen(monkeypatch: pytest.MonkeyPatch) -> None:
    lock = f"test-{threading.get_native_id()}"
    monkeypatch.setattr(load, "MEASUREMENTS", lock)
    inside, release = threading.Event(), threading.Event()

    def measurement() -> None:
        inside.set()
        release.wait(10)

    async def while_another_measures() -> load.Conditions:
        runner = jobs.JobRunner(workers=1, exclusive=lock)  # as the GIL lab's runner holds it
        running = asyncio.ensure_future(runner.run(measurement, timeout=10))
        try:
            await asyncio.to_thread(inside.wait, 10)
            assert jobs.held(lock)
            _, conditions = load.measured(lambda: None)
        finally:
            release.set()
            await running
            runner.shutdown()
        return conditions

    assert not jobs.held(lock)
    conditions = asyncio.run(while_another_measures())
    assert conditions.others_measuring and conditions.busy
    assert not jobs.held(lock)
