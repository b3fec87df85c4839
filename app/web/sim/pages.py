"""The simulator and explorer pages: /sim, /stream/sim and /explore.

Thin, as every route: validate the parameters, call the core (`app.sim`), render. A full GET
renders the whole page, so every permalink is readable before any script runs; an htmx request
(`HX-Request`) gets only the blocks that change, the side panels marked `hx-swap-oob`, and the
canonical permalink in `HX-Push-Url`; when the page shows another step of the same run
(`Sim-Shown`), of the timeline and log only what differs. /stream/sim sends the same blocks,
one server-sent event per step (what differs from the step before), paced by `speed`, and
stops when the browser goes away.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import secrets
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from functools import partial
from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.sse import _SSE_EVENT_SCHEMA, format_sse_event
from starlette.concurrency import run_in_threadpool

from app.lab.jobs import JobRunner
from app.lab.trial import HardwareRun
from app.sim import (
    DEFAULT_INTERVAL,
    MAX_N_EXPLORE,
    MAX_N_SIMULATE,
    Config,
    InvalidParameter,
    Mode,
    Permalink,
    Run,
    Scenario,
    ScheduleError,
    parse_schedule,
)
from app.sim.permalink import DEFAULT_N, MAX_SEED
from app.sim.predict import Score
from app.web.infra import urls
from app.web.infra.deps import ExplorationsDep, PagesDep, PlayedStepsDep, RendererDep, RunsDep
from app.web.infra.errors import BadParameter
from app.web.infra.page_cache import pure
from app.web.infra.resources import PlayedSteps
from app.web.infra.security import EmbedLayout
from app.web.infra.templating import Pages, is_htmx
from app.web.sim import explore_view, params, predict_view, replay_view, wording
from app.web.sim import view as sim_view
from app.web.sim.params import (
    IntervalQuery,
    ModeQuery,
    ScenarioQuery,
    ScheduleQuery,
    SeedQuery,
)

router = APIRouter(tags=["pages"])

SPEEDS = ((1.0, "slow"), (2.0, "normal"), (4.0, "fast"), (10.0, "very fast"))
DEFAULT_SPEED = 2.0
INTERVALS = (1, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 50, 100)

# Blocks of sim.html an htmx request gets: #stage is the target, the rest swap out of band.
STEP_BLOCKS = ("narration", "stage", "transport", "timeline", "eventlog")
# "predict" goes out empty on ordinary swaps, so leaving predict mode clears its panel; so does
# "replay" (the hardware replay's note) when the run is no longer the hardware's. A step of the
# run shown (`Sim-Shown`) leaves both as they are: the page shows neither predict mode (whose
# permalink is never a plain step's) nor another run.
PAGE_BLOCKS = (*STEP_BLOCKS, "player", "predict", "replay")
RUN_STEP_BLOCKS = (*STEP_BLOCKS, "player")


StepQuery = Annotated[int | None, Query(ge=0, description="Show the state after this step.")]
SpeedQuery = Annotated[float, Query(ge=0.5, le=20, description="Steps per second while playing.")]
EmbedQuery = Annotated[bool, Query(description="Minimal chrome, for embedding.")]


@dataclass(frozen=True, slots=True, kw_only=True)
class Loaded:
    """A permalink resolved: the whole run (with what each of its steps draws the same) and
    the step to show."""

    whole: sim_view.RunView
    step: int

    @property
    def run(self) -> Run:
        return self.whole.run


async def _load_run(
    runs: RunsDep,
    scenario: ScenarioQuery = Scenario.INC_INC,
    mode: ModeQuery = Mode.NONE,
    n: Annotated[int, Query(ge=1, le=MAX_N_SIMULATE, description="Calls per thread.")] = DEFAULT_N,
    interval: IntervalQuery = None,
    schedule: ScheduleQuery = None,
    seed: SeedQuery = None,
    step: StepQuery = None,
) -> Loaded:
    """A run resolved lately comes from `runs` at once; a new one is simulated on the thread
    pool (as is the way out of a bad permalink), not on the event loop every page shares."""

    def config() -> Config:
        return Config(scenario=scenario, mode=mode, n=n, interval=interval)

    try:
        whole = runs.get(config(), schedule, seed)
        if whole is None:
            whole = await run_in_threadpool(runs.resolve, config(), schedule, seed)
        permalink = Permalink.of(whole.run, 0 if step is None else step)
    except InvalidParameter as error:
        suggestion = await run_in_threadpool(_nearest_valid, config, schedule, seed, error)
        raise BadParameter(error.parameter, error.message, suggestion=suggestion) from None
    return Loaded(whole=whole, step=permalink.step)


LoadedRun = Annotated[Loaded, Depends(_load_run)]


async def _load_hardware(loaded: LoadedRun, lab: replay_view.LabParams) -> HardwareRun | None:
    return replay_view.source(lab, loaded.run, loaded.step)


# The hardware run the schedule replays (`from=lab`), or None.
Hardware = Annotated[HardwareRun | None, Depends(_load_hardware)]


def _nearest_valid(
    config: Callable[[], Config], schedule: str | None, seed: int | None, error: InvalidParameter
) -> str:
    """Where a bad permalink should send the reader: the same run as far as it was valid
    (`config` builds the run's configuration, which may itself be what was invalid)."""
    try:
        if error.parameter == "step":
            permalink, run = Permalink.resolve(config(), schedule=schedule, seed=seed)
            return urls.sim(permalink.at(len(run.steps)))
        if isinstance(error, ScheduleError) and error.step is not None:
            valid = parse_schedule(schedule or "")[: error.step - 1]
            prefix = "".join(thread.value for thread in valid)
            permalink, _ = Permalink.resolve(config(), schedule=prefix, step=len(valid))
            return urls.sim(permalink)
        return urls.sim(Permalink.resolve(config())[0])
    except InvalidParameter:
        return urls.SIM_PATH


def _sim_context(
    whole: sim_view.RunView,
    step: int,
    *,
    embed: bool,
    playing: bool,
    speed: float,
    shown: int | None = None,
    hardware: HardwareRun | None = None,
) -> dict[str, Any]:
    """What sim.html draws; with `shown`, the step of this run the page shows now, a fragment
    carries only what differs from it (`change`). With `hardware`, the run it replays: every
    link to another step keeps it, and the page says so (app.web.sim.replay_view)."""
    run = whole.run
    kept = urls.hardware_run(hardware) if hardware else {}
    view = sim_view.build(whole, step, embed=embed, extra=kept)
    change = None if shown is None else sim_view.StepChange.between(shown, view)
    stream_url = None
    if playing:
        stream_url = urls.sim_stream(Permalink.of(run, step), speed=speed, embed=embed, **kept)
    intervals = sorted({*INTERVALS, run.config.interval or DEFAULT_INTERVAL})
    return {
        "view": view,
        "change": change,
        "section": "sim",
        "embed": embed,
        "playing": playing,
        "stream_url": stream_url,
        "speed": speed,
        "speeds": SPEEDS,
        # /sim/random draws the seed, so this page stays a pure function of its URL (and can
        # be served from app.web.infra.page_cache).
        "random_url": urls.sim_random(run.config, embed=embed),
        "predict": None,
        "replay": replay_view.build(hardware, run, embed=embed) if hardware else None,
        "predict_start_url": predict_view.predict_url(
            run, step, Score(), embed=embed, hardware=hardware
        ),
        "scenarios": tuple(Scenario),
        "modes": tuple(Mode),
        "sizes": range(1, MAX_N_SIMULATE + 1),
        "intervals": intervals,
        "default_interval": DEFAULT_INTERVAL,
        "scenario_labels": wording.SCENARIO_LABELS,
        "mode_labels": wording.MODE_LABELS,
    }


ShownHeader = Annotated[
    str | None,
    Header(
        alias="Sim-Shown",
        description="The permalink of the state the page shows now (static/js/sim.js sends "
        "it): a step of the same run is answered with only what changes.",
    ),
]


def _shown_step(
    shown: str | None, run: Run, *, embed: bool, hardware: HardwareRun | None
) -> int | None:
    """The step of `run` the page shows, when `shown` is exactly its permalink there in this
    layout (and as the replay of the same hardware run, or of none); None for anything else
    (another run, predict mode, an old or odd value), which gets the whole fragment."""
    if shown is None:
        return None
    step = parse_qs(urlsplit(shown).query).get("step", [""])[-1]
    if not step.isdigit() or len(step) > 6 or int(step) > len(run.steps):
        return None
    kept = urls.hardware_run(hardware) if hardware else {}
    permalink = urls.sim(Permalink.of(run, int(step)), embed=embed, **kept)
    return int(step) if shown == permalink else None


@router.get("/sim", response_class=HTMLResponse, summary="The simulator at one step")
@pure
def sim_page(
    request: Request,
    pages: PagesDep,
    embed: EmbedLayout,  # before the run, so a bad permalink's error page keeps this layout
    loaded: LoadedRun,
    hardware: Hardware,
    shown: ShownHeader = None,
    play: Annotated[bool, Query(description="Start playing from this step.")] = False,
    speed: SpeedQuery = DEFAULT_SPEED,
    predict: Annotated[bool, Query(description="Predict mode: say what each step does.")] = False,
    score: Annotated[str, Query(max_length=12, description="Predict mode: right/asked.")] = "",
    guess: Annotated[
        str | None, Query(max_length=20, description="Predict mode: the answer to judge.")
    ] = None,
    said: Annotated[
        str | None, Query(max_length=20, description="Predict mode: the answer just given.")
    ] = None,
) -> Response:
    whole, run, step = loaded.whole, loaded.run, loaded.step
    if predict:
        return _predict_page(request, pages, whole, step, embed, score, guess, said, hardware)
    if play and step == len(run.steps):
        step = 0  # play at the end replays from the start
    shown_step = None
    if is_htmx(request):
        shown_step = _shown_step(shown, run, embed=embed, hardware=hardware)
    context = _sim_context(
        whole, step, embed=embed, playing=play, speed=speed, shown=shown_step, hardware=hardware
    )
    # The address bar always shows the canonical permalink; play replaces rather than pushes.
    # A step of the same run leaves it to static/js/sim.js, which pushes the permalink on #stage
    # once the step is drawn: htmx would push it before swapping, and the browser's history
    # calls it makes (three, each waiting on the browser process) delayed every step.
    step_of_run = shown_step is not None and not play
    return pages.render(
        request, "sim.html", context,
        blocks=PAGE_BLOCKS if shown_step is None else RUN_STEP_BLOCKS,
        url=None if step_of_run else context["view"].url, replace_url=play,
    )  # fmt: skip


@router.get(
    "/sim/random",
    response_class=RedirectResponse,
    status_code=303,
    summary="A fresh random schedule: redirects to its seeded permalink",
)
def random_schedule(
    loaded: LoadedRun,
    embed: EmbedQuery = False,
) -> RedirectResponse:
    """The seed is drawn here, never in the core (which stays deterministic) nor in /sim."""
    seed = secrets.randbelow(MAX_SEED + 1)
    return RedirectResponse(urls.sim_seeded(loaded.run.config, seed, embed=embed), status_code=303)


def _predict_page(
    request: Request,
    pages: Pages,
    whole: sim_view.RunView,
    step: int,
    embed: bool,
    score_text: str,
    guess: str | None,
    said: str | None,
    hardware: HardwareRun | None,
) -> Response:
    """Predict mode (app.web.sim.predict_view): a guess is judged here and becomes the next state's
    URL, where the score has moved on; the page itself is /sim's, plus the predict panel (and a
    hardware replay's note, whose run every link keeps)."""
    run = whole.run
    score = Score.parse(score_text)
    if guess is not None:
        score, step, said = predict_view.answer(run, step, score, guess), step + 1, guess
        if not is_htmx(request):
            url = predict_view.predict_url(
                run, step, score, said=said, embed=embed, hardware=hardware
            )
            return RedirectResponse(url, status_code=303)
    context = _sim_context(
        whole, step, embed=embed, playing=False, speed=DEFAULT_SPEED, hardware=hardware
    )
    view = context["view"]
    panel = predict_view.build(
        run, step, score, said=said, embed=embed, leave_url=view.url, hardware=hardware
    )
    # The page's permalink (data-permalink, the pushed URL) is predict mode's own.
    context.update(view=dataclasses.replace(view, url=panel.url), predict=panel)
    return pages.render(request, "sim.html", context, blocks=PAGE_BLOCKS, url=panel.url)


async def _step_event(
    whole: sim_view.RunView,
    step: int,
    *,
    embed: bool,
    speed: float,
    hardware: HardwareRun | None,
    pages: Pages,
    played: PlayedSteps,
    renderer: Executor,
) -> bytes:
    """One played step's event: its blocks, as the stream sends them. A class plays the same
    few runs over and over, and every event rendered is CPU the one event loop shares with
    everyone's pages, so they are kept (a step of a run, which its config and schedule name, is
    always the same HTML). A step not kept yet renders on the app's render thread
    (app.web.infra.resources says why), once however many streams ask for it meanwhile; the
    table itself is only touched here, on the loop."""
    key = (whole.run.config, whole.run.schedule, step, embed, speed, hardware)
    event = played.get(key)
    if event is not None:
        return event
    rendering = played.rendering.get(key)
    if rendering is None:
        render = partial(_render_step, whole, step, embed, speed, hardware, pages)
        rendering = asyncio.get_running_loop().run_in_executor(renderer, render)
        played.rendering[key] = rendering

        def keep(done: asyncio.Future[bytes]) -> None:
            del played.rendering[key]
            if not done.cancelled() and done.exception() is None:
                played.put(key, done.result())

        rendering.add_done_callback(keep)
    # Shielded: a stream that ends while it waits must not cancel the render the others await.
    return await asyncio.shield(rendering)


def _render_step(
    whole: sim_view.RunView,
    step: int,
    embed: bool,
    speed: float,
    hardware: HardwareRun | None,
    pages: Pages,
) -> bytes:
    """A step of a play: the page shows the step before it (the one the play started from, or
    the previous event), so only what changes since goes."""
    playing = step < len(whole.run.steps)
    context = _sim_context(
        whole, step, embed=embed, playing=playing, speed=speed, shown=step - 1, hardware=hardware
    )
    html = pages.blocks("sim.html", STEP_BLOCKS, context)
    return format_sse_event(data_str=html, event="step", id=str(step))


class _EventStream(StreamingResponse):
    """An event stream whose events are bytes already in the wire format (FastAPI formats
    what a route yields when its response class is EventSourceResponse). Its media type is
    given when it is made, so the route's OpenAPI entry is the one below: what FastAPI
    publishes for an EventSourceResponse route, the shape of each event."""

    media_type = None


_EVENTS_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/event-stream": {"itemSchema": copy.deepcopy(_SSE_EVENT_SCHEMA)}}}
}


@router.get(
    "/stream/sim",
    response_class=_EventStream,
    responses=_EVENTS_DOC,
    summary="Play a run from a step: one `step` event (HTML for htmx) per step, then `done`",
)
async def stream_sim(
    request: Request,
    loaded: LoadedRun,
    hardware: Hardware,
    pages: PagesDep,
    played: PlayedStepsDep,
    renderer: RendererDep,
    embed: bool = False,
    speed: SpeedQuery = DEFAULT_SPEED,
    last_event_id: Annotated[int | None, Header(ge=0)] = None,
) -> _EventStream:
    # (No docstring: FastAPI would publish it in /docs.) The events go as kept (_step_event),
    # already in the stream's wire format: 30 plays of one run send the same bytes, and none
    # formats them again. A generator of ServerSentEvents made FastAPI format each event for
    # each stream and pass it through two tasks of its own, a third of a play's CPU at 10
    # steps a second. A play is never idle long enough to need FastAPI's keep-alive comments:
    # its slowest pace is a step every 2 s.
    total = len(loaded.run.steps)
    # After a dropped connection the browser resumes where it was, not from the start.
    start = max(loaded.step, min(last_event_id or 0, total))

    async def play() -> AsyncIterator[bytes]:
        clock = asyncio.get_running_loop().time
        due = clock()
        for step in range(start + 1, total + 1):
            if await request.is_disconnected():
                return
            yield await _step_event(
                loaded.whole, step, embed=embed, speed=speed, hardware=hardware, pages=pages,
                played=played, renderer=renderer,
            )  # fmt: skip
            if step < total:
                due = next_due(due, clock(), 1 / speed)
                await asyncio.sleep(due - clock())
        yield _DONE

    # The headers FastAPI gives a stream: no cache, and no buffering in a proxy (nginx).
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return _EventStream(play(), headers=headers, media_type="text/event-stream")


_DONE = format_sse_event(data_str="", event="done")


# How many steps a late play may owe and still send at once to keep its pace.
CATCH_UP = 2


def next_due(due: float, now: float, period: float) -> float:
    """When a play's next step is due: one `period` after the last one was due, so the time
    each step takes to render and send does not add to every period (sleeping `period` after
    each step did: a busy class saw 1.5 steps a second at 2). A play late by up to CATCH_UP
    periods sends the steps it owes at once and keeps its pace: on two busy cores, 30 plays at
    10 steps a second were 0.1 to 0.3 s late now and then (the machine's other work), and losing
    that time for good each time held them at 92% of their speed. Later than that (a stalled
    server) it carries on from CATCH_UP periods ago: a burst of a few steps, never a flood."""
    return max(due + period, now - CATCH_UP * period)


@router.get("/explore", response_class=HTMLResponse, summary="Every interleaving, counted")
@pure
async def explore_page(
    request: Request,
    pages: PagesDep,
    runner: ExplorationsDep,
    scenario: ScenarioQuery = Scenario.INC_INC,
    mode: ModeQuery = Mode.NONE,
    n: Annotated[int, Query(ge=1, le=MAX_N_EXPLORE, description="Calls per thread.")] = DEFAULT_N,
    wait: Annotated[bool, Query(description="Count before answering (for no-script use).")] = False,
) -> Response:
    url = urls.explore(scenario, mode, n)
    histogram = None
    if is_htmx(request) or wait:
        histogram = await _explore(scenario, mode, n, runner=runner)
    context = {
        "section": "explore",
        "embed": False,
        "scenario": scenario,
        "mode": mode,
        "n": n,
        "explore_url": url,
        "wait_url": urls.explore(scenario, mode, n, wait=True),
        "histogram": histogram,
        "scenarios": tuple(Scenario),
        "modes": tuple(Mode),
        "sizes": range(1, MAX_N_EXPLORE + 1),
        "scenario_labels": wording.SCENARIO_LABELS,
        "mode_labels": wording.MODE_LABELS,
        "expected": wording.expected_outcome(Config(scenario=scenario, mode=mode, n=n)),
    }
    return pages.render(request, "explore.html", context, blocks=("result",), url=url)


async def _explore(
    scenario: Scenario, mode: Mode, n: int, *, runner: JobRunner
) -> explore_view.Histogram:
    try:
        return explore_view.build(await params.explore(scenario, mode, n, runner=runner))
    except InvalidParameter as error:  # TooLarge: past the explorer's budget of states
        smaller = urls.explore(scenario, mode, max(1, n - 1))
        raise BadParameter(error.parameter, error.message, suggestion=smaller) from None
