"""Replaying a real race: the simulator, driven by the reconstructed schedule, reads what the
hardware read and ends where the hardware ended."""

from __future__ import annotations

import pytest

from app.lab import native, replay
from app.lab.native import Recording
from app.sim import Config, Event, Mode, Op, Scenario, Thread, simulate
from tests.lab.recordings import CANCELLED_OUT, loads


@pytest.mark.parametrize("scenario", list(Scenario), ids=str)
def test_the_replayed_schedule_ends_at_the_count_the_hardware_produced(scenario: Scenario) -> None:
    window = native.REPLAY_WINDOW
    for _ in range(3):
        result, recording = native.record_race(scenario, window, window=window)
        found = replay.replay(recording)
        run = simulate(Config(scenario=scenario, mode=Mode.NONE, n=window), found.schedule)
        trace = f"records {recording}, schedule {found.schedule}"
        assert run.outcome.final_rc == recording.window_rc == result.final_rc, trace
        seen = loads(scenario, window, found.schedule)
        assert (tuple(seen[Thread.A]), tuple(seen[Thread.B])) == (
            recording.reads_a,
            recording.reads_b,
        ), trace
        link = found.permalink
        assert link.schedule == found.schedule and link.config.mode is Mode.NONE
        assert link.config.n == window
        # It opens where the race first shows (issue 17.10): the first event no correct run
        # has (dec-dec's correct run ends by freeing), none for a window where nothing went
        # wrong, which therefore came out correct.
        wrong = {Event.LOST_UPDATE, Event.USE_AFTER_FREE, Event.DOUBLE_FREE, Event.FAILED_CHECK}
        if scenario is not Scenario.DEC_DEC:
            wrong.add(Event.FREED)
        first_race = next((step.index for step in run.steps if wrong & set(step.events)), None)
        assert found.race_step == first_race and link.step == (first_race or 0), trace
        outcome = run.outcome
        if first_race is None:
            assert outcome.correct, trace
        elif outcome.correct:  # the race showed, yet the count came out right: in inc-dec,
            # increments and decrements erased that cancel out (CI's hardware once did).
            assert scenario is Scenario.INC_DEC and outcome.lost_updates > 0, trace


def test_a_window_whose_lost_updates_cancel_out_still_opens_where_the_race_shows() -> None:
    """Recorded by CI's cores (tests/lab/recordings.py)."""
    found = replay.replay(CANCELLED_OUT)
    run = simulate(Config(scenario=Scenario.INC_DEC, mode=Mode.NONE, n=30), found.schedule)
    assert run.outcome.correct and run.outcome.lost_updates > 0
    assert found.race_step is not None and found.permalink.step == found.race_step
    shown = next(step for step in run.steps if step.index == found.race_step)
    assert Event.LOST_UPDATE in shown.events


def test_a_window_of_a_longer_run_replays_too() -> None:
    _, recording = native.record_race(Scenario.INC_INC, 100_000, window=10)
    found = replay.replay(recording)
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=10), found.schedule)
    assert run.outcome.final_rc == recording.window_rc


def test_both_reads_before_both_writes_is_the_only_way_to_lose_the_update() -> None:
    # inc-inc, one call each: both threads read 1, the count ends at 2.
    recording = Recording(
        scenario=Scenario.INC_INC, window=1, reads_a=(1,), reads_b=(1,), window_rc=2
    )
    found = replay.replay(recording)
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=1), found.schedule)
    assert run.outcome.lost_updates == 1
    first_write = next(step.index for step in run.steps if step.op is Op.WRITE)
    reads = [step.index for step in run.steps if step.op is Op.READ]
    assert max(reads) < first_write


def test_records_no_interleaving_explains_are_refused() -> None:
    # B read 5 although nobody ever wrote more than 2.
    recording = Recording(
        scenario=Scenario.INC_INC, window=1, reads_a=(1,), reads_b=(5,), window_rc=2
    )
    with pytest.raises(replay.ReplayError):
        replay.replay(recording)
