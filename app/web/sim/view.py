"""What the /sim page shows of one run at one step, read off the core's records.

The core (`app.sim`) simulates; this module only arranges its `Run`, `Step`s, `State`s and
`code_listing` into what the template draws: two lanes, the shared object, the timeline, the
event log, the outcome banner, a one-line narration and the links of every control. Nothing
here decides what a thread does next: the runnable threads, statuses and outcome all come from
the core. Every link is a canonical permalink (`Permalink.to_query`), so any state the page
shows can be shared, reloaded or opened with no script at all.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from app.lab import native
from app.sim import (
    Config,
    Event,
    Mode,
    Op,
    Permalink,
    Run,
    Scenario,
    ScheduleError,
    State,
    Status,
    Step,
    Thread,
    code_listing,
    simulate,
)
from app.sim.biased import IMMORTAL_LOCAL, MAYBE_WEAKREF, flags_of, shared_count
from app.web.infra import urls
from app.web.sim.wording import (
    EVENT_LABELS,
    EVENT_TEXT,
    STATUS_LABELS,
    count_and_freed,
    events_text,
    problems,
)

SCENARIO_LABELS = {
    Scenario.INC_INC: "inc-inc: both threads take a reference",
    Scenario.INC_DEC: "inc-dec: A takes a reference, B drops one",
    Scenario.DEC_DEC: "dec-dec: both threads drop a reference",
}

MODE_LABELS = {
    Mode.NONE: "no lock",
    Mode.GLOBAL_LOCK: "one global lock",
    Mode.OBJECT_LOCK: "a lock inside the object",
    Mode.UNLOCK_THEN_FREE: "a lock inside the object, unlocked before the free",
    Mode.ATOMIC: "atomic instructions",
    Mode.GIL: "the GIL",
    Mode.BIASED: "biased counting (3.13t)",
    Mode.IMMORTAL: "an immortal object (3.13t)",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class CodeLine:
    number: int
    text: str
    ran: bool  # the statement this thread executed in the step just taken
    next: bool  # the statement this thread executes when it is next scheduled


@dataclass(frozen=True, slots=True, kw_only=True)
class Lane:
    thread: str
    status: str
    status_label: str
    register: int | None
    calls_done: int
    calls: int  # n, the calls it makes in all
    lines: tuple[CodeLine, ...]
    ran_op: str | None  # the operation this thread just took, if it took the step shown
    next_op: str | None  # the operation it takes when next scheduled; None once stopped
    choose_url: str | None  # "step A": the prefix so far plus this thread; None if not runnable
    hinted: bool = False  # a challenge's hint says: this thread next


@dataclass(frozen=True, slots=True, kw_only=True)
class TimelineCell:
    number: int  # 1-based: the state after this step is `step=number`
    thread: str
    current: bool
    future: bool
    gil: str | None
    tick: bool  # the GIL holder's switch interval ran out at this step
    events: tuple[str, ...]
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LogEntry:
    number: int
    thread: str
    event: str
    label: str
    text: str
    url: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Banner:
    finished: bool
    correct: bool
    headline: str
    detail: str
    expected: str
    why: str = ""  # why a run that looks fine is not correct (DESIGN.md's words)


@dataclass(frozen=True, slots=True, kw_only=True)
class SplitCount:
    """Modes biased and immortal: the object's fields as free-threaded CPython lays them out."""

    owner: str | None  # ob_tid: the owning thread, None for 0
    local: int  # ob_ref_local
    shared: int  # ob_ref_shared as stored
    shared_count: int  # ob_ref_shared >> 2
    flags: str  # its low two bits by name
    queued: bool  # on the owner's merge queue
    immortal: bool

    @classmethod
    def of(cls, state: State) -> SplitCount:
        return cls(
            owner=_name(state.owner),
            local=state.local,
            shared=state.shared,
            shared_count=shared_count(state.shared),
            flags=flags_of(state.shared),
            queued=state.queued,
            immortal=state.local == IMMORTAL_LOCAL,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Board:
    """The two lanes and the shared object after some steps of a run: /sim's stage and the
    challenge board (templates/_sim_macros.html draws both with the same classes and ids)."""

    lanes: tuple[Lane, Lane]
    rc: int
    freed: bool
    lock: str | None
    gil: str | None
    split: SplitCount | None  # modes biased and immortal: rc is then the true count

    @classmethod
    def of(
        cls,
        run: Run,
        step: int,
        choose: Callable[[Thread], str | None],
        hinted: Thread | None = None,
    ) -> Board:
        """`choose(thread)` is the link that schedules a runnable thread next (each page has
        its own); `hinted` the thread a challenge's hint names."""
        state = run.states[step]
        return cls(
            lanes=_lanes(run, step, choose, hinted),
            rc=state.rc,
            freed=state.freed,
            lock=_name(state.lock),
            gil=_name(state.gil),
            split=SplitCount.of(state) if run.config.mode.free_threaded else None,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SimView:
    config: Config
    run: Run
    step: int
    total: int
    url: str
    embed_url: str
    first_url: str
    prev_url: str | None
    next_url: str | None
    last_url: str
    board: Board
    wrote: bool  # the step just taken changed rc: the cell flashes
    timeline: tuple[TimelineCell, ...]
    log: tuple[LogEntry, ...]
    banner: Banner
    native_url: str | None  # the same race in real C with free() for real: once it is freed
    narration: str
    scrub_query: tuple[tuple[str, str], ...]  # the URL's fields other than `step` (and embed)


def build(
    run: Run, step: int, *, embed: bool = False, extra: Mapping[str, str] | None = None
) -> SimView:
    """`extra`: parameters every link to another step of this run keeps (the hardware run a
    replay comes from, app.web.sim.replay_view); links that change the schedule drop them."""
    config = run.config
    total = len(run.steps)
    state = run.states[step]
    last = run.steps[step - 1] if step > 0 else None
    kept = dict(extra or {})

    link = Permalink.of(run, step)

    def url(k: int) -> str:
        return urls.sim(link.at(k), embed=embed, **kept)

    return SimView(
        config=config,
        run=run,
        step=step,
        total=total,
        url=url(step),
        embed_url=urls.sim(link, embed=True, **kept),
        first_url=url(0),
        prev_url=url(step - 1) if step > 0 else None,
        next_url=url(step + 1) if step < total else None,
        last_url=url(total),
        board=Board.of(run, step, lambda thread: _choose(run, step, thread, embed=embed)),
        wrote=last is not None and last.op in _WRITES_RC,
        timeline=_timeline(run, step),
        log=_log(run, step, url),
        banner=_banner(run, step),
        native_url=native_race_url(config) if state.freed else None,
        narration=narrate(run, step),
        scrub_query=tuple(
            (key, value) for key, value in {**link.params(), **kept}.items() if key != "step"
        ),
    )


_WRITES_RC = frozenset(
    {
        Op.WRITE,
        Op.ATOMIC_ADD,
        Op.ATOMIC_SUB,
        Op.STORE_LOCAL_INC,
        Op.STORE_LOCAL_DEC,
        Op.DEC_SHARED,
        Op.MARK_MERGED,
        Op.TAKE_LOCAL,
        Op.MERGE,
    }
)


def _name(thread: Thread | None) -> str | None:
    return thread.value if thread is not None else None


def _value(op: Op | None) -> str | None:
    return op.value if op is not None else None


def code_lines(
    config: Config, thread: Thread, last: Step | None, next_line: int | None
) -> tuple[CodeLine, ...]:
    """`thread`'s C function with the statement of `last` (if it was this thread's step) and
    the one it runs next marked: the lanes of /sim and of the challenge board."""
    ran_line = last.line if last is not None and last.thread is thread else None
    return tuple(
        CodeLine(number=number, text=text, ran=number == ran_line, next=number == next_line)
        for number, text in enumerate(code_listing(config.scenario, config.mode, thread), 1)
    )


def _lanes(
    run: Run, step: int, choose: Callable[[Thread], str | None], hinted: Thread | None
) -> tuple[Lane, Lane]:
    runnable = run.runnable(step)
    last = run.steps[step - 1] if step > 0 else None

    def lane(thread: Thread) -> Lane:
        view = run.thread_view(step, thread)
        lines = code_lines(run.config, thread, last, view.line)
        ran_line = next((line.number for line in lines if line.ran), None)
        return Lane(
            thread=thread.value,
            status=view.status.value,
            status_label=STATUS_LABELS[view.status],
            register=view.register,
            calls_done=view.calls_done,
            calls=run.config.n,
            lines=lines,
            ran_op=last.op.value if last is not None and ran_line is not None else None,
            next_op=_value(run.machine.next_op(run.states[step], thread)),
            choose_url=choose(thread) if thread in runnable else None,
            hinted=thread is hinted,
        )

    return lane(Thread.A), lane(Thread.B)


def _choose(run: Run, step: int, thread: Thread, *, embed: bool) -> str | None:
    """Schedule `thread` next: the choices so far plus this one; the rest as the core fills it."""
    prefix = "".join(s.thread.value for s in run.steps[:step]) + thread.value
    try:
        chosen = simulate(run.config, prefix)
    except ScheduleError:
        return None
    return urls.sim(Permalink.of(chosen, step + 1), embed=embed)


def _timeline(run: Run, step: int) -> tuple[TimelineCell, ...]:
    interval = run.config.interval
    cells = []
    for s in run.steps:
        events = tuple(event.value for event in s.events)
        label = f"step {s.index}: {s.thread.value} {s.op.value}"
        label += events_text(s.events)
        cells.append(
            TimelineCell(
                number=s.index,
                thread=s.thread.value,
                current=s.index == step,
                future=s.index > step,
                gil=_name(s.gil),
                # The holder has used up its interval: it drops the GIL at its next call boundary.
                tick=interval is not None and run.states[s.index].gil_run == interval,
                events=events if s.index <= step else (),
                label=label,
            )
        )
    return tuple(cells)


def _log(run: Run, step: int, url: Callable[[int], str]) -> tuple[LogEntry, ...]:
    entries = []
    for s in run.steps[:step]:
        for event in s.events:
            entries.append(
                LogEntry(
                    number=s.index,
                    thread=s.thread.value,
                    event=event.value,
                    label=EVENT_LABELS[event],
                    text=EVENT_TEXT[event].format(thread=s.thread.value, rc=s.rc),
                    url=url(s.index),
                )
            )
    return tuple(entries)


def expected_outcome(config: Config) -> str:
    """The scenario's correct outcome in words (DESIGN.md's table)."""
    n = config.n
    if config.mode is Mode.IMMORTAL:
        return "rc unchanged (immortal), never freed"
    if config.scenario == Scenario.INC_INC:
        return f"rc = {2 * n + 1}, not freed"
    if config.scenario == Scenario.DEC_DEC:
        return "rc = 0, freed exactly once"
    return "rc = 1, not freed"


# DESIGN.md, "Outcome of a finished run": why no inc-dec run that frees the object is correct.
_SEED_SAFE = (
    "The seed calls this outcome safe: it is not. A's check read the freed object. The "
    "simulator keeps freed memory's last value (0), which is why the check gives up here; a "
    "real allocator reuses that memory (glibc writes its free-list pointer over the first "
    "words), so on real hardware the check passes and A goes on incrementing freed memory."
)
_FREED_UNDER_A = (
    "Nothing touched freed memory this time only because A gave up at its check just before "
    "B's free: A was taking a reference to an object it held none to, and one step later the "
    "same check reads freed memory. No lock fixes this: a thread may only take a reference to "
    "an object it already holds one to, the rule CPython keeps."
)
_DANGLING = (
    "Nothing touched freed memory before the run ended, but A finished its call believing it "
    "holds a reference to an object B has freed: A's next use of it is a use after free."
)
_TOUCHED_FREED = (
    "A run that touches freed memory is never correct: a real allocator has already handed "
    "that memory back to its free lists, or to another object."
)


def _why(run: Run) -> str:
    outcome = run.outcome
    if run.config.scenario is Scenario.INC_DEC and outcome.freed:
        a_gave_up = run.states[-1].a.stopped is Status.FAILED  # at a check that read rc <= 0
        if outcome.use_after_free and a_gave_up:
            return _SEED_SAFE
        if not outcome.use_after_free:
            return _FREED_UNDER_A if a_gave_up else _DANGLING
    return _TOUCHED_FREED if outcome.use_after_free or outcome.double_free else ""


def native_race_url(config: Config) -> str | None:
    """The native lab running this scenario with real free(): what freed memory really holds.

    Mode gil runs as one global lock (both keep whole calls apart). A thousand calls per thread
    free the object in most inc-dec runs; ten runs show the spread, crashes included."""
    mode = native.counterpart(config.mode)
    if mode is None:
        return None
    return urls.native_race(config.scenario, mode, iterations=1_000, runs=10, free="real")


def _banner(run: Run, step: int) -> Banner:
    outcome = run.outcome
    expected = expected_outcome(run.config)
    if step < len(run.steps):
        return Banner(
            finished=False,
            correct=False,
            headline="Not finished yet",
            detail="Step on, press play, or schedule a thread yourself.",
            expected=expected,
        )
    went_wrong = problems(outcome)
    detail = count_and_freed(outcome.final_rc, outcome.freed)
    detail += ": " + ", ".join(went_wrong) if went_wrong else ""
    return Banner(
        finished=True,
        correct=outcome.correct,
        headline="Correct" if outcome.correct else "Wrong result",
        detail=detail,
        expected=expected,
        why=_why(run),
    )



def narrate(run: Run, step: int) -> str:
    """One sentence for the step just taken, for the aria-live line ("A reads rc = 1 ...")."""
    if step == 0:
        return (
            f"Start: rc = {run.states[0].rc}. "
            "Each step is one memory access or one local computation."
        )
    s = run.steps[step - 1]
    t = s.thread.value
    sentence = _OP_TEXT[s.op](t, s, s.reg[s.thread])
    if s.gil is not None and run.states[step - 1].gil != s.gil:
        sentence = f"{t} takes the GIL. {sentence}"
    if Event.LOST_UPDATE in s.events:
        sentence += ": the other thread's update is lost"
    if Event.USE_AFTER_FREE in s.events:
        sentence += " (the object was already freed!)"
    if Event.DOUBLE_FREE in s.events:
        sentence += ": a double free!"
    return f"Step {step}: {sentence}" + ("" if sentence.endswith("!") else ".")


def _check(t: str, s: Step, reg: int | None) -> str:
    if Event.FAILED_CHECK in s.events:
        return f"{t} checks rc = {s.rc}: not above 0, so the call fails and {t} stops"
    return f"{t} checks rc = {s.rc}: above 0, so it goes on"


def _test(t: str, s: Step, reg: int | None) -> str:
    if s.rc == 0:
        return f"{t} tests rc = 0: it frees the object next"
    return f"{t} tests rc = {s.rc}: not zero, nothing to free"


def _load_local(t: str, s: Step, reg: int | None) -> str:
    if Event.IMMORTAL in s.events:
        return f"{t} reads ob_ref_local = {reg}: the object is immortal, so the call writes nothing"
    return f"{t} reads ob_ref_local = {reg} (a plain load)"


def _is_owner(t: str, s: Step, reg: int | None) -> str:
    if s.owner is not None and s.owner.value == t:
        return f"{t} reads ob_tid: it owns the object, so it takes the fast path"
    return f"{t} reads ob_tid: it does not own the object, so it takes the shared, atomic path"


def _store_local_dec(t: str, s: Step, reg: int | None) -> str:
    tail = ": its local count is 0, so it merges" if s.ref_local == 0 else ""
    return f"{t} stores ob_ref_local = {s.ref_local} with a plain store{tail}"


def _dec_shared(t: str, s: Step, reg: int | None) -> str:
    if reg in (0, MAYBE_WEAKREF):  # the shared field it replaced
        return (
            f"{t} finds the shared count at 0 and marks it queued with a compare-and-swap: "
            "the reference it drops was counted by the owner"
        )
    return f"{t} subtracts 1 from the shared count with a compare-and-swap: rc = {s.rc}"


def _queue(t: str, s: Step, reg: int | None) -> str:
    if s.queued:
        return f"{t} pushes the object onto A's merge queue and sets A's eval-breaker bit"
    return f"{t} finds the owner gone and merges the counts itself"


_OP_TEXT: dict[Op, Callable[[str, Step, int | None], str]] = {
    Op.LOCK: lambda t, s, reg: f"{t} takes the lock",
    Op.CHECK: _check,
    Op.READ: lambda t, s, reg: f"{t} reads rc = {s.rc} into its register",
    Op.ADD: lambda t, s, reg: f"{t} adds 1 in its register: {reg}",
    Op.SUB: lambda t, s, reg: f"{t} subtracts 1 in its register: {reg}",
    Op.WRITE: lambda t, s, reg: f"{t} writes its register to rc: rc = {s.rc}",
    Op.TEST: _test,
    Op.FREE: lambda t, s, reg: f"{t} frees the object",
    Op.UNLOCK: lambda t, s, reg: f"{t} releases the lock",
    Op.ATOMIC_ADD: lambda t, s, reg: f"{t} adds 1 to rc in one atomic step: rc = {s.rc}",
    Op.ATOMIC_SUB: lambda t, s, reg: f"{t} subtracts 1 from rc in one atomic step: rc = {s.rc}",
    Op.LOAD_LOCAL: _load_local,
    Op.IS_OWNER: _is_owner,
    Op.STORE_LOCAL_INC: lambda t, s, reg: (
        f"{t} stores ob_ref_local = {s.ref_local} with a plain store: no atomic, no lock"
    ),
    Op.STORE_LOCAL_DEC: _store_local_dec,
    Op.LOAD_SHARED: lambda t, s, reg: (
        f"{t} loads ob_ref_shared = {s.ref_shared}: "
        + ("0, so it frees the object at once" if s.ref_shared == 0 else "not 0, so it merges")
    ),
    Op.CLEAR_OWNER: lambda t, s, reg: f"{t} gives up ownership: ob_tid = 0",
    Op.MARK_MERGED: lambda t, s, reg: (
        f"{t} sets the shared flags to merged with a compare-and-swap: rc = {s.rc}"
    ),
    Op.DEC_SHARED: _dec_shared,
    Op.QUEUE: _queue,
    Op.TAKE_LOCAL: lambda t, s, reg: (
        f"{t} merges: it takes ob_ref_local = {reg} and sets it and ob_tid to 0"
    ),
    Op.MERGE: lambda t, s, reg: (
        f"{t} adds ob_ref_local ({reg}), minus the queue's reference, to the shared count "
        f"with a compare-and-swap: rc = {s.rc}" + (", so it frees the object" if s.rc == 0 else "")
    ),
}
