"""The simulator's vocabulary: how /sim, the explorer and the challenges name a thread's status,
an operation, an event and an outcome, so a student meets one set of words on every page.

Every name is read off the core's enums (`Status`, `Op`, `Event`) and records (`Outcome`):
a table here has one entry per member, and tests/web check that none is missing.
"""

from __future__ import annotations

from app.sim import Event, Op, Outcome, Status
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
