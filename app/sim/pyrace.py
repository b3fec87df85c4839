"""`counter += 1` in two Python threads, one bytecode at a time, under the GIL.

What it models. Two threads, A and B, each run a loop of `n` iterations of one statement on a
global `counter` (initially 0):

- `inplace`: `counter += 1`: LOAD_GLOBAL counter, LOAD_CONST 1, the add (INPLACE_ADD up to
  3.10, BINARY_OP += from 3.11), STORE_GLOBAL counter, then the loop's back-edge
  (JUMP_ABSOLUTE up to 3.10, JUMP_BACKWARD from 3.11);
- `call`: `counter = counter + one()`, where `one()` returns 1: LOAD_GLOBAL counter,
  LOAD_GLOBAL one, the call (CALL_FUNCTION / CALL), (inside `one`) RETURN_VALUE 1, the add
  (BINARY_ADD / BINARY_OP +), STORE_GLOBAL counter, the back-edge.

Each bytecode is one step and runs whole while its thread holds the GIL, with every reference
count change it makes (pushing a reference increfs, popping one decrefs). The GIL passes to the
other thread only where the interpreter checks its eval breaker (which a waiting thread's drop
request sets): the holder keeps the GIL until it has run `interval` bytecodes, the other thread
is still waiting, and a check falls right after the step. Where checks fall is the `switching`
rule, one per era of CPython's Python/ceval.c:

- `any-bytecode` (3.6 to 3.9): at the top of the evaluation loop, so before the next bytecode,
  except after a bytecode that ends in FAST_DISPATCH() and jumps straight to the next one
  (LOAD_CONST here; also LOAD_FAST, STORE_FAST, POP_TOP and a few others);
- `checkpoints` (3.10): only where CHECK_EVAL_BREAKER() runs: after a back-edge, at the start of
  a function's frame and after a call returns (so after CALL and after RETURN_VALUE here);
- `resume` (3.11 to 3.13): after a back-edge and at RESUME, the first instruction of every
  function (so after CALL here), but not when a call returns.

A bytecode is indivisible only if its C code neither runs Python code nor releases the GIL:
BINARY_OP on ints and STORE_GLOBAL are, here; an `__add__` written in Python would run a whole
frame, with its own switch points, inside one BINARY_OP.

Small ints. Every value of `counter` here is a small int (-5..256), one shared object per value
that CPython never frees: up to 3.10 an array of the interpreter holds a reference to each, in
3.11 they are static objects whose counts start near 10^9, and from 3.12 they are immortal
(PEP 683: increments and decrements leave their count alone, which this model does not show).
So a count that drops to the references the model tracks is never a free.

What it leaves out on purpose: the loop's FOR_ITER and its STORE_FAST, the LOAD_CONST inside
`one` (folded into RETURN_VALUE), 3.11's PRECALL and PUSH_NULL; the time-based interval is
counted in bytecodes.

Invariants (tested): after every step each object's count equals the references to it that
exist (globals, constants, the threads' stacks); nothing is ever freed; the final counter is 2n
minus the lost updates. Pure and deterministic: no threads, clock or I/O.
"""

from __future__ import annotations

import enum
from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

MAX_N = 20
MAX_INTERVAL = 50
THREADS = ("A", "B")
SMALL_INTS = range(-5, 257)  # CPython's cached ints: NSMALLNEGINTS and NSMALLPOSINTS
# Every value the counter, a load or a sum can take stays a small int.
assert 2 * MAX_N + 1 in SMALL_INTS


class Statement(StrEnum):
    INPLACE = "inplace"
    CALL = "call"


class Switching(StrEnum):
    """Where the interpreter checks for a GIL drop request: one value per era of ceval.c."""

    ANY_BYTECODE = "any-bytecode"
    CHECKPOINTS = "checkpoints"
    RESUME = "resume"

    @property
    def versions(self) -> str:
        return _VERSIONS[self]

    @property
    def rule(self) -> str:
        """Where a switch can happen, in a few words, for labels."""
        return _RULES[self]


def switching_of(version: tuple[int, int]) -> Switching:
    """The rule of a CPython version with the GIL (3.6 and later; 3.14 checked as 3.13)."""
    if version < (3, 10):
        return Switching.ANY_BYTECODE
    if version < (3, 11):
        return Switching.CHECKPOINTS
    return Switching.RESUME


_VERSIONS = {
    Switching.ANY_BYTECODE: "3.6 to 3.9",
    Switching.CHECKPOINTS: "3.10",
    Switching.RESUME: "3.11 to 3.13",
}
_RULES = {
    Switching.ANY_BYTECODE: "before every bytecode, except right after a FAST_DISPATCH one "
    "such as LOAD_CONST",
    Switching.CHECKPOINTS: "after back-edges, at a function's start and after a call returns",
    Switching.RESUME: "after back-edges and at RESUME, the start of every function",
}


class Action(enum.Enum):
    """What a bytecode does to the machine (its name depends on the version)."""

    LOAD_COUNTER = enum.auto()
    LOAD_FUNCTION = enum.auto()
    LOAD_ONE = enum.auto()
    CALL = enum.auto()
    RETURN_ONE = enum.auto()
    ADD = enum.auto()
    STORE = enum.auto()
    JUMP_BACK = enum.auto()


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    action: Action
    argument: str
    opname_310: str  # its name up to 3.10
    opname_311: str  # its name from 3.11
    # Up to 3.9 its C code ends in FAST_DISPATCH(): no eval-breaker check follows it.
    fast_dispatch: bool = False

    def opname(self, switching: Switching) -> str:
        return self.opname_311 if switching is Switching.RESUME else self.opname_310

    def text(self, switching: Switching) -> str:
        return f"{self.opname(switching)} {self.argument}".strip()

    def checks_after(self, switching: Switching) -> bool:
        """Whether the interpreter checks for a drop request right after this bytecode."""
        match switching:
            case Switching.ANY_BYTECODE:
                return not self.fast_dispatch
            case Switching.CHECKPOINTS:
                return self.action in (Action.JUMP_BACK, Action.CALL, Action.RETURN_ONE)
            case Switching.RESUME:
                return self.action in (Action.JUMP_BACK, Action.CALL)


SOURCE = {Statement.INPLACE: "counter += 1", Statement.CALL: "counter = counter + one()"}

_LOAD_COUNTER = Instruction(
    action=Action.LOAD_COUNTER,
    argument="counter",
    opname_310="LOAD_GLOBAL",
    opname_311="LOAD_GLOBAL",
)
_STORE = Instruction(
    action=Action.STORE, argument="counter", opname_310="STORE_GLOBAL", opname_311="STORE_GLOBAL"
)
_JUMP_BACK = Instruction(
    action=Action.JUMP_BACK,
    argument="(loop)",
    opname_310="JUMP_ABSOLUTE",
    opname_311="JUMP_BACKWARD",
)

PROGRAMS: dict[Statement, tuple[Instruction, ...]] = {
    Statement.INPLACE: (
        _LOAD_COUNTER,
        Instruction(
            action=Action.LOAD_ONE,
            argument="1",
            opname_310="LOAD_CONST",
            opname_311="LOAD_CONST",
            fast_dispatch=True,
        ),
        Instruction(
            action=Action.ADD, argument="", opname_310="INPLACE_ADD", opname_311="BINARY_OP +="
        ),
        _STORE,
        _JUMP_BACK,
    ),
    Statement.CALL: (
        _LOAD_COUNTER,
        Instruction(
            action=Action.LOAD_FUNCTION,
            argument="one",
            opname_310="LOAD_GLOBAL",
            opname_311="LOAD_GLOBAL",
        ),
        Instruction(
            action=Action.CALL, argument="0 (one)", opname_310="CALL_FUNCTION", opname_311="CALL"
        ),
        Instruction(
            action=Action.RETURN_ONE,
            argument="1 (in one)",
            opname_310="RETURN_VALUE",
            opname_311="RETURN_VALUE",
        ),
        Instruction(
            action=Action.ADD, argument="", opname_310="BINARY_ADD", opname_311="BINARY_OP +"
        ),
        _STORE,
        _JUMP_BACK,
    ),
}

_FUNCTION = "one()"  # the function object `one`, as a key among the int objects


def _key(value: int | str) -> str:
    return value if isinstance(value, str) else f"int {value}"


@dataclass(frozen=True, slots=True, kw_only=True)
class PyStep:
    index: int
    thread: str
    instruction: str
    stack: tuple[str, ...]  # the thread's value stack after the step
    counter: int  # the global after the step
    refcount_changes: tuple[str, ...]  # e.g. "int 3 +1", "int 2 -1"
    events: tuple[str, ...]  # "lost-update", "switch" (the GIL passes after this step)
    gil: str  # who holds the GIL after the step


@dataclass(frozen=True, slots=True, kw_only=True)
class PyOutcome:
    final_counter: int
    expected: int
    lost_updates: int
    switches: int
    refcounts_consistent: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class PyRace:
    statement: Statement
    switching: Switching
    n: int
    interval: int
    source: str
    program: tuple[Instruction, ...]
    steps: tuple[PyStep, ...]
    outcome: PyOutcome


class _Machine:
    """The mutable state of one run; `simulate` drives it and records immutable steps."""

    def __init__(self, statement: Statement) -> None:
        self.program = PROGRAMS[statement]
        self.counter = 0
        # Each store sets counter to (loaded + 1) where the right value was (counter + 1), so
        # it loses (counter - loaded) increments; summed, final = 2n - lost exactly.
        self.lost_updates = 0
        # The references this model tracks; each small int also has the interpreter's own.
        self.refcounts: Counter[str] = Counter()
        # References held outside the threads: the global `counter`, the global `one`, and
        # the code object's constant 1.
        self._incref(_key(0), [])
        self._incref(_FUNCTION, [])
        self._incref(_key(1), [])
        self.stacks: dict[str, list[str]] = {thread: [] for thread in THREADS}
        self.pc = dict.fromkeys(THREADS, 0)
        self.iterations = dict.fromkeys(THREADS, 0)
        self.loaded: dict[str, int] = {}  # the value of counter each thread last loaded

    def _incref(self, key: str, log: list[str]) -> None:
        self.refcounts[key] += 1
        log.append(f"{key} +1")

    def _decref(self, key: str, log: list[str]) -> None:
        self.refcounts[key] -= 1
        if self.refcounts[key] == 0:
            # Only a small int can get here (the global `one` always holds the function).
            del self.refcounts[key]
            log.append(f"{key} -1 (no reference left here; a small int, never freed)")
        else:
            log.append(f"{key} -1")

    def _push(self, thread: str, key: str, log: list[str]) -> None:
        self._incref(key, log)
        self.stacks[thread].append(key)

    def execute(self, thread: str) -> tuple[Instruction, list[str], list[str]]:
        """Run the thread's next bytecode; return it, the refcount changes and the events."""
        instruction = self.program[self.pc[thread]]
        stack = self.stacks[thread]
        log: list[str] = []
        events: list[str] = []
        match instruction.action:
            case Action.LOAD_COUNTER:
                self._push(thread, _key(self.counter), log)
                self.loaded[thread] = self.counter
            case Action.LOAD_FUNCTION:
                self._push(thread, _FUNCTION, log)
            case Action.LOAD_ONE:
                self._push(thread, _key(1), log)
            case Action.CALL:
                self._decref(stack.pop(), log)  # the call consumes the function reference
            case Action.RETURN_ONE:
                self._push(thread, _key(1), log)  # one() returns its constant 1
            case Action.ADD:
                right, left = stack.pop(), stack.pop()
                total = int(left.removeprefix("int ")) + int(right.removeprefix("int "))
                self._push(thread, _key(total), log)
                self._decref(left, log)
                self._decref(right, log)
            case Action.STORE:
                new = stack.pop()  # the stack's reference moves into the global
                lost = self.counter - self.loaded.pop(thread)
                if lost > 0:
                    events.append("lost-update")
                self.lost_updates += lost
                old = _key(self.counter)
                self.counter = int(new.removeprefix("int "))
                log.append(f"{new} moves from the stack to counter")
                self._decref(old, log)
            case Action.JUMP_BACK:
                self.iterations[thread] += 1
        self.pc[thread] = (self.pc[thread] + 1) % len(self.program)
        return instruction, log, events

    def finished(self, thread: str, n: int) -> bool:
        return self.iterations[thread] >= n

    def consistent(self) -> bool:
        """Every count equals the references that exist right now."""
        references = Counter([_key(self.counter), _FUNCTION, _key(1)])
        for stack in self.stacks.values():
            references.update(stack)
        return references == self.refcounts


def simulate(statement: Statement, switching: Switching, n: int, interval: int) -> PyRace:
    """Run both threads to the end under the GIL rules above (see the module docstring)."""
    if not 1 <= n <= MAX_N:
        raise ValueError(f"n must lie in 1..{MAX_N}")
    if not 1 <= interval <= MAX_INTERVAL:
        raise ValueError(f"interval must lie in 1..{MAX_INTERVAL}")
    machine = _Machine(statement)
    holder, other = THREADS
    ran = 0  # bytecodes the holder has run since it took the GIL
    switches = 0
    consistent = True
    steps: list[PyStep] = []
    while not (machine.finished(holder, n) and machine.finished(other, n)):
        if machine.finished(holder, n):
            holder, other, ran = other, holder, 0  # a finished thread has released the GIL
        thread = holder
        instruction, log, events = machine.execute(thread)
        ran += 1
        consistent = consistent and machine.consistent()
        may_switch = instruction.checks_after(switching)
        if ran >= interval and may_switch and not machine.finished(other, n):
            holder, other, ran = other, holder, 0
            switches += 1
            events.append("switch")
        steps.append(
            PyStep(
                index=len(steps),
                thread=thread,
                instruction=instruction.text(switching),
                stack=tuple(machine.stacks[thread]),
                counter=machine.counter,
                refcount_changes=tuple(log),
                events=tuple(events),
                gil=holder,
            )
        )
    return PyRace(
        statement=statement,
        switching=switching,
        n=n,
        interval=interval,
        source=SOURCE[statement],
        program=PROGRAMS[statement],
        steps=tuple(steps),
        outcome=PyOutcome(
            final_counter=machine.counter,
            expected=2 * n,
            lost_updates=machine.lost_updates,
            switches=switches,
            refcounts_consistent=consistent,
        ),
    )
