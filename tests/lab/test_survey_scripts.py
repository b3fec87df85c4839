"""The lab's scripts must run on every interpreter discovery accepts, down to CPython 3.6."""

from __future__ import annotations

import subprocess

import pytest

from app.lab import interpreters, scripts

# Loading each script as a module (not as __main__) compiles it and evaluates its definitions:
# enough to catch newer syntax (walrus, f-string `=`, match) and annotations such as
# `list[int]`, which 3.6 evaluates when a function is defined. Running them is other tests' job.
_CHECK = (
    "import sys\n"
    "for path in sys.argv[1:]:\n"
    "    exec(compile(open(path).read(), path, 'exec'), {'__name__': 'checked'})\n"
)


def test_every_script_loads_on_the_oldest_interpreter() -> None:
    oldest = interpreters.available()[0]
    if oldest.running:
        pytest.skip("only the running interpreter here; install 3.6 with pyenv to check older ones")
    paths = sorted(
        str(path) for path in scripts.SCRIPTS_DIR.glob("*.py") if path.name != "__init__.py"
    )
    completed = subprocess.run(
        [oldest.executable, "-I", "-c", _CHECK, *paths],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert completed.returncode == 0, f"Python {oldest.version}: {completed.stderr}"


def test_the_convoy_script_runs_on_the_oldest_interpreter() -> None:
    oldest = interpreters.available()[0]
    report = scripts.run("convoy", 0.1, timeout=30, python=oldest.executable)
    assert report["python"] == oldest.version.removesuffix("t")
    assert report["idle_trips"] > 0
    assert report["loaded_trips"] > 0
