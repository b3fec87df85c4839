"""Predict the next step: a question about what step k + 1 of a run will do, and its answer.

Before each step the student says what it will do: the value the thread's register or the
count will hold (read, add, sub, write, atomic add/sub), or which event happens (a check that
passes or fails, a test that finds zero, a free that is a double free, a lock that touches
freed memory). In modes biased and immortal: the value loaded or stored, whether the thread
owns the object, and the true count after a compare-and-swap. The answer is read off the run's
own step record, so it is right by construction; the choices are built from the state
*before* the step (the values a student who misreads the code would pick), never from the
answer alone, so their order gives nothing away.

A score is "right/asked" and travels in the permalink (`score=3/4`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from app.sim.errors import InvalidParameter
from app.sim.machine import State, Step
from app.sim.model import Event, Op, Thread
from app.sim.run import Run

MAX_ASKED = 10_000
_SCORE = re.compile(r"(\d{1,5})/(\d{1,5})")


@dataclass(frozen=True, slots=True, kw_only=True)
class Choice:
    token: str  # what the URL carries (`guess=2`, `guess=fails`)
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Question:
    step: int  # the 1-based index of the step asked about
    thread: Thread
    op: Op
    prompt: str
    choices: tuple[Choice, ...]
    answer: str  # the token of the right choice

    def label_of(self, token: str) -> str:
        return next((c.label for c in self.choices if c.token == token), token)


@dataclass(frozen=True, slots=True, kw_only=True)
class Score:
    right: int = 0
    asked: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.right <= self.asked <= MAX_ASKED:
            raise InvalidParameter(
                "score", f"must be right/asked with 0 <= right <= asked <= {MAX_ASKED}"
            )

    @classmethod
    def parse(cls, text: str | None) -> Score:
        """`"3/4"` → Score(right=3, asked=4); empty → 0/0."""
        if not text:
            return cls()
        match = _SCORE.fullmatch(text.strip())
        if match is None:
            raise InvalidParameter("score", f"must look like 3/4 (right/asked); got {text[:20]!r}")
        return cls(right=int(match.group(1)), asked=int(match.group(2)))

    def after(self, correct: bool) -> Score:
        return Score(right=self.right + int(correct), asked=self.asked + 1)

    def __str__(self) -> str:
        return f"{self.right}/{self.asked}"


def _values(*candidates: int) -> tuple[Choice, ...]:
    values = sorted(set(candidates))
    while len(values) < 3:  # always three numbers, so a lone pair does not give it away
        values = sorted({*values, values[-1] + 1} if len(values) % 2 else {*values, values[0] - 1})
    return tuple(Choice(token=str(v), label=str(v)) for v in values)


def _two(yes: tuple[str, str], no: tuple[str, str]) -> tuple[Choice, ...]:
    return (Choice(token=yes[0], label=yes[1]), Choice(token=no[0], label=no[1]))


_TOUCHES = {
    Op.LOCK: "takes the lock",
    Op.UNLOCK: "releases the lock",
    Op.LOAD_SHARED: "loads ob_ref_shared",
    Op.CLEAR_OWNER: "sets ob_tid to 0",
    Op.QUEUE: "reads ob_tid to queue the object to its owner",
    Op.TAKE_LOCAL: "takes ob_ref_local for the merge",
}


def question(run: Run, step: int) -> Question | None:
    """What step `step` + 1 of `run` will do, asked before it runs (None once the run is over)."""
    if not 0 <= step < len(run.steps):
        return None
    before: State = run.states[step]
    taken: Step = run.steps[step]
    thread, op = taken.thread, taken.op
    register = before.thread(thread).register
    rc, t = before.rc, thread.value
    prompt: str
    choices: tuple[Choice, ...]
    if op is Op.READ:
        prompt = f"{t} reads rc. What will {t}'s register hold?"
        choices, answer = _values(rc, rc + 1, rc - 1), str(taken.reg[thread])
    elif op in (Op.ADD, Op.SUB):
        delta = 1 if op is Op.ADD else -1
        assert register is not None
        word = "adds 1 to" if op is Op.ADD else "subtracts 1 from"
        prompt = f"{t} {word} its register. What will the register hold?"
        choices, answer = _values(register, register + delta, rc + delta), str(taken.reg[thread])
    elif op in (Op.WRITE, Op.ATOMIC_ADD, Op.ATOMIC_SUB):
        if op is Op.WRITE:
            assert register is not None
            prompt = f"{t} writes its register back. What will rc be?"
            ops = {i.op for i in run.machine.function(thread).instructions}
            # The tempting wrong answer: "the write adds (or subtracts) 1 to what rc is now".
            choices = _values(register, rc, rc + (1 if Op.ADD in ops else -1))
        else:
            delta = 1 if op is Op.ATOMIC_ADD else -1
            prompt = f"{t} updates rc in one atomic step. What will rc be?"
            choices = _values(rc, rc + delta, rc - delta)
        answer = str(taken.rc)
    elif op is Op.CHECK:
        prompt = f"{t} checks that rc is above 0. Does the check pass?"
        choices = _two(("passes", "It passes"), ("fails", "It fails: the call returns -1"))
        answer = "fails" if Event.FAILED_CHECK in taken.events else "passes"
    elif op is Op.TEST:
        prompt = f"{t} tests whether rc is 0. Will {t} free the object next?"
        choices = _two(("frees", "Yes, rc is 0"), ("keeps", "No, rc is not 0"))
        answer = "frees" if taken.rc == 0 else "keeps"
    elif op is Op.FREE:
        prompt = f"{t} calls free(obj). What happens?"
        choices = _two(("freed", "The object is freed"), ("double-free", "A double free"))
        answer = "double-free" if Event.DOUBLE_FREE in taken.events else "freed"
    elif op is Op.LOAD_LOCAL:
        prompt = f"{t} loads ob_ref_local. What will {t}'s register hold?"
        choices, answer = _values(before.local, before.local + 1, rc), str(taken.reg[thread])
    elif op is Op.IS_OWNER:
        prompt = f"{t} compares ob_tid with its own id. Does {t} own the object?"
        choices = _two(("owner", "Yes: the plain, local path"), ("other", "No: the atomic path"))
        answer = "owner" if before.owner is thread else "other"
    elif op in (Op.STORE_LOCAL_INC, Op.STORE_LOCAL_DEC):
        assert register is not None
        prompt = f"{t} stores its count with a plain store. What will ob_ref_local be?"
        choices, answer = _values(register - 1, register, register + 1), str(taken.ref_local)
    elif op in (Op.DEC_SHARED, Op.MARK_MERGED):
        verb = "drops a reference from" if op is Op.DEC_SHARED else "marks merged"
        prompt = f"{t} {verb} the shared count with a compare-and-swap. What will rc be?"
        choices, answer = _values(rc - 1, rc, rc + 1), str(taken.rc)
    elif op is Op.MERGE:
        assert register is not None  # the local count take-local took
        prompt = (
            f"{t} adds the local count it took ({register}), minus the queue's reference, to "
            "the shared count. What will the true count be?"
        )
        choices = _values(rc + register - 1, rc + register, rc - 1)
        answer = str(taken.rc)
    else:  # LOCK, UNLOCK, and the biased steps that only move ownership or the queue
        prompt = f"{t} {_TOUCHES[op]}. Does that touch freed memory?"
        choices = _two(("clean", "No"), ("use-after-free", "Yes: a use after free"))
        answer = "use-after-free" if Event.USE_AFTER_FREE in taken.events else "clean"
    return Question(
        step=step + 1, thread=thread, op=op, prompt=prompt, choices=choices, answer=answer
    )
