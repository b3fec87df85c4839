from __future__ import annotations

import asyncio
import os
import threading
from functools import partial

import pytest

from app.lab.jobs import Busy, JobRunner, TimedOut


def test_runs_a_job_and_returns_its_result() -> None:
    runner = JobRunner(workers=1, queue=0)
    assert asyncio.run(runner.run(lambda: 6 * 7, timeout=5)) == 42
    assert runner.admitted == 0
    runner.shutdown()


def test_refuses_work_past_capacity_with_a_retry_hint() -> None:
    runner = JobRunner(workers=1, queue=1, retry_after=3)
    release = threading.Event()

    async def scenario() -> None:
        first = asyncio.ensure_future(runner.run(release.wait, timeout=5))
        second = asyncio.ensure_future(runner.run(release.wait, timeout=5))
        await asyncio.sleep(0.05)
        with pytest.raises(Busy) as refused:
            await runner.run(lambda: None, timeout=5)
        assert refused.value.retry_after == 3
        release.set()
        await asyncio.gather(first, second)

    asyncio.run(scenario())
    assert runner.admitted == 0
    runner.shutdown()


def test_a_slow_job_times_out_for_its_caller() -> None:
    runner = JobRunner(workers=1, queue=0)
    release = threading.Event()
    with pytest.raises(TimedOut):
        asyncio.run(runner.run(lambda: release.wait(5), timeout=0.05))
    release.set()
    runner.shutdown()


def test_worker_processes_run_below_the_server_at_the_nice_asked_for() -> None:
    runner = JobRunner(workers=1, queue=0, processes=True, nice=10)
    try:
        assert asyncio.run(runner.run(partial(os.nice, 0), timeout=60)) == os.nice(0) + 10
    finally:
        runner.shutdown()
