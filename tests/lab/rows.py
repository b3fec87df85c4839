"""Interpreters and survey rows with fixed values, for tests that must not wait for real
measurements or need an interpreter this machine does not have."""

from __future__ import annotations

import sys

from app.lab.conditions import Conditions
from app.lab.convoy import ConvoyResult
from app.lab.facts import Facts, RefcountStep
from app.lab.interpreters import Interpreter
from app.lab.lost_updates import RaceResult
from app.lab.survey import Row
from app.lab.workloads import CpuRound, CpuTimes


def interpreter(
    version: str,
    *,
    free_threaded: bool = False,
    gil_enabled: bool = True,
    executable: str = sys.executable,
) -> Interpreter:
    """A CPython `version` ("3.14.0t" for a free-threaded build) said to live at `executable`."""
    major, minor, micro = (int(part) for part in version.removesuffix("t").split("."))
    return Interpreter(
        version=version,
        version_info=(major, minor, micro),
        implementation="CPython",
        free_threaded=free_threaded,
        gil_enabled=gil_enabled,
        executable=executable,
        running=False,
    )


def facts_of(interpreter: Interpreter, *, refcount_one: int = 4294967295) -> Facts:
    return Facts(
        python=".".join(map(str, interpreter.version_info)), implementation="CPython",
        free_threaded=interpreter.free_threaded, gil_enabled=interpreter.gil_enabled,
        has_is_gil_enabled=interpreter.version_info >= (3, 13), switch_interval_ms=5.0,
        getsizeof_2781=28, getsizeof_1=28, getsizeof_2_to_64=36, id_before=1, id_after=2,
        refcount_sequence=tuple(
            RefcountStep(code=f"step {count}", refcount=count) for count in (2, 3, 4, 3, 2)
        ),
        refcount_module_literal=4, refcount_compiled_literal=3, refcount_interactive_literal=2,
        refcount_small_int_1=refcount_one, refcount_none=4294967295, pointer_bits=64,
    )  # fmt: skip


def row_of(
    interpreter: Interpreter,
    *,
    call_lost: tuple[int, ...] = (300, 0, 150),
    thread_speedup: float = 1.0,
    intervals: tuple[float, ...] = (5.0, 1.0, 0.1),
) -> Row:
    python = ".".join(map(str, interpreter.version_info))

    def race(statement: str, lost: tuple[int, ...]) -> RaceResult:
        return RaceResult(
            python=python, gil_enabled=interpreter.gil_enabled, switch_interval_ms=5.0,
            statement="inplace" if statement == "inplace" else "call", iterations=1000,
            lost_updates=lost,
        )  # fmt: skip

    return Row(
        interpreter=interpreter,
        races=(race("inplace", (0, 0, 0)), race("call", call_lost)),
        facts=facts_of(interpreter),
        median_slice_ms=5.1,
        cpu=CpuTimes(
            python=python,
            cpus=2,
            count=1_000_000,
            workers=2,
            rounds=tuple(
                CpuRound(sequential_s=1.0, threads_s=1.0 / thread_speedup, processes_s=0.55)
                for _ in range(3)
            ),
            conditions=Conditions(cpus=2, load_average=0.2, other_jobs=0),
            gil_enabled=interpreter.gil_enabled,
        ),
        convoy=tuple(
            ConvoyResult(interval_ms=interval, idle_rtt_ms=0.02, loaded_rtt_ms=interval * 1.03)
            for interval in intervals
        ),
    )
