"""An interpreter's facts behind the classic story (sizes, ids, reference counts, the switch
interval, the GIL), measured in a fresh process of that interpreter.

scripts/interpreter_facts.py reports them; this module types them and says, for each one that
differs from the figures the classic story quotes, why (explain). The GIL lab measures the
server's own interpreter, the versions survey every interpreter found.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.lab.interpreters import Interpreter
from app.lab.scripts import ScriptFailed

# What the classic story quotes, for a 64-bit CPython before 3.11.
CLASSIC_GETSIZEOF = 28
CLASSIC_SWITCH_INTERVAL_MS = 5.0
IMMORTAL_REFCOUNT = 2**32 - 1  # what 3.12+ reports for an immortal object on 64-bit builds


@dataclass(frozen=True, slots=True, kw_only=True)
class RefcountStep:
    code: str
    refcount: int


@dataclass(frozen=True, slots=True, kw_only=True)
class Facts:
    python: str
    implementation: str
    free_threaded: bool
    gil_enabled: bool
    has_is_gil_enabled: bool
    switch_interval_ms: float
    getsizeof_2781: int
    getsizeof_1: int
    getsizeof_2_to_64: int
    id_before: int
    id_after: int
    refcount_sequence: tuple[RefcountStep, ...]
    refcount_module_literal: int  # x = 2781; sys.getrefcount(x) in a script
    refcount_compiled_literal: int  # the same in a module's compiled code
    refcount_interactive_literal: int  # the same typed at the interactive prompt
    refcount_small_int_1: int
    refcount_none: int
    pointer_bits: int

    @property
    def version_info(self) -> tuple[int, int]:
        major, minor = self.python.split(".")[:2]
        return int(major), int(minor)

    @property
    def refcount_fresh_int(self) -> int:
        """Of an int made at run time and held by one name: the sequence's first step."""
        return self.refcount_sequence[0].refcount


def parse(report: dict[str, Any]) -> Facts:
    try:
        return _parse(report)
    except (KeyError, IndexError, TypeError, ValueError) as exc:
        raise ScriptFailed(f"interpreter_facts printed an unexpected report ({exc!r})") from exc


def _parse(report: dict[str, Any]) -> Facts:
    return Facts(
        python=str(report["python"]),
        implementation=str(report["implementation"]),
        free_threaded=bool(report["free_threaded"]),
        gil_enabled=bool(report["gil_enabled"]),
        has_is_gil_enabled=bool(report["has_is_gil_enabled"]),
        switch_interval_ms=float(report["switch_interval_s"]) * 1000,
        getsizeof_2781=int(report["getsizeof_2781"]),
        getsizeof_1=int(report["getsizeof_1"]),
        getsizeof_2_to_64=int(report["getsizeof_2_to_64"]),
        id_before=int(report["id_rebinding"]["before"]),
        id_after=int(report["id_rebinding"]["after"]),
        refcount_sequence=tuple(
            RefcountStep(code=str(step["code"]), refcount=int(step["refcount"]))
            for step in report["refcount_sequence"]
        ),
        refcount_module_literal=int(report["refcount_module_literal"]),
        refcount_compiled_literal=int(report["refcount_compiled_literal"]),
        refcount_interactive_literal=int(report["refcount_interactive_literal"]),
        refcount_small_int_1=int(report["refcount_small_int_1"]),
        refcount_none=int(report["refcount_none"]),
        pointer_bits=int(report["pointer_bits"]),
    )


FACTS_TIMEOUT_S = 15.0


def measure_facts(interpreter: Interpreter) -> Facts:
    """Blocking: call it through a JobRunner."""
    return parse(interpreter.run("interpreter_facts", timeout=FACTS_TIMEOUT_S))


def int_layout(version: tuple[int, int], size: int) -> str:
    """Why sys.getsizeof(2781) is `size` bytes on a 64-bit CPython of `version`: the words of an
    int's header (Include/cpython/longintrepr.h of that version) and its one 30-bit digit."""
    if size != CLASSIC_GETSIZEOF:
        return f"{size} bytes, not {CLASSIC_GETSIZEOF}: this build's int layout differs."
    if version >= (3, 12):
        third = (
            "lv_tag (8: not a size but a tag, the number of digits shifted left by 3 with the "
            "sign in its two low bits, 0 positive, 1 zero, 2 negative)"
        )
    else:
        third = "ob_size (8: the number of digits, negative for a negative int)"
    return (
        f"{size} bytes: the reference count and the type pointer (8 bytes each), {third}, and "
        "one 30-bit digit stored in 4 bytes."
    )


def explain(facts: Facts) -> dict[str, str]:
    """For each fact, a sentence on why this interpreter shows what it shows."""
    notes: dict[str, str] = {}
    version = facts.version_info
    notes["getsizeof"] = int_layout(version, facts.getsizeof_2781)
    notes["id"] = (
        "The ids differ: ints are immutable, so x = x + 1 makes a new object and rebinds "
        "the name; the old object is freed when its count reaches zero."
        if facts.id_before != facts.id_after
        else "The ids are equal here: the old object was freed and the new one reused its memory."
    )
    notes["refcount_sequence"] = (
        "An object only names refer to reads 2 with one name: the name and getrefcount's own "
        "argument. Each new name or container slot adds one; del takes it away."
    )
    notes["refcount_literal"] = (
        f"At the interactive prompt it reads {facts.refcount_interactive_literal}, the classic "
        "figure: the name and getrefcount's own argument, because each statement there is "
        "compiled and run on its own and the code that held the constant is gone. In a module "
        f"it reads {facts.refcount_compiled_literal}: the module's code object also keeps "
        f"2781 among its constants. In a script it reads {facts.refcount_module_literal}: "
        "while a script runs, the parser's arena still holds the constant it parsed (CPython "
        "frees it only when the script ends)."
    )
    if facts.refcount_small_int_1 == IMMORTAL_REFCOUNT or version >= (3, 12):
        notes["small_int"] = (
            f"sys.getrefcount(1) reads {facts.refcount_small_int_1:,}: since 3.12 small ints, "
            "None, True and False are immortal (PEP 683); their count is pinned and never "
            "changes, so threads sharing them never write to it."
        )
    elif version == (3, 11):
        notes["small_int"] = (
            f"sys.getrefcount(1) reads {facts.refcount_small_int_1:,}: in 3.11 the small ints "
            "are static objects whose counts start near 10^9, so they are never freed."
        )
    else:
        notes["small_int"] = (
            f"sys.getrefcount(1) reads {facts.refcount_small_int_1:,}: every use of the cached "
            "small int 1 anywhere in the interpreter counts."
        )
    notes["switch_interval"] = (
        f"The default switch interval is {facts.switch_interval_ms:g} ms, "
        + (
            "as since Python 3.2 (before it, a switch was considered every 100 bytecodes)."
            if facts.switch_interval_ms == CLASSIC_SWITCH_INTERVAL_MS
            else f"not the {CLASSIC_SWITCH_INTERVAL_MS:g} ms set by Python 3.2."
        )
    )
    if facts.free_threaded:
        notes["gil"] = "This is a free-threaded build (PEP 703): " + (
            "the GIL is enabled at run time." if facts.gil_enabled else "there is no GIL."
        )
    elif facts.has_is_gil_enabled:
        notes["gil"] = "A build with the GIL; sys._is_gil_enabled() (3.13+) confirms it is on."
    else:
        notes["gil"] = (
            "A build with the GIL; sys._is_gil_enabled() does not exist before 3.13, "
            "where free-threaded builds arrived."
        )
    return notes
