"""Challenges: their counts against a brute-force enumeration, their witnesses, hints and checks.

The enumerator here walks every complete schedule with nothing but `Machine.runnable` and
`Machine.advance` (no memo, no merging), so it shares no counting logic with the explorer.
"""

from __future__ import annotations

from collections import Counter

import pytest

from app.sim import Config, Machine, Mode, Scenario, ScheduleError, State, Thread, explore
from app.sim.challenges import (
    CHALLENGES,
    LESSONS,
    Challenge,
    Goal,
    UnknownChallenge,
    by_lesson,
    check,
    completions,
    find,
    hint,
    machine,
    odds,
    odds_text,
    play,
    valid_prefix,
    witness,
)
from app.sim.machine import outcome_of
from app.sim.schedule import format_schedule

BRUTE_FORCE_LIMIT = 60_000  # schedules; every challenge must stay below it (see the core's header)


def _outcome_counts(config: Config) -> Counter[tuple[int, bool, bool, bool]]:
    """Outcome key -> number of complete schedules, by walking every one of them."""
    rules = Machine(config, any_boundary=True)
    counts: Counter[tuple[int, bool, bool, bool]] = Counter()

    def walk(state: State, depth: int) -> None:
        runnable = rules.runnable(state)
        if not runnable:
            outcome = outcome_of(config, state)
            counts[(outcome.final_rc, outcome.freed, outcome.use_after_free > 0,
                    outcome.double_free > 0)] += 1  # fmt: skip
            assert counts.total() <= BRUTE_FORCE_LIMIT, f"{config} is too large to brute-force"
            return
        for thread in runnable:
            walk(rules.advance(state, thread, index=depth + 1)[0], depth + 1)

    walk(rules.initial(), 0)
    return counts


def _brute_force(challenge: Challenge) -> tuple[int, int]:
    """(winning, total) by walking every schedule."""
    counts = _outcome_counts(challenge.config)
    winning = sum(count for key, count in counts.items() if challenge.goal.matches_key(key))
    return winning, counts.total()


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.slug)
def test_odds_equal_brute_force(challenge: Challenge) -> None:
    winning, total = _brute_force(challenge)
    assert odds(challenge).winning == winning
    assert odds(challenge).total == total


def test_brute_force_agrees_with_explorer_on_groups() -> None:
    # The enumerator itself, checked once against the explorer's whole grouping.
    config = Config(scenario=Scenario.INC_DEC, mode=Mode.NONE, n=1)
    exploration = explore(config.scenario, config.mode, config.n)
    assert _outcome_counts(config) == {o.key: o.count for o in exploration.outcomes}


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.slug)
def test_witness_wins_and_some_schedule_loses(challenge: Challenge) -> None:
    found = witness(challenge)
    if odds(challenge).winning == 0:
        assert found is None
        return
    assert found is not None
    verdict = check(challenge, found)
    assert verdict.solved
    assert verdict.run.schedule == found
    config = challenge.config
    losing = [
        group.witness
        for group in explore(config.scenario, config.mode, config.n).outcomes
        if not challenge.goal.matches_key(group.key)
    ]
    if losing:  # a challenge that every schedule wins has nothing to reject
        assert not check(challenge, losing[0]).solved


def test_the_story_has_winnable_and_impossible_challenges() -> None:
    assert len(CHALLENGES) >= 12
    impossible = {c.slug for c in CHALLENGES if odds(c).winning == 0}
    assert {"lock-lose", "atomic-lose", "gil-lose"} <= impossible
    assert len(impossible) < len(CHALLENGES) // 2
    assert len({c.slug for c in CHALLENGES}) == len(CHALLENGES)
    assert all(c.config.n <= 3 for c in CHALLENGES)


def test_impossible_challenges_lose_updates_under_each_protection() -> None:
    for slug, mode in (("lock-lose", Mode.GLOBAL_LOCK), ("atomic-lose", Mode.ATOMIC),
                       ("gil-lose", Mode.GIL)):  # fmt: skip
        challenge = find(slug)
        assert challenge.config.mode is mode
        assert challenge.config.scenario is Scenario.INC_INC
        # The goal is one lost update: one short of the correct count.
        assert challenge.goal.final_rc == 2 * challenge.config.n
        assert odds(challenge).winning == 0


def test_rock_bottom_is_the_lowest_reachable_count() -> None:
    challenge = find("rock-bottom")
    config = challenge.config
    lowest = min(o.final_rc for o in explore(config.scenario, config.mode, config.n).outcomes)
    assert challenge.goal == Goal(final_rc=lowest)
    assert 0 < odds(challenge).winning < odds(challenge).total


def test_every_lesson_slug_is_known_and_groups_keep_story_order() -> None:
    slugs = list(LESSONS)
    assert len(set(slugs)) == len(slugs)
    grouped = [c for _, group in by_lesson() for c in group]
    assert grouped == sorted(CHALLENGES, key=lambda c: slugs.index(c.lesson))


@pytest.mark.parametrize("challenge", CHALLENGES, ids=lambda c: c.slug)
def test_following_hints_wins(challenge: Challenge) -> None:
    prefix: list[Thread] = []
    rules = machine(challenge)
    for _ in range(500):
        advice = hint(challenge, prefix)
        if advice.finished or advice.thread is None:
            break
        prefix.append(advice.thread)
    else:
        pytest.fail("hints never finished the run")
    if odds(challenge).winning == 0:
        assert advice.thread is None and not advice.finished and prefix == []
    else:
        assert advice.finished
        assert check(challenge, format_schedule(prefix)).solved
    assert not rules.runnable(play(challenge, prefix).states[len(prefix)]) or not prefix


def test_hint_after_a_losing_prefix_says_how_far_to_go_back() -> None:
    challenge = find("keep-count")  # wins only by running one thread's whole call first
    advice = hint(challenge, "AB")
    assert advice.thread is None
    assert advice.back_to == 1  # after "A" a win is still possible, after "AB" not
    assert hint(challenge, "A").thread is Thread.A


def test_completions_count_the_rest_of_the_run_exactly() -> None:
    challenge = find("lose-one")
    start = machine(challenge).initial()
    assert completions(challenge, start) == odds(challenge)
    run = play(challenge, "A1")
    after_a = completions(challenge, run.states[1])
    after_b = completions(challenge, play(challenge, "B1").states[1])
    assert after_a.winning + after_b.winning == odds(challenge).winning
    assert after_a.total + after_b.total == odds(challenge).total


def test_check_completes_a_short_schedule_by_alternating() -> None:
    challenge = find("lose-one")
    verdict = check(challenge, "")
    assert verdict.run.schedule == "A1B1A1B1A1B1"
    assert verdict.solved  # both read 1, both write 2
    assert check(challenge, "A3").run.schedule == "A3B3"
    assert not check(challenge, "A3").solved


def test_play_rejects_schedules_naming_the_step() -> None:
    challenge = find("lock-lose")  # global lock: B blocks while A holds it
    with pytest.raises(ScheduleError, match="step 2: thread B is blocked"):
        play(challenge, "AB")
    with pytest.raises(ScheduleError, match="step 11: thread A has finished"):
        play(challenge, "A" * 11)
    with pytest.raises(ScheduleError, match="step 21: both threads have finished"):
        play(challenge, "A10B10A1")
    with pytest.raises(ScheduleError, match="expected letters"):
        play(challenge, "AXB")


def test_gil_challenges_switch_only_between_whole_calls() -> None:
    challenge = find("gil-lose")
    run = play(challenge, "A3B3A3")  # whole calls: any order of them is playable
    assert run.outcome.final_rc == 7
    with pytest.raises(ScheduleError, match="step 2: thread B is waiting for the GIL"):
        play(challenge, "AB")


def test_valid_prefix_stops_before_the_first_bad_step() -> None:
    challenge = find("lock-lose")
    assert format_schedule(valid_prefix(challenge, "AAB")) == "A2"
    assert valid_prefix(challenge, "zz") == ()


def test_find_and_odds_text() -> None:
    assert find("zombie").config.scenario is Scenario.INC_DEC
    with pytest.raises(UnknownChallenge):
        find("no-such-thing")
    assert odds_text(1, 7) == "1 in 7 interleavings"
    assert odds_text(648, 48620) == "about 1 in 75 interleavings"
    assert odds_text(18, 20) == "18 of 20 interleavings"
    assert odds_text(0, 6) == "none of the 6 interleavings"
    assert odds_text(2, 2) == "all 2 interleavings"
    with pytest.raises(ValueError, match="at least one"):
        Goal()


def test_goal_describes_itself() -> None:
    assert Goal(final_rc=1, freed=True, use_after_free=True).describe() == (
        "rc ends at 1, the object is freed, some access touches freed memory"
    )
    assert Goal(freed=False).items() == {"freed": False}


def test_free_it_cleanly_fails_by_the_seeds_order_and_no_reference_by_the_locks_limit() -> None:
    # Issue 13.5: the seed's dec_ref frees, then unlocks (so freeing cleanly is impossible with
    # it); with the owner unlocking first the freeing thread is clean, yet A, holding no
    # reference, can still be made to touch freed memory.
    clean = find("clean-free")
    assert "frees the object, then unlocks" in clean.story
    assert odds(clean).winning == 0
    no_reference = find("no-reference")
    assert no_reference.config.mode is Mode.UNLOCK_THEN_FREE
    assert 0 < odds(no_reference).winning < odds(no_reference).total
    unlocking_first = explore(Scenario.DEC_DEC, Mode.UNLOCK_THEN_FREE, clean.config.n)
    assert all(clean.goal.matches_key(o.key) for o in unlocking_first.outcomes)
