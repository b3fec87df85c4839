"""`counter += 1` in two Python threads, one bytecode at a time, under the GIL.

What it models. Two threads, A and B, each run a loop of `n` iterations of one statement on a
global `counter` (initially 0):

- `inplace`: `counter += 1`, compiled to LOAD_GLOBAL counter, LOAD_CONST 1, BINARY_OP +=,
  STORE_GLOBAL counter, then the loop's JUMP_BACKWARD;
- `call`: `counter = counter + one()`, where `one()` returns 1: LOAD_GLOBAL counter,
  LOAD_GLOBAL one, CALL one, (inside `one`) RETURN_VALUE 1, BINARY_OP +, STORE_GLOBAL counter,
  JUMP_BACKWARD.

Each bytecode is one step and runs whole while its thread holds the GIL, with every reference
count change it makes (pushing a reference increfs, popping one decrefs, an object whose
count reaches 0 is freed). The GIL passes to the other thread only between bytecodes: the
holder keeps it until it has run `interval` bytecodes, the other thread is still waiting, and
the interpreter checks for a switch at this point. Where it checks is the `switching` rule:

- `any-bytecode` (CPython up to 3.9): after almost any bytecode;
- `checkpoints` (CPython 3.10 and later): only at loop back-edges and on entering or leaving
  a function (CALL, RETURN), so never between the load and the store of `counter += 1`.

What it leaves out on purpose: opcode names follow 3.11+ (3.9 said INPLACE_ADD, BINARY_ADD);
ints are identified by value, as if all were cached like small ints (-5..256), and not
immortal (3.12+ pins those counts instead); the time-based interval is counted in bytecodes.

Invariants (tested): after every step each object's count equals the references to it that
exist (globals, constants, the threads' stacks); no object is used after it is freed; the final
counter is 2n minus the lost updates. Pure and deterministic: no threads, clock or I/O.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from enum import StrEnum

MAX_N = 20
MAX_INTERVAL = 50
THREADS = ("A", "B")


class Statement(StrEnum):
    INPLACE = "inplace"
    CALL = "call"


class Switching(StrEnum):
    ANY_BYTECODE = "any-bytecode"
    CHECKPOINTS = "checkpoints"


@dataclass(frozen=True, slots=True, kw_only=True)
class Instruction:
    opname: str
    argument: str
    # CPython 3.10+ checks for a GIL drop request right after this instruction.
    checkpoint: bool = False

    @property
    def text(self) -> str:
        return f"{self.opname} {self.argument}".strip()


SOURCE = {Statement.INPLACE: "counter += 1", Statement.CALL: "counter = counter + one()"}

PROGRAMS: dict[Statement, tuple[Instruction, ...]] = {
    Statement.INPLACE: (
        Instruction(opname="LOAD_GLOBAL", argument="counter"),
        Instruction(opname="LOAD_CONST", argument="1"),
        Instruction(opname="BINARY_OP", argument="+="),
        Instruction(opname="STORE_GLOBAL", argument="counter"),
        Instruction(opname="JUMP_BACKWARD", argument="(loop)", checkpoint=True),
    ),
    Statement.CALL: (
        Instruction(opname="LOAD_GLOBAL", argument="counter"),
        Instruction(opname="LOAD_GLOBAL", argument="one"),
        Instruction(opname="CALL", argument="one", checkpoint=True),
        Instruction(opname="RETURN_VALUE", argument="1 (in one)", checkpoint=True),
        Instruction(opname="BINARY_OP", argument="+"),
        Instruction(opname="STORE_GLOBAL", argument="counter"),
        Instruction(opname="JUMP_BACKWARD", argument="(loop)", checkpoint=True),
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
    refcount_changes: tuple[str, ...]  # e.g. "int 3 +1", "int 2 -1 (freed)"
    events: tuple[str, ...]  # "lost-update", "switch" (the GIL passes after this step)
    gil: str  # who holds the GIL after the step


@dataclass(frozen=True, slots=True, kw_only=True)
class PyOutcome:
    final_counter: int
    expected: int
    lost_updates: int
    switches: int
    refcounts_consistent: bool
    use_after_free: int


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
        self.refcounts: Counter[str] = Counter()
        self.freed: set[str] = set()
        self.use_after_free = 0
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
        if key in self.freed:
            self.use_after_free += 1
        self.refcounts[key] += 1
        log.append(f"{key} +1")

    def _decref(self, key: str, log: list[str]) -> None:
        self.refcounts[key] -= 1
        if self.refcounts[key] == 0:
            self.freed.add(key)
            del self.refcounts[key]
            log.append(f"{key} -1 (freed)")
        else:
            log.append(f"{key} -1")

    def _push(self, thread: str, key: str, log: list[str]) -> None:
        if key in self.freed:
            self.freed.discard(key)  # a new object with that value
        self._incref(key, log)
        self.stacks[thread].append(key)

    def execute(self, thread: str) -> tuple[Instruction, list[str], list[str]]:
        """Run the thread's next bytecode; return it, the refcount changes and the events."""
        instruction = self.program[self.pc[thread]]
        stack = self.stacks[thread]
        log: list[str] = []
        events: list[str] = []
        match instruction.opname, instruction.argument:
            case "LOAD_GLOBAL", "counter":
                self._push(thread, _key(self.counter), log)
                self.loaded[thread] = self.counter
            case "LOAD_GLOBAL", "one":
                self._push(thread, _FUNCTION, log)
            case "LOAD_CONST", _:
                self._push(thread, _key(1), log)
            case "CALL", _:
                self._decref(stack.pop(), log)  # the call consumes the function reference
            case "RETURN_VALUE", _:
                self._push(thread, _key(1), log)  # one() returns its constant 1
            case "BINARY_OP", _:
                right, left = stack.pop(), stack.pop()
                total = int(left.removeprefix("int ")) + int(right.removeprefix("int "))
                self._push(thread, _key(total), log)
                self._decref(left, log)
                self._decref(right, log)
            case "STORE_GLOBAL", _:
                new = stack.pop()  # the stack's reference moves into the global
                lost = self.counter - self.loaded.pop(thread)
                if lost > 0:
                    events.append("lost-update")
                self.lost_updates += lost
                old = _key(self.counter)
                self.counter = int(new.removeprefix("int "))
                log.append(f"{new} moves from the stack to counter")
                self._decref(old, log)
            case "JUMP_BACKWARD", _:
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
        may_switch = switching is Switching.ANY_BYTECODE or instruction.checkpoint
        if ran >= interval and may_switch and not machine.finished(other, n):
            holder, other, ran = other, holder, 0
            switches += 1
            events.append("switch")
        steps.append(
            PyStep(
                index=len(steps),
                thread=thread,
                instruction=instruction.text,
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
            use_after_free=machine.use_after_free,
        ),
    )
