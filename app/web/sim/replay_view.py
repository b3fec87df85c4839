"""/sim as the replay of a hardware run (`from=lab`): which run on this machine's cores it was,
what the lab recorded of it, and what the replay can and cannot show.

The native lab's replay links (app.lab.replay) carry the run after the permalink:
`/sim?<permalink>&from=lab&run=3&runs=10&iterations=1000000&final_rc=1998211&lost_updates=1790
&window_rc=47`. Nothing is stored, so the page stays a pure function of its URL; every link of
the page that keeps the schedule (steps, play, the copied link, the embed code, predict mode)
keeps them, and the links that change the schedule (choosing a thread, the pickers, a random
schedule) drop them, since the run is no longer the hardware's. A set of figures that no run of that
size could show, or that does not fit the replay beside it, is a 400 naming the parameter
(`HardwareRun.check`); the note then links back to the lab to measure the race again.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

from fastapi import Depends, Query

from app.lab import native
from app.lab.replay import race_step
from app.lab.trial import HardwareRun, count_range
from app.sim import InvalidParameter, Mode, Permalink, Run, Scenario
from app.web.infra import urls
from app.web.infra.errors import BadParameter
from app.web.sim.wording import MODE_LABELS, SCENARIO_LABELS, expected_outcome

# The figures a hardware replay's URL must carry with from=lab, in the order urls.hardware_run
# writes them.
_FIGURES = ("run", "runs", "iterations", "final_rc", "lost_updates", "window_rc")


# Outer bounds of a count, over every scenario (app.lab.trial.count_range), so no parameter is
# unbounded before HardwareRun.check holds it to the run's own scenario and size.
def _lowest_count(iterations: int) -> int:
    return min(count_range(scenario, iterations)[0] for scenario in Scenario)


def _highest_count(iterations: int) -> int:
    return max(count_range(scenario, iterations)[1] for scenario in Scenario)


@dataclass(frozen=True, slots=True, kw_only=True)
class LabQuery:
    """The hardware run's parameters as given, each within its own bounds."""

    source: Literal["lab"] | None
    run: int | None
    runs: int | None
    iterations: int | None
    final_rc: int | None
    lost_updates: int | None
    window_rc: int | None


async def _lab_query(
    source: Annotated[
        Literal["lab"] | None,
        Query(
            alias="from",
            description="lab: this schedule replays a run of the native lab on this machine's "
            "cores; the page says which run, from the figures that follow.",
        ),
    ] = None,
    run: Annotated[
        int | None, Query(ge=1, le=native.MAX_RUNS, description="from=lab: which run of the series")
    ] = None,
    runs: Annotated[
        int | None, Query(ge=1, le=native.MAX_RUNS, description="from=lab: the series' runs")
    ] = None,
    iterations: Annotated[
        int | None,
        Query(ge=1, le=native.MAX_ITERATIONS, description="from=lab: the run's calls per thread"),
    ] = None,
    final_rc: Annotated[
        int | None,
        Query(
            ge=_lowest_count(native.MAX_ITERATIONS), le=_highest_count(native.MAX_ITERATIONS),
            description="from=lab: the count the hardware ended the run with",
        ),
    ] = None,
    lost_updates: Annotated[
        int | None,
        Query(
            ge=0, le=2 * native.MAX_ITERATIONS,
            description="from=lab: the updates the hardware run lost",
        ),
    ] = None,
    window_rc: Annotated[
        int | None,
        Query(
            ge=_lowest_count(native.REPLAY_WINDOW), le=_highest_count(native.REPLAY_WINDOW),
            description="from=lab: the hardware's count after the replayed calls",
        ),
    ] = None,
) -> LabQuery:
    return LabQuery(
        source=source, run=run, runs=runs, iterations=iterations, final_rc=final_rc,
        lost_updates=lost_updates, window_rc=window_rc,
    )  # fmt: skip


LabParams = Annotated[LabQuery, Depends(_lab_query)]


def _plain(run: Run, step: int) -> str:
    """The same state without the hardware run: where a bad replay link sends the reader."""
    return urls.sim(Permalink.of(run, step))


def source(query: LabQuery, run: Run, step: int) -> HardwareRun | None:
    """The hardware run `run` replays, or None for a plain permalink; a BadParameter naming the
    parameter (and suggesting the same state without them) when the figures do not hold."""
    given = {name: getattr(query, name) for name in _FIGURES}
    if query.source is None:
        extra = [name for name, value in given.items() if value is not None]
        if extra:
            message = f"must be lab when {', '.join(extra)} are given"
            raise BadParameter("from", message, suggestion=_plain(run, step))
        return None
    plain = _plain(run, step)

    def figure(name: str) -> int:
        value: int | None = given[name]
        if value is None:
            raise BadParameter(
                name, f"is required with from=lab ({', '.join(_FIGURES)})", suggestion=plain
            )
        return value

    hardware = HardwareRun(
        scenario=run.config.scenario, run=figure("run"), runs=figure("runs"),
        iterations=figure("iterations"), final_rc=figure("final_rc"),
        lost_updates=figure("lost_updates"), window_rc=figure("window_rc"),
    )  # fmt: skip
    try:
        hardware.check(run)
    except InvalidParameter as error:
        raise BadParameter(error.parameter, error.message, suggestion=plain) from None
    return hardware


@dataclass(frozen=True, slots=True, kw_only=True)
class Note:
    """What /sim says above a hardware replay. It does not depend on the step shown, so it
    reads the same while the run is stepped or played."""

    hardware: HardwareRun
    scenario_label: str
    mode_label: str
    race_step: int | None  # where the race first shows in the replay; None: nothing went wrong
    race_url: str | None
    # The race showed, yet the replayed calls end correctly: in inc-dec, increments and
    # decrements erased alike cancel out in the count (CI's cores recorded one such window).
    cancelled_out: bool
    correct_outcome: str  # the scenario's correct outcome in words, for a run that ended wrong
    lab_url: str  # the same race in the lab, to measure it again


def build(hardware: HardwareRun, run: Run, *, embed: bool) -> Note:
    first = race_step(run)
    race_url = None
    if first is not None:
        race_url = urls.sim(
            Permalink.of(run, first), embed=embed, **urls.hardware_run(hardware)
        )
    iterations = hardware.iterations
    return Note(
        hardware=hardware,
        scenario_label=SCENARIO_LABELS[hardware.scenario],
        mode_label=MODE_LABELS[Mode.NONE],
        race_step=first,
        race_url=race_url,
        cancelled_out=first is not None and run.outcome.correct,
        correct_outcome=(
            expected_outcome(run.config)  # the same at every n but inc-inc's
            if hardware.expected_rc is None
            else f"rc = {hardware.expected_rc:,}, not freed"
        ),
        lab_url=urls.native_race(
            hardware.scenario, Mode.NONE, iterations=iterations, runs=hardware.runs, free="observed"
        ),
    )
