"""The convoy effect: the median round trip of a one-byte echo alone and beside one CPU-bound
thread, at a chosen switch interval, on any interpreter found (scripts/convoy.py; the server's
own for /gil, each one for /versions). Blocking: call it through a JobRunner.

The echo's client lives in another process, so only the echoing thread waits for the GIL: each
request waits about one switch interval while the CPU-bound thread holds it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from app.lab.conditions import Conditions, busy_during
from app.lab.interpreters import Interpreter
from app.lab.scripts import ScriptFailed

# The switch intervals the convoy is measured at: the default, and two shorter ones.
IntervalMs = Literal["5", "1", "0.1"]
INTERVALS_MS: tuple[float, ...] = tuple(float(value) for value in get_args(IntervalMs))
TIMEOUT_S = 20.0  # the script bounds each of its two measurements to 3 s; start-up adds little


@dataclass(frozen=True, slots=True, kw_only=True)
class ConvoyResult:
    interval_ms: float
    idle_rtt_ms: float
    loaded_rtt_ms: float
    conditions: Conditions | None = None  # how busy the machine was (None: not recorded)

    @property
    def slowdown(self) -> float:
        return self.loaded_rtt_ms / self.idle_rtt_ms if self.idle_rtt_ms > 0 else float("inf")


def measure_convoy(interpreter: Interpreter, *, interval_ms: float) -> ConvoyResult:
    if interval_ms not in INTERVALS_MS:
        raise ValueError(f"interval_ms must be one of {', '.join(map(str, INTERVALS_MS))}")
    report, seen = busy_during(lambda: interpreter.run("convoy", interval_ms, timeout=TIMEOUT_S))
    try:
        return ConvoyResult(
            interval_ms=interval_ms,
            idle_rtt_ms=float(report["idle_rtt_ms"]),
            loaded_rtt_ms=float(report["loaded_rtt_ms"]),
            conditions=seen,
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ScriptFailed(
            f"convoy on Python {interpreter.version} printed an unexpected report"
        ) from exc


def explain(interpreter: Interpreter, results: tuple[ConvoyResult, ...]) -> str:
    """What the round trips at the measured intervals say, in one or two sentences."""
    if not results:
        return "Not measured."
    if interpreter.free_threaded and not interpreter.gil_enabled:
        return (
            "No GIL in this build: the echo thread never waits for the spinning one, so the "
            "round trip barely changes with the switch interval."
        )
    by_interval = sorted(results, key=lambda result: result.interval_ms, reverse=True)
    idle = min(result.idle_rtt_ms for result in results)
    # A request "waited" for the GIL when its median round trip came to about a switch interval
    # (half to three of them: at 0.1 ms the wake-up itself adds about as much again).
    waited = [r for r in by_interval if r.interval_ms / 2 <= r.loaded_rtt_ms <= 3 * r.interval_ms]
    escaped = [r for r in by_interval if r.loaded_rtt_ms < r.interval_ms / 2]
    delayed = [r for r in by_interval if r.loaded_rtt_ms > 3 * r.interval_ms]
    sentence = f"Alone, the echo took {idle:.3f} ms."
    if waited:
        parts = ", ".join(
            f"{result.loaded_rtt_ms:.2f} ms at {result.interval_ms:g} ms" for result in waited
        )
        sentence += (
            " Beside one CPU-bound thread each request waited about a switch interval for the "
            f"GIL ({parts}): a shorter interval cuts that latency but hands the GIL over more "
            "often, which costs the CPU-bound thread."
        )
    if escaped:
        parts = ", ".join(
            f"{result.loaded_rtt_ms:.3f} ms at {result.interval_ms:g} ms" for result in escaped
        )
        sentence += (
            f" In this run most requests did not wait ({parts}): the echo thread found the GIL "
            "free when its byte arrived. Who gets the GIL next is neither fair nor ordered, so "
            "this varies from run to run: re-run to see."
        )
    if delayed:
        parts = ", ".join(
            f"{result.loaded_rtt_ms:.2f} ms at {result.interval_ms:g} ms" for result in delayed
        )
        sentence += (
            f" Some requests waited far longer than the interval ({parts}): other work on this "
            "host's cores kept the threads from running on time; re-run when it is idle."
        )
    reasons = sorted(
        {reason for r in results if r.conditions is not None for reason in r.conditions.reasons}
    )
    if reasons:
        sentence += f" Measured while the server was busy ({'; '.join(reasons)})."
    return sentence
