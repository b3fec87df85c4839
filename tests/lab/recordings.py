"""What the native lab's recording would hold for a run the simulator makes: the value each
thread's loads (check, read, test) saw, in order. The replay tests compare a replayed schedule's
loads with the hardware's records; the given trials (tests/given_measurements.py) record a
chosen schedule, so that their replays go through the real replay search."""

from __future__ import annotations

from app.lab.native import Recording
from app.sim import Config, Mode, Op, Run, Scenario, Thread, simulate


def loads(scenario: Scenario, window: int, schedule: str) -> dict[Thread, list[int]]:
    """The value each simulated load saw, per thread, in order."""
    return _loads(simulate(Config(scenario=scenario, mode=Mode.NONE, n=window), schedule))


def _loads(run: Run) -> dict[Thread, list[int]]:
    seen: dict[Thread, list[int]] = {Thread.A: [], Thread.B: []}
    for step in run.steps:
        if step.op is Op.READ:
            value = step.reg[step.thread]
            assert value is not None
            seen[step.thread].append(value)
        elif step.op in (Op.CHECK, Op.TEST):
            seen[step.thread].append(step.rc)
    return seen


def recording(scenario: Scenario, window: int, schedule: str) -> Recording:
    """The records of a window whose calls interleaved as `schedule` says."""
    run = simulate(Config(scenario=scenario, mode=Mode.NONE, n=window), schedule)
    seen = _loads(run)
    return Recording(
        scenario=scenario,
        window=window,
        reads_a=tuple(seen[Thread.A]),
        reads_b=tuple(seen[Thread.B]),
        window_rc=run.outcome.final_rc,
    )


# Recorded by CI's cores: inc-dec's count came out right (1) after 30 calls each, though B's
# decrements erased A's increments and A's write erased B's decrements (they cancel out).
CANCELLED_OUT = Recording(
    scenario=Scenario.INC_DEC, window=30,
    reads_a=tuple(k for k in range(1, 31) for _ in range(2)),
    reads_b=(19, 19, *(k for k in range(30, 1, -1) for _ in range(3)), 1),
    window_rc=1,
)  # fmt: skip
