"""app.lab.conditions: spreads of repeated timings, and whether the machine was busy."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from app.lab import conditions
from app.lab.conditions import Conditions, Spread


def test_a_spread_is_the_median_and_the_range() -> None:
    spread = Spread.of([1.0, 1.22, 1.04, 0.98, 1.1])
    assert (spread.median, spread.low, spread.high, spread.count) == (1.04, 0.98, 1.22, 5)
    assert spread.contains(1.0) and not spread.contains(1.3)
    assert spread.relative_range == pytest.approx(0.24 / 1.04)
    with pytest.raises(ValueError, match="at least one"):
        Spread.of([])


def test_busy_means_more_load_than_cores_or_another_lab_job() -> None:
    idle = Conditions(cpus=2, load_average=1.5, other_jobs=0)
    assert not idle.busy and idle.reasons == ()
    loaded = Conditions(cpus=2, load_average=6.1, other_jobs=0)
    assert loaded.busy and loaded.reasons == ("the load average was 6.1 on 2 CPUs",)
    shared = Conditions(cpus=2, load_average=None, other_jobs=1)
    assert shared.busy and shared.reasons == ("1 other lab job was running",)
    worse = idle.worse(Conditions(cpus=2, load_average=2.5, other_jobs=3))
    assert (worse.load_average, worse.other_jobs) == (2.5, 3)


def test_other_jobs_counts_markers_held_by_other_threads_and_processes(tmp_path: Path) -> None:
    assert conditions.other_jobs(tmp_path) == 0
    started, release = threading.Event(), threading.Event()

    def job() -> None:
        with conditions.marking(tmp_path):
            started.set()
            release.wait(10)

    worker = threading.Thread(target=job)
    worker.start()
    started.wait(10)
    # A job in another process holds its marker the same way.
    child = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time\n"
         "from pathlib import Path\n"
         "from app.lab import conditions\n"
         "with conditions.marking(Path(sys.argv[1])):\n"
         "    print('held', flush=True)\n"
         "    time.sleep(30)\n", str(tmp_path)],
        stdout=subprocess.PIPE, text=True, cwd=Path(__file__).resolve().parents[2],
    )  # fmt: skip
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        with conditions.marking(tmp_path):
            # Our own marker does not count; the thread's and the process's do.
            assert conditions.other_jobs(tmp_path) == 2
        child.kill()
        child.wait()
        # The dead process's marker is unlocked: not counted, and cleaned up.
        assert conditions.other_jobs(tmp_path) == 1
        assert len(list(tmp_path.iterdir())) == 1
    finally:
        child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
        release.set()
        worker.join()
    assert conditions.other_jobs(tmp_path) == 0
    assert list(tmp_path.iterdir()) == []


def test_every_job_runner_job_is_marked_while_it_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app.lab.jobs import JobRunner

    monkeypatch.setattr(conditions, "jobs_dir", lambda: tmp_path)
    runner = JobRunner(workers=1)
    try:
        markers = asyncio.run(runner.run(lambda: [p.name for p in tmp_path.iterdir()], timeout=10))
    finally:
        runner.shutdown()
    assert len(markers) == 1 and markers[0].startswith(f"{os.getpid()}-")
    assert list(tmp_path.iterdir()) == []


def test_busy_during_reports_the_worse_of_before_and_after(tmp_path: Path) -> None:
    started, release = threading.Event(), threading.Event()

    def other_job() -> None:
        with conditions.marking(tmp_path):
            started.set()
            release.wait(10)

    other = threading.Thread(target=other_job)

    def work() -> str:
        other.start()  # another job starts while ours runs: only the "after" snapshot sees it
        started.wait(10)
        return "done"

    try:
        result, seen = conditions.busy_during(work, tmp_path)
    finally:
        release.set()
        other.join()
    assert result == "done"
    assert seen.cpus == len(os.sched_getaffinity(0))
    assert seen.other_jobs == 1 and seen.busy
