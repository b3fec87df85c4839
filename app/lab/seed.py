"""The seed's first program exactly as written, compiled at -O0 and -O2, and run as it is.

The seed's argument starts with two pthreads doing `obj->ref_counts++` 100000 times each and
printing the count. Written that way, it barely races: gcc -O2 folds the loop into one
`addl $0x186a0,(%rdi)` per thread, and even at -O0 the second thread is usually created after
the first has finished. The lab's own race (native/race.c) therefore uses relaxed atomic loads
and stores, a start gate and pinned threads; this module shows why, with the seed's own code.

The programs and their disassembly are made when the package is built (native/seed_build.py,
setup.py's build_seed) and ship in app/lab/_seed, so a server with no compiler runs them.
Running one is a subprocess with a timeout: call `run_seed` through the lab's job runner,
never on the event loop.
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import cache
from pathlib import Path

SEED_DIR = Path(__file__).resolve().parent / "_seed"
OPTIMIZATIONS = (0, 2)
MAX_RUNS = 20
RUN_TIMEOUT_S = 5.0  # one run takes about a millisecond; this only bounds a hung one
CORRECT_COUNT = 200_001  # the initial reference plus 100000 from each thread


class SeedUnavailable(RuntimeError):
    """The package was built without the seed's programs, or one of them failed to run."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SeedProgram:
    opt: int
    compiler: str  # the first line of `cc --version`
    source: str  # native/seed.c, as compiled
    function_asm: tuple[str, ...]  # objdump's listing of the thread function `increase`
    loop_asm: tuple[str, ...]  # its counting loop (the whole function when the loop is gone)
    loop_folded: bool  # the compiler left no loop: one add of 100000 per thread
    binary: Path


@cache
def program(opt: int) -> SeedProgram:
    if opt not in OPTIMIZATIONS:
        raise ValueError(f"opt must be one of {', '.join(map(str, OPTIMIZATIONS))}, got {opt}")
    try:
        manifest = json.loads((SEED_DIR / "seed.json").read_text())
    except (OSError, ValueError) as error:
        message = f"the seed's programs were not built with this package: {error}"
        raise SeedUnavailable(message) from error
    entry = next(p for p in manifest["programs"] if p["opt"] == opt)
    return SeedProgram(
        opt=opt,
        compiler=manifest["compiler"],
        source=manifest["source"],
        function_asm=tuple(entry["function_asm"]),
        loop_asm=tuple(entry["loop_asm"]),
        loop_folded=entry["loop_folded"],
        binary=SEED_DIR / entry["binary"],
    )


def run_seed(opt: int, runs: int) -> tuple[int, ...]:
    """The count the program printed, once per run (blocking: a subprocess each)."""
    if not 1 <= runs <= MAX_RUNS:
        raise ValueError(f"runs must be from 1 to {MAX_RUNS}, got {runs}")
    binary = program(opt).binary
    counts = []
    for _ in range(runs):
        try:
            done = subprocess.run(
                [binary], capture_output=True, text=True, timeout=RUN_TIMEOUT_S, check=True
            )
            counts.append(int(done.stdout.strip()))
        except (OSError, subprocess.SubprocessError, ValueError) as error:
            raise SeedUnavailable(f"the seed's -O{opt} program did not run: {error}") from error
    return tuple(counts)
