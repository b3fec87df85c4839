"""The /explore histogram, drawn from the core's `Exploration`: one bar per outcome group.

Each bar says what kind of outcome it is (correct, lost update, use after free, double free,
freed early: while A was still taking its reference) by
colour and by label, its exact count of schedules and its share, and links to a witness
schedule in /sim at its last step, where the same outcome shows.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from app.sim import (
    DEFAULT_INTERVAL,
    MAX_INTERVAL,
    Config,
    Event,
    Exploration,
    InvalidParameter,
    Mode,
    Op,
    OutcomeCount,
    Permalink,
    Run,
    Scenario,
    simulate,
)
from app.web.infra import urls
from app.web.sim.wording import count_and_freed

KIND_LABELS = {
    "correct": "correct",
    "lost-update": "lost update",
    "use-after-free": "use after free",
    "double-free": "double free",
    "freed-early": "freed early",
}

ROW_HEIGHT = 76  # a label line, the bar, a count line
EXACT_DIGITS = 12  # longer counts (up to 35 digits) are abbreviated in the bar, exact in the table


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    kind: str
    kind_label: str
    detail: str
    count_text: str  # exact, with thousands separators
    short_count_text: str  # what the bar shows: exact, or about 9.66 times 10^34 past EXACT_DIGITS
    percent_text: str
    width_percent: float  # of the widest bar
    y: int
    witness_url: str
    witness_without_gil: bool  # opens in mode none: no single switch interval gives this order
    story: str | None  # who freed the object in the witness, how, and the first use after free
    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ThreadSteps:
    """Every micro-step one thread takes in some schedule: the explorer's proof of what a
    thread never does (mode biased, inc-inc: the owner never uses an atomic or a lock)."""

    thread: str
    ops: tuple[str, ...]
    atomic_or_locking: tuple[str, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class Histogram:
    total_text: str
    bars: tuple[Bar, ...]
    height: int
    kinds: tuple[tuple[str, str], ...]  # (kind, label) present, for the legend
    steps: tuple[ThreadSteps, ...]

    @property
    def any_without_gil(self) -> bool:
        return any(bar.witness_without_gil for bar in self.bars)


def kind_of(outcome: OutcomeCount) -> str:
    """The failure an outcome group shows, worst first; a wrong count alone is a lost update."""
    if outcome.correct:
        return "correct"
    if outcome.double_free:
        return "double-free"
    if outcome.use_after_free:
        return "use-after-free"
    if outcome.freed:  # inc-dec only: freed while A was still taking its reference
        return "freed-early"
    return "lost-update"


_SUPERSCRIPTS = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")


def abbreviate(count: int) -> str:
    """A count a reader can take in: exact up to EXACT_DIGITS digits, else about 9.66 x 10^34."""
    digits = len(str(count))
    if digits <= EXACT_DIGITS:
        return f"{count:,}"
    mantissa = count / 10 ** (digits - 1)
    exponent = str(digits - 1).translate(_SUPERSCRIPTS)
    return f"\N{ALMOST EQUAL TO} {mantissa:.2f} \N{MULTIPLICATION SIGN} 10{exponent}"


def percent(count: int, total: int) -> str:
    """Exact counts can be 1 in 10^20: say "< 0.001%" rather than a misleading 0.0%."""
    share = Fraction(100 * count, total) if total else Fraction(0)
    if share >= Fraction(1, 10) or share == 0:
        return f"{float(share):.1f}%"
    if share >= Fraction(1, 1000):
        return f"{float(share):.3f}%"
    return "< 0.001%"


def build(exploration: Exploration) -> Histogram:
    largest = max((o.count for o in exploration.outcomes), default=1)
    bars = []
    for row, outcome in enumerate(exploration.outcomes):
        kind = kind_of(outcome)
        detail = count_and_freed(outcome.final_rc, outcome.freed)
        if kind == "double-free" and outcome.use_after_free:
            detail += ", and a use after free"
        if exploration.config.scenario is Scenario.DEC_DEC and not outcome.freed:
            detail += ": a leak"
        noun = "schedule" if outcome.count == 1 else "schedules"
        count_text = f"{outcome.count:,} {noun}"
        percent_text = percent(outcome.count, exploration.total)
        run, without_gil = witness_run(exploration.config, outcome.witness)
        url = urls.sim(Permalink.of(run, len(run.steps)))
        story = witness_story(run)
        bars.append(
            Bar(
                kind=kind,
                kind_label=KIND_LABELS[kind],
                detail=detail,
                count_text=count_text,
                short_count_text=f"{abbreviate(outcome.count)} {noun}",
                percent_text=percent_text,
                # A sliver stays visible even for 1 schedule in 10^20.
                width_percent=max(0.5, round(100 * outcome.count / largest, 2)),
                y=row * ROW_HEIGHT,
                witness_url=url,
                witness_without_gil=without_gil,
                description=f"{KIND_LABELS[kind]}: {detail}; {count_text}, {percent_text}",
                story=story,
            )
        )
    seen = dict.fromkeys(bar.kind for bar in bars)
    return Histogram(
        total_text=f"{exploration.total:,}",
        bars=tuple(bars),
        height=len(bars) * ROW_HEIGHT,
        kinds=tuple((kind, KIND_LABELS[kind]) for kind in KIND_LABELS if kind in seen),
        steps=tuple(
            ThreadSteps(
                thread=thread.value,
                ops=tuple(op.value for op in ops),
                atomic_or_locking=tuple(op.value for op in exploration.atomic_or_locking(thread)),
            )
            for thread, ops in exploration.ops.items()
        ),
    )


def witness_run(config: Config, witness: str) -> tuple[Run, bool]:
    """The witness's run, and whether it had to run in mode none: in gil mode the explorer
    counts every order that switches only between whole calls, whatever the interval, and some
    (B running two calls in a row after A ran one) come from no single interval. Mode none runs
    exactly the same steps in the same order, without the GIL."""
    run = _replay(config, witness)
    if run is None:
        return simulate(Config(scenario=config.scenario, mode=Mode.NONE, n=config.n), witness), True
    return run, False


# How a free came about, by the freeing thread's step just before it.
_HOW_FREED = {
    Op.TEST: " after its test found rc = 0",
    Op.ATOMIC_SUB: " after its atomic decrement reached 0",
    Op.LOAD_SHARED: " at once: its local count reached 0 and the shared count was 0",
    Op.MARK_MERGED: " after it gave up ownership and marked the counts merged",
    Op.DEC_SHARED: " at once: its decrement left the counts merged and 0",
    Op.MERGE: " when it merged the counts queued to it (its eval-breaker check)",
}


def witness_story(run: Run) -> str | None:
    """Who freed the object in `run` and how, and the first access to freed memory: what a
    group's witness shows (other schedules of the same group may differ)."""
    frees = [s for s in run.steps if s.op is Op.FREE]
    if not frees:
        return None
    first = frees[0]
    before = next(
        (s for s in reversed(run.steps[: first.index - 1]) if s.thread is first.thread), None
    )
    how = _HOW_FREED.get(before.op, "") if before is not None else ""
    parts = [f"{first.thread} frees the object at step {first.index}{how}"]
    touched = next((s for s in run.steps if Event.USE_AFTER_FREE in s.events), None)
    if touched is not None:
        parts.append(
            f"{touched.thread}'s {touched.op} at step {touched.index} is the first access to "
            "freed memory"
        )
    if len(frees) > 1:
        parts.append(f"{frees[1].thread} frees it again at step {frees[1].index}")
    return "In the witness, " + "; ".join(parts) + "."


def _replay(config: Config, witness: str) -> Run | None:
    if config.mode is not Mode.GIL:
        return simulate(config, witness)
    # The explorer counts every schedule that switches only between calls, whatever the
    # interval; a run in /sim has one interval. Find one under which the GIL agrees.
    intervals = [DEFAULT_INTERVAL, *range(1, MAX_INTERVAL + 1)]
    for interval in intervals:
        try:
            return simulate(
                Config(scenario=config.scenario, mode=config.mode, n=config.n, interval=interval),
                witness,
            )
        except InvalidParameter:
            continue
    return None
