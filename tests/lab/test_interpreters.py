"""Interpreter discovery, on the interpreters this host really has and on fake ones."""

from __future__ import annotations

import json
import os
import platform
import stat
import sys
from pathlib import Path

import pytest

from app.lab import interpreters, scripts
from app.lab.interpreters import Interpreter, UnknownInterpreter
from tests.lab import rows


def _fake_python(folder: Path, name: str, report: dict[str, object]) -> Path:
    """A shell script that answers the probe like an interpreter would."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / name
    script.write_text(f"#!/bin/sh\necho '{json.dumps(report)}'\n")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script


def _report(
    version: str, *, implementation: str = "CPython", free_threaded: bool = False
) -> dict[str, object]:
    major, minor, micro = (int(part) for part in version.split("."))
    return {
        "version": version,
        "version_info": [major, minor, micro],
        "implementation": implementation,
        "free_threaded": free_threaded,
        "gil_enabled": not free_threaded,
        "executable": f"/opt/fake/python{major}.{minor}",
    }


def test_the_running_interpreter_is_found_first_and_marked() -> None:
    found = interpreters.available()
    running = interpreters.running()
    assert running in found
    assert running.running
    assert running.version == platform.python_version()
    assert running.implementation == "CPython"
    assert sum(1 for interpreter in found if interpreter.running) == 1


def test_every_interpreter_found_is_cpython_3_6_or_later_once_per_version() -> None:
    found = interpreters.available()
    versions = [interpreter.version for interpreter in found]
    assert len(versions) == len(set(versions))
    assert all(interpreter.implementation == "CPython" for interpreter in found)
    assert all(interpreter.version_info >= (3, 6, 0) for interpreter in found)
    assert [interpreter.version_info for interpreter in found] == sorted(
        interpreter.version_info for interpreter in found
    )


def test_discovery_is_cached_for_the_process() -> None:
    assert interpreters.available() is interpreters.available()


def test_the_same_interpreter_listed_twice_is_probed_as_one() -> None:
    found = interpreters.discover(
        extra=os.pathsep.join([sys.executable, os.path.realpath(sys.executable)])
    )
    assert [interpreter.version for interpreter in found] == [platform.python_version()]


def test_paths_that_are_no_interpreter_are_ignored(tmp_path: Path) -> None:
    not_python = tmp_path / "python3.42"
    not_python.write_text("#!/bin/sh\nexit 3\n")
    not_python.chmod(0o755)
    found = interpreters.discover(extra=os.pathsep.join([str(not_python), "/no/such/python"]))
    assert [interpreter.version for interpreter in found] == [platform.python_version()]


def test_python_2_pypy_and_old_python_3_are_excluded(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _fake_python(bin_dir, "python3.5", _report("3.5.10"))
    _fake_python(bin_dir, "python3.9", _report("3.9.1", implementation="PyPy"))
    legacy = _fake_python(tmp_path / "legacy", "python", _report("2.7.18"))
    found = interpreters.discover(extra=str(legacy), path=str(bin_dir))
    assert [interpreter.version for interpreter in found] == [platform.python_version()]


def test_path_pyenv_and_the_setting_are_all_searched(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    _fake_python(bin_dir, "python3.14t", _report("3.14.0", free_threaded=True))
    _fake_python(bin_dir, "python3.14-config", _report("3.14.1"))  # not an interpreter name
    pyenv = tmp_path / "pyenv"
    _fake_python(pyenv / "versions" / "3.8.99" / "bin", "python3", _report("3.8.99"))
    _fake_python(pyenv / "shims", "python3.7", _report("3.7.99"))  # shims only forward
    extra = _fake_python(tmp_path / "elsewhere", "python", _report("3.12.99"))
    found = interpreters.discover(
        extra=str(extra),
        pyenv_root=pyenv,
        path=os.pathsep.join([str(bin_dir), str(pyenv / "shims")]),
    )
    versions = [interpreter.version for interpreter in found]
    assert "3.14.0t" in versions
    assert "3.8.99" in versions
    assert "3.12.99" in versions
    assert "3.14.1" not in versions
    assert "3.7.99" not in versions
    free = next(interpreter for interpreter in found if interpreter.version == "3.14.0t")
    assert free.free_threaded and not free.gil_enabled
    assert free.series == "3.14t"


def test_the_first_candidate_of_a_version_wins(tmp_path: Path) -> None:
    first = _fake_python(tmp_path / "a", "python", _report("3.12.99"))
    second = _fake_python(tmp_path / "b", "python", _report("3.12.99"))
    found = interpreters.discover(extra=os.pathsep.join([str(first), str(second)]))
    (chosen,) = (interpreter for interpreter in found if interpreter.version == "3.12.99")
    assert chosen.executable == os.path.realpath(first)  # the file found, not what it said
    assert len(found) == 2


def test_only_the_path_found_ever_runs_never_the_one_the_probe_reports(tmp_path: Path) -> None:
    """Issue 16.8: an interpreter that reports another `executable` must not get that other
    file run as the lab's Python."""
    other = _fake_python(tmp_path / "other", "python", _report("3.12.98"))
    lie = {**_report("3.12.99"), "executable": str(other)}
    liar = _fake_python(tmp_path / "liar", "python", lie)
    (found,) = (i for i in interpreters.discover(extra=str(liar)) if i.version == "3.12.99")
    assert found.executable == os.path.realpath(liar)


def test_find_by_exact_version_or_by_an_unambiguous_series() -> None:
    found = (rows.interpreter("3.9.18"), rows.interpreter("3.11.2"), rows.interpreter("3.11.7"))
    assert interpreters.find("3.11.2", found).version == "3.11.2"
    assert interpreters.find("3.9", found).version == "3.9.18"
    with pytest.raises(UnknownInterpreter) as ambiguous:
        interpreters.find("3.11", found)
    assert ambiguous.value.available == ("3.9.18", "3.11.2", "3.11.7")


def test_an_unknown_version_lists_the_available_ones() -> None:
    with pytest.raises(UnknownInterpreter) as unknown:
        interpreters.find("2.7")
    message = str(unknown.value)
    for interpreter in interpreters.available():
        assert interpreter.version in message


def _several() -> tuple[Interpreter, ...]:
    found = interpreters.available()
    if len(found) < 2:
        pytest.skip(
            "only one interpreter on this host; install more with pyenv or list them in "
            "GILLAB_PYTHONS to test discovery across versions"
        )
    return found


def test_every_other_interpreter_was_probed_in_its_own_process() -> None:
    for interpreter in _several():
        if not interpreter.running:
            assert Path(interpreter.executable).is_file()
            assert interpreters.probe(interpreter.executable) == interpreter


def test_each_interpreter_is_found_by_its_version() -> None:
    for interpreter in _several():
        assert interpreters.find(interpreter.version) == interpreter


def test_a_free_threaded_build_is_listed_with_its_gil_off_and_on(tmp_path: Path) -> None:
    """Any interpreter whose build has Py_GIL_DISABLED counts, whatever its name."""
    free = _fake_python(tmp_path / "custom", "python", _report("3.14.0", free_threaded=True))
    found = interpreters.discover(extra=str(free))
    versions = [interpreter.version for interpreter in found]
    assert versions[-2:] == ["3.14.0t", "3.14.0t/gil"]
    off, on = found[-2:]
    assert (off.free_threaded, off.gil_enabled, off.forced_gil, off.options) == (
        True, False, False, ("gil=0",),
    )  # fmt: skip
    assert (on.free_threaded, on.gil_enabled, on.forced_gil, on.options) == (
        True, True, True, ("gil=1",),
    )  # fmt: skip
    assert (off.series, on.series) == ("3.14t", "3.14t/gil")
    assert interpreters.find("3.14t/gil", found) == on
    assert interpreters.free_threaded(found) == (off, on)
    assert interpreters.current().options == ()  # a build with a GIL gets no -X gil


def test_uvs_managed_interpreters_are_searched(tmp_path: Path) -> None:
    uv = tmp_path / "uv" / "python"
    folder = uv / "cpython-3.14.0+freethreaded-linux-x86_64-gnu" / "bin"
    _fake_python(folder, "python3.14t", _report("3.14.0", free_threaded=True))
    _fake_python(uv / ".lock" / "bin", "python3.13", _report("3.13.99"))  # not an install
    found = interpreters.discover(uv_root=uv)
    assert [i.version for i in found if not i.running] == ["3.14.0t", "3.14.0t/gil"]


def test_scripts_run_with_the_interpreters_gil_option(tmp_path: Path) -> None:
    """The scripts run with -I, which ignores PYTHON_GIL: the GIL is set with -X gil=."""
    log = tmp_path / "argv"
    stand_in = tmp_path / "python3.14t"
    stand_in.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho "{{}}"\n')
    stand_in.chmod(stand_in.stat().st_mode | stat.S_IXUSR)
    free = rows.interpreter(
        "3.14.0t", free_threaded=True, gil_enabled=False, executable=str(stand_in)
    )
    assert free.run("probe", timeout=10) == {}
    assert free.with_gil().run("probe", "x", timeout=10) == {}
    off, on = log.read_text().splitlines()
    assert off.startswith("-I -X gil=0 ") and off.endswith("probe.py")
    assert on.startswith("-I -X gil=1 ") and on.endswith("probe.py x")


def test_a_failing_script_names_the_interpreter(tmp_path: Path) -> None:
    broken = tmp_path / "python3.13"
    broken.write_text("#!/bin/sh\necho 'Fatal Python error' >&2\nexit 1\n")
    broken.chmod(broken.stat().st_mode | stat.S_IXUSR)
    failing = rows.interpreter("3.13.0", executable=str(broken))
    with pytest.raises(scripts.ScriptFailed, match=r"^probe on Python 3\.13\.0: .*Fatal Python"):
        failing.run("probe", timeout=10)
