"""Play the scheduler: challenges as data, judged and counted by the core itself.

A challenge is a run's config (scenario, mode, n, and the interval in mode gil) and a goal
written on the explorer's outcome key: any subset of `final_rc`, `freed`, `use_after_free`
(any at all?) and `double_free` (any at all?). The student picks which thread takes every step;
a finished run wins when its outcome matches every field the goal names.

Nothing here is a hand-written count. How many complete schedules win (`Odds.winning`) is the
sum of the explorer's groups that match the goal, out of all of them (`Odds.total`); a
challenge that no schedule wins is proved impossible by that same exhaustive count. Hints and
the live check count the completions of the student's prefix with the explorer's own memo, so
they are exact too.

Mode gil: the student plays the interpreter's switching policy. The GIL changes hands only
between whole calls, at any call boundary the student likes; every switch interval produces one
of these schedules, and they are exactly the ones the explorer counts (DESIGN.md). The
challenge keeps an interval only for the /sim page, where the GIL's own interval decides.

Invariants a change must keep:
- challenges stay small enough for the tests' brute-force enumeration (a total of at most
  about 50,000 schedules) and their order is the story's: easy to hard, lesson by lesson;
- `odds`, `play`, `hint` and `completions` agree on the set of schedules: one machine
  (`Machine(config, any_boundary=True)`) generates them all.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, fields
from functools import cache

from app.sim.errors import InvalidParameter
from app.sim.explorer import Explorer, OutcomeKey, explore
from app.sim.machine import Machine, Outcome, State
from app.sim.model import DEFAULT_INTERVAL, Config, Mode, Scenario, Thread
from app.sim.run import Run, simulate
from app.sim.schedule import format_schedule, parse_schedule

# The lessons challenges belong to, by the slug of their page under /lessons/, in the lessons'
# order (their titles and text live in app/web/lessons/content.py; tests/web/lessons/test_pages.py
# checks that every slug here names a lesson there).
LESSONS: tuple[str, ...] = (
    "objects-and-reference-counts",
    "lost-updates",
    "freeing-under-a-race",
    "the-lock",
    "per-object-locks",
    "time-slices",
    "what-the-gil-does-not-promise",
    "free-threading",
)
_LESSON_SLUGS = frozenset(LESSONS)


@dataclass(frozen=True, slots=True, kw_only=True)
class Goal:
    """Fields of the outcome key a winning run must have; None means "any"."""

    final_rc: int | None = None
    freed: bool | None = None
    use_after_free: bool | None = None  # True: at least one access to freed memory
    double_free: bool | None = None  # True: the object was freed at least twice

    def __post_init__(self) -> None:
        if all(getattr(self, field.name) is None for field in fields(self)):
            raise ValueError("a goal names at least one field of the outcome key")

    def items(self) -> dict[str, int | bool]:
        """The fields the goal names, in the key's order (the API's `goal` object)."""
        return {
            field.name: getattr(self, field.name)
            for field in fields(self)
            if getattr(self, field.name) is not None
        }

    def matches_key(self, key: OutcomeKey) -> bool:
        final_rc, freed, use_after_free, double_free = key
        return (
            (self.final_rc is None or self.final_rc == final_rc)
            and (self.freed is None or self.freed == freed)
            and (self.use_after_free is None or self.use_after_free == use_after_free)
            and (self.double_free is None or self.double_free == double_free)
        )

    def matches(self, outcome: Outcome) -> bool:
        return self.matches_key(_key_of(outcome))

    def describe(self) -> str:
        """The goal in words: "rc ends at 2, not freed"."""
        parts = []
        if self.final_rc is not None:
            parts.append(f"rc ends at {self.final_rc}")
        if self.freed is not None:
            parts.append("the object is freed" if self.freed else "the object is never freed")
        if self.use_after_free is not None:
            parts.append(
                "some access touches freed memory"
                if self.use_after_free
                else "no access touches freed memory"
            )
        if self.double_free is not None:
            parts.append("the object is freed twice" if self.double_free else "no double free")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True, kw_only=True)
class Challenge:
    slug: str
    title: str
    lesson: str  # the slug of its lesson's page, one of LESSONS
    story: str  # a few sentences: the situation and what to make happen
    config: Config
    goal: Goal

    def __post_init__(self) -> None:
        if self.lesson not in _LESSON_SLUGS:
            raise ValueError(f"challenge {self.slug!r}: unknown lesson {self.lesson!r}")


def _challenge(
    slug: str, title: str, lesson: str, story: str, scenario: str, mode: str, n: int, goal: Goal
) -> Challenge:
    interval = DEFAULT_INTERVAL if mode == Mode.GIL else None
    config = Config(scenario=Scenario(scenario), mode=Mode(mode), n=n, interval=interval)
    return Challenge(slug=slug, title=title, lesson=lesson, story=story, config=config, goal=goal)


# The story, easy to hard. Which ones can be won, and how often, is the explorer's business:
# tests/sim/test_challenges.py recounts every one by brute force.
CHALLENGES: tuple[Challenge, ...] = (
    _challenge(
        "keep-count", "Keep the count", "objects-and-reference-counts",
        "Two threads each take one reference to an object that starts with rc = 1. "
        "Schedule them so that the count comes out right.",
        "inc-inc", "none", 1, Goal(final_rc=3),
    ),
    _challenge(
        "lose-one", "Lose an update", "lost-updates",
        "rc++ is three steps: read, add, write. Interleave the two threads so that one "
        "increment overwrites the other and the count ends one short.",
        "inc-inc", "none", 1, Goal(final_rc=2),
    ),
    _challenge(
        "rock-bottom", "Rock bottom", "lost-updates",
        "Three increments each. Lose as many as you can: reach the lowest count any "
        "interleaving can produce, three lost updates out of six.",
        "inc-inc", "none", 3, Goal(final_rc=3),
    ),
    _challenge(
        "leak", "Leak it", "lost-updates",
        "Two threads each drop one of the object's two references. Lose a decrement so that "
        "the count never reaches zero: the object is never freed, and nobody owns it.",
        "dec-dec", "none", 1, Goal(freed=False),
    ),
    _challenge(
        "touch-freed", "Touch freed memory", "freeing-under-a-race",
        "A takes a reference while B drops the only one. Make some access land on the object "
        "after it has been freed.",
        "inc-dec", "none", 1, Goal(use_after_free=True),
    ),
    _challenge(
        "pull-the-rug", "Pull the rug", "freeing-under-a-race",
        "Free the object while A still believes it holds a reference, but before anyone has "
        "touched the freed memory: the damage is still to come.",
        "inc-dec", "none", 1, Goal(freed=True, use_after_free=False),
    ),
    _challenge(
        "free-twice", "Free it twice", "freeing-under-a-race",
        "Both threads drop a reference. Make both of them see the count reach zero, so that "
        "both call free() on the same object.",
        "dec-dec", "none", 1, Goal(double_free=True),
    ),
    _challenge(
        "zombie", "Raise the dead", "freeing-under-a-race",
        "Let B free the object, then let A write rc = 1 into the freed memory, as if it were "
        "alive again.",
        "inc-dec", "none", 1, Goal(final_rc=1, freed=True, use_after_free=True),
    ),
    _challenge(
        "lock-lose", "Lose an update under the lock", "the-lock",
        "Every rc++ now sits between lock and unlock on one global mutex. Try to lose an "
        "update anyway.",
        "inc-inc", "global-lock", 2, Goal(final_rc=4),
    ),
    _challenge(
        "lock-free-twice", "Free twice under the lock", "the-lock",
        "Both threads drop references under one global mutex. Try to make both of them free "
        "the object.",
        "dec-dec", "global-lock", 2, Goal(double_free=True),
    ),
    _challenge(
        "lock-in-the-corpse", "The lock in the corpse", "per-object-locks",
        "Each object now carries its own mutex. Get the object freed while A still has to "
        "lock it: the lock A waits for lives in the freed memory.",
        "inc-dec", "object-lock", 1, Goal(freed=True, use_after_free=True),
    ),
    _challenge(
        "clean-free", "Free it cleanly", "per-object-locks",
        "Both threads drop references under the object's own mutex, with the seed's dec_ref: "
        "it frees the object, then unlocks the mutex that lived inside it. Get the object "
        "freed without any access to freed memory.",
        "dec-dec", "object-lock", 1, Goal(freed=True, use_after_free=False),
    ),
    _challenge(
        "no-reference", "No reference, no protection", "per-object-locks",
        "Now dec_ref unlocks before it frees, as the owner of the last reference may: the "
        "freeing thread never touches freed memory. A holds no reference to the object, "
        "though. Make A touch it after B has freed it.",
        "inc-dec", "unlock-then-free", 1, Goal(use_after_free=True),
    ),
    _challenge(
        "atomic-lose", "Lose an atomic update", "per-object-locks",
        "Each increment is one atomic instruction. Try to lose one of the six.",
        "inc-inc", "atomic", 3, Goal(final_rc=6),
    ),
    _challenge(
        "atomic-zombie", "Atomic, and still dead", "per-object-locks",
        "Atomic instructions keep the count exact. Use them to write rc = 1 into an object "
        "that has already been freed.",
        "inc-dec", "atomic", 1, Goal(final_rc=1, freed=True, use_after_free=True),
    ),
    _challenge(
        "gil-lose", "Lose an update under the GIL", "time-slices",
        "You are the interpreter: hand the GIL over whenever a call has finished. Try to "
        "lose one of the six increments.",
        "inc-inc", "gil", 3, Goal(final_rc=6),
    ),
    _challenge(
        "gil-free-twice", "Free twice under the GIL", "time-slices",
        "Hand the GIL over between calls as you like. Try to make both threads free the "
        "object.",
        "dec-dec", "gil", 2, Goal(double_free=True),
    ),
    _challenge(
        "no-promise", "A reference A never owned", "what-the-gil-does-not-promise",
        "The GIL keeps every call whole, yet A increments an object it holds no reference "
        "to. Make A's check read the object after B has freed it.",
        "inc-dec", "gil", 1, Goal(freed=True, use_after_free=True),
    ),
    _challenge(
        "owner-lose", "Lose an update without the GIL", "free-threading",
        "No GIL now: free-threaded CPython's biased counting. A owns the object and bumps its "
        "local count with a plain load and store, no atomic; B adds atomically to the shared "
        "count. Interleave them so that one of the four increments is lost.",
        "inc-inc", "biased", 2, Goal(final_rc=4),
    ),
    _challenge(
        "beat-the-merge", "Beat the merge", "free-threading",
        "B drops the only reference, but A counted it locally, so B cannot free the object: it "
        "queues it to A, who merges at its next call boundary. Get A's increment in first, so "
        "that the merge finds a count of 1 and the object lives.",
        "inc-dec", "biased", 1, Goal(final_rc=1, freed=False),
    ),
    _challenge(
        "freed-at-the-merge", "Freed at the merge", "free-threading",
        "Let B drop the only reference before A increments: A itself frees the object when it "
        "merges the queued counts, then goes on to increment it. Make A touch the memory it "
        "has just freed.",
        "inc-dec", "biased", 1, Goal(freed=True, use_after_free=True),
    ),
    _challenge(
        "dangling", "A dangling reference", "free-threading",
        "After A's merge nobody owns the object and a decrement that reaches zero frees it at "
        "once. Have B free it while A's second increment is on its way in, so that the run "
        "ends with rc = 1 on freed memory that nobody touched yet.",
        "inc-dec", "biased", 2, Goal(final_rc=1, freed=True, use_after_free=False),
    ),
    _challenge(
        "kill-the-immortal", "Free an immortal", "free-threading",
        "None, True and small ints are immortal: their count reads 4294967295 and Py_DECREF "
        "writes nothing. Both threads drop two references each. Get the object freed.",
        "dec-dec", "immortal", 2, Goal(freed=True),
    ),
)  # fmt: skip

_BY_SLUG = {challenge.slug: challenge for challenge in CHALLENGES}


class UnknownChallenge(KeyError):
    pass


def find(slug: str) -> Challenge:
    try:
        return _BY_SLUG[slug]
    except KeyError:
        raise UnknownChallenge(slug) from None


def by_lesson() -> tuple[tuple[str, tuple[Challenge, ...]], ...]:
    """The challenges grouped by lesson slug, in the lessons' order."""
    return tuple(
        (lesson, tuple(c for c in CHALLENGES if c.lesson == lesson))
        for lesson in LESSONS
        if any(c.lesson == lesson for c in CHALLENGES)
    )


# Odds: exact counts from the explorer.


@dataclass(frozen=True, slots=True, kw_only=True)
class Odds:
    winning: int
    total: int

    @property
    def possible(self) -> bool:
        return self.winning > 0

    @property
    def text(self) -> str:
        return odds_text(self.winning, self.total)


def odds_text(winning: int, total: int) -> str:
    """'1 in 7 interleavings', 'about 1 in 75 interleavings', 'none of the 6 interleavings'."""
    noun = "interleaving" if total == 1 else "interleavings"
    if winning == 0:
        return f"none of the {total:,} {noun}"
    if winning == total:
        return "the only interleaving" if total == 1 else f"all {total:,} {noun}"
    if total % winning == 0:
        return f"1 in {total // winning:,} {noun}"
    if total >= 3 * winning:  # below that, "about 1 in 2" hides too much
        return f"about 1 in {round(total / winning):,} {noun}"
    return f"{winning:,} of {total:,} {noun}"


def _key_of(outcome: Outcome) -> OutcomeKey:
    return (outcome.final_rc, outcome.freed, outcome.use_after_free > 0, outcome.double_free > 0)


def odds(challenge: Challenge) -> Odds:
    """How many complete schedules reach the goal, out of all of them (the explorer's counts)."""
    config = challenge.config
    exploration = explore(config.scenario, config.mode, config.n)
    winning = sum(o.count for o in exploration.outcomes if challenge.goal.matches_key(o.key))
    return Odds(winning=winning, total=exploration.total)


def witness(challenge: Challenge) -> str | None:
    """A complete winning schedule (canonical), or None when the challenge cannot be won."""
    config = challenge.config
    for group in explore(config.scenario, config.mode, config.n).outcomes:
        if challenge.goal.matches_key(group.key):
            return group.witness
    return None


# Playing: the student's prefix, run on the explorer's machine.


@cache
def _explorer(challenge: Challenge) -> Explorer:
    # One memo per challenge, kept for the process: challenges are few and small (the largest
    # memo holds a few hundred states), and every hint and live check reuses it.
    return Explorer(challenge.config)


def machine(challenge: Challenge) -> Machine:
    """The rules the student plays by (in mode gil: a switch at any call boundary)."""
    return _explorer(challenge).machine


def play(challenge: Challenge, schedule: str | Iterable[Thread] = "") -> Run:
    """Run the challenge's config along `schedule`, completed as DESIGN.md says.

    Raises ScheduleError naming the first step that picks a thread which cannot run, or a
    schedule longer than the run.
    """
    text = schedule if isinstance(schedule, str) else format_schedule(tuple(schedule))
    return simulate(challenge.config, text or None, machine=machine(challenge))


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    run: Run  # the whole run, the schedule completed
    solved: bool


def check(challenge: Challenge, schedule: str = "") -> Verdict:
    """Run `schedule` (completed when short) and judge the finished run against the goal."""
    run = play(challenge, schedule)
    return Verdict(run=run, solved=challenge.goal.matches(run.outcome))


def completions(challenge: Challenge, state: State) -> Odds:
    """Of the ways to finish the run from `state`, how many reach the goal (exact)."""
    counts = _explorer(challenge).counts(state)
    winning = sum(count for key, count in counts.items() if challenge.goal.matches_key(key))
    return Odds(winning=winning, total=sum(counts.values()))


@dataclass(frozen=True, slots=True, kw_only=True)
class Hint:
    """What to do after a prefix: the next step of a winning schedule, or how far to go back."""

    thread: Thread | None  # the next step of a winning schedule; None if none extends the prefix
    winning: int  # winning completions after taking that step (0 when thread is None)
    back_to: int  # the longest prefix length from which the goal can still be reached
    finished: bool  # the prefix is a whole run: nothing to choose


def hint(challenge: Challenge, prefix: str | Iterable[Thread]) -> Hint:
    """The next step of a winning schedule that extends `prefix`, found in the explorer's memo.

    Among the runnable threads, the one after which the most completions win (A on a tie).
    If no completion of the prefix wins, `back_to` says how many of its steps to keep.
    """
    choices = parse_schedule(prefix) if isinstance(prefix, str) else tuple(prefix)
    run = play(challenge, choices)
    rules = machine(challenge)
    k = len(choices)
    states = run.states[: k + 1]
    back_to = next(
        (j for j in range(k, -1, -1) if completions(challenge, states[j]).winning > 0), 0
    )
    state = states[k]
    best: tuple[int, Thread] | None = None
    for thread in rules.runnable(state):
        winning = completions(challenge, rules.transition(state, thread)[0]).winning
        if winning > 0 and (best is None or winning > best[0]):
            best = (winning, thread)
    return Hint(
        thread=best[1] if best else None,
        winning=best[0] if best else 0,
        back_to=back_to,
        finished=not rules.runnable(state),
    )


def valid_prefix(challenge: Challenge, schedule: str) -> tuple[Thread, ...]:
    """The longest playable prefix of `schedule` (for a bad link's "nearest valid state")."""
    try:
        choices = parse_schedule(schedule)
    except InvalidParameter:
        return ()
    rules = machine(challenge)
    state = rules.initial()
    for k, thread in enumerate(choices):
        if thread not in rules.runnable(state):
            return choices[:k]
        state = rules.transition(state, thread)[0]
    return choices


__all__ = [
    "CHALLENGES",
    "LESSONS",
    "Challenge",
    "Goal",
    "Hint",
    "Odds",
    "UnknownChallenge",
    "Verdict",
    "by_lesson",
    "check",
    "completions",
    "find",
    "hint",
    "machine",
    "odds",
    "odds_text",
    "play",
    "valid_prefix",
    "witness",
]
