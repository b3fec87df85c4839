"""Every link the site builds to one of its own pages, from the typed state it shows, in one place.

A state of the simulator is a `Permalink` (app.sim.permalink), whose query is canonical: every
view that links to one state links to the same URL, byte for byte, so the page cache keeps it
once and a shared link always opens what its sender saw. Modes of a page that are not state
(the embed layout, predict mode's score, the hardware run a replay comes from) follow as extra
parameters, after it. The other pages that views link to (/explore, /challenges/{slug}, /lab,
/gil, /lessons/{slug}), their panels and event streams, and /framed get their query strings
here too, so no view, route or template writes a `?` by hand. `app.live` gets the two it needs
(`sim`, `challenge`) handed in as its `stage.Links`, so a class shows the very links the pages
use.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from urllib.parse import quote, urlencode

from app.lab.replay import Replay
from app.lab.trial import HardwareRun
from app.sim import Config, Mode, Permalink, Scenario

SIM_PATH = "/sim"
SIM_STREAM_PATH = "/stream/sim"


def _with_query(path: str, params: dict[str, str], *, embed: bool = False) -> str:
    if embed:
        params = {**params, "embed": "1"}
    # safe="/": predict mode's score=3/4 reads better than 3%2F4; nothing else holds a slash.
    return f"{path}?{urlencode(params, safe='/')}" if params else path


def sim(permalink: Permalink, *, embed: bool = False, **extra: str) -> str:
    """/sim at the state `permalink` names."""
    return _with_query(SIM_PATH, {**permalink.params(), **extra}, embed=embed)


def sim_steps(permalink: Permalink, *, embed: bool = False, **extra: str) -> Callable[[int], str]:
    """`sim(permalink.at(step), embed=embed, **extra)` for every step of the permalink's run,
    the query encoded once: one answer of /sim links to dozens of steps of its run."""
    head, _, tail = sim(permalink.at(0), embed=embed, **extra).partition("&step=0")
    assert tail == "" or tail.startswith("&"), "step is a whole parameter of the query"
    return lambda step: f"{head}&step={step}{tail}"


def sim_stream(
    permalink: Permalink, *, speed: float, embed: bool = False, **extra: str
) -> str:
    """The event stream that plays on from `permalink` at `speed` steps a second."""
    params = {**permalink.params(), "speed": f"{speed:g}", **extra}
    return _with_query(SIM_STREAM_PATH, params, embed=embed)


def hardware_run(source: HardwareRun) -> dict[str, str]:
    """What /sim says about the hardware run it replays, as parameters after the permalink
    (app.web.sim.replay_view reads them back)."""
    return {
        "from": "lab",
        "run": str(source.run),
        "runs": str(source.runs),
        "iterations": str(source.iterations),
        "final_rc": str(source.final_rc),
        "lost_updates": str(source.lost_updates),
        "window_rc": str(source.window_rc),
    }


def sim_replay(replay: Replay, source: HardwareRun) -> str:
    """/sim replaying a hardware run where the race first shows, saying which run it was."""
    return _with_query(SIM_PATH, {**replay.permalink.params(), **hardware_run(source)})


def predict(
    permalink: Permalink,
    score: str,
    *,
    said: str | None,
    embed: bool,
    guess: str | None = None,
    hardware: HardwareRun | None = None,
) -> str:
    """/sim in predict mode: the score, the answer just given (`said`) and, on an answer's
    link, the `guess` to judge ride in the URL (the guess last, after the layout); a hardware
    replay's run comes first, as on every link of its /sim."""
    extra = hardware_run(hardware) if hardware else {}
    extra |= {"predict": "1", "score": score} | ({} if said is None else {"said": said})
    url = sim(permalink, embed=embed, **extra)
    return url if guess is None else f"{url}&{urlencode({'guess': guess})}"


def sim_start(config: Config) -> str:
    """/sim's own run of `config` (its default schedule), from the first step."""
    return _with_query(SIM_PATH, {**Permalink.config_params(config), "step": "0"})


def sim_random(config: Config, *, embed: bool) -> str:
    """The "new random schedule" link: /sim/random draws the seed and redirects to `sim_seeded`."""
    return _with_query("/sim/random", Permalink.config_params(config), embed=embed)


def sim_seeded(config: Config, seed: int, *, embed: bool) -> str:
    """/sim with the whole schedule chosen by `seed`."""
    params = Permalink.config_params(config) | ({"embed": "1"} if embed else {})
    return _with_query(SIM_PATH, {**params, "seed": str(seed)})


def explore(scenario: Scenario, mode: Mode, n: int, *, wait: bool = False) -> str:
    """/explore: every interleaving of a run of that size, counted (`wait`: before answering)."""
    params = {"scenario": scenario.value, "mode": mode.value, "n": str(n)}
    return _with_query("/explore", params | ({"wait": "1"} if wait else {}))


def challenge(slug: str, schedule: str = "", *, embed: bool = False, **flags: bool) -> str:
    """A challenge after the prefix `schedule` (canonical), with the flags that are on (and
    the embed layout last, after the state)."""
    params = {"schedule": schedule} if schedule else {}
    params.update({name: "1" for name, on in flags.items() if on})
    return _with_query(f"/challenges/{slug}", params, embed=embed)


def _race_params(
    scenario: Scenario, mode: Mode, *, iterations: int, runs: int, free: str
) -> dict[str, str]:
    return {
        "experiment": scenario.value,
        "mode": mode.value,
        "iterations": str(iterations),
        "runs": str(runs),
        "free": free,
    }


def native_race(
    scenario: Scenario, mode: Mode, *, iterations: int, runs: int, free: str = "observed"
) -> str:
    """/lab with the race form filled in and run at once, scrolled to its results."""
    params = _race_params(scenario, mode, iterations=iterations, runs=runs, free=free)
    return _with_query("/lab", params | {"run": "true"}) + "#results-heading"


def native_race_stream(
    scenario: Scenario, mode: Mode, *, iterations: int, runs: int, free: str
) -> str:
    """The event stream that runs the native lab's race and sends each run as it ends."""
    params = _race_params(scenario, mode, iterations=iterations, runs=runs, free=free)
    return _with_query("/stream/native/race", params)


def _timeline_params(interval_ms: float, duration_ms: int, threads: int) -> dict[str, str]:
    return {
        "interval_ms": f"{interval_ms:g}",
        "duration_ms": str(duration_ms),
        "threads": str(threads),
    }


def gil_timeline(interval_ms: float, duration_ms: int, threads: int) -> str:
    """/gil with the measured timeline's parameters."""
    return _with_query("/gil", _timeline_params(interval_ms, duration_ms, threads))


def gil_timeline_panel(interval_ms: float, duration_ms: int, threads: int) -> str:
    """/gil's measured timeline panel alone: what its form and presets swap in."""
    return _with_query("/gil/timeline", _timeline_params(interval_ms, duration_ms, threads))


def gil_io(seconds: float) -> str:
    """/gil's I/O against CPU panel, its slow requests taking `seconds` each."""
    return _with_query("/gil/io", {"seconds": f"{seconds:g}"})


def gil_delay(seconds: float) -> str:
    """The endpoint the I/O panel's requests fetch: it answers after `seconds`."""
    return _with_query("/api/gil/delay", {"seconds": f"{seconds:g}"})


def _pyrace_params(statement: str, switching: str, n: int, interval: int) -> dict[str, str]:
    return {"statement": statement, "switching": switching, "n": str(n), "interval": str(interval)}


def gil_pyrace(statement: str, switching: str, n: int, interval: int) -> str:
    """/gil's bytecode simulation of `statement` in two threads under a `switching` rule."""
    return _with_query("/gil/pyrace", _pyrace_params(statement, switching, n, interval))


def api_gil_pyrace(statement: str, switching: str, n: int, interval: int) -> str:
    """The same bytecode simulation as JSON."""
    return _with_query("/api/gil/pyrace", _pyrace_params(statement, switching, n, interval))


def lab_cost(iterations: int) -> str:
    """The native lab with its lock-cost chart measured at `iterations` calls."""
    return _with_query("/lab/cost", {"iterations": str(iterations)})


def lab_panel(
    path: str, params: Sequence[tuple[str, str | int | float]], *, embed: bool = False
) -> str:
    """A lab panel a lesson frames (/gil/timeline, /lab/cost, ...) with its own parameters."""
    return _with_query(path, {name: str(value) for name, value in params}, embed=embed)


def lesson(slug: str) -> str:
    return f"/lessons/{slug}"


def live_class(code: str) -> str:
    """A live class's page for students (its join link, on this site)."""
    return f"/class/{code}"


def live_class_teach(code: str) -> str:
    """A live class's dashboard (the teacher's key rides after it, in a #token= fragment)."""
    return f"/class/{code}/teach"


def embedded(page: str) -> str:
    """`page` (a path and query on this site) in its embed layout: with `embed=1` added."""
    return page + ("&" if "?" in page else "?") + "embed=1"


def framed(page: str) -> str:
    """/framed, which says how to embed `page` (a path and query on this site) in a frame."""
    return f"/framed?embed=1&page={quote(page, safe='')}"
