"""The CPython interpreters this host can run the lab's scripts on, found once per process.

Candidates, in order of preference (the first one found of each version wins):
1. the interpreter running the server;
2. the paths in `GILLAB_PYTHONS` (separated by os.pathsep), for interpreters anywhere else;
3. pyenv's versions folder (`$PYENV_ROOT/versions/*/bin/python3`, by default under ~/.pyenv);
4. uv's managed interpreters (`uv python install 3.14t` puts them in `$UV_PYTHON_INSTALL_DIR`,
   by default ~/.local/share/uv/python);
5. every `python3.X` (and free-threaded `python3.Xt`) on PATH, except pyenv's shims, which
   only forward to the versions already found in 3.

Each candidate is probed once, in a subprocess with a timeout, by scripts/probe.py. Only CPython
3.6 and later qualifies: the lab's scripts are written for it. An interpreter is named by its
version alone ("3.12.1", "3.13.0t" for a free-threaded build); requests never carry a path, so
only the interpreters found here ever run, and only the lab's own scripts.

A free-threaded build (`Py_GIL_DISABLED`, PEP 703) is listed twice: as itself with the GIL off
("3.14.0t", run with `-X gil=0`) and with the GIL switched back on ("3.14.0t/gil", run with
`-X gil=1`, what `PYTHON_GIL=1` does: the scripts run with `-I`, which ignores PYTHON*
variables), so every experiment shows what the GIL changes on one and the same build.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import platform
import re
import subprocess
import sys
import sysconfig
from collections.abc import Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.lab import scripts

MIN_VERSION = (3, 6)
PROBE_TIMEOUT_S = 10.0
WITH_GIL = "/gil"
"""The suffix of a free-threaded build's version when it runs with its GIL on."""
# Names of interpreters looked for on PATH: python3.6 ... python3.99, and python3.13t.
_ON_PATH = re.compile(r"python3\.\d{1,2}t?")


class UnknownInterpreter(LookupError):
    """No interpreter of that version was found; `available` lists the versions that were."""

    def __init__(self, version: str, available: tuple[str, ...]) -> None:
        listing = ", ".join(available) or "none"
        super().__init__(f"no interpreter {version!r} on this host; available: {listing}")
        self.version = version
        self.available = available


@dataclass(frozen=True, slots=True, kw_only=True)
class Interpreter:
    version: str  # platform.python_version(), with "t" appended for a free-threaded build
    version_info: tuple[int, int, int]
    implementation: str
    free_threaded: bool
    gil_enabled: bool
    executable: str  # the path found and probed; internal, never shown to or taken from a request
    running: bool  # the interpreter serving this site
    forced_gil: bool = False  # a free-threaded build run with its GIL on (-X gil=1)

    @property
    def series(self) -> str:
        """ "3.12" for 3.12.1: what a visitor means by "Python 3.12"."""
        major, minor, _ = self.version_info
        return f"{major}.{minor}{'t' if self.free_threaded else ''}" + (
            WITH_GIL if self.forced_gil else ""
        )

    @property
    def options(self) -> tuple[str, ...]:
        """The `-X` options every script runs with: a free-threaded build's GIL, explicitly."""
        if not self.free_threaded:
            return ()
        return ("gil=1",) if self.forced_gil else ("gil=0",)

    def run(self, name: str, *args: object, timeout: float) -> Any:
        """Run the lab's script `name` on this interpreter (blocking); its parsed report. A
        failure names the interpreter."""
        try:
            return scripts.run(
                name, *args, timeout=timeout, python=self.executable, options=self.options
            )
        except scripts.ScriptFailed as exc:
            raise scripts.ScriptFailed(f"{name} on Python {self.version}: {exc}") from exc

    def with_gil(self) -> Interpreter:
        """This free-threaded build, run with its GIL switched on."""
        return dataclasses.replace(
            self, version=self.version + WITH_GIL, gil_enabled=True, forced_gil=True
        )


def candidates(
    *,
    extra: str = "",
    pyenv_root: Path | None = None,
    uv_root: Path | None = None,
    path: str = "",
) -> Iterator[tuple[str, bool]]:
    """(path, is-the-running-interpreter) for every place an interpreter may be, best first."""
    yield sys.executable, True
    for entry in extra.split(os.pathsep):
        if entry.strip():
            yield os.path.expanduser(entry.strip()), False
    if pyenv_root is not None:
        versions = pyenv_root / "versions"
        if versions.is_dir():
            # Newest first by name is good enough here: the table is sorted later anyway.
            for folder in sorted(versions.iterdir(), reverse=True):
                for name in ("python3", "python"):
                    binary = folder / "bin" / name
                    if binary.is_file():
                        yield str(binary), False
                        break
    if uv_root is not None and uv_root.is_dir():
        # cpython-3.14.0+freethreaded-linux-x86_64-gnu/bin/python3.14t and the like.
        for folder in sorted(uv_root.iterdir(), reverse=True):
            binaries = folder / "bin"
            if folder.name.startswith("cpython-") and binaries.is_dir():
                for name in sorted(os.listdir(binaries)):
                    if _ON_PATH.fullmatch(name):
                        yield str(binaries / name), False
    shims = (pyenv_root / "shims").resolve() if pyenv_root is not None else None
    for directory in path.split(os.pathsep):
        if not directory or not os.path.isdir(directory):
            continue
        if shims is not None and Path(directory).resolve() == shims:
            continue
        for name in sorted(os.listdir(directory)):
            if _ON_PATH.fullmatch(name):
                yield os.path.join(directory, name), False


def probe(executable: str, *, running: bool = False) -> Interpreter | None:
    """Run scripts/probe.py under `executable`; None when it is not a usable CPython 3.6+."""
    try:
        completed = subprocess.run(
            [executable, "-I", str(scripts.path("probe"))],
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
        report = json.loads(completed.stdout) if completed.returncode == 0 else None
    except (OSError, subprocess.SubprocessError, ValueError):
        return None
    if not isinstance(report, dict):
        return None
    try:
        major, minor, micro = (int(part) for part in report["version_info"])
        implementation = str(report["implementation"])
        free_threaded = bool(report["free_threaded"])
        version = str(report["version"]) + ("t" if free_threaded else "")
        gil_enabled = bool(report["gil_enabled"])
    except (KeyError, TypeError, ValueError):
        return None
    if implementation != "CPython" or (major, minor) < MIN_VERSION:
        return None
    return Interpreter(
        version=version,
        version_info=(major, minor, micro),
        implementation=implementation,
        free_threaded=free_threaded,
        gil_enabled=gil_enabled,
        # The path that was probed, never the `executable` the probe reports: only the files
        # found here (or named in GILLAB_PYTHONS) ever run.
        executable=executable,
        running=running,
    )


def discover(
    *,
    extra: str = "",
    pyenv_root: Path | None = None,
    uv_root: Path | None = None,
    path: str = "",
) -> tuple[Interpreter, ...]:
    """Probe every candidate (in parallel) and keep one interpreter per version, oldest first;
    a free-threaded build once with its GIL off and once with it on."""
    unique: dict[str, bool] = {}
    found = candidates(extra=extra, pyenv_root=pyenv_root, uv_root=uv_root, path=path)
    for candidate, running in found:
        resolved = os.path.realpath(candidate)
        if resolved not in unique and os.access(candidate, os.X_OK):
            unique[resolved] = running
    # Probe the real files (a pyenv or PATH entry may be a symlink to one probed already), but
    # the running interpreter by its own path: a venv's python behaves unlike its target.
    targets = [
        (sys.executable if running else resolved, running) for resolved, running in unique.items()
    ]
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="probe") as pool:
        probed = list(pool.map(lambda target: probe(target[0], running=target[1]), targets))
    if probed and probed[0] is None:
        # The server's own interpreter always qualifies (it runs this code), even if its probe
        # was too slow on a loaded host: describe it from the inside instead.
        probed[0] = _this_interpreter()
    return _deduplicate(interpreter for interpreter in probed if interpreter is not None)


def current() -> Interpreter:
    """The interpreter serving this site, described from the inside (no discovery needed)."""
    return _this_interpreter()


def _this_interpreter() -> Interpreter:
    free_threaded = bool(sysconfig.get_config_var("Py_GIL_DISABLED"))
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    major, minor, micro = sys.version_info[:3]
    return Interpreter(
        version=platform.python_version() + ("t" if free_threaded else ""),
        version_info=(major, minor, micro),
        implementation=platform.python_implementation(),
        free_threaded=free_threaded,
        gil_enabled=True if is_gil_enabled is None else bool(is_gil_enabled()),
        executable=sys.executable,
        running=True,
    )


def _deduplicate(interpreters: Iterable[Interpreter]) -> tuple[Interpreter, ...]:
    chosen: dict[str, Interpreter] = {}
    for interpreter in interpreters:  # best first: the first of each version stays
        chosen.setdefault(interpreter.version, interpreter)
    listed: list[Interpreter] = []
    for interpreter in sorted(chosen.values(), key=lambda one: (one.version_info, one.version)):
        if interpreter.free_threaded:
            listed += [dataclasses.replace(interpreter, gil_enabled=False), interpreter.with_gil()]
        else:
            listed.append(interpreter)
    return tuple(listed)


def _pyenv_root(environ: Mapping[str, str]) -> Path:
    return Path(environ.get("PYENV_ROOT") or Path.home() / ".pyenv")


def _uv_root(environ: Mapping[str, str]) -> Path:
    data = environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(environ.get("UV_PYTHON_INSTALL_DIR") or Path(data) / "uv" / "python")


@functools.cache
def available() -> tuple[Interpreter, ...]:
    """The interpreters of this host, discovered on first use and kept for the process."""
    environ = os.environ
    return discover(
        extra=environ.get("GILLAB_PYTHONS", ""),
        pyenv_root=_pyenv_root(environ),
        uv_root=_uv_root(environ),
        path=environ.get("PATH", ""),
    )


def running(interpreters: tuple[Interpreter, ...] | None = None) -> Interpreter:
    """The interpreter serving this site, as discovery saw it (among `interpreters`, if given)."""
    for interpreter in available() if interpreters is None else interpreters:
        if interpreter.running:
            return interpreter
    return _this_interpreter()  # not reached: the running interpreter is the first candidate


def free_threaded(interpreters: Iterable[Interpreter]) -> tuple[Interpreter, ...]:
    """The free-threaded builds among `interpreters` (each with its GIL off and on)."""
    return tuple(interpreter for interpreter in interpreters if interpreter.free_threaded)


def find(version: str, interpreters: tuple[Interpreter, ...] | None = None) -> Interpreter:
    """The interpreter of exactly that version, or of that series ("3.12") if only one matches."""
    interpreters = available() if interpreters is None else interpreters
    for interpreter in interpreters:
        if interpreter.version == version:
            return interpreter
    in_series = [interpreter for interpreter in interpreters if interpreter.series == version]
    if len(in_series) == 1:
        return in_series[0]
    raise UnknownInterpreter(version, tuple(interpreter.version for interpreter in interpreters))
