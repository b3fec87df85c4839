"""JSON API of the simulator and the explorer (`/api/sim`, `/api/explore`)."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from app.sim import (
    Config,
    Exploration,
    Mode,
    Run,
    Scenario,
    Step,
    simulate,
)
from app.sim.biased import Flag, shared_count
from app.sim.permalink import DEFAULT_N
from app.web.infra.deps import ExplorationsDep
from app.web.infra.page_cache import pure
from app.web.sim import params
from app.web.sim.params import (
    ExploreNQuery,
    IntervalQuery,
    ModeQuery,
    ScenarioQuery,
    ScheduleQuery,
    SeedQuery,
    SimNQuery,
)

router = APIRouter(prefix="/api", tags=["simulator"])


ThreadName = Literal["A", "B"]


class Registers(BaseModel):
    A: int | None
    B: int | None


class StepModel(BaseModel):
    index: int = Field(description="1-based; the permalink's step=index shows the state after it")
    thread: ThreadName
    op: str = Field(description="the micro-step: read, add, write, check, test, free, lock, ...")
    line: int = Field(description="1-based line of the thread's C function that the step executes")
    rc: int = Field(description="the reference count right after the step")
    reg: Registers
    lock: ThreadName | None = Field(description="the thread holding the mutex, if any")
    gil: ThreadName | None = Field(description="the thread holding the GIL (mode gil)")
    freed: bool
    events: list[str] = Field(
        description="lost-update, use-after-free, double-free, failed-check, freed; "
        "in modes biased and immortal also immortal, queued, merged"
    )
    # Modes biased and immortal (docs/semantics.md): free-threaded CPython's split count.
    # In these modes `rc` is the true count, ref_local + (ref_shared >> 2), or the immortal value.
    ref_local: int | None = Field(
        default=None, description="ob_ref_local, the owner's count (modes biased, immortal)"
    )
    ref_shared: int | None = Field(
        default=None,
        description="ob_ref_shared as stored: the other threads' count shifted left by 2, "
        "flags in the low two bits (modes biased, immortal)",
    )
    shared_count: int | None = Field(
        default=None, description="ref_shared >> 2 (it may be negative)"
    )
    flags: Flag | None = Field(
        default=None, description="ref_shared's low two bits by name"
    )
    owner: ThreadName | None = Field(
        default=None, description="ob_tid: the owning thread, null when 0 (no owner)"
    )
    queued: bool | None = Field(
        default=None, description="the object is on its owner's merge queue (mode biased)"
    )


class OutcomeModel(BaseModel):
    final_rc: int
    freed: bool
    use_after_free: int
    double_free: int
    lost_updates: int
    correct: bool


class SimResponse(BaseModel):
    scenario: Scenario
    mode: Mode
    n: int
    interval: int | None = Field(description="switch interval in steps (mode gil only)")
    schedule: str = Field(description="the whole run's schedule, canonical run-length form")
    steps: list[StepModel]
    outcome: OutcomeModel

    @classmethod
    def of(cls, run: Run) -> SimResponse:
        config = run.config
        return cls(
            scenario=config.scenario,
            mode=config.mode,
            n=config.n,
            interval=config.interval,
            schedule=run.schedule,
            steps=[_step_model(step) for step in run.steps],
            outcome=OutcomeModel(
                **{name: getattr(run.outcome, name) for name in OutcomeModel.model_fields}
            ),
        )


def _step_model(step: Step) -> StepModel:
    """One step; the free-threaded fields only in modes biased and immortal (the route leaves
    unset fields out, so the other modes' steps keep their shape)."""
    model = StepModel(
        index=step.index,
        thread=step.thread.value,
        op=step.op.value,
        line=step.line,
        rc=step.rc,
        reg=Registers(A=step.reg_a, B=step.reg_b),
        lock=step.lock.value if step.lock else None,
        gil=step.gil.value if step.gil else None,
        freed=step.freed,
        events=[event.value for event in step.events],
    )
    if step.ref_shared is None:
        return model
    return model.model_copy(
        update={
            "ref_local": step.ref_local,
            "ref_shared": step.ref_shared,
            "shared_count": shared_count(step.ref_shared),
            "flags": step.flags,
            "owner": step.owner.value if step.owner else None,
            "queued": step.queued,
        }
    )


class ExploreOutcome(BaseModel):
    final_rc: int
    freed: bool
    use_after_free: bool = Field(description="some access touched freed memory")
    double_free: bool = Field(description="the object was freed twice")
    count: int = Field(description="exact number of complete schedules reaching this outcome")
    witness: str = Field(description="a canonical schedule that reaches it")
    correct: bool = Field(description="it is the scenario's correct outcome")


class ExploreResponse(BaseModel):
    scenario: Scenario
    mode: Mode
    n: int
    total: int = Field(description="exact number of complete schedules")
    states: int = Field(description="distinct merged states the explorer visited")
    outcomes: list[ExploreOutcome]
    ops: dict[ThreadName, list[str]] = Field(
        description="every micro-step each thread takes in some schedule: a proof over all of "
        "them (mode biased, inc-inc: A's are load-local, is-owner, store-local-inc)"
    )
    atomic_or_locking: dict[ThreadName, list[str]] = Field(
        description="those of each thread's ops that use an atomic instruction or take a lock"
    )

    @classmethod
    def of(cls, exploration: Exploration) -> ExploreResponse:
        config = exploration.config
        return cls(
            scenario=config.scenario,
            mode=config.mode,
            n=config.n,
            total=exploration.total,
            states=exploration.states,
            outcomes=[
                ExploreOutcome(
                    final_rc=o.final_rc,
                    freed=o.freed,
                    use_after_free=o.use_after_free,
                    double_free=o.double_free,
                    count=o.count,
                    witness=o.witness,
                    correct=o.correct,
                )
                for o in exploration.outcomes
            ],
            ops={t.value: [op.value for op in ops] for t, ops in exploration.ops.items()},
            atomic_or_locking={
                t.value: [op.value for op in exploration.atomic_or_locking(t)]
                for t in exploration.ops
            },
        )


@router.get(
    "/sim",
    summary="Simulate one interleaving step by step",
    response_model_exclude_unset=True,
)
@pure
def api_sim(
    scenario: ScenarioQuery = Scenario.INC_INC,
    mode: ModeQuery = Mode.NONE,
    n: SimNQuery = DEFAULT_N,
    schedule: ScheduleQuery = None,
    seed: SeedQuery = None,
    interval: IntervalQuery = None,
) -> SimResponse:
    config = Config(scenario=scenario, mode=mode, n=n, interval=interval)
    return SimResponse.of(simulate(config, schedule, seed))


@router.get("/explore", summary="Count every interleaving exactly, grouped by outcome")
@pure
async def api_explore(
    runner: ExplorationsDep,
    scenario: ScenarioQuery = Scenario.INC_INC,
    mode: ModeQuery = Mode.NONE,
    n: ExploreNQuery = DEFAULT_N,
) -> ExploreResponse:
    return ExploreResponse.of(await params.explore(scenario, mode, n, runner=runner))
