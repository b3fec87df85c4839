"""Lock costs through the app, the same machine code run standalone, and the biased-counting
figures issue 14 asks for.

The app side is GET /api/native/cost, in-process through FastAPI, the JobRunner's worker
process, the typed wrapper and cffi. The standalone side is a small C program that loads the
app's own compiled extension (app/_native*.so, with RTLD_LAZY: its Python entry points are never
called) and calls the same `race_cost` function. So both sides run the same machine code,
compiled once with the same flags, timed by the same clock reads inside race_cost, pinned by
the same code, in the same order (every cell once per pass, `--repeats` passes), and both
report the median pass per cell. What still differs, and is what the ratio measures: the
process around the call (a CPython interpreter in a pool worker at nice 10 against a bare C
process; the racer threads lower themselves to nice 19 on both sides) and the moment (the two
sides alternate, `--rounds` times each).

Usage:

    .venv/bin/python benchmarks/native.py [--iterations 200000] [--repeats 5] [--rounds 3]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from fastapi.testclient import TestClient

import app._native
from app.lab import native
from app.lab.native import Layout
from app.main import create_app
from app.sim import Mode
from app.web.infra.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
NATIVE = ROOT / "native"

MAIN_C = r"""
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include "race.h"

/* argv: extension iterations repeats, then a mode and a layout code per cell. Prints one line
 * "pass cell ns_per_op" per measurement, passes outside, cells inside, as cost_table runs. */
int main(int argc, char **argv) {
    void *extension = dlopen(argv[1], RTLD_LAZY | RTLD_LOCAL);
    if (extension == NULL) {
        fprintf(stderr, "%s\n", dlerror());
        return 2;
    }
    int (*cost)(int, int, long, race_cost_result *) =
        (int (*)(int, int, long, race_cost_result *))dlsym(extension, "race_cost");
    if (cost == NULL) return 2;
    long iterations = atol(argv[2]);
    int repeats = atoi(argv[3]), cells = (argc - 4) / 2;
    race_cost_result result;
    for (int pass = 0; pass < repeats; pass++)
        for (int cell = 0; cell < cells; cell++) {
            if (cost(atoi(argv[4 + 2 * cell]), atoi(argv[5 + 2 * cell]), iterations, &result))
                return 3;
            printf("%d %d %.6f\n", pass, cell, result.ns_per_op);
        }
    return 0;
}
"""

Cell = tuple[str, str]  # (mode, layout)
CELLS = [
    (mode, layout) for mode in native.COST_MODES for layout in Layout if layout.measures(mode)
]


def _code(name: str) -> int:
    return int(getattr(app._native.lib, name))


def _build_standalone(directory: Path) -> Path:
    compiler = shutil.which("gcc") or shutil.which("cc")
    if compiler is None:
        sys.exit("no C compiler (gcc or cc) on PATH")
    (directory / "main.c").write_text(MAIN_C)
    program = directory / "race-standalone"
    subprocess.run(
        [compiler, "-O2", f"-I{NATIVE}", "main.c", "-o", str(program), "-ldl"],
        cwd=directory, check=True,
    )  # fmt: skip
    return program


def _standalone(program: Path, iterations: int, repeats: int) -> dict[Cell, list[float]]:
    codes = [str(_code(f"RACE_{part.name}")) for cell in CELLS for part in cell]
    output = subprocess.run(
        [str(program), app._native.__file__, str(iterations), str(repeats), *codes],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    samples: dict[Cell, list[float]] = {(mode.value, layout.value): [] for mode, layout in CELLS}
    for line in output.splitlines():
        _, cell, ns = line.split()
        mode, layout = CELLS[int(cell)]
        samples[(mode.value, layout.value)].append(float(ns))
    return samples


Samples = dict[Cell, list[float]]


def _app(client: TestClient, iterations: int, repeats: int) -> tuple[Samples, Samples, str]:
    response = client.get(
        "/api/native/cost", params={"iterations": iterations, "repeats": repeats}
    )
    response.raise_for_status()
    body = response.json()
    walls = {(row["mode"], row["layout"]): row["samples"] for row in body["rows"]}
    threads = {(row["mode"], row["layout"]): row["thread_ns"] for row in body["rows"]}
    busy = "; ".join(body["conditions"]["reasons"])
    return walls, threads, busy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, default=200_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    cpus = native.cpu_count()
    print(f"CPUs available: {cpus}" + ("  (one CPU: two-thread figures are not parallel)"
                                       if cpus < 2 else ""))  # fmt: skip
    print(f"load average at start: {os.getloadavg()[0]:.1f}")
    print(f"{args.iterations:,} calls per thread per cell, {args.repeats} passes per round, "
          f"{args.rounds} rounds per side, alternating; median of all passes\n")  # fmt: skip

    app_walls: dict[Cell, list[float]] = {}
    app_threads: dict[Cell, list[list[float]]] = {}
    c_walls: dict[Cell, list[float]] = {}
    busy_rounds = []
    with tempfile.TemporaryDirectory(prefix="gil-lab-bench-") as temporary:
        program = _build_standalone(Path(temporary))
        with TestClient(create_app(Settings())) as client:
            for _ in range(args.rounds):
                walls, threads, busy = _app(client, args.iterations, args.repeats)
                if busy:
                    busy_rounds.append(busy)
                for cell, samples in walls.items():
                    app_walls.setdefault(cell, []).extend(samples)
                    app_threads.setdefault(cell, []).append(threads[cell])
                for cell, samples in _standalone(program, args.iterations, args.repeats).items():
                    c_walls.setdefault(cell, []).extend(samples)

    app = {cell: statistics.median(samples) for cell, samples in app_walls.items()}
    c = {cell: statistics.median(samples) for cell, samples in c_walls.items()}
    header = (f"{'layout':<14} {'mode':<12} {'thr':>3} {'app ns/op':>10} {'app range':>17} "
              f"{'C ns/op':>9} {'ratio':>6}")  # fmt: skip
    print(header)
    print("-" * len(header))
    ratios = []
    for layout in Layout:
        for mode in native.COST_MODES:
            if not layout.measures(mode):
                continue
            cell = (mode.value, layout.value)
            ratio = app[cell] / c[cell]
            ratios.append(ratio)
            low, high = min(app_walls[cell]), max(app_walls[cell])
            new = "  *" if mode in (Mode.BIASED, Mode.IMMORTAL) else ""
            print(f"{layout.value:<14} {mode.value:<12} {layout.threads:>3} {app[cell]:>10.2f} "
                  f"{f'{low:.2f}-{high:.2f}':>17} {c[cell]:>9.2f} {ratio:>6.3f}{new}")  # fmt: skip
        print()
    print("* new in issue 14: CPython 3.13t's biased reference counting and immortal objects")
    geometric = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    print(f"\nratio app / standalone: geometric mean {geometric:.3f}, "
          f"median {statistics.median(ratios):.3f}, "
          f"range {min(ratios):.3f} to {max(ratios):.3f}")
    one_thread = [app[(m.value, "one-thread")] / c[(m.value, "one-thread")]
                  for m in native.COST_MODES]  # fmt: skip
    print(f"one-thread cells only (least disturbed by other load): "
          f"{', '.join(f'{r:.3f}' for r in one_thread)}")
    if busy_rounds:
        print(f"\nBUSY: {len(busy_rounds)} of {args.rounds} app rounds ran while {busy_rounds[0]}")

    plain = app[("none", "one-thread")]
    owner = app[("biased", "one-thread")]
    contended = app[("atomic", "one-object")]
    shared = [statistics.median(t[i] for t in app_threads[("biased", "one-object")])
              for i in range(2)]  # fmt: skip
    print("\nBiased reference counting, measured in this run (app side, medians):")
    print(f"  owner alone            {owner:7.2f} ns = {owner / plain:.2f}x a plain increment "
          f"({plain:.2f} ns; target within 2x)")
    print(f"  contended atomic       {contended:7.2f} ns: the owner alone costs "
          f"{owner / contended:.3f} of it (target: clearly below)")
    print(f"  owner + another thread: the owner {shared[0]:.2f} ns per call, "
          f"the other {shared[1]:.2f} ns")
    print(f"  another thread alone   {app[('biased', 'not-owner')]:7.2f} ns (an atomic add; "
          f"atomic alone {app[('atomic', 'one-thread')]:.2f} ns)")
    print(f"  immortal check alone   {app[('immortal', 'one-thread')]:7.2f} ns, "
          f"two threads on one object {app[('immortal', 'one-object')]:.2f} ns")


if __name__ == "__main__":
    main()
