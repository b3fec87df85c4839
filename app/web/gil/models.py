"""The GIL lab's JSON shapes (pydantic at the edge), built from the lab's records."""

from __future__ import annotations

from pydantic import BaseModel, Field

from app.lab.conditions import Conditions, Spread
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


class SpreadModel(BaseModel):
    median: float
    low: float
    high: float
    count: int = Field(description="how many rounds")

    @classmethod
    def of(cls, spread: Spread, digits: int = 4) -> SpreadModel:
        return cls(
            median=round(spread.median, digits),
            low=round(spread.low, digits),
            high=round(spread.high, digits),
            count=spread.count,
        )


class ConditionsModel(BaseModel):
    cpus: int
    load_average: float | None = Field(
        description="1-minute load average, the worse of before and after"
    )
    other_jobs: int = Field(description="other lab jobs running on this machine meanwhile")
    busy: bool = Field(description="load above the CPUs, or other lab jobs running")
    reasons: list[str]

    @classmethod
    def of(cls, conditions: Conditions) -> ConditionsModel:
        return cls(
            cpus=conditions.cpus,
            load_average=conditions.load_average,
            other_jobs=conditions.other_jobs,
            busy=conditions.busy,
            reasons=list(conditions.reasons),
        )


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
    handover_gaps: SpreadModel | None = Field(
        description="ms between consecutive slices: the GIL changing hands"
    )
    stall_total_ms: float = Field(
        description="time a holder paused inside its slices (the OS ran other work)"
    )
    longest_stall_ms: float
    conditions: ConditionsModel | None

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
            handover_gaps=None
            if timeline.handover_gaps is None
            else SpreadModel.of(timeline.handover_gaps),
            stall_total_ms=round(sum(timeline.stalls_ms), 4),
            longest_stall_ms=round(max(timeline.stalls_ms, default=0.0), 4),
            conditions=None
            if timeline.conditions is None
            else ConditionsModel.of(timeline.conditions),
        )


class DelayModel(BaseModel):
    seconds: float


class FetchModel(BaseModel):
    python: str
    seconds: float = Field(description="the delay of each request")
    requests: int
    sequential_s: float = Field(description="median over the rounds")
    threaded_s: float = Field(description="median over the rounds")
    speedup: float = Field(description="median of the rounds' in-turn over threaded times")
    sequential: SpreadModel
    threaded: SpreadModel
    speedups: SpreadModel
    verdict: str
    conditions: ConditionsModel

    @classmethod
    def of(cls, times: FetchTimes) -> FetchModel:
        return cls(
            python=times.python,
            seconds=times.delay_s,
            requests=times.requests,
            sequential_s=round(times.sequential.median, 4),
            threaded_s=round(times.threaded.median, 4),
            speedup=round(times.speedup.median, 3),
            sequential=SpreadModel.of(times.sequential),
            threaded=SpreadModel.of(times.threaded),
            speedups=SpreadModel.of(times.speedup, 3),
            verdict=times.verdict(),
            conditions=ConditionsModel.of(times.conditions),
        )


class CpuModel(BaseModel):
    python: str
    cpus: int
    count: int
    workers: int
    sequential_s: float = Field(description="median over the rounds")
    threads_s: float = Field(description="median over the rounds")
    processes_s: float = Field(description="median over the rounds")
    thread_speedup: float = Field(description="median of the rounds' in-turn over threads' times")
    process_speedup: float = Field(description="median, as thread_speedup")
    sequential: SpreadModel
    threads: SpreadModel
    processes: SpreadModel
    thread_speedups: SpreadModel
    process_speedups: SpreadModel
    verdict: str = Field(description="what the threads' rounds show")
    conditions: ConditionsModel

    @classmethod
    def of(cls, times: CpuTimes) -> CpuModel:
        return cls(
            python=times.python,
            cpus=times.cpus,
            count=times.count,
            workers=times.workers,
            sequential_s=round(times.sequential.median, 4),
            threads_s=round(times.threads.median, 4),
            processes_s=round(times.processes.median, 4),
            thread_speedup=round(times.thread_speedup.median, 3),
            process_speedup=round(times.process_speedup.median, 3),
            sequential=SpreadModel.of(times.sequential),
            threads=SpreadModel.of(times.threads),
            processes=SpreadModel.of(times.processes),
            thread_speedups=SpreadModel.of(times.thread_speedup, 3),
            process_speedups=SpreadModel.of(times.process_speedup, 3),
            verdict=times.thread_verdict(),
            conditions=ConditionsModel.of(times.conditions),
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
