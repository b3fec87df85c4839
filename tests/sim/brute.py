"""An independent brute-force enumerator: walk every schedule, one by one, through the step
function, with no merging of states. Slow on purpose; the explorer must agree with it."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from app.sim import Config, Machine, Mode, Outcome, State, Thread
from app.sim.machine import outcome_of

OutcomeKey = tuple[int, bool, bool, bool]


@dataclass(frozen=True, slots=True)
class Enumeration:
    counts: Counter[OutcomeKey]
    correct: dict[OutcomeKey, set[bool]]  # every `correct` verdict seen in each group
    schedules: list[tuple[Thread, ...]]


def enumerate_schedules(config: Config, *, keep_schedules: bool = False) -> Enumeration:
    # Mode gil runs the plain (mode none) machine and prunes, by its own rule, every switch
    # away from a thread that is in the middle of a call: the enumerator does not reuse the
    # machine's GIL logic.
    if config.mode is Mode.GIL:
        free_config = Config(scenario=config.scenario, mode=Mode.NONE, n=config.n)
    else:
        free_config = config
    machine = Machine(free_config)
    counts: Counter[OutcomeKey] = Counter()
    correct: dict[OutcomeKey, set[bool]] = {}
    kept: list[tuple[Thread, ...]] = []

    gil = config.mode is Mode.GIL

    def walk(state: State, prefix: tuple[Thread, ...]) -> None:
        runnable = machine.runnable(state)
        if gil and prefix:
            last = state.thread(prefix[-1])
            if last.stopped is None and last.pc != 0:
                runnable = tuple(t for t in runnable if t is prefix[-1])
        if not runnable:
            outcome: Outcome = outcome_of(config, state)
            key = (
                outcome.final_rc,
                outcome.freed,
                outcome.use_after_free > 0,
                outcome.double_free > 0,
            )
            counts[key] += 1
            correct.setdefault(key, set()).add(outcome.correct)
            if keep_schedules:
                kept.append(prefix)
            return
        for thread in runnable:
            walk(machine.advance(state, thread)[0], (*prefix, thread))

    walk(machine.initial(), ())
    return Enumeration(counts=counts, correct=correct, schedules=kept)
