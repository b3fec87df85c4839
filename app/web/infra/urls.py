"""Every link the site builds to one of its own pages, in one place.

The simulator's states are `Permalink`s (app.sim.permalink): the core names a run and a step,
this module turns that into an address, so /sim's canonical query string is written once, and
so are the parameters of /explore, /challenges/{slug}, /lab and /gil that other pages link to.
Views, routes and templates (the `sim_url` global) call these functions; nothing else writes
`/sim?` by hand. Flags that are chrome rather than state (`embed`) come last, as they always did.
"""

from __future__ import annotations

from urllib.parse import urlencode

from app.sim import Config, Mode, Permalink, Scenario
from app.sim.predict import Score


def _with_query(path: str, params: dict[str, str]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def _chrome(params: dict[str, str], *, embed: bool) -> dict[str, str]:
    return {**params, "embed": "1"} if embed else params


def sim(permalink: Permalink, *, embed: bool = False) -> str:
    """/sim at a permalink's step: the address students share."""
    return _with_query("/sim", _chrome(permalink.params(), embed=embed))


def sim_start(config: Config) -> str:
    """/sim's own run of `config` (its default schedule), from the start."""
    return _with_query("/sim", {**Permalink.config_params(config), "step": "0"})


def sim_random(config: Config, *, embed: bool) -> str:
    """The "new random schedule" link: /sim/random draws the seed and redirects."""
    return _with_query("/sim/random", _chrome(Permalink.config_params(config), embed=embed))


def sim_seeded(config: Config, seed: int, *, embed: bool) -> str:
    """/sim with the rest of the schedule chosen by `seed` (where /sim/random redirects)."""
    params = _chrome(Permalink.config_params(config), embed=embed)
    return _with_query("/sim", {**params, "seed": str(seed)})


def sim_stream(permalink: Permalink, *, speed: float, embed: bool) -> str:
    """/stream/sim playing the run on from the permalink's step."""
    params = {**permalink.params(), "speed": f"{speed:g}"}
    return _with_query("/stream/sim", _chrome(params, embed=embed))


def predict(
    permalink: Permalink,
    score: Score,
    *,
    said: str | None = None,
    embed: bool = False,
    guess: str | None = None,
) -> str:
    """/sim in predict mode: the score (and the answer just given, or the one to judge) ride
    in the URL."""
    params = {**permalink.params(), "predict": "1", "score": str(score)}
    if said is not None:
        params["said"] = said
    params = _chrome(params, embed=embed)
    if guess is not None:
        params["guess"] = guess
    return "/sim?" + urlencode(params, safe="/")  # score=3/4 reads better than 3%2F4


def explore(scenario: Scenario, mode: Mode, n: int, *, wait: bool = False) -> str:
    """/explore: every interleaving of a run of that size, counted."""
    params = {"scenario": scenario.value, "mode": mode.value, "n": str(n)}
    return _with_query("/explore", {**params, "wait": "1"} if wait else params)


def challenge(slug: str, schedule: str = "", **flags: bool) -> str:
    """A challenge after the prefix `schedule` (canonical), with optional flags (`hint=True`)."""
    params = {"schedule": schedule} if schedule else {}
    params.update({name: "1" for name, on in flags.items() if on})
    return _with_query(f"/challenges/{slug}", params)


def native_race(
    scenario: Scenario, mode: Mode, *, iterations: int, runs: int, free: str, run: bool
) -> str:
    """/lab with the race form filled in (and run at once with `run`), scrolled to the results."""
    params = {
        "experiment": scenario.value,
        "mode": mode.value,
        "iterations": str(iterations),
        "runs": str(runs),
        "free": free,
    }
    if run:
        params["run"] = "true"
    return _with_query("/lab", params) + "#results-heading"


def gil_timeline(interval_ms: float, duration_ms: int, threads: int) -> str:
    """/gil with the measured timeline's parameters."""
    params = {"interval_ms": f"{interval_ms:g}", "duration_ms": str(duration_ms)}
    return _with_query("/gil", {**params, "threads": str(threads)})


def lesson(slug: str) -> str:
    return f"/lessons/{slug}"
