"""What the challenge pages show, read off the core's records (`app.sim.challenges`).

A challenge page is one prefix of a schedule: the steps the student has chosen so far. Every
button is a link to a longer or shorter prefix, so every state is a URL (`/challenges/{slug}?
schedule=...`), the back button undoes a step, and a finished winning prefix is the shareable
solution. Nothing here decides what a thread may do: who is runnable, the statuses, the counts
of winning completions, the hint and the witness all come from the core.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.sim import (
    Mode,
    Outcome,
    Permalink,
    Step,
    Thread,
    explore,
    format_schedule,
    parse_schedule,
)
from app.sim.challenges import (
    Challenge,
    Hint,
    Odds,
    UnknownChallenge,
    by_lesson,
    check,
    completions,
    find,
    hint,
    odds,
    play,
    witness,
)
from app.sim.errors import InvalidParameter
from app.sim.run import Run
from app.web.infra import urls
from app.web.lessons import content as lessons
from app.web.lessons.content import Lesson
from app.web.sim import wording
from app.web.sim.view import Board
from app.web.sim.wording import count_and_freed, events_text, op_words, problems

# /sim's labels, except that here the student plays the GIL's switching policy.
MODE_LABELS = {**wording.MODE_LABELS, Mode.GIL: "the GIL (you hand it over between calls)"}


def challenge_url(
    challenge: Challenge, schedule: str = "", *, embed: bool = False, **flags: bool
) -> str:
    """The page of `challenge` after the prefix `schedule` (canonical), with optional flags,
    in the embed layout if `embed`."""
    return urls.challenge(challenge.slug, schedule, embed=embed, **flags)


def _lesson(slug: str) -> Lesson:
    lesson = lessons.find(slug)
    assert lesson is not None, slug  # tests/web/lessons/test_pages.py keeps the slugs in step
    return lesson


def lesson_of(challenge: Challenge) -> Lesson:
    return _lesson(challenge.lesson)


@dataclass(frozen=True, slots=True, kw_only=True)
class HistoryCell:
    number: int
    thread: str
    op: str
    rc: int
    events: tuple[str, ...]
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class OutcomeRow:
    """One outcome group of the explorer, as the give-up panel lists it."""

    outcome: str
    count: int
    wins: bool
    url: str  # its witness on this challenge's page (marked as given up)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlayView:
    challenge: Challenge
    lesson: Lesson
    odds: Odds
    goal: str
    mode_label: str
    prefix: str  # canonical schedule of the steps chosen so far
    step: int
    board: Board
    history: tuple[HistoryCell, ...]
    finished: bool
    solved: bool
    outcome_text: str | None  # once finished: what happened
    live: Odds  # of the ways to finish from here, how many win
    live_text: str
    url: str
    undo_url: str | None
    restart_url: str
    hint_url: str
    hint: Hint | None
    hint_text: str | None
    hint_back_url: str | None
    giveup_url: str
    gave_up: bool
    # "It can't be done": offered on every challenge, so that it gives nothing away. Claimed
    # before the proof was shown, it solves an impossible challenge, the proof its reward.
    claim_url: str
    claimed: bool
    claim_right: bool  # claimed, and no schedule wins (counts as solved unless gave_up)
    witness_url: str | None  # a winning schedule's page (give up), None when impossible
    groups: tuple[OutcomeRow, ...]  # every outcome group, counted: the proof behind the odds
    explore_url: str
    share_url: str | None  # the solution permalink (the full page), once solved
    sim_url: str  # the same run on /sim, from the start
    embed_url: str  # this state in the embed layout, for "Embed in slides"
    # The challenge's tallest view, which the embed code is sized for: a complete schedule
    # given up, with the win (or the proof) and every outcome counted.
    tallest_url: str
    # The embed layout (`embed=1`, for a frame: slides, a live class's phones): everything
    # needed to play, every link to another state of it in the same layout, and no link that
    # would take the frame to another page of the site.
    embed: bool


def build(
    challenge: Challenge,
    schedule: str,
    *,
    show_hint: bool,
    gave_up: bool,
    claimed: bool = False,
    embed: bool = False,
) -> PlayView:
    """The page after the prefix `schedule` (raises ScheduleError for one that cannot run)."""
    run = play(challenge, schedule)
    chosen = parse_prefix(schedule)
    k = len(chosen)
    prefix = format_schedule(chosen)
    state = run.states[k]
    finished = not run.runnable(k)
    solved = finished and challenge.goal.matches(run.outcome)
    advice = hint(challenge, chosen) if show_hint and not finished else None

    def link(schedule: str = "", **flags: bool) -> str:
        """Another state of this challenge, in the same layout."""
        return challenge_url(challenge, schedule, embed=embed, **flags)

    def choose(thread: Thread) -> str:
        return link(format_schedule((*chosen, thread)))

    live = completions(challenge, state)
    counted = odds(challenge)
    found = witness(challenge)
    return PlayView(
        challenge=challenge,
        lesson=lesson_of(challenge),
        odds=counted,
        goal=challenge.goal.describe(),
        mode_label=MODE_LABELS[challenge.config.mode],
        prefix=prefix,
        step=k,
        board=Board.of(run, k, choose, advice.thread if advice else None),
        history=tuple(_cell(step) for step in run.steps[:k]),
        finished=finished,
        solved=solved,
        outcome_text=_outcome_text(run.outcome) if finished else None,
        live=live,
        live_text=_live_text(challenge, run, k, live, finished=finished, solved=solved),
        url=link(prefix),
        undo_url=link(format_schedule(chosen[:-1])) if k else None,
        restart_url=link(),
        hint_url=link(prefix, hint=True),
        hint=advice,
        hint_text=_hint_text(advice, k) if advice is not None else None,
        hint_back_url=link(format_schedule(chosen[: advice.back_to]))
        if advice is not None and advice.thread is None and advice.back_to < k
        else None,
        giveup_url=link(prefix, giveup=True),
        gave_up=gave_up,
        claim_url=link(prefix, claim=True),
        claimed=claimed,
        claim_right=claimed and not counted.possible,
        # Marked as given up, so replaying it does not count as the student's own solution.
        witness_url=link(found, giveup=True) if found else None,
        groups=_groups(challenge, embed=embed),
        explore_url=urls.explore(
            challenge.config.scenario, challenge.config.mode, challenge.config.n
        ),
        share_url=challenge_url(challenge, prefix) if solved else None,
        sim_url=_sim_url(run),
        embed_url=challenge_url(challenge, prefix, embed=True),
        tallest_url=_tallest_url(challenge, found),
        embed=embed,
    )


def _tallest_url(challenge: Challenge, found: str | None) -> str:
    """The full page given up at a complete schedule: the winning one, or (when none wins) the
    first outcome's example, under the proof."""
    if found is None:
        config = challenge.config
        found = explore(config.scenario, config.mode, config.n).outcomes[0].witness
    return challenge_url(challenge, found, giveup=True)


def _groups(challenge: Challenge, *, embed: bool) -> tuple[OutcomeRow, ...]:
    config = challenge.config
    exploration = explore(config.scenario, config.mode, config.n)
    return tuple(
        OutcomeRow(
            outcome=_key_text(group.final_rc, group.freed, group.use_after_free, group.double_free),
            count=group.count,
            wins=challenge.goal.matches_key(group.key),
            url=challenge_url(challenge, group.witness, embed=embed, giveup=True),
        )
        for group in exploration.outcomes
    )


def _key_text(final_rc: int, freed: bool, use_after_free: bool, double_free: bool) -> str:
    parts = [count_and_freed(final_rc, freed)]
    if use_after_free:
        parts.append("use after free")
    if double_free:
        parts.append("double free")
    return ", ".join(parts)


def parse_prefix(schedule: str) -> tuple[Thread, ...]:
    return parse_schedule(schedule) if schedule else ()


def _sim_url(run: Run) -> str:
    """The same run on /sim, from the start. In mode gil the student handed the GIL over at
    call boundaries of their choosing, which /sim's switch interval need not agree with: there
    the link opens /sim's own run of the challenge."""
    if run.config.mode is Mode.GIL:
        return urls.sim_start(run.config)
    return urls.sim(Permalink.of(run, 0))


def _cell(step: Step) -> HistoryCell:
    op = op_words(step.op)
    label = f"step {step.index}: {step.thread.value} {op}, rc = {step.rc}"
    return HistoryCell(
        number=step.index, thread=step.thread.value, op=op, rc=step.rc,
        events=tuple(event.value for event in step.events), label=label + events_text(step.events),
    )  # fmt: skip


def _outcome_text(outcome: Outcome) -> str:
    """The run's end inside a sentence ("ended with rc = 3, not freed, 2 lost updates: ...")."""
    return ", ".join((count_and_freed(outcome.final_rc, outcome.freed), *problems(outcome)))



def _live_text(
    challenge: Challenge, run: Run, k: int, live: Odds, *, finished: bool, solved: bool
) -> str:
    """The live check after each step: what the step did, then where the goal stands.

    A dead end is announced only in a challenge that can be won: in an impossible one every
    state is a dead end, and saying so would give the proof away before the student gives up.
    """
    said = wording.narrate(run, k) if k else "Choose which thread takes the first step."
    if finished:
        verdict = "Goal reached!" if solved else "The run is over and the goal was not reached."
    elif live.winning == 0 and odds(challenge).possible:
        verdict = "No way to finish from here reaches the goal: undo a step, or ask for a hint."
    else:
        verdict = "Goal not reached yet."
    return f"{said} {verdict}"


def _hint_text(advice: Hint, step: int) -> str:
    if advice.thread is not None:
        return f"Step {advice.thread.value} next: {advice.winning:,} ways to finish win after it."
    if step == 0:
        return "No schedule reaches this goal at all: nothing to hint."
    return (
        f"No schedule that starts like this wins. Go back to step {advice.back_to}, "
        "where a win is still possible."
    )


# The list page.


@dataclass(frozen=True, slots=True, kw_only=True)
class Entry:
    challenge: Challenge
    url: str
    odds: Odds
    goal: str
    mode_label: str
    solution: str | None  # a verified winning schedule (or IMPOSSIBLE) from the solutions link
    claimed: bool  # listed in the link without a schedule (trusted, not verified)

    @property
    def solution_url(self) -> str:
        """The "replay your solution" link: the winning schedule, or the claim that none wins."""
        if self.solution == IMPOSSIBLE:
            return challenge_url(self.challenge, claim=True)
        return challenge_url(self.challenge, self.solution or "")


@dataclass(frozen=True, slots=True, kw_only=True)
class Group:
    lesson: Lesson
    entries: tuple[Entry, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class IndexView:
    groups: tuple[Group, ...]
    total: int
    restored: int  # entries of the solutions link that were restored
    rejected: tuple[str, ...]  # entries of the link that did not check out


MAX_SOLVED_CHARS = 8000
# What a solutions link records for a challenge solved by claiming it impossible.
IMPOSSIBLE = "impossible"
MAX_SOLVED_ITEMS = 100


def parse_solved(text: str) -> tuple[dict[str, str | None], tuple[str, ...]]:
    """`slug:schedule,slug2,...` → verified solutions ({slug: schedule or None}), rejected items.

    A slug with a schedule counts only if the schedule wins it (checked by the core), and
    `slug:impossible` only if no schedule wins it (claimed before the proof); a bare
    slug is taken on trust, so a teacher's link like `?solved=lose-one,leak` works too.
    """
    solved: dict[str, str | None] = {}
    rejected: list[str] = []
    items = [part.strip() for part in text.split(",") if part.strip()]
    for item in items[:MAX_SOLVED_ITEMS]:  # bounded work, whatever the link holds
        slug, _, schedule = item.partition(":")
        try:
            challenge = find(slug)
        except UnknownChallenge:
            rejected.append(item[:60])
            continue
        if not schedule:
            solved.setdefault(slug, None)
            continue
        if schedule == IMPOSSIBLE:  # solved by claiming it: right only if no schedule wins
            if odds(challenge).possible:
                rejected.append(item[:60])
            else:
                solved[slug] = IMPOSSIBLE
            continue
        try:
            verdict = check(challenge, schedule)
        except InvalidParameter:
            rejected.append(item[:60])
            continue
        if verdict.solved:
            solved[slug] = verdict.run.schedule
        else:
            rejected.append(item[:60])
    return solved, tuple(rejected)


def build_index(solved_param: str) -> IndexView:
    solved, rejected = parse_solved(solved_param)
    groups = tuple(
        Group(
            lesson=_lesson(slug),
            entries=tuple(
                Entry(
                    challenge=c,
                    url=challenge_url(c),
                    odds=odds(c),
                    goal=c.goal.describe(),
                    mode_label=MODE_LABELS[c.config.mode],
                    solution=solved.get(c.slug),
                    claimed=c.slug in solved,
                )
                for c in challenges
            ),
        )
        for slug, challenges in by_lesson()
    )
    return IndexView(
        groups=groups,
        total=sum(len(group.entries) for group in groups),
        restored=len(solved),
        rejected=rejected,
    )
