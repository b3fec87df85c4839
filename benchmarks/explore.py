"""Explorer speed: for each scenario, mode and n = 1..12, the time to count every schedule
exactly, the distinct merged states, the number of schedules, and, where brute force is
feasible (at most ~200,000 schedules), how much slower walking every schedule one by one is.

    .venv/bin/python benchmarks/explore.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app.sim import MAX_N_EXPLORE, Config, Mode, Scenario, TooLarge, explore
from tests.sim.brute import enumerate_schedules

BRUTE_FORCE_LIMIT = 200_000


def main() -> None:
    print(
        f"{'scenario':8} {'mode':12} {'n':>2} {'time s':>8} {'states':>8} {'schedules':>38} "
        f"{'brute/explorer':>14}"
    )
    for scenario in Scenario:
        for mode in Mode:
            for n in range(1, MAX_N_EXPLORE + 1):
                explore.cache_clear()
                started = time.process_time()
                try:
                    exploration = explore(scenario, mode, n)
                except TooLarge as refused:
                    print(f"{scenario:8} {mode:12} {n:>2} refused: {refused}")
                    break
                elapsed = time.process_time() - started
                ratio = ""
                if exploration.total <= BRUTE_FORCE_LIMIT:
                    started = time.process_time()
                    enumerate_schedules(Config(scenario=scenario, mode=mode, n=n))
                    ratio = f"{(time.process_time() - started) / max(elapsed, 1e-6):.1f}x"
                print(
                    f"{scenario:8} {mode:12} {n:>2} {elapsed:8.3f} {exploration.states:8d} "
                    f"{exploration.total:38d} {ratio:>14}",
                    flush=True,
                )


if __name__ == "__main__":
    main()
