"""The lab's fixed Python scripts, and how to run one in a fresh interpreter.

Each script here runs alone (`python -I script args`), on any CPython from 3.6 on, using only
the standard library, and prints one JSON object. They run in a subprocess because what they
measure is process-wide (the switch interval, the GIL itself) and must not be the server's.
Only these files ever run: callers name a script, never a path or code.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.lab.jobs import TimedOut

SCRIPTS_DIR = Path(__file__).resolve().parent


class ScriptFailed(Exception):
    """A lab script exited non-zero, printed no JSON, or printed a report its reader could not
    read."""


def path(name: str) -> Path:
    """The file of script `name` (e.g. "gil_slices"), for runs under other interpreters."""
    script = SCRIPTS_DIR / f"{name}.py"
    if not script.is_file():
        raise ValueError(f"no lab script named {name!r}")
    return script


def run(
    name: str,
    *args: object,
    timeout: float,
    python: str | None = None,
    options: Sequence[str] = (),
) -> Any:
    """Run script `name` with `args` in a fresh isolated interpreter (`options` are its `-X`
    options, such as `gil=1`); return its parsed JSON."""
    flags = [flag for option in options for flag in ("-X", option)]
    command = [python or sys.executable, "-I", *flags, str(path(name)), *(str(arg) for arg in args)]
    try:
        completed = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise TimedOut(f"the experiment {name} ran past its {timeout:g} s limit") from exc
    if completed.returncode != 0:
        last_line = (completed.stderr.strip().splitlines() or ["no output"])[-1]
        raise ScriptFailed(f"{name} exited with status {completed.returncode}: {last_line}")
    try:
        return json.loads(completed.stdout)
    except json.JSONDecodeError as exc:
        raise ScriptFailed(f"{name} printed no JSON") from exc
