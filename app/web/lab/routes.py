"""The native lab's routes: `/api/native/race`, `/api/native/cost`, `/api/native/seed`,
the stream of runs `/stream/native/race` and the `/lab` page. Routes parse, queue the work on
the lab's JobRunner (the C runs block for up to a second) and render; the experiments live in
app.lab.
"""

from __future__ import annotations

import asyncio
import enum
from collections.abc import AsyncIterator
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.sse import EventSourceResponse, ServerSentEvent
from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema

from app.lab import conditions, native, seed
from app.lab.jobs import Busy, JobRunner, TimedOut, WorkerDied
from app.lab.native import Freeing, Layout, NativeError
from app.lab.trial import HardwareRun, Trial, run_trial, series
from app.sim import Config, Mode, Permalink, Scenario
from app.web.infra import urls
from app.web.infra.deps import NativeRunsDep, PagesDep, SettingsDep
from app.web.infra.errors import BadParameter
from app.web.infra.page_cache import pure
from app.web.infra.security import EmbedLayout
from app.web.infra.templating import Pages

router = APIRouter(tags=["native lab"])

RUN_TIMEOUT_S = 15.0
COST_TIMEOUT_S = 45.0  # 25 cells of up to MAX_COST_CALLS calls each, contended locks on a busy host
DEFAULT_ITERATIONS = 1_000_000
DEFAULT_COST_ITERATIONS = 200_000
DEFAULT_COST_REPEATS = 5

SEED_RUNS = 10  # runs of each of the seed's programs per request: a few milliseconds in all
SEED_TIMEOUT_S = 30.0

FreeName = Literal["observed", "real"]
_MODE_NAMES = ", ".join(mode.value for mode in native.NATIVE_MODES)


def _native(mode: Mode) -> Mode:
    if mode not in native.NATIVE_MODES:
        raise ValueError(f"mode {mode.value!r} has no native experiment; choose {_MODE_NAMES}")
    return mode


# The simulator's Mode, narrowed to what race.c implements, and documented as exactly that.
NativeMode = Annotated[
    Mode,
    AfterValidator(_native),
    WithJsonSchema({"type": "string", "enum": [mode.value for mode in native.NATIVE_MODES]}),
]


@dataclass(frozen=True, slots=True, kw_only=True)
class RaceQuery:
    experiment: Scenario
    mode: Mode
    iterations: int
    runs: int
    free: Freeing

    def stream_url(self) -> str:
        return urls.native_race_stream(
            self.experiment,
            self.mode,
            iterations=self.iterations,
            runs=self.runs,
            free=self.free.value,
        )


def race_query(
    experiment: Annotated[Scenario, Query(description="the scenario: who calls what")] = (
        Scenario.INC_INC
    ),
    mode: Annotated[
        NativeMode, Query(description=f"how the count is protected: {_MODE_NAMES}")
    ] = Mode.NONE,
    iterations: Annotated[
        int, Query(ge=1, le=native.MAX_ITERATIONS, description="calls per thread")
    ] = DEFAULT_ITERATIONS,
    runs: Annotated[int, Query(ge=1, le=native.MAX_RUNS, description="how many runs")] = 1,
    free: Annotated[
        FreeName,
        Query(description="observed: quarantine and count; real: free() in a child process"),
    ] = "observed",
) -> RaceQuery:
    return RaceQuery(
        experiment=experiment,
        mode=mode,
        iterations=iterations,
        runs=runs,
        free=Freeing(free),
    )


RaceParams = Annotated[RaceQuery, Depends(race_query)]
CostIterations = Annotated[
    int,
    Query(ge=1_000, le=native.MAX_COST_ITERATIONS, description="calls per thread per cell"),
]
CostRepeats = Annotated[
    int,
    Query(
        ge=1,
        le=native.MAX_COST_REPEATS,
        description="passes over every cell (median, range); iterations x repeats at most "
        f"{native.MAX_COST_CALLS:,}",
    ),
]


@dataclass(frozen=True, slots=True, kw_only=True)
class CostQuery:
    iterations: int
    repeats: int


def cost_query(
    iterations: CostIterations = DEFAULT_COST_ITERATIONS,
    repeats: CostRepeats = DEFAULT_COST_REPEATS,
) -> CostQuery:
    """The cost table's size: bounded in calls over all passes, so one request cannot ask for
    more than the lab's time limit allows."""
    if iterations * repeats > native.MAX_COST_CALLS:
        raise BadParameter("repeats", native.cost_repeats_rule(iterations))
    return CostQuery(iterations=iterations, repeats=repeats)


CostParams = Annotated[CostQuery, Depends(cost_query)]


class SplitCountModel(BaseModel):
    ref_local: int = Field(description="ob_ref_local: the owner's count")
    ref_shared: int = Field(description="ob_ref_shared: shared count << 2 | flags")
    shared_count: int = Field(description="ref_shared >> 2; final_rc = ref_local + this")
    flags: native.SharedFlags
    owned: bool = Field(description="thread A still owns the object (never merged)")
    queued: int = Field(description="times B queued the object to its owner")
    merges: int = Field(description="merges of the two counts")

    @classmethod
    def of(cls, split: native.SplitCount) -> SplitCountModel:
        return cls(
            ref_local=split.ref_local, ref_shared=split.ref_shared,
            shared_count=split.shared_count, flags=split.flags, owned=split.owned,
            queued=split.queued, merges=split.merges,
        )  # fmt: skip


class RunModel(BaseModel):
    final_rc: int | None = Field(description="the count at the end; null if the child crashed")
    expected_rc: int | None = Field(
        description="initial count + completed increments - completed decrements"
    )
    lost_updates: int | None = Field(description="|expected_rc - final_rc|")
    freed: bool | None
    use_after_free: int | None = Field(description="accesses to the object after its free")
    double_free: int | None
    freed_read: int | None = Field(
        description="the first value a thread loaded from the count after the free (null: "
        "none did); with free=real, what the allocator left in the freed memory"
    )
    crashed: str | None = Field(description="e.g. 'SIGABRT: free(): double free detected ...'")
    elapsed_ns: int
    replay: str | None = Field(
        description="a /sim link replaying this run's first calls step by step (mode none)"
    )
    split: SplitCountModel | None = Field(
        description="modes biased and immortal: the free-threaded header at the end"
    )

    @classmethod
    def of(cls, trial: Trial, query: RaceQuery) -> RunModel:
        r = trial.result
        return cls(
            final_rc=r.final_rc, expected_rc=r.expected_rc, lost_updates=r.lost_updates,
            freed=r.freed, use_after_free=r.use_after_free, double_free=r.double_free,
            freed_read=r.freed_read, crashed=r.crashed, elapsed_ns=r.elapsed_ns,
            replay=_replay_url(trial, query),
            split=SplitCountModel.of(r.split) if r.split else None,
        )  # fmt: skip


def _replay_url(trial: Trial, query: RaceQuery) -> str | None:
    """The trial's replay on /sim, with what /sim says about the run it replays."""
    source = HardwareRun.of(
        trial, scenario=query.experiment, iterations=query.iterations, runs=query.runs
    )
    if source is None or trial.replay is None:
        return None
    return urls.sim_replay(trial.replay, source)


class RaceResponse(BaseModel):
    experiment: Scenario
    mode: Mode
    iterations: int
    free: FreeName
    cpus: int = Field(description="CPUs the server may use; with 1 no race can show")
    runs: list[RunModel]


class CostRowModel(BaseModel):
    mode: Mode
    threads: int
    objects: int
    layout: Layout = Field(
        description="two-objects: separate cache lines; false-sharing: one cache line; "
        "not-owner (biased only): one thread on an object another thread owns"
    )
    ns_per_op: float = Field(description="wall time / calls per thread: the median pass")
    low_ns: float = Field(description="the fastest pass")
    high_ns: float = Field(description="the slowest pass")
    samples: list[float] = Field(description="every pass, in order")
    thread_ns: list[float] = Field(
        description="each thread's own time per call (median); in biased one-object, the "
        "owner first"
    )

    @classmethod
    def of(cls, row: native.CostRow) -> CostRowModel:
        return cls(
            mode=row.mode, threads=row.threads, objects=row.objects, layout=row.layout,
            ns_per_op=round(row.ns_per_op, 3), low_ns=round(row.spread.low, 3),
            high_ns=round(row.spread.high, 3), samples=[round(ns, 3) for ns in row.samples],
            thread_ns=[round(ns, 3) for ns in row.thread_ns],
        )  # fmt: skip


class ConditionsModel(BaseModel):
    busy: bool = Field(description="measured while the machine was busy: read with care")
    reasons: list[str] = Field(description="why it counts as busy (empty when idle)")
    load_average: float | None = Field(description="one-minute, the worse of before and after")
    other_jobs: int = Field(description="other lab jobs running on the machine meanwhile")
    cpus: int

    @classmethod
    def of(cls, seen: conditions.Conditions) -> ConditionsModel:
        load = None if seen.load_average is None else round(seen.load_average, 2)
        return cls(
            busy=seen.busy, reasons=list(seen.reasons), load_average=load,
            other_jobs=seen.other_jobs, cpus=seen.cpus,
        )  # fmt: skip


class CostResponse(BaseModel):
    iterations: int
    repeats: int
    cpus: int
    conditions: ConditionsModel
    rows: list[CostRowModel]


async def _trial(runner: JobRunner, number: int, query: RaceQuery) -> Trial:
    job = partial(run_trial, number, query.experiment, query.mode, query.iterations, query.free)
    return await runner.run(job, timeout=RUN_TIMEOUT_S)


async def _cost(
    runner: JobRunner, query: CostQuery
) -> tuple[tuple[native.CostRow, ...], conditions.Conditions]:
    table = partial(native.cost_table, query.iterations, query.repeats)
    job = partial(conditions.busy_during, table)
    # Shared: a class opening lesson 5 (which embeds this chart) together measures it once
    # rather than queueing thirty measurements into a lab that holds a few.
    key = ("cost", query.iterations, query.repeats)
    return await runner.run_shared(key, job, timeout=COST_TIMEOUT_S)


class Optimization(enum.IntEnum):
    """The levels the seed's program is built at (seed.OPTIMIZATIONS)."""

    O0 = 0
    O2 = 2


SeedOpt = Annotated[
    Optimization, Query(description="the optimisation level the seed's program was built at")
]


class SeedResponse(BaseModel):
    opt: int
    compiler: str = Field(description="the compiler that built it, as `cc --version` says")
    loop_asm: list[str] = Field(
        description="the counting loop's instructions as objdump prints them (the whole "
        "thread function when the compiler folded the loop away)"
    )
    final_counts: list[int] = Field(description="the count the program printed, once per run")


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedRun:
    program: seed.SeedProgram
    counts: tuple[int, ...]

    @property
    def correct(self) -> int:
        return sum(1 for count in self.counts if count == seed.CORRECT_COUNT)


def _seed_program(opt: int) -> seed.SeedProgram:
    try:
        return seed.program(opt)
    except seed.SeedUnavailable as missing:
        raise HTTPException(503, str(missing)) from missing


async def _seed_run(runner: JobRunner, opt: int) -> SeedRun:
    program = _seed_program(opt)
    try:
        counts = await runner.run(partial(seed.run_seed, opt, SEED_RUNS), timeout=SEED_TIMEOUT_S)
    except seed.SeedUnavailable as broken:
        raise HTTPException(503, str(broken)) from broken
    return SeedRun(program=program, counts=counts)


@router.get("/api/native/seed", response_model=SeedResponse, summary="The seed's program")
async def api_seed(opt: SeedOpt, runner: NativeRunsDep) -> SeedResponse:
    """The seed's first program (two threads, `obj->ref_counts++` 100000 times each) built at
    -O0 or -O2 when the package was built: its counting loop, and what it printed in a few runs.
    """
    run = await _seed_run(runner, int(opt))
    return SeedResponse(
        opt=int(opt),
        compiler=run.program.compiler,
        loop_asm=list(run.program.loop_asm),
        final_counts=list(run.counts),
    )


@router.get("/api/native/race", response_model=RaceResponse, summary="Run the C race")
async def api_race(query: RaceParams, runner: NativeRunsDep) -> RaceResponse:
    trials = [await _trial(runner, number, query) for number in range(1, query.runs + 1)]
    return RaceResponse(
        experiment=query.experiment,
        mode=query.mode,
        iterations=query.iterations,
        free=query.free.value,
        cpus=native.cpu_count(),
        runs=[RunModel.of(trial, query) for trial in trials],
    )


@router.get("/api/native/cost", response_model=CostResponse, summary="Measure lock costs")
async def api_cost(runner: NativeRunsDep, query: CostParams) -> CostResponse:
    rows, seen = await _cost(runner, query)
    return CostResponse(
        iterations=query.iterations,
        repeats=query.repeats,
        cpus=native.cpu_count(),
        conditions=ConditionsModel.of(seen),
        rows=[CostRowModel.of(row) for row in rows],
    )


# The double free the page's note explains: its schedule in the simulator (one call each), and
# the run on real cores that tries for it.
_DOUBLE_FREE_WITNESS = Permalink(
    config=Config(scenario=Scenario.DEC_DEC, mode=Mode.NONE, n=1), schedule="A4B4A1B1A1B1", step=12
)
_DOUBLE_FREE_RECIPE = urls.native_race(Scenario.DEC_DEC, Mode.NONE, iterations=1, runs=50)
# The seed's first program as the lab runs it: the same 100,000 calls per thread, no lock.
_SEED_RACE = urls.native_race(Scenario.INC_INC, Mode.NONE, iterations=100_000, runs=10)


def _context(query: RaceQuery | None, **extra: Any) -> dict[str, Any]:
    return {
        "section": "lab",
        "query": query,
        "cpus": native.cpu_count(),
        "limits": {
            "iterations": native.MAX_ITERATIONS,
            "runs": native.MAX_RUNS,
            "window": native.REPLAY_WINDOW,
            "cost_iterations": native.MAX_COST_ITERATIONS,
            "cost_repeats": native.MAX_COST_REPEATS,
        },
        "scenarios": list(Scenario),
        "modes": list(native.NATIVE_MODES),
        "layouts": list(native.Layout),
        "default_cost_iterations": DEFAULT_COST_ITERATIONS,
        "default_cost_repeats": DEFAULT_COST_REPEATS,
        "seed_programs": _seed_programs(),
        "seed_correct": seed.CORRECT_COUNT,
        "seed_runs_each": SEED_RUNS,
        "double_free_witness": urls.sim(_DOUBLE_FREE_WITNESS),
        "double_free_recipe": _DOUBLE_FREE_RECIPE,
        "seed_race": _SEED_RACE,
        **extra,
    }


def _seed_programs() -> tuple[seed.SeedProgram, ...]:
    """The seed's builds, for their listings; none in a checkout built without them."""
    try:
        return tuple(seed.program(opt) for opt in seed.OPTIMIZATIONS)
    except seed.SeedUnavailable:
        return ()


def _fragment(pages: Pages, request: Request, block: str, **context: Any) -> str:
    return pages.blocks("lab.html", (block,), {"request": request, **context})


@router.get("/stream/native/race", response_class=EventSourceResponse)
async def stream_race(
    request: Request,
    query: RaceParams,
    runner: NativeRunsDep,
    pages: PagesDep,
    settings: SettingsDep,
) -> AsyncIterator[ServerSentEvent]:
    """Each run as an HTML fragment (`result`: the run's line, plus the histogram and summary
    out of band), then `done`. While the lab is full it waits for a turn, up to GILLAB_LAB_WAIT
    seconds, sending a note that says so. Stops as soon as the client goes away."""
    trials: list[Trial] = []
    waited = 0
    while len(trials) < query.runs:
        if await request.is_disconnected():
            return
        number = len(trials) + 1
        failure = None
        try:
            trial = await _trial(runner, number, query)
        except Busy as busy:
            if waited >= settings.lab_wait:
                failure = str(busy)
            else:  # a class pressing Run together: wait for a turn, and say so
                html = _fragment(
                    pages, request, "waiting", number=number, runs=query.runs, waited=waited
                )
                yield ServerSentEvent(raw_data=html, event="result")
                await asyncio.sleep(busy.retry_after)
                waited += busy.retry_after
                continue
        except (TimedOut, WorkerDied, NativeError) as problem:
            failure = str(problem)
        if failure is not None:
            html = _fragment(pages, request, "problem", message=failure)
            yield ServerSentEvent(raw_data=html, event="result")
            break
        trials.append(trial)
        current = series(query.experiment, query.mode, query.iterations, trials)
        html = _fragment(
            pages, request, "result", trial=trial, series=current, query=query,
            replay_url=_replay_url(trial, query),
        )  # fmt: skip
        yield ServerSentEvent(raw_data=html, event="result")
    done = series(query.experiment, query.mode, query.iterations, trials)
    yield ServerSentEvent(raw_data=_fragment(pages, request, "done", series=done), event="done")


def _page_context(query: RaceQuery, *, run: bool, **extra: Any) -> dict[str, Any]:
    empty = series(query.experiment, query.mode, query.iterations, [])
    return _context(query, run=run, series=empty, stream_url=query.stream_url(), **extra)


@router.get("/lab", response_class=HTMLResponse, summary="The native lab page")
@pure
async def lab_page(
    request: Request,
    pages: PagesDep,
    query: RaceParams,
    run: Annotated[bool, Query(description="start the runs (streamed) on load")] = False,
) -> HTMLResponse:
    return pages.render(request, "lab.html", _page_context(query, run=run))


@router.get("/lab/seed", response_class=HTMLResponse, summary="The seed's program, run")
async def lab_seed(request: Request, pages: PagesDep, runner: NativeRunsDep) -> HTMLResponse:
    """The whole lab page with the seed's two builds run, or only that panel for htmx."""
    runs = {opt: await _seed_run(runner, opt) for opt in seed.OPTIMIZATIONS}
    context = _page_context(race_query(), run=False, seed_runs=runs)
    return pages.render(request, "lab.html", context, blocks=("seed",))


@router.get("/lab/cost", response_class=HTMLResponse, summary="The lock-cost chart")
async def lab_cost(
    request: Request,
    pages: PagesDep,
    runner: NativeRunsDep,
    embed: EmbedLayout,
    query: CostParams,
) -> HTMLResponse:
    """The whole lab page with the chart filled in, only the chart for htmx, or the chart
    alone in a minimal page with `embed=1` (a lesson's iframe)."""
    rows, seen = await _cost(runner, query)
    relative = native.relative_costs(rows, native.Layout.ONE_THREAD)
    context = _page_context(
        race_query(), run=False, cost=rows, cost_conditions=seen,
        cost_iterations=query.iterations, cost_repeats=query.repeats, relative=relative,
    )  # fmt: skip
    if embed:
        cost_url = urls.lab_cost(query.iterations)
        return pages.render(
            request, "lab_cost_panel.html", {**context, "embed": True, "cost_url": cost_url}
        )
    return pages.render(request, "lab.html", context, blocks=("cost",))
