"""A bounded place to run blocking lab work off the event loop.

At most `workers` jobs run at once (one per core by default: the experiments want whole
cores), at most `queue` more wait; past that, `Busy` tells the caller when to come back, and
the web layer answers 429 with Retry-After. A job that outlives its wall-clock timeout is
reported as `TimedOut` to its caller; the thread is left to finish on its own, so lab code
must bound its own work too (iterations, durations, subprocess timeouts). A worker process that
ends abruptly (killed, out of memory, a crash in C) is reported as `WorkerDied` to the jobs it
took down, and the next job gets a fresh pool: one crash never disables a lab.
"""

from __future__ import annotations

import asyncio
import fcntl
import multiprocessing
import os
import tempfile
import threading
from collections.abc import Callable, Hashable
from concurrent.futures import (
    BrokenExecutor,
    Executor,
    Future,
    ProcessPoolExecutor,
    ThreadPoolExecutor,
)
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from app.lab.conditions import marked

T = TypeVar("T")


class Busy(Exception):
    """Every worker is busy and the queue is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the lab is busy; retry in {retry_after} s")
        self.retry_after = retry_after


class TimedOut(Exception):
    """A job ran past its wall-clock limit."""


class WorkerDied(Exception):
    """The worker process running a job ended abruptly."""


def _holding(lock: str, job: Callable[[], T]) -> T:
    """Run `job` holding the machine-wide lock `lock` (an flock, released if the process dies)."""
    path = Path(tempfile.gettempdir()) / f"gil-lab-{os.getuid()}-{lock}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            return job()
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class JobRunner:
    def __init__(
        self,
        *,
        workers: int | None = None,
        queue: int = 8,
        retry_after: int = 5,
        processes: bool = False,
        nice: int = 0,
        exclusive: str | None = None,
    ) -> None:
        """`processes=True` runs jobs in worker processes (started on first use with "spawn",
        never forked from the server's threads): for pure-Python CPU work, which in a thread
        would hold the server's GIL and slow every other request. Jobs must then pickle
        (a module-level function, or functools.partial of one). Those processes run `nice`
        steps below the server, so seconds of work there never delay a page.

        `exclusive` names a lock that every job of every runner so named holds while it runs,
        across all the processes on this machine (the server's workers each have their own
        runners): for timed experiments, which two at once would disturb."""
        self.workers = workers or max(1, len(os.sched_getaffinity(0)))
        self.capacity = self.workers + queue
        self.retry_after = retry_after
        self._exclusive = exclusive
        if processes:
            self._new_executor: Callable[[], Executor] = partial(
                ProcessPoolExecutor,
                max_workers=self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=os.nice,
                initargs=(nice,),
            )
        else:
            self._new_executor = partial(
                ThreadPoolExecutor, max_workers=self.workers, thread_name_prefix="lab"
            )
        self._executor: Executor = self._new_executor()
        self._admitted = 0
        self._lock = threading.Lock()
        self._shared: dict[Hashable, asyncio.Task[Any]] = {}

    @property
    def admitted(self) -> int:
        """Jobs running or waiting right now."""
        return self._admitted

    async def run(self, job: Callable[[], T], *, timeout: float) -> T:
        """Run `job()` in the pool; raise Busy at once when full, TimedOut after `timeout` s."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise Busy(self.retry_after)
            self._admitted += 1
        # Marked while it runs (not while it waits for the exclusive lock), so measurements
        # elsewhere can say that another lab job shared the machine (app.lab.conditions).
        job = partial(marked, job)
        if self._exclusive is not None:
            job = partial(_holding, self._exclusive, job)
        try:
            executor, future = self._submit(job)
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        try:
            return await asyncio.wait_for(asyncio.wrap_future(future), timeout)
        except TimeoutError as exc:
            raise TimedOut(f"the experiment ran past its {timeout:g} s limit") from exc
        except BrokenExecutor as exc:
            self._renew(executor)
            raise WorkerDied(
                "the process running the experiment ended abruptly; run it again"
            ) from exc

    def _submit(self, job: Callable[[], T]) -> tuple[Executor, Future[T]]:
        executor = self._executor
        try:
            return executor, executor.submit(job)
        except BrokenExecutor:  # broken by an earlier job: start afresh
            executor = self._renew(executor)
            return executor, executor.submit(job)

    def _renew(self, broken: Executor) -> Executor:
        """A fresh pool in place of `broken` (once, however many jobs saw it break)."""
        with self._lock:
            if self._executor is broken:
                broken.shutdown(wait=False, cancel_futures=True)
                self._executor = self._new_executor()
            return self._executor

    async def run_shared(self, key: Hashable, job: Callable[[], T], *, timeout: float) -> T:
        """`run`, except that whoever asks with the same key while such a job waits or runs gets
        that job's result (or error) instead of queueing another: a class that opens one lesson
        together runs each of its experiments once, not thirty times into a full queue. Nothing
        is kept once the job ends; the next caller runs it afresh. A caller who leaves does not
        cancel the job for the others."""
        task = self._shared.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(self.run(job, timeout=timeout))
            self._shared[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        result: T = await asyncio.shield(task)
        return result

    def _forget(self, key: Hashable, task: asyncio.Task[Any]) -> None:
        if self._shared.get(key) is task:
            del self._shared[key]
        if not task.cancelled():
            task.exception()  # retrieved here, so a job everyone left is not reported unread

    def _release(self) -> None:
        with self._lock:
            self._admitted -= 1

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
