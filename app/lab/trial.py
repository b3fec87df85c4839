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
from app.sim import InvalidParameter, Mode, Run, Scenario

MAX_BINS = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class Trial:
    number: int  # 1-based within its series
    result: NativeRun
    replay: Replay | None  # None: locked, atomic, real freeing, or a dec-dec run too long


@dataclass(frozen=True, slots=True, kw_only=True)
class HardwareRun:
    """The run on this machine's cores that a replay comes from, and what the lab recorded of
    it: what /sim says beside the replay (which run of which series, its final count and lost
    updates, and the count after the replayed window).

    It travels in /sim's URL, since a permalink is a pure function of its URL and nothing is
    stored, so anyone can type one. `check` holds it to what a run of that size can show and
    to the replay beside it; a well-formed set typed by hand still passes, which is why the
    page links back to the lab to measure the race again."""

    scenario: Scenario
    iterations: int  # calls per thread of the whole run
    run: int  # 1-based within its series
    runs: int  # the series' size
    final_rc: int
    lost_updates: int
    window_rc: int  # the count after the replayed window, where the replay ends

    @property
    def window(self) -> int:
        """Calls per thread replayed: the simulator's n."""
        return min(self.iterations, native.REPLAY_WINDOW)

    @property
    def expected_rc(self) -> int | None:
        """inc-inc's count with no update lost (its calls never fail a check); the other
        scenarios' depend on the run's failed checks."""
        return 2 * self.iterations + 1 if self.scenario is Scenario.INC_INC else None

    @property
    def ended_correctly(self) -> bool | None:
        """Whether the run's figures show it ended correctly, or None where they cannot tell.
        Only inc-inc's count says it all. Any other count than the correct one is wrong, but
        inc-dec at 1 (or dec-dec at 0) may still have freed the object, used it after (or
        freed it twice), or erased increments and decrements that cancelled out: its
        lost_updates is the count's distance from its updates, 0 then."""
        if self.scenario is Scenario.INC_INC:
            return self.final_rc == self.expected_rc
        correct_rc = 0 if self.scenario is Scenario.DEC_DEC else 1
        return None if self.final_rc == correct_rc else False

    @property
    def whole(self) -> bool:
        """The replay covers the whole run."""
        return self.iterations <= native.REPLAY_WINDOW

    @classmethod
    def of(
        cls, trial: Trial, *, scenario: Scenario, iterations: int, runs: int
    ) -> HardwareRun | None:
        """None for a run with no replay."""
        result, found = trial.result, trial.replay
        if found is None or result.final_rc is None or result.lost_updates is None:
            return None
        return cls(
            scenario=scenario, iterations=iterations, run=trial.number, runs=runs,
            final_rc=result.final_rc, lost_updates=result.lost_updates,
            window_rc=found.window_rc,
        )  # fmt: skip

    def check(self, replayed: Run) -> None:
        """Raise InvalidParameter, naming the parameter, unless this could be the hardware run
        that `replayed` replays."""
        config = replayed.config
        if self.run > self.runs:
            raise InvalidParameter("run", f"must be from 1 to runs={self.runs}; got {self.run}")
        if config.mode is not Mode.NONE:
            raise InvalidParameter("mode", "a replay of a hardware run is of mode none")
        if not replayable(self.scenario, Mode.NONE, self.iterations, Freeing.OBSERVED):
            raise InvalidParameter(
                "iterations",
                f"dec-dec replays only runs of at most {native.REPLAY_WINDOW} calls per thread",
            )
        if config.n != self.window:
            raise InvalidParameter(
                "n", f"the replay of a run of {self.iterations:,} calls per thread has "
                f"n = {self.window}; got {config.n}",
            )  # fmt: skip
        low, high = count_range(self.scenario, self.iterations)
        if not low <= self.final_rc <= high:
            raise InvalidParameter(
                "final_rc", f"must be from {low:,} to {high:,} for {self.scenario.value} with "
                f"{self.iterations:,} calls per thread; got {self.final_rc:,}",
            )  # fmt: skip
        expected = self.expected_rc
        if expected is not None and self.lost_updates != expected - self.final_rc:
            raise InvalidParameter(
                "lost_updates", f"must be {expected - self.final_rc:,} with final_rc="
                f"{self.final_rc:,} ({self.scenario.value} ends at {expected:,} less its lost "
                f"updates); got {self.lost_updates:,}",
            )  # fmt: skip
        if not 0 <= self.lost_updates <= 2 * self.iterations:
            raise InvalidParameter(
                "lost_updates",
                f"must be from 0 to {2 * self.iterations:,} (the updates the run made)",
            )
        replayed_rc = replayed.outcome.final_rc
        if self.window_rc != replayed_rc:
            raise InvalidParameter(
                "window_rc", f"must be {replayed_rc}, where this schedule ends: a replay ends "
                f"at the count the hardware had after the window; got {self.window_rc}",
            )  # fmt: skip
        if self.whole and self.final_rc != self.window_rc:
            raise InvalidParameter(
                "final_rc", f"must be {self.window_rc} (window_rc): the replay covers the "
                f"whole run; got {self.final_rc:,}",
            )  # fmt: skip


def count_range(scenario: Scenario, iterations: int) -> tuple[int, int]:
    """Every count a run of `iterations` calls per thread can end at, lost updates or not.
    Each write stores a value some load read, plus or minus one, so the final count is the
    initial one moved at most once per increment up and once per decrement down."""
    initial = 2 * iterations if scenario is Scenario.DEC_DEC else 1
    increments = {Scenario.INC_INC: 2, Scenario.INC_DEC: 1, Scenario.DEC_DEC: 0}[scenario]
    return initial - (2 - increments) * iterations, initial + increments * iterations


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
        """Runs with a readable count that lost updates (inc-dec: whose count shows it)."""
        return sum(1 for t in self.trials if t.result.lost_updates)

    @property
    def net_only(self) -> bool:
        """Whether a run's count shows only the net of its lost updates, so that its
        lost_updates is a lower bound: in inc-dec an increment and a decrement both erased
        cancel out. In inc-inc and dec-dec every lost update moves the count the same way."""
        return self.scenario is Scenario.INC_DEC

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
