"""The GIL lab: the /gil page, its htmx panels, and the /api/gil JSON endpoints.

Routes only validate, call the lab (through one bounded JobRunner, off the event loop) or the
pure bytecode simulation, and render. Every measurement runs in a fresh interpreter.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response

from app.lab import facts as interpreter_facts
from app.lab import gil, interpreters, lost_updates, workloads
from app.lab.jobs import JobRunner
from app.lab.scripts import ScriptFailed
from app.sim import (
    MAX_INTERVAL,
    MAX_N_SIMULATE,
    Config,
    Mode,
    Permalink,
    Scenario,
    pyrace,
    simulate,
)
from app.web.gil import charts as gil_charts
from app.web.gil.models import (
    CpuModel,
    DelayModel,
    FactsModel,
    FetchModel,
    PyRaceModel,
    RaceModel,
    TimelineModel,
)
from app.web.infra import urls
from app.web.infra.deps import MeasurementsDep, PagesDep
from app.web.infra.page_cache import pure
from app.web.infra.security import EmbedLayout
from app.web.infra.templating import Pages

router = APIRouter(tags=["gil"])
T = TypeVar("T")

# Seconds past its own limit that a measurement may wait for its turn (in this runner's queue,
# or for another server process's measurement to end); still waiting then, it never runs and
# the answer is 429 with Retry-After. Once it starts, the runner counts the same allowance from
# its start, so no wait eats into the limit the script enforces itself.
_QUEUE_SLACK_S = 60.0


async def _run(
    runner: JobRunner, key: tuple[object, ...], job: Callable[[], T], *, limit_s: float
) -> T:
    """The measurement `key` names, on the app's runner for timed experiments: visitors asking
    for the same one while it waits or runs share that run (JobRunner.run_shared)."""
    try:
        return await runner.run_shared(key, job, timeout=limit_s + _QUEUE_SLACK_S)
    except ScriptFailed as exc:
        raise HTTPException(503, f"the experiment failed: {exc}") from exc


IntervalMs = Annotated[
    float,
    Query(ge=gil.MIN_INTERVAL_MS, le=gil.MAX_INTERVAL_MS, description="sys.setswitchinterval, ms"),
]
DurationMs = Annotated[
    int,
    Query(ge=gil.MIN_DURATION_MS, le=gil.MAX_DURATION_MS, description="how long the threads spin"),
]
Threads = Annotated[
    int, Query(ge=gil.MIN_THREADS, le=gil.MAX_THREADS, description="CPU-bound threads")
]
DelaySeconds = Annotated[
    float,
    Query(ge=workloads.MIN_DELAY_S, le=workloads.MAX_DELAY_S, description="delay of each request"),
]
Requests = Annotated[
    int, Query(ge=workloads.MIN_REQUESTS, le=workloads.MAX_REQUESTS, description="requests")
]
Count = Annotated[
    int, Query(ge=workloads.MIN_COUNT, le=workloads.MAX_COUNT, description="count down from")
]
Workers = Annotated[
    int, Query(ge=workloads.MIN_WORKERS, le=workloads.MAX_WORKERS, description="threads/processes")
]
StatementParam = Annotated[lost_updates.Statement, Query(description="n += 1 or n = n + one()")]
Iterations = Annotated[
    int,
    Query(ge=lost_updates.MIN_ITERATIONS, le=lost_updates.MAX_ITERATIONS, description="per thread"),
]
Runs = Annotated[int, Query(ge=lost_updates.MIN_RUNS, le=lost_updates.MAX_RUNS)]
SwitchingParam = Annotated[
    Literal["any-bytecode", "checkpoints", "resume"],
    Query(description="where the interpreter checks for a switch: 3.6-3.9, 3.10, or 3.11-3.13"),
]
PyN = Annotated[int, Query(ge=1, le=pyrace.MAX_N, description="iterations per thread")]
Bytecodes = Annotated[
    int, Query(ge=1, le=pyrace.MAX_INTERVAL, description="switch interval, in bytecodes")
]


DEFAULT_INTERVAL_MS = 5.0
DEFAULT_DURATION_MS = 500
DEFAULT_DELAY_S = 0.3


async def _timeline(
    runner: JobRunner, interval_ms: float, duration_ms: int, threads: int
) -> gil.Timeline:
    return await _run(
        runner,
        ("timeline", interval_ms, duration_ms, threads),
        lambda: gil.measure_timeline(
            interpreters.current(),
            interval_ms=interval_ms,
            duration_ms=duration_ms,
            threads=threads,
        ),
        limit_s=gil.timeout_s(duration_ms),
    )


def _delay_url(request: Request, seconds: float) -> str:
    """The delay endpoint at this server's own address.

    Taken from the socket the request arrived on (the ASGI `server`), never from the Host
    header, so a client cannot point the lab's fetches at another host. A server with no TCP
    address (a Unix socket) has none the lab could fetch: the experiment is refused there,
    rather than sent wherever the Host header says.
    """
    server = request.scope.get("server")
    if not (server and server[1]):
        raise HTTPException(
            503, "the I/O experiment fetches this server over TCP, and this request did not "
            "arrive over TCP (a Unix socket?): serve GIL Lab on a TCP port to run it",
        )  # fmt: skip
    host, port = server
    host = f"[{host}]" if ":" in host else host
    return f"http://{host}:{port}" + urls.gil_delay(seconds)


# ---- JSON API -------------------------------------------------------------------------------


@router.get("/api/gil/timeline", summary="Measured GIL slices of real threads")
async def api_timeline(
    runner: MeasurementsDep,
    interval_ms: IntervalMs = DEFAULT_INTERVAL_MS,
    duration_ms: DurationMs = DEFAULT_DURATION_MS,
    threads: Threads = 2,
) -> TimelineModel:
    return TimelineModel.of(await _timeline(runner, interval_ms, duration_ms, threads))


@router.get("/api/gil/delay", name="gil_delay", summary="Answer after a delay (I/O demo)")
async def api_delay(seconds: DelaySeconds = DEFAULT_DELAY_S) -> DelayModel:
    # An async sleep: the event loop serves other requests meanwhile.
    await asyncio.sleep(seconds)
    return DelayModel(seconds=seconds)


@router.get("/api/gil/io", summary="Sequential against threaded fetches of the delay endpoint")
async def api_io(
    request: Request,
    runner: MeasurementsDep,
    seconds: DelaySeconds = DEFAULT_DELAY_S,
    requests: Requests = 3,
) -> FetchModel:
    return FetchModel.of(await _fetch(runner, request, seconds, requests))


@router.get("/api/gil/cpu", summary="CPU-bound work in turn, in threads, in processes")
async def api_cpu(
    runner: MeasurementsDep, count: Count = 2_000_000, workers: Workers = 2
) -> CpuModel:
    return CpuModel.of(await _cpu(runner, count, workers))


@router.get("/api/gil/race", summary="Lost updates of a Python statement in two real threads")
async def api_race(
    runner: MeasurementsDep,
    statement: StatementParam = "inplace",
    iterations: Iterations = lost_updates.DEFAULT_ITERATIONS,
    runs: Runs = lost_updates.DEFAULT_RUNS,
) -> RaceModel:
    return RaceModel.of(await _race(runner, statement, iterations, runs))


@router.get("/api/gil/pyrace", summary="Bytecode-step simulation of counter += 1 under the GIL")
@pure
def api_pyrace(
    statement: StatementParam = "inplace",
    switching: SwitchingParam = "any-bytecode",
    n: PyN = 5,
    interval: Bytecodes = 3,
) -> PyRaceModel:
    return PyRaceModel.of(_pyrace(statement, switching, n, interval))


@router.get("/api/gil/facts", summary="The running interpreter's facts, and why")
async def api_facts(runner: MeasurementsDep) -> FactsModel:
    return FactsModel.of(await _facts(runner))


async def _fetch(
    runner: JobRunner, request: Request, seconds: float, requests: int
) -> workloads.FetchTimes:
    url = _delay_url(request, seconds)
    return await _run(
        runner,
        ("fetch", url, requests),
        lambda: workloads.measure_fetch(
            interpreters.current(), delay_url=url, delay_s=seconds, requests=requests
        ),
        limit_s=workloads.fetch_timeout_s(seconds, requests),
    )


async def _cpu(runner: JobRunner, count: int, workers: int) -> workloads.CpuTimes:
    return await _run(
        runner,
        ("cpu", count, workers),
        lambda: workloads.measure_cpu(interpreters.current(), count=count, workers=workers),
        limit_s=workloads.cpu_timeout_s(count, workers),
    )


async def _race(
    runner: JobRunner, statement: lost_updates.Statement, iterations: int, runs: int
) -> lost_updates.RaceResult:
    return await _run(
        runner,
        ("race", statement, iterations, runs),
        lambda: lost_updates.measure_race(
            interpreters.current(), statement=statement, iterations=iterations, runs=runs
        ),
        limit_s=lost_updates.timeout_s(iterations, runs),
    )


async def _facts(runner: JobRunner) -> interpreter_facts.Facts:
    return await _run(
        runner,
        ("facts",),
        lambda: interpreter_facts.measure_facts(interpreters.current()),
        limit_s=interpreter_facts.FACTS_TIMEOUT_S,
    )


def _pyrace(statement: str, switching: str, n: int, interval: int) -> pyrace.PyRace:
    return pyrace.simulate(pyrace.Statement(statement), pyrace.Switching(switching), n, interval)


# ---- pages and htmx panels ------------------------------------------------------------------


def _panel(
    request: Request,
    pages: Pages,
    name: str,
    context: dict[str, Any],
    *,
    embed: bool,
    url: str | None = None,
) -> Response:
    """One panel of the GIL lab: its block for htmx, or a page around it for a plain link
    (with minimal chrome when `?embed=1`, for a lesson's iframe)."""
    context = {"section": "gil", "panel": name, "embed": embed, **context}
    return pages.render(request, "gil_panel.html", context, blocks=("panel",), url=url)


def _simulated_context(interval_ms: float) -> dict[str, Any]:
    """The simulator's gil mode at the same interval, one step standing for one millisecond."""
    steps = min(MAX_INTERVAL, max(1, round(interval_ms)))
    run = simulate(
        Config(scenario=Scenario.INC_INC, mode=Mode.GIL, n=MAX_N_SIMULATE, interval=steps)
    )
    slices = gil_charts.simulated_slices([step.thread.value for step in run.steps])
    return {
        "sim_interval": steps,
        "sim_n": MAX_N_SIMULATE,
        "sim_scenario": Scenario.INC_INC.value,
        "sim_chart": gil_charts.simulated_chart(slices, lanes=("A", "B")),
        "sim_handoffs": max(0, len(slices) - 1),
        "sim_median": gil_charts.median_length(slices),
        "sim_link": urls.sim(Permalink.of(run, 0)),
    }


def _timeline_context(timeline: gil.Timeline, duration_ms: int) -> dict[str, Any]:
    return {
        **_simulated_context(timeline.interval_ms),
        "timeline": timeline,
        "gap_us": gil.GAP_US,
        "timeline_chart": gil_charts.timeline_chart(timeline),
        "distribution_chart": gil_charts.distribution_chart(timeline),
        "duration_ms": duration_ms,
        "interval_ms": timeline.interval_ms,
        "threads": len(timeline.threads),
    }


def _pyrace_context(statement: str, switching: str, n: int, interval: int) -> dict[str, Any]:
    return {
        "pyrace": _pyrace(statement, switching, n, interval),
        "pyrace_params": {
            "statement": statement,
            "switching": switching,
            "n": n,
            "interval": interval,
        },
        "pyrace_url": urls.gil_pyrace(statement, switching, n, interval),
        "pyrace_api_url": urls.api_gil_pyrace(statement, switching, n, interval),
        "pyrace_statements": pyrace.SOURCE,
        "pyrace_switching": tuple(pyrace.Switching),
    }


@router.get("/gil", response_class=HTMLResponse, summary="The GIL lab page")
async def gil_page(
    request: Request,
    pages: PagesDep,
    runner: MeasurementsDep,
    embed: EmbedLayout,
    interval_ms: IntervalMs = DEFAULT_INTERVAL_MS,
    duration_ms: DurationMs = DEFAULT_DURATION_MS,
    threads: Threads = 2,
    seconds: DelaySeconds = DEFAULT_DELAY_S,
) -> Response:
    timeline = await _timeline(runner, interval_ms, duration_ms, threads)
    facts = await _facts(runner)
    context: dict[str, Any] = {
        "section": "gil",
        "embed": embed,
        **_timeline_context(timeline, duration_ms),
        # A preset measures at once at its interval, keeping the other fields as they are.
        "presets": tuple(
            (
                preset,
                urls.gil_timeline(preset, duration_ms, threads),
                urls.gil_timeline_panel(preset, duration_ms, threads),
            )
            for preset in (1, 5, 20)
        ),
        **_pyrace_context("inplace", "any-bytecode", 5, 3),
        "facts": facts,
        "notes": interpreter_facts.explain(facts),
        "io_url": urls.gil_io(seconds),
    }
    return pages.render(request, "gil.html", context)


@router.get("/gil/timeline", response_class=HTMLResponse, summary="The measured timeline panel")
async def gil_timeline_panel(
    request: Request,
    pages: PagesDep,
    runner: MeasurementsDep,
    embed: EmbedLayout,
    interval_ms: IntervalMs = DEFAULT_INTERVAL_MS,
    duration_ms: DurationMs = DEFAULT_DURATION_MS,
    threads: Threads = 2,
) -> Response:
    timeline = await _timeline(runner, interval_ms, duration_ms, threads)
    # The page's own URL for this state, so the address bar is a permalink after a swap.
    url = urls.gil_timeline(interval_ms, duration_ms, threads)
    context = _timeline_context(timeline, duration_ms)
    return _panel(request, pages, "timeline", context, embed=embed, url=url)


@router.get("/gil/io", response_class=HTMLResponse, summary="The I/O against CPU panel")
async def gil_io_panel(
    request: Request,
    pages: PagesDep,
    runner: MeasurementsDep,
    embed: EmbedLayout,
    seconds: DelaySeconds = DEFAULT_DELAY_S,
    requests: Requests = 3,
) -> Response:
    fetch = await _fetch(runner, request, seconds, requests)
    cpu = await _cpu(runner, 2_000_000, 2)
    fetch_spreads = (fetch.sequential, fetch.threaded)
    fetch_chart = gil_charts.bar_chart(
        [
            (f"{fetch.requests} requests in turn", fetch.sequential.median, "sequential"),
            (f"{fetch.requests} requests in threads", fetch.threaded.median, "threads"),
        ],
        ranges=[(spread.low, spread.high) for spread in fetch_spreads],
    )
    cpu_spreads = (cpu.sequential, cpu.threads, cpu.processes)
    cpu_chart = gil_charts.bar_chart(
        [
            (f"{cpu.workers} countdowns in turn", cpu.sequential.median, "sequential"),
            (f"in {cpu.workers} threads", cpu.threads.median, "threads"),
            (f"in {cpu.workers} processes", cpu.processes.median, "processes"),
        ],
        ranges=[(spread.low, spread.high) for spread in cpu_spreads],
    )
    context = {
        "fetch": fetch,
        "cpu": cpu,
        "fetch_chart": fetch_chart,
        "cpu_chart": cpu_chart,
        "io_url": urls.gil_io(seconds),
        "delay_url": urls.gil_delay(fetch.delay_s),
    }
    return _panel(request, pages, "io", context, embed=embed)


@router.get("/gil/race", response_class=HTMLResponse, summary="The measured Python race panel")
async def gil_race_panel(
    request: Request,
    pages: PagesDep,
    runner: MeasurementsDep,
    embed: EmbedLayout,
    iterations: Iterations = 200_000,
) -> Response:
    results = [await _race(runner, statement, iterations, 3) for statement in ("inplace", "call")]
    return _panel(request, pages, "race", {"races": results}, embed=embed)


@router.get("/gil/pyrace", response_class=HTMLResponse, summary="The bytecode simulation panel")
@pure
def gil_pyrace_panel(
    request: Request,
    pages: PagesDep,
    embed: EmbedLayout,
    statement: StatementParam = "inplace",
    switching: SwitchingParam = "any-bytecode",
    n: PyN = 5,
    interval: Bytecodes = 3,
) -> Response:
    context = _pyrace_context(statement, switching, n, interval)
    return _panel(request, pages, "pyrace", context, embed=embed)
