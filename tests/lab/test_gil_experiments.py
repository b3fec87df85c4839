"""The GIL lab's other experiments on the running interpreter: facts, the race, CPU work."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from app.lab import interpreters, scripts
from app.lab.facts import explain, measure_facts
from app.lab.lost_updates import measure_race
from app.lab.workloads import measure_cpu

RUNNING = interpreters.current()


def test_facts_of_the_running_interpreter() -> None:
    facts = measure_facts(RUNNING)
    assert facts.python == ".".join(map(str, sys.version_info[:3]))
    assert facts.switch_interval_ms == 5.0
    assert facts.getsizeof_2781 == sys.getsizeof(2781)
    assert facts.id_before != facts.id_after
    # An object only names refer to: the name and getrefcount's argument, then one per reference.
    assert [step.refcount for step in facts.refcount_sequence] == [2, 3, 4, 3, 2]
    notes = explain(facts)
    assert {"getsizeof", "id", "refcount_sequence", "small_int", "switch_interval", "gil"} <= set(
        notes
    )
    if sys.version_info >= (3, 12):
        assert facts.refcount_small_int_1 == 2**32 - 1
        assert "immortal" in notes["small_int"]


def test_the_seeds_2_is_the_prompts_figure_and_a_module_and_a_script_read_more(
    tmp_path: Path,
) -> None:
    """Issue 13.13: x = 2781; sys.getrefcount(x) reads 2 at the prompt, 3 in a module, 4 in a
    script. The facts script imitates the prompt and the module; check it against the real
    prompt, a real import and a real script of the same interpreter."""
    import subprocess

    facts = measure_facts(RUNNING)
    assert (
        facts.refcount_interactive_literal,
        facts.refcount_compiled_literal,
        facts.refcount_module_literal,
    ) == (2, 3, 4)
    snippet = "import sys\nx = 2781\nprint(sys.getrefcount(x))\n"
    (tmp_path / "snippet.py").write_text(snippet)
    (tmp_path / "main.py").write_text("import snippet\n")

    def run(*args: str, stdin: str = "") -> str:
        command = [sys.executable, "-I", "-B", *args]
        done = subprocess.run(
            command, cwd=tmp_path, input=stdin, capture_output=True, text=True, check=True
        )
        return done.stdout

    # The prompt echoes the value of an expression statement (its ">>>" go to stderr).
    prompt = run("-i", "-q", stdin="import sys\nx = 2781\nsys.getrefcount(x)\n")
    assert prompt.split() == [str(facts.refcount_interactive_literal)]
    # -I drops the script's directory from sys.path; -P does not exist before 3.11, so import
    # the module by adding its directory explicitly.
    imported = run("-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import snippet")
    assert imported.split() == [str(facts.refcount_compiled_literal)]
    assert run(str(tmp_path / "snippet.py")).split() == [str(facts.refcount_module_literal)]
    notes = explain(facts)["refcount_literal"]
    assert "At the interactive prompt it reads 2" in notes
    assert "In a module it reads 3" in notes
    assert "In a script it reads 4" in notes


def test_the_race_loses_updates_only_where_the_version_switches() -> None:
    call = measure_race(RUNNING, statement="call", iterations=20_000, runs=2)
    assert call.expected == 40_000
    assert all(0 <= lost <= 40_000 for lost in call.lost_updates)
    inplace = measure_race(RUNNING, statement="inplace", iterations=20_000, runs=2)
    if (3, 10) <= sys.version_info[:2] <= (3, 13):
        # No switch check between the load and the store of `n += 1` in these versions.
        assert inplace.lost_updates == (0, 0)


def test_cpu_work_reports_every_round_and_the_conditions() -> None:
    times = measure_cpu(RUNNING, count=200_000, workers=2, rounds=3)
    assert times.cpus >= 1
    assert len(times.rounds) == 3
    for spread in (times.sequential, times.threads, times.processes):
        assert spread.count == 3 and 0 < spread.low <= spread.median <= spread.high
    assert times.conditions.cpus == times.cpus
    assert times.thread_verdict().startswith("Threads: ")


def test_scripts_are_named_not_given_as_paths() -> None:
    with pytest.raises(ValueError, match="no lab script"):
        scripts.path("../../etc/passwd")
    with pytest.raises(ValueError):
        measure_race(RUNNING, statement="inplace", iterations=10**9, runs=1)


@pytest.mark.parametrize(
    "name", ["gil_slices", "python_race", "io_fetch", "cpu_work", "interpreter_facts"]
)
def test_every_script_compiles_with_36_syntax(name: str) -> None:
    # The versions page runs these under CPython 3.6+: no syntax newer than 3.6.
    import ast

    source = scripts.path(name).read_text()
    ast.parse(source, feature_version=(3, 6))


def _oldest_python() -> str | None:
    """CPython 3.6 from pyenv, where the machine has it (the versions page runs our scripts)."""
    import os
    from pathlib import Path

    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    found = sorted(root.glob("3.6.*/bin/python")) if root.is_dir() else []
    return str(found[0]) if found else None


OLDEST = _oldest_python()


@pytest.mark.skipif(OLDEST is None, reason="no CPython 3.6 under pyenv on this machine")
def test_the_scripts_run_on_python_36() -> None:
    assert OLDEST is not None
    report = scripts.run("gil_slices", 5, 100, 2, 20, timeout=20, python=OLDEST)
    assert report["python"].startswith("3.6.")
    assert len(report["threads"]) == 2
    race = scripts.run("python_race", "inplace", 1000, 1, timeout=20, python=OLDEST)
    assert len(race["runs"]) == 1
    oldest = interpreters.probe(OLDEST)
    assert oldest is not None
    facts = measure_facts(oldest)
    assert facts.python.startswith("3.6.")
    assert not facts.has_is_gil_enabled
    cpu = scripts.run("cpu_work", 100_000, 2, 1, timeout=20, python=OLDEST)
    assert len(cpu["rounds"]) == 1
