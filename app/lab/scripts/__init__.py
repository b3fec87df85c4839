"""The lab's fixed Python scripts, and how to run one in a fresh interpreter.

Each script here runs alone (`python -I script args`), on any CPython from 3.6 on, using only
the standard library, and prints one JSON object. They run in a subprocess because what they
measure is process-wide (the switch interval, the GIL itself) and must not be the server's.
Only these files ever run: callers name a script, never a path or code.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app.lab.jobs import TimedOut, WorkerDied

SCRIPTS_DIR = Path(__file__).resolve().parent
_POLL_S = 0.1  # how often a running script is checked for having ended


class ScriptFailed(Exception):
    """A lab script exited non-zero or printed no JSON."""


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
    options, such as `gil=1`); return its parsed JSON.

    The script runs in a process group of its own, and the whole group is killed once the
    script ends, is killed, or runs past `timeout`: a process it forked (cpu_work's, convoy's
    client) never outlives it, nor keeps its output pipes open, which would hold this call
    until the timeout although the script had died."""
    flags = [flag for option in options for flag in ("-X", option)]
    command = [python or sys.executable, "-I", *flags, str(path(name)), *(str(arg) for arg in args)]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                stdout, stderr = process.communicate(timeout=_POLL_S)
                break
            except subprocess.TimeoutExpired:
                if _ended(process.pid):
                    _kill_group(process.pid)  # what it left behind holds the pipes open
                elif time.monotonic() >= deadline:
                    raise TimedOut(
                        f"the experiment {name} ran past its {timeout:g} s limit"
                    ) from None
    finally:
        if process.returncode is None:  # not reaped yet, so its group's number is still its own
            _kill_group(process.pid)
            process.wait()
    if process.returncode < 0:
        raise WorkerDied(
            f"the experiment {name} was ended by {_signal_name(-process.returncode)}; run it again"
        )
    if process.returncode != 0:
        last_line = (stderr.strip().splitlines() or ["no output"])[-1]
        raise ScriptFailed(f"{name} exited with status {process.returncode}: {last_line}")
    try:
        return json.loads(stdout)
    except json.JSONDecodeError as exc:
        raise ScriptFailed(f"{name} printed no JSON") from exc


def _ended(pid: int) -> bool:
    """Whether the script has exited, without reaping it (its group's number stays reserved)."""
    return os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None


def _kill_group(group: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"
