"""Lock costs through the app, and what the app's harness adds to them.

Prints the lock-cost table as GET /api/native/cost measures it (in-process, through FastAPI,
the JobRunner, the typed wrapper and cffi), then compiles the same native/race.c with a small
main() in a temporary directory and measures every cell again as a standalone program. The
ratio app / standalone should be within 1.05: the harness must add nothing measurable.

Each side runs `--repeats` times, alternating, and each cell keeps its fastest time (the other
processes on the machine only ever add time). Usage:

    .venv/bin/python benchmarks/native.py [--iterations 300000] [--repeats 15]
"""

from __future__ import annotations

import argparse
import math
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

from app.lab import native
from app.lab.native import Layout
from app.main import create_app
from app.web.infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "native"

MAIN_C = r"""
#include <stdio.h>
#include <stdlib.h>
#include "race.h"

/* Every mode in every layout, in the app's order: one line "mode layout ns" each. Each cell
 * runs once untimed first: a fresh process starts cold (page faults, a sleepy CPU clock),
 * while the app's process has long been warm. */
int main(int argc, char **argv) {
    long iterations = argc > 1 ? atol(argv[1]) : 1000000;
    for (int mode = RACE_NONE; mode <= RACE_ATOMIC; mode++)
        for (int layout = RACE_ONE_THREAD; layout <= RACE_FALSE_SHARING; layout++) {
            race_cost(mode, layout, iterations);
            printf("%d %d %.6f\n", mode, layout, race_cost(mode, layout, iterations));
        }
    return 0;
}
"""

Cell = tuple[str, str]  # (mode, layout)


def _build_standalone(directory: Path) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        sys.exit("no C compiler (gcc or cc) on PATH")
    (directory / "main.c").write_text(MAIN_C)
    program = directory / "race-standalone"
    subprocess.run(
        [compiler, "-O2", "-pthread", "-std=c11", f"-I{NATIVE}", "main.c",
         str(NATIVE / "race.c"), "-o", str(program)],
        cwd=directory, check=True,
    )  # fmt: skip
    return program


def _standalone_pass(program: Path, iterations: int) -> dict[Cell, float]:
    output = subprocess.run(
        [str(program), str(iterations)], capture_output=True, text=True, check=True
    ).stdout
    modes = [mode.value for mode in native.NATIVE_MODES]
    layouts = [layout.value for layout in Layout]
    cells: dict[Cell, float] = {}
    for line in output.splitlines():
        mode, layout, ns = line.split()
        cells[(modes[int(mode)], layouts[int(layout)])] = float(ns)
    return cells


def _app_pass(client: TestClient, iterations: int) -> dict[Cell, float]:
    response = client.get("/api/native/cost", params={"iterations": iterations})
    response.raise_for_status()
    return {(row["mode"], row["layout"]): row["ns_per_op"] for row in response.json()["rows"]}


def _fastest(passes: list[dict[Cell, float]]) -> dict[Cell, float]:
    return {cell: min(p[cell] for p in passes) for cell in passes[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=15)
    args = parser.parse_args()

    cpus = native.cpu_count()
    print(f"CPUs available: {cpus}" + ("  (one CPU: two-thread figures are not parallel)"
                                       if cpus < 2 else ""))
    print(f"{args.iterations:,} calls per thread per cell, fastest of {args.repeats} passes\n")

    app_passes: list[dict[Cell, float]] = []
    standalone_passes: list[dict[Cell, float]] = []
    with tempfile.TemporaryDirectory(prefix="gil-lab-bench-") as temporary:
        program = _build_standalone(Path(temporary))
        with TestClient(create_app(Settings())) as client:
            for _ in range(args.repeats):
                app_passes.append(_app_pass(client, args.iterations))
                standalone_passes.append(_standalone_pass(program, args.iterations))
    app, standalone = _fastest(app_passes), _fastest(standalone_passes)

    header = f"{'mode':<12} {'layout':<14} {'thr':>3} {'obj':>3} {'app ns/op':>10} " \
             f"{'C ns/op':>9} {'ratio':>6}"  # fmt: skip
    print(header)
    print("-" * len(header))
    ratios = []
    for mode in native.NATIVE_MODES:
        for layout in Layout:
            cell = (mode.value, layout.value)
            ratio = app[cell] / standalone[cell]
            ratios.append(ratio)
            print(f"{mode.value:<12} {layout.value:<14} {layout.threads:>3} {layout.objects:>3} "
                  f"{app[cell]:>10.2f} {standalone[cell]:>9.2f} {ratio:>6.3f}")  # fmt: skip
    geometric = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"\nratio app / standalone: geometric mean {geometric:.3f}, "
          f"median {statistics.median(ratios):.3f}, "
          f"range {min(ratios):.3f} to {max(ratios):.3f} (aim: within 1.05)")
    one_thread = [app[(m.value, "one-thread")] / standalone[(m.value, "one-thread")]
                  for m in native.NATIVE_MODES]  # fmt: skip
    print(f"one-thread cells only (least disturbed by other load): "
          f"{', '.join(f'{r:.3f}' for r in one_thread)}")


if __name__ == "__main__":
    main()
