"""Everything an app owns that outlives a request, built once by `create_app` and stopped by its
lifespan: the template environment, the labs' job runners, the /versions survey, the live
classes' store, the stream limit, the page cache's table, and the simulator's runs and played
steps.

Routes never reach for these through module globals: they take them as typed dependencies
(app.web.infra.deps), which tests override. Two apps in one process (as the tests make) share
nothing but the machine-wide lock that keeps timed measurements apart.

Stopping matters: uvicorn re-raises SIGTERM once its own shutdown is done, before Python's exit
hooks run, so a pool left to those hooks leaves its worker processes, and the multiprocessing
resource tracker with its semaphores, behind. `stop` kills them in the app's own shutdown.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from app.lab import native
from app.lab.jobs import JobRunner
from app.lab.survey_cache import SurveyCache
from app.lab.trial import HardwareRun
from app.live.classes import LiveClasses, open_classes
from app.sim import Config, Permalink
from app.web.infra import urls
from app.web.infra.limits import Streams
from app.web.infra.page_cache import Entry, Kept, Key, page_table
from app.web.infra.settings import Settings
from app.web.infra.templating import Pages
from app.web.sim.view import RunView

# A run as /sim's URL names it: its config, its schedule as written (None: none) and its seed.
RunKey = tuple[Config, str | None, int | None]
RUN_BYTES = 32 << 20  # runs kept
# What a run kept holds, its steps, states and timeline cells (RunView): 0.82 to 0.99 KB a step
# measured with tracemalloc on CPython 3.11 here, 1.01 KB on CI's machine (inc-dec biased), so
# counted with a quarter to spare (tests/web/infra/test_resources.py checks it).
RUN_BYTES_PER_STEP = 1_250


class Runs:
    """The runs /sim resolved lately, each with what all its steps draw the same (RunView).
    A student stepping through a run asks for each of its steps in turn, an answer nobody asked
    for before, so the page cache cannot help; each one simulated the whole run again from its
    schedule and drew its whole timeline (10 ms of a 20 ms answer at n = 30). A least recently
    used table bounded in bytes, keyed by what a URL names a run by (config, schedule as
    written, seed); locked, since new runs are resolved on the thread pool."""

    def __init__(self, max_bytes: int) -> None:
        self._kept = Kept[RunKey, RunView](
            max_bytes, lambda key, whole: RUN_BYTES_PER_STEP * (len(whole.run.steps) + 1)
        )
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._kept)

    def get(self, config: Config, schedule: str | None, seed: int | None) -> RunView | None:
        """The run kept under these names, if any (and it is now the most recently used)."""
        with self._lock:
            return self._kept.get((config, schedule or None, seed))

    def resolve(self, config: Config, schedule: str | None, seed: int | None) -> RunView:
        """The run these name, simulated and kept (InvalidParameter if it has none): under
        these names, and under its canonical schedule, the one every link to it carries."""
        _, run = Permalink.resolve(config, schedule=schedule, seed=seed)
        whole = RunView.of(run)
        with self._lock:
            self._kept.put((config, schedule or None, seed), whole)
            self._kept.put((config, run.schedule, None), whole)
        return whole


# A played step of the simulator, named by its run (config, schedule), step, embed, speed and
# the hardware run it replays, if any (its links keep that).
PlayedKey = tuple[Config, str, int, bool, float, HardwareRun | None]
PLAYED_STEP_BYTES = 16 << 20  # played steps kept: events of a few to 20 kilobytes each


class PlayedSteps(Kept[PlayedKey, bytes]):
    """The played steps kept, and those being rendered now (`rendering`): a class that presses
    Play together plays in step, so every stream asks for the same step at the same moment;
    each must wait for the one render under way, not start its own (30 plays rendered every
    step 30 times, and fell to a fifth of their speed at 10 steps a second). Only the event
    loop's thread uses it."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(max_bytes, lambda key, event: len(event) + len(key[1]))
        self.rendering: dict[PlayedKey, asyncio.Future[bytes]] = {}


def played_steps(max_bytes: int = PLAYED_STEP_BYTES) -> PlayedSteps:
    """An empty table of played steps (each event's bytes counted, and the schedule in its
    key)."""
    return PlayedSteps(max_bytes)


def _explorations() -> JobRunner:
    # At most one exploration per core at a time and a few waiting; then 429 with Retry-After.
    # Worker processes, not threads: an exploration is seconds of pure Python, which in a thread
    # would hold the server's GIL and slow every page (seen: /healthz from 12 ms to 140 ms). They
    # run at a lower CPU priority too: on two cores, pages must not wait behind seconds of
    # counting.
    return JobRunner(queue=8, processes=True, nice=10)


def _native_runs() -> JobRunner:
    # Each job runs two pinned C threads: one job per two cores, a short queue, then 429. In a
    # worker process: a trial is also milliseconds of Python (recording, replaying in the
    # simulator), and in a thread here that Python would take the server's GIL from every page in
    # turn (the convoy the GIL lab shows; seen in benchmarks/load.py as page p99 from 9 ms to
    # 35 ms).
    return JobRunner(workers=max(1, native.cpu_count() // 2), queue=4, processes=True, nice=10)


def _measurements() -> JobRunner:
    # The one runner for timed experiments (the GIL lab and the versions page): one worker,
    # because two measurements side by side would disturb each other's timings (seen: a 0.1 ms
    # convoy measured at 4 ms while /gil's other panels ran), and one at a time across all the
    # server's worker processes too (GILLAB_WORKERS), by a machine-wide lock.
    return JobRunner(workers=1, queue=12, retry_after=5, exclusive="measurements")


def _live(settings: Settings) -> LiveClasses:
    # Live classes outlive requests: their store opens and closes with the server.
    return open_classes(
        redis_url=settings.redis_url,
        sqlite_path=settings.live_db_path(),
        links=urls,
        max_classes=settings.max_classes,
    )


@dataclass(slots=True, kw_only=True)
class Resources:
    settings: Settings
    pages: Pages
    streams: Streams
    page_table: Kept[Key, Entry]
    runs: Runs
    played: PlayedSteps
    # One thread renders the played steps not kept yet. In the event loop, a class pressing
    # Play together queued every request behind dozens of renders of tens of milliseconds each
    # (seen: /healthz stalled 1.7 s by 64 new plays); in many threads, the loop waited its turn
    # for the GIL behind all of them. One thread costs the loop one GIL hand-over at most.
    renderer: ThreadPoolExecutor
    explorations: JobRunner
    native_runs: JobRunner
    measurements: JobRunner
    survey: SurveyCache
    live: LiveClasses
    stopped: bool = False

    @classmethod
    def build(cls, settings: Settings) -> Resources:
        """Runners start their worker processes when their first job comes, not here."""
        measurements = _measurements()
        return cls(
            settings=settings,
            pages=Pages(offline=settings.offline),
            streams=Streams(max_streams=settings.max_streams),
            page_table=page_table(settings.cache_mb << 20),
            runs=Runs(RUN_BYTES),
            played=played_steps(),
            renderer=ThreadPoolExecutor(max_workers=1, thread_name_prefix="render"),
            explorations=_explorations(),
            native_runs=_native_runs(),
            measurements=measurements,
            survey=SurveyCache(measurements),
            live=_live(settings),
        )

    async def start(self) -> None:
        """Open the live classes' store; streams end on SIGTERM and SIGINT. After a stop, fresh
        runners and store first: an app may be served again (test clients run its lifespan once
        per session, some once a request)."""
        if self.stopped:
            self.renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="render")
            self.explorations, self.native_runs = _explorations(), _native_runs()
            self.measurements = _measurements()
            self.survey = SurveyCache(self.measurements)
            self.live = _live(self.settings)
            self.stopped = False
        self.streams.end_on_signals()
        await self.live.start()

    async def stop(self) -> None:
        """Stop every runner (their worker processes, and whatever those forked, end now) and
        close the live classes' store."""
        for runner in (self.explorations, self.native_runs, self.measurements):
            runner.shutdown()
        self.renderer.shutdown(wait=False, cancel_futures=True)
        self.stopped = True
        await self.live.stop()
