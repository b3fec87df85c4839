"""The GIL lab's JSON shapes (pydantic at the edge), built from the lab's records."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.lab.facts import Facts, explain
from app.lab.gil import Timeline
from app.lab.lost_updates import RaceResult
from app.lab.workloads import CpuTimes, FetchTimes
from app.sim.pyrace import PyRace


class SliceModel(BaseModel):
    thread: str = Field(description="A, B, ...: the thread that held the GIL")
    start_ms: float
    end_ms: float


class BinModel(BaseModel):
    from_ms: float
    to_ms: float | None = Field(description="null for the last, open-ended bin")
    count: int


class TimelineModel(BaseModel):
    interval_ms: float
    python: str
    slices: list[SliceModel]
    handoffs: int
    median_slice_ms: float | None = Field(
        description="median length of the slices not cut short by the run's start or end"
    )
    duration_ms: float
    threads: list[str]
    gil_enabled: bool
    distribution: list[BinModel] = Field(description="slice lengths in quarter intervals")
    overlap_ms: float = Field(description="time two threads ran at once: 0 under a GIL")

    @classmethod
    def of(cls, timeline: Timeline) -> TimelineModel:
        return cls(
            interval_ms=timeline.interval_ms,
            python=timeline.python,
            slices=[
                SliceModel(
                    thread=piece.thread,
                    start_ms=round(piece.start_ms, 4),
                    end_ms=round(piece.end_ms, 4),
                )
                for piece in timeline.slices
            ],
            handoffs=timeline.handoffs,
            median_slice_ms=None
            if timeline.median_slice_ms is None
            else round(timeline.median_slice_ms, 4),
            duration_ms=timeline.duration_ms,
            threads=list(timeline.threads),
            gil_enabled=timeline.gil_enabled,
            distribution=[
                BinModel(from_ms=b.from_ms, to_ms=b.to_ms, count=b.count)
                for b in timeline.distribution
            ],
            overlap_ms=round(timeline.overlap_ms, 4),
        )


class DelayModel(BaseModel):
    seconds: float


class FetchModel(BaseModel):
    python: str
    seconds: float = Field(description="the delay of each request")
    requests: int
    sequential_s: float
    threaded_s: float
    speedup: float

    @classmethod
    def of(cls, times: FetchTimes) -> FetchModel:
        return cls(
            python=times.python,
            seconds=times.delay_s,
            requests=times.requests,
            sequential_s=round(times.sequential_s, 4),
            threaded_s=round(times.threaded_s, 4),
            speedup=round(times.speedup, 3),
        )


class CpuModel(BaseModel):
    python: str
    cpus: int
    load_average: float | None
    count: int
    workers: int
    repeats: int = Field(description="each timing is the best of this many rounds")
    sequential_s: float
    threads_s: float
    processes_s: float
    thread_speedup: float
    process_speedup: float

    @classmethod
    def of(cls, times: CpuTimes) -> CpuModel:
        return cls(
            python=times.python,
            cpus=times.cpus,
            load_average=times.load_average,
            count=times.count,
            workers=times.workers,
            repeats=times.repeats,
            sequential_s=round(times.sequential_s, 4),
            threads_s=round(times.threads_s, 4),
            processes_s=round(times.processes_s, 4),
            thread_speedup=round(times.thread_speedup, 3),
            process_speedup=round(times.process_speedup, 3),
        )


class RaceRunModel(BaseModel):
    lost_updates: int


class RaceModel(BaseModel):
    python: str
    gil_enabled: bool
    switch_interval_ms: float
    statement: str
    code: str
    iterations: int
    expected: int
    runs: list[RaceRunModel]

    @classmethod
    def of(cls, result: RaceResult) -> RaceModel:
        return cls(
            python=result.python,
            gil_enabled=result.gil_enabled,
            switch_interval_ms=result.switch_interval_ms,
            statement=result.statement,
            code=result.code,
            iterations=result.iterations,
            expected=result.expected,
            runs=[RaceRunModel(lost_updates=lost) for lost in result.lost_updates],
        )


class PyStepModel(BaseModel):
    index: int
    thread: str
    instruction: str
    stack: list[str]
    counter: int
    refcount_changes: list[str]
    events: list[str]
    gil: str


class PyOutcomeModel(BaseModel):
    final_counter: int
    expected: int
    lost_updates: int
    switches: int
    refcounts_consistent: bool


class PyRaceModel(BaseModel):
    statement: str
    switching: str
    n: int
    interval: int
    source: str
    steps: list[PyStepModel]
    outcome: PyOutcomeModel

    @classmethod
    def of(cls, race: PyRace) -> PyRaceModel:
        o = race.outcome
        return cls(
            statement=race.statement.value,
            switching=race.switching.value,
            n=race.n,
            interval=race.interval,
            source=race.source,
            steps=[
                PyStepModel(
                    index=s.index,
                    thread=s.thread,
                    instruction=s.instruction,
                    stack=list(s.stack),
                    counter=s.counter,
                    refcount_changes=list(s.refcount_changes),
                    events=list(s.events),
                    gil=s.gil,
                )
                for s in race.steps
            ],
            outcome=PyOutcomeModel(
                final_counter=o.final_counter,
                expected=o.expected,
                lost_updates=o.lost_updates,
                switches=o.switches,
                refcounts_consistent=o.refcounts_consistent,
            ),
        )


class RefcountStepModel(BaseModel):
    code: str
    refcount: int


class FactsModel(BaseModel):
    python: str
    implementation: str
    free_threaded: bool
    gil_enabled: bool
    switch_interval_ms: float
    getsizeof_2781: int
    id_before: int
    id_after: int
    refcount_sequence: list[RefcountStepModel]
    refcount_module_literal: int
    refcount_compiled_literal: int
    refcount_interactive_literal: int
    refcount_small_int_1: int
    notes: dict[str, str] = Field(description="why each value is what it is on this version")

    @classmethod
    def of(cls, facts: Facts) -> FactsModel:
        return cls(
            python=facts.python,
            implementation=facts.implementation,
            free_threaded=facts.free_threaded,
            gil_enabled=facts.gil_enabled,
            switch_interval_ms=facts.switch_interval_ms,
            getsizeof_2781=facts.getsizeof_2781,
            id_before=facts.id_before,
            id_after=facts.id_after,
            refcount_sequence=[
                RefcountStepModel(code=step.code, refcount=step.refcount)
                for step in facts.refcount_sequence
            ],
            refcount_module_literal=facts.refcount_module_literal,
            refcount_compiled_literal=facts.refcount_compiled_literal,
            refcount_interactive_literal=facts.refcount_interactive_literal,
            refcount_small_int_1=facts.refcount_small_int_1,
            notes=explain(facts),
        )
