"""Trials of the native race as the lab shows them: a run, its replay, and what runs add up to.

A trial is one run of the C experiment plus, for unlocked runs, the replay of its first calls
in the simulator (app.lab.replay). `Series` is what the page draws as results stream in: the
spread of final counts as a histogram, and min/median/max.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from app.lab import native
from app.lab.native import Freeing, NativeRun
from app.lab.replay import Replay, ReplayError, replay
from app.sim import Mode, Scenario

MAX_BINS = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class Trial:
    number: int  # 1-based within its series
    result: NativeRun
    replay: Replay | None  # None: locked, atomic, real freeing, or a dec-dec run too long


def replayable(scenario: Scenario, mode: Mode, iterations: int, freeing: Freeing) -> bool:
    """Unlocked, observed runs; dec-dec only when the whole run fits the simulator (its count
    starts at 2n, so a window of a longer run does not start where the simulator starts)."""
    if mode is not Mode.NONE or freeing is not Freeing.OBSERVED:
        return False
    return scenario is not Scenario.DEC_DEC or iterations <= native.REPLAY_WINDOW


def run_trial(
    number: int, scenario: Scenario, mode: Mode, iterations: int, freeing: Freeing
) -> Trial:
    """One run (blocking: call it through the lab's JobRunner)."""
    if not replayable(scenario, mode, iterations, freeing):
        result = native.run_race(scenario, mode, iterations, freeing=freeing)
        return Trial(number=number, result=result, replay=None)
    window = min(native.REPLAY_WINDOW, iterations)
    result, recording = native.record_race(scenario, iterations, window=window)
    try:
        found: Replay | None = replay(recording)
    except ReplayError:
        found = None  # never seen; the page then simply offers no replay for this run
    return Trial(number=number, result=result, replay=found)


@dataclass(frozen=True, slots=True, kw_only=True)
class Bin:
    low: int  # inclusive
    high: int  # inclusive
    count: int
    holds_expected: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Series:
    scenario: Scenario
    mode: Mode
    iterations: int
    trials: tuple[Trial, ...]

    @property
    def finals(self) -> tuple[int, ...]:
        """Final counts of the runs whose count means something: not crashed, and not freed
        for real (glibc then writes over the count)."""
        return tuple(
            t.result.final_rc
            for t in self.trials
            if t.result.final_rc is not None and t.result.lost_updates is not None
        )

    @property
    def excluded(self) -> int:
        return len(self.trials) - len(self.finals)

    @property
    def crashes(self) -> int:
        return sum(1 for t in self.trials if t.result.crashed)

    @property
    def freed_for_real(self) -> int:
        """Runs that freed the count with real free() and went on: glibc wrote over the count,
        so neither a final count nor lost updates can be read from it."""
        return sum(1 for t in self.trials if not t.result.crashed and t.result.lost_updates is None)

    @property
    def lossy(self) -> int:
        """Runs with a readable count that lost updates."""
        return sum(1 for t in self.trials if t.result.lost_updates)

    @property
    def expected(self) -> int | None:
        """The correct final count, when the scenario has one number for it."""
        if self.mode is Mode.IMMORTAL:
            return native.IMMORTAL_RC
        if self.scenario is Scenario.INC_INC:
            return 2 * self.iterations + 1
        if self.scenario is Scenario.DEC_DEC:
            return 0
        return None  # inc-dec: 1, or 0 once freed; each run's expected_rc says which

    @property
    def stats(self) -> tuple[int, float, int] | None:
        """(min, median, max) of the final counts."""
        finals = self.finals
        if not finals:
            return None
        return min(finals), statistics.median(finals), max(finals)

    def lost_stats(self) -> tuple[int, float, int] | None:
        lost = [t.result.lost_updates for t in self.trials if t.result.lost_updates is not None]
        if not lost:
            return None
        return min(lost), statistics.median(lost), max(lost)

    def bins(self) -> tuple[Bin, ...]:
        """Up to MAX_BINS equal-width bins over the final counts seen so far."""
        finals = self.finals
        if not finals:
            return ()
        low, high = min(finals), max(finals)
        span = high - low + 1
        width = max(1, math.ceil(span / MAX_BINS))
        count = math.ceil(span / width)
        totals = [0] * count
        for value in finals:
            totals[(value - low) // width] += 1
        expected = self.expected
        return tuple(
            Bin(
                low=low + i * width,
                high=min(high, low + (i + 1) * width - 1),
                count=total,
                holds_expected=expected is not None
                and low + i * width <= expected <= low + (i + 1) * width - 1,
            )
            for i, total in enumerate(totals)
        )


def series(
    scenario: Scenario, mode: Mode, iterations: int, trials: Sequence[Trial]
) -> Series:
    return Series(scenario=scenario, mode=mode, iterations=iterations, trials=tuple(trials))
