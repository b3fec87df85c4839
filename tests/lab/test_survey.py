"""The survey's experiments on the running interpreter, and what they say about any version.
Each experiment is its own module taking the interpreter; the survey composes them."""

from __future__ import annotations

import os
import sys

import pytest

from app.lab import convoy, facts, gil, interpreters, lost_updates, survey
from app.lab.convoy import ConvoyResult, measure_convoy
from app.lab.facts import measure_facts
from app.lab.interpreters import Interpreter
from app.lab.lost_updates import RaceResult, Statement, measure_race
from app.lab.scripts import ScriptFailed
from app.lab.workloads import CpuTimes
from tests.lab import rows

RUNNING = interpreters.current()


def test_the_race_reports_one_count_per_run_within_bounds() -> None:
    result = measure_race(RUNNING, statement="call", runs=2, iterations=20_000)
    assert result.iterations == 20_000 and result.python == RUNNING.version
    assert len(result.lost_updates) == 2
    assert all(0 <= lost <= 2 * 20_000 for lost in result.lost_updates)


@pytest.mark.skipif(
    sys.version_info < (3, 10) or not getattr(sys, "_is_gil_enabled", lambda: True)(),
    reason="only from 3.10 on, with the GIL, is n += 1 never interrupted midway",
)
def test_n_plus_equals_one_loses_nothing_from_3_10_on() -> None:
    result = measure_race(RUNNING, statement="inplace", runs=2, iterations=100_000)
    assert result.lost_updates == (0, 0)


def test_the_race_refuses_unbounded_work() -> None:
    with pytest.raises(ValueError, match="runs"):
        measure_race(RUNNING, statement="call", runs=50)
    with pytest.raises(ValueError, match="statement"):
        measure_race(RUNNING, statement="n = 0", runs=1)  # type: ignore[arg-type]


def test_the_reference_count_facts_of_the_running_interpreter() -> None:
    measured = measure_facts(RUNNING)
    assert measured.refcount_fresh_int == 2  # the name and getrefcount's argument
    assert measured.switch_interval_ms == pytest.approx(sys.getswitchinterval() * 1000)
    assert measured.getsizeof_2781 == sys.getsizeof(2781)
    if sys.version_info >= (3, 12):
        assert measured.refcount_small_int_1 == 2**32 - 1  # immortal


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="the convoy needs two cores")
def test_a_cpu_bound_thread_delays_the_echo_by_about_a_switch_interval() -> None:
    # Who takes the GIL next is not fair: on a busy host the echo thread sometimes finds it
    # free (the spinner woken but not yet on a core), and a run's median can fall between the
    # two. Up to three runs, then: the effect must show clearly in one of them.
    results = []
    for _ in range(3):
        result = measure_convoy(RUNNING, interval_ms=5.0)
        results.append(result)
        # Alone: tens of microseconds; beside the spinner: about one 5 ms interval.
        if result.loaded_rtt_ms > 2.0 and result.loaded_rtt_ms > 10 * result.idle_rtt_ms:
            return
    pytest.fail(f"no convoy in three runs: {results}")


def test_the_convoy_refuses_intervals_outside_the_list() -> None:
    with pytest.raises(ValueError, match="interval_ms"):
        measure_convoy(RUNNING, interval_ms=0.001)


def _race(statement: Statement, *lost: int, python: str = "3.12.1", gil: bool = True) -> RaceResult:
    return RaceResult(
        python=python, gil_enabled=gil, switch_interval_ms=5.0, statement=statement,
        iterations=1000, lost_updates=lost,
    )  # fmt: skip


def explain_race(interpreter: Interpreter, race: RaceResult) -> str:
    return lost_updates.explain(interpreter, race)


def test_explanations_follow_the_version_and_the_measurement() -> None:
    old, new = rows.interpreter("3.9.18"), rows.interpreter("3.12.1")
    old_race = _race("inplace", 700, 5, python="3.9.18")
    assert "except right after a FAST_DISPATCH one" in explain_race(old, old_race)
    assert "any two bytecodes" not in explain_race(old, old_race)
    assert "back-edges and at RESUME" in explain_race(new, _race("inplace", 0, 0))
    ten = rows.interpreter("3.10.13")
    assert "after a call returns" in explain_race(ten, _race("inplace", 0, 0, python="3.10.13"))
    # An unexpected loss is reported as such, not explained away.
    assert "something else switched" in explain_race(new, _race("inplace", 3, 0))
    assert "every version" in explain_race(new, _race("call", 400, 0))
    free = rows.interpreter("3.13.0", free_threaded=True, gil_enabled=False)
    assert "No GIL" in explain_race(free, _race("inplace", 900, 800, python="3.13.0", gil=False))
    # The same free-threaded build run with -X gil=1 is explained as a build with a GIL.
    with_gil = free.with_gil()
    assert "No GIL" not in explain_race(with_gil, _race("inplace", 0, 0, python="3.13.0"))


def test_the_convoy_sentence_says_which_intervals_waited() -> None:
    results = (
        ConvoyResult(interval_ms=5.0, idle_rtt_ms=0.02, loaded_rtt_ms=5.1),
        ConvoyResult(interval_ms=1.0, idle_rtt_ms=0.02, loaded_rtt_ms=0.03),
        ConvoyResult(interval_ms=0.1, idle_rtt_ms=0.02, loaded_rtt_ms=4.15),
    )
    sentence = convoy.explain(rows.interpreter("3.12.1"), results)
    assert "about a switch interval for the GIL (5.10 ms at 5 ms)" in sentence
    assert "did not wait (0.030 ms at 1 ms)" in sentence
    assert "far longer than the interval (4.15 ms at 0.1 ms)" in sentence


def test_the_slice_sentence_says_when_slices_stretch_past_the_interval() -> None:
    assert "about one switch interval" in gil.explain_median_slice(5.1, 5.0)
    assert "2.4 times the switch interval" in gil.explain_median_slice(12.0, 5.0)


def test_the_survey_composes_every_experiment_on_one_interpreter() -> None:
    row = survey.measure_row(RUNNING, runs=1)
    assert row.errors == (), row.errors
    assert [race.statement for race in row.races] == list(lost_updates.STATEMENTS)
    assert row.facts is not None and row.facts.python == RUNNING.version
    assert row.median_slice_ms is not None and row.median_slice_ms > 0
    assert row.cpu is not None and row.cpu.gil_enabled and row.cpu.workers == survey.CPU_WORKERS
    assert [result.interval_ms for result in row.convoy] == list(convoy.INTERVALS_MS)
    why = survey.explain(row)
    assert any(sentence.startswith("Threads: ") for sentence in why)
    # One explainer per fact, the one that checks the version (issue 18 item 2).
    assert facts.explain(row.facts)["small_int"] in why


def test_a_failing_experiment_spoils_only_its_cell(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(interpreter: Interpreter, **_: object) -> CpuTimes:
        raise ScriptFailed("cpu_work exited with status 1: boom")

    monkeypatch.setattr(survey.workloads, "measure_cpu", broken)
    row = survey.measure_row(RUNNING, runs=1, convoy_intervals_ms=())  # the CPU cell is the point
    assert row.cpu is None and row.races and row.facts is not None
    assert row.errors == (f"CPU-bound threads on Python {RUNNING.version}: cpu_work exited "
                          "with status 1: boom",)  # fmt: skip


def test_the_cpu_sentence_says_whether_threads_ran_at_once() -> None:
    free = rows.interpreter("3.14.0", free_threaded=True, gil_enabled=False)
    fast = rows.row_of(free, thread_speedup=1.95).cpu
    slow = rows.row_of(free, thread_speedup=1.0).cpu
    held = rows.row_of(free.with_gil(), thread_speedup=1.0).cpu
    assert fast is not None and slow is not None and held is not None
    assert "with no GIL the 2 threads ran Python at the same moment" in fast.thread_verdict()
    assert "did not clearly run at once" in slow.thread_verdict()
    assert "one slice at a time" in held.thread_verdict()


def test_the_int_header_word_after_the_type_is_lv_tag_from_312() -> None:
    """Issue 13.10: from 3.12 the third word of an int is lv_tag (digit count << 3 | sign),
    not a size; up to 3.11 it is ob_size, the signed digit count."""
    new = facts.int_layout((3, 12), 28)
    old = facts.int_layout((3, 11), 28)
    assert "lv_tag" in new and "not a size" in new and "ob_size" not in new
    assert "ob_size" in old and "lv_tag" not in old
    assert "layout differs" in facts.int_layout((3, 12), 32)


def test_a_convoy_measured_while_the_server_was_busy_says_so() -> None:
    from app.lab.conditions import Conditions

    busy = Conditions(cpus=2, load_average=7.5, other_jobs=0)
    results = (
        ConvoyResult(interval_ms=5.0, idle_rtt_ms=0.02, loaded_rtt_ms=5.1, conditions=busy),
        ConvoyResult(interval_ms=1.0, idle_rtt_ms=0.02, loaded_rtt_ms=1.1, conditions=None),
    )
    sentence = convoy.explain(rows.interpreter("3.12.1"), results)
    assert sentence.endswith(
        "Measured while the server was busy (the load average was 7.5 on 2 CPUs)."
    )
    quiet = (ConvoyResult(interval_ms=5.0, idle_rtt_ms=0.02, loaded_rtt_ms=5.1),)
    assert "busy" not in convoy.explain(rows.interpreter("3.12.1"), quiet)
