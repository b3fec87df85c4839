"""The simulator's vocabulary: how /sim, the explorer and the challenges name a thread's status,
an operation, an event and an outcome, and how they narrate a step, so a student meets one set
of words on every page. The views (`view.py`, `challenges/view.py`) only arrange these words.

Every name is read off the core's enums (`Status`, `Op`, `Event`) and records (`Outcome`):
a table here has one entry per member, and tests/web/sim/test_wording.py checks that none is
missing.
"""

from __future__ import annotations

from collections.abc import Callable

from app.sim import Config, Event, Mode, Op, Outcome, Run, Scenario, Status, Step
from app.sim.biased import MAYBE_WEAKREF
from app.web.infra.wording import plural

STATUS_LABELS = {
    Status.READY: "ready",
    Status.BLOCKED: "blocked on the lock",
    Status.WAITING_GIL: "waiting for the GIL",
    Status.FINISHED: "finished",
    Status.FAILED: "stopped at a failed check",
}

EVENT_LABELS = {
    Event.LOST_UPDATE: "lost update",
    Event.USE_AFTER_FREE: "use after free",
    Event.DOUBLE_FREE: "double free",
    Event.FAILED_CHECK: "failed check",
    Event.FREED: "object freed",
    Event.IMMORTAL: "immortal: nothing written",
    Event.QUEUED: "queued to the owner",
    Event.MERGED: "counts merged",
}

# What the event log says of each event: {thread} took the step, {rc} is the count after it.
EVENT_TEXT = {
    Event.LOST_UPDATE: "{thread} overwrote the other thread's update: rc = {rc}",
    Event.USE_AFTER_FREE: "{thread} touched the object after it was freed",
    Event.DOUBLE_FREE: "{thread} freed the object a second time",
    Event.FAILED_CHECK: "{thread} saw rc = {rc} at its check and stopped",
    Event.FREED: "{thread} freed the object",
    Event.IMMORTAL: "{thread} saw the immortal count and wrote nothing",
    Event.QUEUED: "{thread} queued the object to its owner, A, to merge at A's next check",
    Event.MERGED: "{thread} merged the counts: no thread owns the object now (rc = {rc})",
}

# Ops whose name does not read as words once its hyphens are spaces.
_OP_WORDS = {
    Op.IS_OWNER: "owner?",
    Op.STORE_LOCAL_INC: "store local +1",
    Op.STORE_LOCAL_DEC: "store local -1",
}


def op_words(op: Op) -> str:
    """`Op.ATOMIC_ADD` as a history cell shows it: "atomic add"."""
    return _OP_WORDS.get(op) or op.value.replace("-", " ")


def events_text(events: tuple[Event, ...]) -> str:
    """A step's events for a cell's label: " (lost update, use after free)", or nothing."""
    return " (" + ", ".join(EVENT_LABELS[event] for event in events) + ")" if events else ""


def count_and_freed(final_rc: int, freed: bool) -> str:
    """Where a run (or a group of runs) ended: "rc = 2, not freed"."""
    return f"rc = {final_rc}, {'freed' if freed else 'not freed'}"


def problems(outcome: Outcome) -> tuple[str, ...]:
    """What went wrong in a finished run, counted: ("2 lost updates", "1 use after free")."""
    found = []
    if outcome.lost_updates:
        found.append(plural(outcome.lost_updates, "lost update"))
    if outcome.use_after_free:
        found.append(plural(outcome.use_after_free, "use after free", "uses after free"))
    if outcome.double_free:
        found.append(plural(outcome.double_free, "double free"))
    return tuple(found)


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


def why_not_correct(run: Run) -> str:
    """Why a finished run is not correct when its numbers alone do not say so; "" otherwise."""
    outcome = run.outcome
    if run.config.scenario is Scenario.INC_DEC and outcome.freed:
        a_gave_up = run.states[-1].a.stopped is Status.FAILED  # at a check that read rc <= 0
        if outcome.use_after_free and a_gave_up:
            return _SEED_SAFE
        if not outcome.use_after_free:
            return _FREED_UNDER_A if a_gave_up else _DANGLING
    return _TOUCHED_FREED if outcome.use_after_free or outcome.double_free else ""


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
