"""The seed's first program, built with the package: its loop as compiled, and its runs."""

from __future__ import annotations

import re

import pytest

from app.lab import seed


def test_at_O0_the_loop_loads_adds_and_stores_the_count_on_every_pass() -> None:
    program = seed.program(0)
    assert not program.loop_folded
    assert program.compiler.split()[0] in {"gcc", "cc", "clang"}
    body = [line.split(": ", 1)[1] for line in program.loop_asm]
    # The loop ends at its backward jump, and the count goes through a register.
    assert re.match(r"j\w+ +[0-9a-f]+ <increase\+0x[0-9a-f]+>", body[-1]), body
    assert set(program.loop_asm) <= set(program.function_asm)
    assert len(program.loop_asm) < len(program.function_asm)  # the prologue is not the loop


def test_at_O2_no_loop_is_left_one_add_of_100000_per_thread() -> None:
    program = seed.program(2)
    assert program.loop_folded
    assert program.loop_asm == program.function_asm
    adds = [line for line in program.loop_asm if "$0x186a0," in line]  # 100000
    assert len(adds) == 1 and " add" in adds[0], program.loop_asm
    assert not any(re.search(r": j", line) for line in program.loop_asm)


def test_the_source_compiled_is_the_seeds_program() -> None:
    source = seed.program(0).source
    assert "obj->ref_counts++;" in source and "i < 100000" in source
    assert source.count("pthread_create(") == 2


@pytest.mark.parametrize("opt", seed.OPTIMIZATIONS)
def test_each_build_runs_and_prints_a_count(opt: int) -> None:
    counts = seed.run_seed(opt, 3)
    assert len(counts) == 3
    # Lost updates can only lower the count (down to 2 in the worst interleaving).
    assert all(2 <= count <= seed.CORRECT_COUNT for count in counts), counts


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError, match="opt"):
        seed.program(1)
    with pytest.raises(ValueError, match="runs"):
        seed.run_seed(2, seed.MAX_RUNS + 1)
