"""What interpreter is this? Printed as one JSON object for GIL Lab's interpreter discovery.

Usage: python -I probe.py

Reports the version, the implementation, whether this is a free-threaded build
(`Py_GIL_DISABLED`, PEP 703) and whether the GIL is enabled right now (`sys._is_gil_enabled()`,
3.13+; a build with the GIL has it always on). Written so that any Python, even 2.7, runs it
and reports itself: discovery, not this script, decides which interpreters qualify.
"""

import json
import os
import platform
import sys
import sysconfig


def main():  # type: () -> None
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    print(
        json.dumps(
            {
                "version": platform.python_version(),
                "version_info": list(sys.version_info[:3]),
                "implementation": platform.python_implementation(),
                "free_threaded": bool(sysconfig.get_config_var("Py_GIL_DISABLED")),
                "gil_enabled": True if is_gil_enabled is None else bool(is_gil_enabled()),
                "executable": os.path.realpath(sys.executable),
            }
        )
    )


if __name__ == "__main__":
    main()
