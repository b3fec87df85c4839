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
from dataclasses import dataclass, replace
from itertools import accumulate

from app.lab import native
from app.sim import (
    Config,
    Op,
    Permalink,
    Run,
    ScheduleError,
    State,
    Step,
    Thread,
    code_listing,
)
from app.sim.biased import IMMORTAL_LOCAL, flags_of, shared_count
from app.sim.run import branch_schedule
from app.web.infra import urls
from app.web.sim.wording import (
    EVENT_LABELS,
    EVENT_TEXT,
    STATUS_LABELS,
    count_and_freed,
    events_text,
    expected_outcome,
    narrate,
    problems,
    why_not_correct,
)


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
    position: int  # its place in the log (0 first), which every later step keeps
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
class RunView:
    """What /sim draws of one run whatever the step shown, worked out once per run: the app
    keeps it with the run (app.web.infra.resources.Runs), so drawing a step costs what that
    step changes, not the run's whole timeline and event log again (180 cells at n = 30)."""

    run: Run
    # Each timeline cell three ways: as the steps before it show it (ahead), as its own step
    # does (current), and as the steps after it do (past, its events shown).
    ahead: tuple[TimelineCell, ...]
    current: tuple[TimelineCell, ...]
    past: tuple[TimelineCell, ...]
    events: tuple[LogEntry, ...]  # every entry of the run's event log, without links (url "")
    logged: tuple[int, ...]  # logged[k]: how many of them the first k steps make

    @classmethod
    def of(cls, run: Run) -> RunView:
        past = _cells(run)
        return cls(
            run=run,
            ahead=tuple(replace(cell, future=True, events=()) for cell in past),
            current=tuple(replace(cell, current=True) for cell in past),
            past=past,
            events=_events(run),
            logged=tuple(accumulate((len(s.events) for s in run.steps), initial=0)),
        )

    def timeline(self, step: int) -> tuple[TimelineCell, ...]:
        """The timeline at `step`: the cells before it past, its own current, the rest ahead."""
        if step == 0:
            return self.ahead
        return self.past[: step - 1] + self.current[step - 1 : step] + self.ahead[step:]

    def log(self, step: int, url: Callable[[int], str]) -> tuple[LogEntry, ...]:
        """The event log at `step`, each entry linking to its step by `url`."""
        return tuple(
            replace(entry, url=url(entry.number)) for entry in self.events[: self.logged[step]]
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SimView:
    whole: RunView  # the run, and what every step of it draws the same
    config: Config
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

    @property
    def run(self) -> Run:
        return self.whole.run


# The most timeline cells, or log entries, a step's answer updates one by one. A step or a short
# jump changes a few; past this (Home, End, a far jump) the whole panel goes, as one swap.
MAX_CHANGED = 12


@dataclass(frozen=True, slots=True, kw_only=True)
class StepChange:
    """What differs on /sim between the step a page shows and another step of the same run:
    an answer that sends only this keeps a step's size and the browser's work bounded whatever
    n, instead of re-sending a timeline and log of up to ~180 entries (issue 17.15).

    Each part is None when it is sent whole: the page's timeline or log is then replaced."""

    cells: tuple[TimelineCell, ...] | None  # the timeline cells whose marks change
    log_added: tuple[LogEntry, ...] | None  # new entries, after the log's last one
    log_removed: range  # positions (`log-{i}` ids) of the entries that go

    @classmethod
    def between(cls, shown: int, view: SimView) -> StepChange:
        """From the page showing step `shown` to `view` (a step of the same run). Only the cells
        from the earlier of the two steps to the later change marks (current, ahead, events
        shown), and the log at one step is the start of the log at the other: what differs
        follows from the two steps, without drawing the page shown again."""
        low, high = sorted((shown, view.step))
        cells = view.timeline[max(low, 1) - 1 : high] if low < high else ()
        cells_or_whole = cells if len(cells) <= MAX_CHANGED else None
        old, new = view.whole.logged[shown], len(view.log)
        if old == new:
            return cls(cells=cells_or_whole, log_added=(), log_removed=range(0))
        # Either log empty: the other replaces "nothing has gone wrong yet" whole.
        if not old or not new or abs(new - old) > MAX_CHANGED:
            return cls(cells=cells_or_whole, log_added=None, log_removed=range(0))
        return cls(cells=cells_or_whole, log_added=view.log[old:], log_removed=range(new, old))


def build(
    whole: RunView, step: int, *, embed: bool = False, extra: Mapping[str, str] | None = None
) -> SimView:
    """`extra`: parameters every link to another step of this run keeps (the hardware run a
    replay comes from, app.web.sim.replay_view); links that change the schedule drop them."""
    run = whole.run
    config = run.config
    total = len(run.steps)
    state = run.states[step]
    last = run.steps[step - 1] if step > 0 else None
    kept = dict(extra or {})

    link = Permalink.of(run, step)
    url = urls.sim_steps(link, embed=embed, **kept)

    return SimView(
        whole=whole,
        config=config,
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
        timeline=whole.timeline(step),
        log=whole.log(step, url),
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
    try:
        schedule = branch_schedule(run, step, thread)
    except ScheduleError:
        return None
    return urls.sim(Permalink(config=run.config, schedule=schedule, step=step + 1), embed=embed)


def _cells(run: Run) -> tuple[TimelineCell, ...]:
    """The run's timeline cells as the last step shows them: every one past, events shown."""
    interval = run.config.interval
    return tuple(
        TimelineCell(
            number=s.index,
            thread=s.thread.value,
            current=False,
            future=False,
            gil=_name(s.gil),
            # The holder has used up its interval: it drops the GIL at its next call boundary.
            tick=interval is not None and run.states[s.index].gil_run == interval,
            events=tuple(event.value for event in s.events),
            label=f"step {s.index}: {s.thread.value} {s.op.value}" + events_text(s.events),
        )
        for s in run.steps
    )


def _events(run: Run) -> tuple[LogEntry, ...]:
    """Every entry of the run's event log, in order, without links."""
    return tuple(
        LogEntry(
            position=position,
            number=s.index,
            thread=s.thread.value,
            event=event.value,
            label=EVENT_LABELS[event],
            text=EVENT_TEXT[event].format(thread=s.thread.value, rc=s.rc),
            url="",
        )
        for position, (s, event) in enumerate((s, event) for s in run.steps for event in s.events)
    )


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
        why=why_not_correct(run),
    )
