from __future__ import annotations

import asyncio
import os
import threading
import time
from functools import partial
from itertools import pairwise
from pathlib import Path

import pytest

from app.lab.jobs import Busy, JobRunner, TimedOut, WorkerDied


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
    # The limit leaves the thread time to start on a busy machine: one that has not is Busy.
    runner = JobRunner(workers=1, queue=0)
    release = threading.Event()
    with pytest.raises(TimedOut):
        asyncio.run(runner.run(lambda: release.wait(5), timeout=0.5))
    release.set()
    runner.shutdown()


def test_a_thread_job_that_cannot_start_in_time_is_busy_and_never_runs() -> None:
    """A job still queued, behind one that holds the runner's only thread, when its limit runs
    out never ran: the lab was full (429, come back), not the job slow (504), as for a process
    job (it was TimedOut). It gives up its place at once and does not run later for nobody.

    The first job holds until the test lets it go, so what is checked is the order of events;
    the bounds on the waits only end a test that would hang."""
    runner = JobRunner(workers=1, queue=2, retry_after=4)
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    async def scenario() -> None:
        holding = asyncio.ensure_future(runner.run(partial(_hold, started, release), timeout=60))
        assert await asyncio.to_thread(started.wait, 60)
        with pytest.raises(Busy) as refused:
            await runner.run(partial(ran.append, "refused"), timeout=0.2)
        assert refused.value.retry_after == 4
        assert not holding.done() and runner.admitted == 1  # its place is free already
        release.set()
        assert await holding == "held"
        # The thread takes jobs in order: had the refused one stayed queued, it would run first.
        await runner.run(partial(ran.append, "next"), timeout=60)

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        runner.shutdown()
    assert ran == ["next"]


def test_a_thread_job_that_waits_past_its_limit_for_the_machine_wide_lock_is_busy() -> None:
    """Each server process has its own runner for timed experiments, and their jobs take turns
    on one lock. A job still waiting for that lock when its limit runs out never ran: Busy, as
    in its own runner's queue, and it does not take the lock later to run for nobody (it was
    TimedOut, then ran)."""
    lock = f"test-busy-{os.getpid()}"
    elsewhere, here = (JobRunner(workers=1, queue=2, exclusive=lock) for _ in range(2))
    started, release = threading.Event(), threading.Event()
    ran: list[str] = []

    async def scenario() -> None:
        holding = asyncio.ensure_future(elsewhere.run(partial(_hold, started, release), timeout=60))
        assert await asyncio.to_thread(started.wait, 60)
        with pytest.raises(Busy):
            await here.run(partial(ran.append, "refused"), timeout=0.2)
        assert here.admitted == 0
        release.set()
        assert await holding == "held"
        # The refused job's thread waits for the lock until now; the next job comes after it.
        await here.run(partial(ran.append, "next"), timeout=60)

    try:
        asyncio.run(scenario())
    finally:
        release.set()
        elsewhere.shutdown()
        here.shutdown()
    assert ran == ["next"]


def test_a_thread_job_that_started_has_its_whole_limit_counted_from_its_start() -> None:
    """As for a process job: queued for half its limit, a job that starts in time still has the
    whole limit to run, and its caller waits for it that long.

    Events order the jobs; the one sleep waits out the limit as counted from the asking, and
    half the limit stays spare for a busy machine."""
    limit_s = 2.0
    runner = JobRunner(workers=1, queue=2)
    first_started, first_release = threading.Event(), threading.Event()
    late_started, late_release = threading.Event(), threading.Event()

    async def scenario() -> None:
        first = partial(_hold, first_started, first_release)
        holding = asyncio.ensure_future(runner.run(first, timeout=60))
        assert await asyncio.to_thread(first_started.wait, 60)
        asked = time.monotonic()
        late_job = partial(_hold, late_started, late_release)
        late = asyncio.ensure_future(runner.run(late_job, timeout=limit_s))
        await asyncio.sleep(limit_s / 2)
        first_release.set()
        assert await asyncio.to_thread(late_started.wait, 60)
        await asyncio.sleep(max(0.0, asked + limit_s - time.monotonic()) + 0.1)
        assert not late.done()  # past its limit from the asking, not from its start
        late_release.set()
        assert await late == "held"
        assert await holding == "held"

    try:
        asyncio.run(scenario())
    finally:
        first_release.set()
        late_release.set()
        runner.shutdown()


def test_worker_processes_run_below_the_server_at_the_nice_asked_for() -> None:
    runner = JobRunner(workers=1, queue=0, processes=True, nice=10)
    try:
        assert asyncio.run(runner.run(partial(os.nice, 0), timeout=60)) == os.nice(0) + 10
    finally:
        runner.shutdown()


def test_callers_asking_for_the_same_job_at_once_share_one_run() -> None:
    runner = JobRunner(workers=1, queue=0)  # room for one job: a second run would be refused
    release = threading.Event()
    runs: list[str] = []

    def job(name: str) -> str:
        runs.append(name)
        release.wait(5)
        return f"{name} measured"

    async def scenario() -> None:
        waiting = [
            asyncio.ensure_future(runner.run_shared("timeline", partial(job, "first"), timeout=5))
            for _ in range(30)
        ]
        await asyncio.sleep(0.05)
        with pytest.raises(Busy):  # another measurement still queues as before
            await runner.run_shared("other", partial(job, "other"), timeout=5)
        waiting[0].cancel()  # one visitor leaves; the others still get the run
        release.set()
        results = await asyncio.gather(*waiting[1:])
        assert results == ["first measured"] * 29
        # Nothing is kept: asking again afterwards measures again.
        assert await runner.run_shared("timeline", partial(job, "again"), timeout=5) == (
            "again measured"
        )

    asyncio.run(scenario())
    assert runs == ["first", "again"]
    assert runner.admitted == 0
    runner.shutdown()


def test_a_shared_run_that_fails_fails_for_everyone_who_waited() -> None:
    runner = JobRunner(workers=1, queue=0)

    def broken() -> None:
        raise RuntimeError("the script broke")

    async def scenario() -> list[BaseException | None]:
        waiting = [runner.run_shared("facts", broken, timeout=5) for _ in range(3)]
        return await asyncio.gather(*waiting, return_exceptions=True)

    outcomes = asyncio.run(scenario())
    assert [str(outcome) for outcome in outcomes] == ["the script broke"] * 3
    runner.shutdown()


def test_a_worker_process_that_dies_fails_its_job_and_the_next_job_runs() -> None:
    """A crash in C (or the OOM killer) takes a worker process down: that job fails with a clear
    error, and the lab goes on in a fresh pool instead of refusing everything after."""
    runner = JobRunner(workers=1, queue=2, processes=True)

    async def scenario() -> None:
        with pytest.raises(WorkerDied, match="ended abruptly"):
            await runner.run(partial(os._exit, 3), timeout=60)
        assert await runner.run(partial(pow, 2, 10), timeout=60) == 1024
        with pytest.raises(WorkerDied):
            await runner.run(partial(os._exit, 4), timeout=60)
        assert await runner.run(partial(pow, 3, 3), timeout=60) == 27

    try:
        asyncio.run(scenario())
        assert runner.admitted == 0
    finally:
        runner.shutdown()


class _Unpicklable(Exception):
    """Pickles (as its class and args) but does not unpickle: __init__ wants two arguments."""

    def __init__(self, what: str, why: str) -> None:
        super().__init__(f"{what}: {why}")


def _raise_unpicklable() -> None:
    raise _Unpicklable("the job", "failed")


def test_a_process_job_whose_error_does_not_unpickle_fails_and_the_next_job_runs() -> None:
    """The server could not read that outcome: the job still gets an answer, and its worker's
    slot (the only one here) lives on for the next job."""
    runner = JobRunner(workers=1, queue=2, processes=True)

    async def scenario() -> None:
        with pytest.raises(RuntimeError, match="did not unpickle"):
            await asyncio.wait_for(runner.run(_raise_unpicklable, timeout=60), 30)
        assert await asyncio.wait_for(runner.run(partial(pow, 2, 10), timeout=60), 30) == 1024

    try:
        asyncio.run(scenario())
    finally:
        runner.shutdown()


def test_runners_sharing_an_exclusive_lock_never_run_at_once() -> None:
    """Each server worker has its own measurement runner; the timed experiments of all of them
    still take turns, machine-wide."""
    spans: list[tuple[float, float]] = []

    def measure() -> None:
        started = time.monotonic()
        time.sleep(0.05)
        spans.append((started, time.monotonic()))

    runners = [JobRunner(workers=2, queue=4, exclusive=f"test-{os.getpid()}") for _ in range(2)]

    async def scenario() -> None:
        await asyncio.gather(*(runner.run(measure, timeout=10) for runner in runners * 3))

    asyncio.run(scenario())
    spans.sort()
    assert len(spans) == 6
    assert all(end <= following for (_, end), (following, _) in pairwise(spans))
    for runner in runners:
        runner.shutdown()


def test_a_process_job_that_cannot_start_in_time_is_busy_and_one_that_started_gets_its_time(
    tmp_path: Path,
) -> None:
    """A job that waited its whole limit for a worker never ran: the lab was full (429, come
    back), not the job slow (504). A job that starts has its whole limit to run.

    The jobs hold until the test lets them go (files in `tmp_path`), so what is checked is the
    order of events, with half the limit to spare on each side for a busy machine (sleeps of
    2.5 s and 1.5 s against a 3 s limit ran past it at load 20)."""
    limit_s = 4.0
    runner = JobRunner(workers=1, queue=2, processes=True, retry_after=4)
    first, second = tmp_path / "first", tmp_path / "second"

    async def scenario() -> None:
        holding = asyncio.ensure_future(runner.run(partial(_held, str(first)), timeout=60))
        await _until_exists(first.with_suffix(".started"))
        quick = asyncio.ensure_future(runner.run(partial(pow, 2, 3), timeout=0.5))
        asked = time.monotonic()
        late = asyncio.ensure_future(runner.run(partial(_held, str(second)), timeout=limit_s))
        # Both wait for the held worker: the quick one past its whole limit, the late one half
        # of its own. Then the worker is free:
        await asyncio.sleep(limit_s / 2)
        first.touch()
        with pytest.raises(Busy) as refused:  # the quick one never started in time
            await quick
        assert refused.value.retry_after == 4
        await _until_exists(second.with_suffix(".started"))
        # The late one started in time; it is let go once its limit, counted from when it was
        # asked for, is past, and it still has its answer.
        await asyncio.sleep(max(0.0, asked + limit_s - time.monotonic()) + 0.1)
        second.touch()
        assert await late == str(second)
        assert await holding == str(first)

    try:
        asyncio.run(scenario())
    finally:
        first.touch()
        second.touch()
        runner.shutdown()


def test_a_process_job_that_cannot_get_a_worker_is_busy_when_its_own_limit_runs_out(
    tmp_path: Path,
) -> None:
    """It was told "busy" only once a worker freed up: behind a job that held the worker for a
    minute, a caller with a limit of one second waited the whole minute for its 429. Now it is
    told when its limit runs out, gives up its place at once, and never runs.

    The worker is held until the test lets it go, so what is checked is that the answer comes
    while it is still held; the bound on the wait only ends a test that would hang (thirty
    times the limit, for a busy machine)."""
    limit_s = 1.0
    runner = JobRunner(workers=1, queue=2, processes=True, retry_after=4)
    first, never = tmp_path / "first", tmp_path / "never"

    async def scenario() -> None:
        holding = asyncio.ensure_future(runner.run(partial(_held, str(first)), timeout=120))
        await _until_exists(first.with_suffix(".started"))
        waiting = runner.run(partial(_held, str(never)), timeout=limit_s)
        asked = time.monotonic()
        with pytest.raises(Busy) as refused:
            await asyncio.wait_for(waiting, timeout=30 * limit_s)
        assert time.monotonic() - asked >= limit_s  # it had its whole limit to get a worker
        assert refused.value.retry_after == 4
        assert not holding.done() and runner.admitted == 1  # its place is free already
        first.touch()
        assert await holding == str(first)
        assert await runner.run(partial(pow, 2, 3), timeout=60) == 8  # past the refused one
        assert not never.with_suffix(".started").exists()

    try:
        asyncio.run(scenario())
    finally:
        first.touch()
        never.touch()
        runner.shutdown()


def _held(path: str) -> str:
    """Run in a worker: say it started, then hold until `path` exists (60 s at most)."""
    Path(path).with_suffix(".started").touch()
    deadline = time.monotonic() + 60
    while not Path(path).exists() and time.monotonic() < deadline:
        time.sleep(0.01)
    return path


async def _until_exists(path: Path) -> None:
    deadline = time.monotonic() + 60
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        await asyncio.sleep(0.01)


def _hold(started: threading.Event, release: threading.Event) -> str:
    """A thread job: say it started, then hold until released (60 s at most)."""
    started.set()
    release.wait(60)
    return "held"
