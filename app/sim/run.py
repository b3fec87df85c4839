"""Whole runs: a config and a schedule in, every step and state and the outcome out."""

from __future__ import annotations

import random
from dataclasses import dataclass

from app.sim.errors import ScheduleError
from app.sim.machine import Machine, Outcome, State, Step, outcome_of
from app.sim.model import Config, Mode, Status, Thread
from app.sim.schedule import format_schedule, parse_schedule


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadView:
    """What a page shows of one thread at one moment."""

    status: Status
    line: int | None  # the statement it executes next (None once stopped)
    register: int | None
    calls_done: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Run:
    config: Config
    steps: tuple[Step, ...]
    states: tuple[State, ...]  # states[k]: after k steps; len(states) == len(steps) + 1
    schedule: str  # the whole run's schedule, canonical
    outcome: Outcome
    # The rules it was played by: mode gil switching at any call boundary (a challenge's run)
    # rather than when the interval says.
    any_boundary: bool = False
    # The steps after which every choice is the one the default policy (alternating, no seed)
    # makes: from there the run is what `simulate` fills in after a schedule that ends there.
    default_from: int = 0

    @property
    def machine(self) -> Machine:
        return Machine(self.config, any_boundary=self.any_boundary)

    def runnable(self, k: int) -> tuple[Thread, ...]:
        """Who may take step k + 1 (empty at the end)."""
        return self.machine.runnable(self.states[k])

    def thread_view(self, k: int, thread: Thread) -> ThreadView:
        machine, state = self.machine, self.states[k]
        ts = state.thread(thread)
        status = machine.status(state, thread)
        instruction = machine.next_instruction(state, thread)
        line = None if status.stopped or instruction is None else instruction.line
        return ThreadView(status=status, line=line, register=ts.register, calls_done=ts.calls_done)


def _default_choice(
    runnable: tuple[Thread, ...], last: Thread | None, rng: random.Random | None
) -> Thread:
    if len(runnable) == 1:
        return runnable[0]
    if rng is not None:
        return rng.choice(runnable)
    # Both can run, (A, B): the other one than the last to run, A first.
    return runnable[1] if last is runnable[0] else runnable[0]


def simulate(
    config: Config,
    schedule: str | None = None,
    seed: int | None = None,
    *,
    machine: Machine | None = None,
) -> Run:
    """Run `config` to the end, following `schedule` and then the default policy.

    After the schedule's last letter the rest is chosen uniformly among runnable threads by
    `random.Random(seed)`, or, without a seed, by alternating threads one step at a time. In mode
    gil the GIL decides who runs, so a schedule there must agree with it (unless `machine` says
    otherwise: challenges let the student hand the GIL over at any call boundary).
    """
    choices = parse_schedule(schedule) if schedule else ()
    rng = random.Random(seed) if seed is not None else None
    machine = machine or Machine(config)
    state = machine.initial()
    steps: list[Step] = []
    states: list[State] = [state]
    last: Thread | None = None
    default_from = 0
    while runnable := machine.runnable(state):
        index = len(steps) + 1
        if index <= len(choices):
            thread = choices[index - 1]
        else:
            thread = _default_choice(runnable, last, rng)
        if thread is not _default_choice(runnable, last, None):
            default_from = index
        state, step = machine.advance(state, thread, index=index)
        steps.append(step)
        states.append(state)
        last = thread
    if len(choices) > len(steps):
        raise ScheduleError(
            f"both threads have finished after {len(steps)} steps, "
            f"but the schedule has {len(choices)}",
            step=len(steps) + 1,
        )
    return Run(
        config=config,
        steps=tuple(steps),
        states=tuple(states),
        schedule=format_schedule([step.thread for step in steps]),
        outcome=outcome_of(config, state),
        any_boundary=machine.any_boundary,
        default_from=default_from,
    )


def branch_schedule(run: Run, step: int, thread: Thread) -> str:
    """The canonical schedule of `simulate(run.config, prefix + thread)`, where `prefix` is the
    run's first `step` choices: the run that lets `thread` take step `step` + 1 and then
    alternates. The same schedule, computed from the run's state after `step` steps rather than
    by replaying the prefix (the state after k steps depends only on the first k choices), and
    without recording the steps: /sim links every step's "Step A" and "Step B" to it.

    Under the run's own rules (`any_boundary`); ScheduleError names step `step` + 1 when
    `thread` cannot take it."""
    if step < len(run.steps) and run.steps[step].thread is thread and run.default_from <= step + 1:
        return run.schedule  # the run's own next step, and the default policy after it
    machine, state = run.machine, run.states[step]
    state, _ = machine.advance(state, thread, index=step + 1)
    threads = [taken.thread for taken in run.steps[:step]]
    threads.append(thread)
    last = thread
    while runnable := machine.runnable(state):
        last = _default_choice(runnable, last, None)
        state, _, _ = machine.transition(state, last)
        threads.append(last)
    return format_schedule(threads)


def gil_handovers(run: Run) -> tuple[int, ...]:
    """Indexes of the steps at which the GIL changed hands (mode gil; empty otherwise)."""
    if run.config.mode is not Mode.GIL:
        return ()
    return tuple(
        step.index
        for previous, step in zip(run.steps, run.steps[1:], strict=False)
        if step.gil is not previous.gil
    )
