"""The running interpreter's facts behind the classic story of reference counts and the GIL.

Usage: python -I interpreter_facts.py

Prints one JSON object: the version and build, the default switch interval, whether the GIL
is enabled, sys.getsizeof of an int, id() before and after rebinding a name, and the
sys.getrefcount of one object as names and containers come and go. The values differ between
versions (the page explains each); this script only reports them.

Standard library only, no syntax newer than 3.6: every CPython from 3.6 on runs this file.
"""

import json
import platform
import sys
import sysconfig
from typing import Any, Dict, List

# The seed's snippet as a script runs it, at module level. The literal 2781 is also held by
# the module's code object (its constants) and, while a script runs, by the parser's arena
# (pyrun_file in Python/pythonrun.c frees it only after the script ends): 4, not the 2 quoted.
x = 2781
MODULE_LITERAL_REFCOUNT = sys.getrefcount(x)


def compiled_literal_refcount() -> int:
    """The snippet as an imported module's code runs it: compiled first (the parse tree is
    gone), then executed: the name, the code object's constant, the argument."""
    namespace = {"sys": sys}  # type: Dict[str, Any]
    exec(compile("x = 2782\nr = sys.getrefcount(x)\n", "<module>", "exec"), namespace)
    return int(namespace["r"])


def interactive_literal_refcount() -> int:
    """The snippet typed at the interactive prompt: each statement is compiled and run on its
    own, so the code holding the constant 2783 is gone when getrefcount runs: the name and
    the argument."""
    namespace = {"sys": sys}  # type: Dict[str, Any]
    exec(compile("x = 2783\n", "<stdin>", "single"), namespace)
    exec(compile("r = sys.getrefcount(x)\n", "<stdin>", "single"), namespace)
    return int(namespace["r"])


def refcount_sequence() -> List[Dict[str, Any]]:
    """getrefcount of one int as references are added and dropped, and what each step did."""
    # Built at run time, so no code object's constants hold it: only our names do.
    a = int("2781")
    steps = [{"code": "a = int('2781')", "refcount": sys.getrefcount(a)}]
    b = a
    steps.append({"code": "b = a", "refcount": sys.getrefcount(a)})
    box = [a]
    steps.append({"code": "box = [a]", "refcount": sys.getrefcount(a)})
    del b
    steps.append({"code": "del b", "refcount": sys.getrefcount(a)})
    del box
    steps.append({"code": "del box", "refcount": sys.getrefcount(a)})
    return steps


def rebinding() -> Dict[str, Any]:
    x = int("2781")
    before = id(x)
    x = x + 1
    after = id(x)
    return {"before": before, "after": after, "same": before == after, "value_after": x}


def main() -> None:
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    small = 1
    print(
        json.dumps(
            {
                "python": platform.python_version(),
                "implementation": platform.python_implementation(),
                "executable": sys.executable,
                "free_threaded": free_threaded,
                "gil_enabled": True if is_gil_enabled is None else bool(is_gil_enabled()),
                "has_is_gil_enabled": is_gil_enabled is not None,
                "switch_interval_s": sys.getswitchinterval(),
                "getsizeof_2781": sys.getsizeof(int("2781")),
                "getsizeof_1": sys.getsizeof(small),
                "getsizeof_2_to_64": sys.getsizeof(2**64),
                "id_rebinding": rebinding(),
                "refcount_sequence": refcount_sequence(),
                "refcount_module_literal": MODULE_LITERAL_REFCOUNT,
                "refcount_compiled_literal": compiled_literal_refcount(),
                "refcount_interactive_literal": interactive_literal_refcount(),
                "refcount_small_int_1": sys.getrefcount(small),
                "refcount_none": sys.getrefcount(None),
                "small_int_cached": (small + 0) is (int("1")),
                "pointer_bits": sys.maxsize.bit_length() + 1,
            }
        )
    )


if __name__ == "__main__":
    main()
