"""A bounded place to run blocking lab work off the event loop.

At most `workers` jobs run at once (one per core by default: the experiments want whole
cores), at most `queue` more wait; past that, `Busy` tells the caller when to come back, and
the web layer answers 429 with Retry-After.

Jobs run in threads, or (`processes=True`) in worker processes this module owns, one job at a
time each. A job's time limit bounds its wait, then its run, alike for both kinds. One still
waiting when its limit runs out (for a worker, or a thread job for the machine-wide `exclusive`
lock) is `Busy` then (the lab was full, not the job slow), gives up its place, and never runs.
One that started has its whole limit to run, counted from its start, and is `TimedOut` past it:
a process job's worker is killed with everything it started and replaced, so a hung experiment
never holds a worker; a thread cannot be killed, so its caller stops waiting and the job is left
to finish (lab code run in threads must bound its own work: iterations, durations, subprocess
timeouts). A worker that ends abruptly (killed, out of memory, a crash in C) is `WorkerDied` for
the one job it was running, and the next job gets a fresh worker: whatever dies, the lab comes
back by itself. A job its worker died before starting never ran, so it does not fail for it: a
worker says that it starts each job it is sent, and a job whose worker died before saying so
goes to a fresh worker (once more only, so that a job no worker can start still fails), with
its whole limit there. That happens when a worker is killed while idle: its slot checks that
it is alive before sending it a job, but a SIGKILL takes effect some time after it is sent, and
nothing outside the worker can tell that one is on its way.

Why not concurrent.futures.ProcessPoolExecutor (used here before) or loky: neither can tell
which worker runs a job, so neither can kill the one that hangs; both watch their workers
through pipes that a process forked from a worker inherits, so a worker that died with a child
alive went unseen (the native lab's real-free runs fork); and Python 3.11's pool thread dies with
InvalidStateError when a caller cancelled a job before the pool broke, leaving the other jobs
unanswered. loky fixes the last and can kill process trees at shutdown, but brings its own
resource tracker, cloudpickle and a process-wide reusable executor, and still not the first
two. Here each worker is a spawned process with one pipe, in its own process group (killing the
group takes whatever it forked), killed by the kernel when the thread that started it ends
(PR_SET_PDEATHSIG), and watched by polling its exit status rather than a pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import enum
import fcntl
import multiprocessing
import os
import queue as queues
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Hashable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import partial
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from multiprocessing.reduction import ForkingPickler
from pathlib import Path
from typing import Any, Generic, TypeVar

from app.lab.conditions import marked

T = TypeVar("T")

_POLL_S = 0.1  # how often a busy worker's exit status is checked
_PR_SET_PDEATHSIG = 1


class Busy(Exception):
    """Every worker is busy and the queue is full."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the lab is busy; retry in {retry_after} s")
        self.retry_after = retry_after


class TimedOut(Exception):
    """A job ran past its wall-clock limit."""


class WorkerDied(Exception):
    """The worker process running a job ended abruptly."""


@contextlib.contextmanager
def _exclusively(lock: str | None) -> Iterator[None]:
    """Hold the machine-wide lock `lock` (an flock, released if the process dies), if one is
    named."""
    if lock is None:
        yield
        return
    path = Path(tempfile.gettempdir()) / f"gil-lab-{os.getuid()}-{lock}.lock"
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holding(lock: str | None, job: Callable[[], T]) -> T:
    """`job()` holding `lock` (module level, so a worker process can unpickle it)."""
    with _exclusively(lock):
        return job()


def die_with_parent(parent: int) -> None:
    """Have the kernel SIGKILL this process when the thread that started it ends (Linux), so
    no lab process outlives the server, however the server ends."""
    if sys.platform == "linux":
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before prctl took effect
        os._exit(1)


def _serve(connection: Connection, parent: int, nice: int) -> None:
    """A worker process: run each job received, send back (True, result) or (False, error)."""
    die_with_parent(parent)
    os.setpgid(0, 0)  # its own group, so killing the group ends whatever a job forked too
    os.nice(nice)
    while True:
        try:
            job: Callable[[], Any] = connection.recv()
        except EOFError:
            return
        connection.send_bytes(_STARTED)  # from here, a death is this job's (_ProcessPool._run)
        try:
            outcome: tuple[bool, Any] = (True, job())
        except Exception as error:  # every error goes back to the caller
            outcome = (False, error)
        try:
            connection.send(outcome)
        except Exception as error:  # an outcome that does not pickle
            connection.send((False, RuntimeError(f"the job's outcome did not pickle: {error}")))


def _kill_group(process: BaseProcess, *, reap: bool = True) -> None:
    """SIGKILL a worker and whatever it started (its process group)."""
    if process.pid is not None:
        # The group may be gone, or not made yet (killed before setpgid): then the process.
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
    if reap:
        process.join()


@dataclass(frozen=True, slots=True, kw_only=True)
class _Order:
    job: Callable[[], Any]
    future: Future[Any]
    timeout: float  # for the job's run, counted from its start


def _ran_past(timeout: float) -> TimedOut:
    return TimedOut(f"the experiment ran past its {timeout:g} s limit")


_STOP = None  # what the queue hands a slot to end it
_STARTED = b""  # what a worker sends as it starts an order: the smallest message there is


class _Ran(enum.Enum):
    """How an order went on a worker, as far as its slot is concerned."""

    ANSWERED = "answered; the worker takes the next order"
    ANSWERED_AND_LOST = "answered; the worker is dead or was killed, and is replaced"
    NOT_STARTED = "not answered: the worker died before it started the order, and is replaced"


class _ProcessPool:
    """`workers` slots, each a thread that starts a worker process when it first needs one and
    feeds it one order at a time from a shared queue."""

    def __init__(self, *, workers: int, nice: int) -> None:
        self._context = multiprocessing.get_context("spawn")  # never fork the server's threads
        self._nice = nice
        self._orders: queues.SimpleQueue[_Order | None] = queues.SimpleQueue()
        self._processes: dict[int, BaseProcess] = {}  # slot -> its live worker
        self._lock = threading.Lock()
        self._closed = False
        self._slots = [
            threading.Thread(target=self._slot, args=(slot,), name=f"lab-slot-{slot}", daemon=True)
            for slot in range(workers)
        ]

    def submit(self, job: Callable[[], T], *, timeout: float) -> Future[T]:
        """Queue `job`; its caller cancels the future of one that waits too long."""
        future: Future[T] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("the runner is shut down")
            if not self._slots[0].is_alive():  # started on first use, like their processes
                for thread in self._slots:
                    thread.start()
            self._orders.put(_Order(job=job, future=future, timeout=timeout))
        return future

    def worker_pids(self) -> list[int]:
        with self._lock:
            return [p.pid for p in self._processes.values() if p.pid is not None]

    def shutdown(self) -> None:
        """Kill every worker (and what it forked); fail running jobs, cancel waiting ones."""
        with self._lock:
            self._closed = True
            processes = list(self._processes.values())
        for _ in self._slots:
            self._orders.put(_STOP)
        for process in processes:  # each slot then reaps its own and takes the next order
            _kill_group(process, reap=False)
        for thread in self._slots:
            if thread.is_alive():
                thread.join(5)

    def _start(self, slot: int) -> tuple[BaseProcess, Connection]:
        ours, theirs = self._context.Pipe()
        process = self._context.Process(
            target=_serve, args=(theirs, os.getpid(), self._nice), name=f"gil-lab-worker-{slot}"
        )
        process.start()  # from this slot's thread: PR_SET_PDEATHSIG ties it to the slot
        theirs.close()
        with self._lock:
            self._processes[slot] = process
        return process, ours

    def _retire(self, slot: int, process: BaseProcess, connection: Connection) -> None:
        _kill_group(process)
        connection.close()
        with self._lock:
            if self._processes.get(slot) is process:
                del self._processes[slot]

    def _slot(self, slot: int) -> None:
        worker: tuple[BaseProcess, Connection] | None = None
        while (order := self._orders.get()) is not None:
            # An order whose caller left, or gave up waiting for a worker, is dropped here.
            if order.future.set_running_or_notify_cancel():
                worker = self._answer(slot, order, worker)
        if worker is not None:
            self._retire(slot, *worker)

    def _answer(
        self, slot: int, order: _Order, worker: tuple[BaseProcess, Connection] | None
    ) -> tuple[BaseProcess, Connection] | None:
        """Answer `order` on this slot's worker, or on a fresh one if that worker died before it
        started the order (once: a job that no worker can start still fails); return the worker
        to keep."""
        try:
            payload = ForkingPickler.dumps(order.job)  # once, for either worker
        except Exception as error:  # a job that does not pickle
            order.future.set_exception(error)
            return worker
        for _ in range(2):
            if self._closed:
                order.future.set_exception(WorkerDied("the server is stopping"))
                return worker
            if worker is not None and not worker[0].is_alive():  # died while idle
                self._retire(slot, *worker)
                worker = None
            if worker is None:
                try:
                    worker = self._start(slot)
                except Exception as error:  # the slot must live on: the next order may start
                    order.future.set_exception(WorkerDied(f"no worker could start: {error}"))
                    return None
            ran = self._run(order, payload, *worker)
            if ran is _Ran.ANSWERED:
                return worker
            self._retire(slot, *worker)
            worker = None
            if ran is _Ran.ANSWERED_AND_LOST:
                return None
        order.future.set_exception(WorkerDied(_DIED))
        return None

    def _run(
        self, order: _Order, payload: memoryview, process: BaseProcess, connection: Connection
    ) -> _Ran:
        """Send one order to this worker and answer it, unless the worker dies before it
        starts the order. Its limit counts from here: a fresh worker starting up counts."""
        try:
            connection.send_bytes(payload)
        except OSError:  # it died just now
            return _Ran.NOT_STARTED
        started = False
        deadline = time.monotonic() + order.timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                order.future.set_exception(_ran_past(order.timeout))
                return _Ran.ANSWERED_AND_LOST
            # The exit status, not a pipe, tells that the worker died: a process it forked may
            # hold copies of every pipe it had. What it sent before it died is read first.
            if wait([connection], timeout=min(left, _POLL_S)):
                try:
                    message = connection.recv_bytes()
                except (EOFError, OSError):
                    return _lost(order, started=started)
                if not started:  # _STARTED
                    started = True
                    continue
                try:
                    succeeded, value = ForkingPickler.loads(message)
                except Exception as error:  # e.g. an exception whose __init__ wants other args
                    succeeded = False
                    value = RuntimeError(f"the job's outcome did not unpickle: {error!r}")
                if succeeded:
                    order.future.set_result(value)
                else:
                    order.future.set_exception(value)
                return _Ran.ANSWERED
            if not process.is_alive() and not connection.poll():
                return _lost(order, started=started)


def _lost(order: _Order, *, started: bool) -> _Ran:
    """The worker died under `order`: its job fails if it had started."""
    if not started:
        return _Ran.NOT_STARTED
    order.future.set_exception(WorkerDied(_DIED))
    return _Ran.ANSWERED_AND_LOST


_DIED = "the process running the experiment ended abruptly; run it again"


class _ThreadJob(Generic[T]):
    """A job for a runner's threads, and the future its caller waits on. Like a process job it
    starts only while its caller still waits: until then, queued or waiting for the machine-wide
    `exclusive` lock (behind another server process's measurement), the caller may cancel it,
    and then it never runs. Once started nothing here can stop it: its caller stops waiting
    when its limit, counted from `started_at`, runs out."""

    def __init__(self, job: Callable[[], T], *, exclusive: str | None) -> None:
        self.future: Future[T] = Future()
        self.started_at: float | None = None  # time.monotonic(), set before it can start
        self._job = job
        self._exclusive = exclusive

    def run(self) -> None:
        """Run in a lab thread."""
        try:
            with _exclusively(self._exclusive):
                self._start()
        except OSError as error:  # the lock file could not be opened or locked: it never started
            if not self.future.done() and self.future.set_running_or_notify_cancel():
                self.future.set_exception(error)

    def dropped(self, work: Future[None]) -> None:
        """The executor's own future for `run` is done: if it was cancelled at shutdown before
        it ran, so is this job."""
        if work.cancelled():
            self.future.cancel()

    def _start(self) -> None:
        self.started_at = time.monotonic()
        if not self.future.set_running_or_notify_cancel():
            return  # its caller stopped waiting
        try:
            outcome = self._job()
        except BaseException as error:  # as ThreadPoolExecutor does: the caller gets it
            self.future.set_exception(error)
        else:
            self.future.set_result(outcome)


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
        runners): for timed experiments, which two at once would disturb. A thread job waits
        for it before it starts, so one that cannot get it within its limit is Busy and never
        runs; a process job waits for it in its worker, where the wait counts as its run."""
        self.workers = workers or max(1, len(os.sched_getaffinity(0)))
        self.capacity = self.workers + queue
        self.retry_after = retry_after
        self._exclusive = exclusive
        self._pool: _ProcessPool | None = None
        self._threads: ThreadPoolExecutor | None = None
        if processes:
            self._pool = _ProcessPool(workers=self.workers, nice=nice)
        else:
            self._threads = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="lab")
        self._admitted = 0
        self._lock = threading.Lock()
        self._shared: dict[Hashable, asyncio.Task[Any]] = {}

    @property
    def admitted(self) -> int:
        """Jobs running or waiting right now."""
        return self._admitted

    def worker_pids(self) -> list[int]:
        """The worker processes alive now (none for a thread runner): for kill tests."""
        return self._pool.worker_pids() if self._pool else []

    async def run(self, job: Callable[[], T], *, timeout: float) -> T:
        """Run `job()`; raise Busy at once when full, or after `timeout` s if it could not start
        by then; TimedOut `timeout` s after it started; WorkerDied if its worker process ended
        under it."""
        with self._lock:
            if self._admitted >= self.capacity:
                raise Busy(self.retry_after)
            self._admitted += 1
        # Marked while it runs (not while it waits for the exclusive lock), so measurements
        # elsewhere can say that another lab job shared the machine (app.lab.conditions).
        job = partial(marked, job)
        thread_job: _ThreadJob[T] | None = None
        try:
            if self._pool is not None:
                future = self._pool.submit(partial(_holding, self._exclusive, job), timeout=timeout)
            else:
                assert self._threads is not None
                thread_job = _ThreadJob(job, exclusive=self._exclusive)
                self._threads.submit(thread_job.run).add_done_callback(thread_job.dropped)
                future = thread_job.future
        except BaseException:
            self._release()
            raise
        future.add_done_callback(lambda _: self._release())
        return await self._outcome(future, timeout, thread_job)

    async def _outcome(
        self, future: Future[T], timeout: float, thread_job: _ThreadJob[T] | None
    ) -> T:
        """A job's outcome. One still waiting when its limit runs out never ran: it is Busy then
        (429: the lab was full, not the job slow) and gives up its place, rather than when a
        worker frees up, which a job that hangs delays by its whole limit. One that started has
        its whole limit to run, counted from its start: past it the pool kills a process job
        (TimedOut); a thread cannot be killed, so its caller stops waiting (TimedOut) and it is
        left to finish, holding its place until it does."""
        waiting = asyncio.wrap_future(future)
        try:
            done, _ = await asyncio.wait({waiting}, timeout=timeout)
            if not done and future.cancel():  # fails once it has started
                raise Busy(self.retry_after)
            if not done and thread_job is not None:
                assert thread_job.started_at is not None  # set before it started
                left = thread_job.started_at + timeout - time.monotonic()
                done, _ = await asyncio.wait({waiting}, timeout=max(0.0, left))
                if not done:
                    raise _ran_past(timeout)
            return await waiting
        finally:
            waiting.cancel()  # a caller who left: the job is dropped if it has not started

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
        """Stop for good: worker processes (and whatever they forked) are killed at once, their
        jobs fail with WorkerDied; waiting thread jobs are cancelled."""
        if self._pool is not None:
            self._pool.shutdown()
        if self._threads is not None:
            self._threads.shutdown(wait=False, cancel_futures=True)
