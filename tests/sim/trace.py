"""A compact, readable form of a run's states, for tests that assert the whole state per step."""

from __future__ import annotations

from app.sim import THREADS, Run


def _value(value: object) -> str:
    return "-" if value is None else str(value)


def describe(run: Run, k: int) -> str:
    """Step k of `run` and the state right after it, in one line.

    `A check:2 rc=1 reg=-/- lock=A gil=- freed=0 [A ready 2, B blocked 2] events=...`:
    the thread and micro-step (with its C line), the shared object, then each thread's status
    and the line it executes next (`-` once stopped).
    """
    step = run.steps[k - 1]
    views = [run.thread_view(k, thread) for thread in THREADS]
    threads = ", ".join(
        f"{thread} {view.status} {_value(view.line)}"
        for thread, view in zip(THREADS, views, strict=True)
    )
    events = ",".join(event.value for event in step.events)
    return (
        f"{step.thread} {step.op}:{step.line} rc={step.rc} "
        f"reg={_value(step.reg_a)}/{_value(step.reg_b)} lock={_value(step.lock)} "
        f"gil={_value(step.gil)} freed={int(step.freed)} [{threads}]"
        + (f" {events}" if events else "")
    )


def trace(run: Run) -> list[str]:
    return [describe(run, k) for k in range(1, len(run.steps) + 1)]
