"""The simulator one step at a time: the whole state after every step, for each scenario and
mode, including the seed's own stories. Rows read as tests/sim/trace.py describes."""

from __future__ import annotations

import pytest

from app.sim import Config, Machine, Mode, Scenario, ScheduleError, Thread, simulate
from tests.sim.trace import trace

CASES = [
    pytest.param(
        Config(scenario=Scenario("inc-inc"), mode=Mode("none"), n=1),
        "ABABAB",
        [
            "A read:2 rc=1 reg=1/- lock=- gil=- freed=0 [A ready 2, B ready 2]",
            "B read:2 rc=1 reg=1/1 lock=- gil=- freed=0 [A ready 2, B ready 2]",
            "A add:2 rc=1 reg=2/1 lock=- gil=- freed=0 [A ready 2, B ready 2]",
            "B add:2 rc=1 reg=2/2 lock=- gil=- freed=0 [A ready 2, B ready 2]",
            "A write:2 rc=2 reg=2/2 lock=- gil=- freed=0 [A finished -, B ready 2]",
            "B write:2 rc=2 reg=2/2 lock=- gil=- freed=0 [A finished -, B finished -] lost-update",
        ],
        (2, False, 0, 0, 1, False),
        id="inc-inc none: two unlocked incrementers lose an update: rc ends at 2, not 3",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-inc"), mode=Mode("global-lock"), n=1),
        "A",
        [
            "A lock:2 rc=1 reg=-/- lock=A gil=- freed=0 [A ready 3, B blocked 2]",
            "A read:3 rc=1 reg=1/- lock=A gil=- freed=0 [A ready 3, B blocked 2]",
            "A add:3 rc=1 reg=2/- lock=A gil=- freed=0 [A ready 3, B blocked 2]",
            "A write:3 rc=2 reg=2/- lock=A gil=- freed=0 [A ready 4, B blocked 2]",
            "A unlock:4 rc=2 reg=2/- lock=- gil=- freed=0 [A finished -, B ready 2]",
            "B lock:2 rc=2 reg=2/- lock=B gil=- freed=0 [A finished -, B ready 3]",
            "B read:3 rc=2 reg=2/2 lock=B gil=- freed=0 [A finished -, B ready 3]",
            "B add:3 rc=2 reg=2/3 lock=B gil=- freed=0 [A finished -, B ready 3]",
            "B write:3 rc=3 reg=2/3 lock=B gil=- freed=0 [A finished -, B ready 4]",
            "B unlock:4 rc=3 reg=2/3 lock=- gil=- freed=0 [A finished -, B finished -]",
        ],
        (3, False, 0, 0, 0, True),
        id="inc-inc global-lock: B is blocked while A holds the lock; the pair reaches 2n+1",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-inc"), mode=Mode("object-lock"), n=1),
        "A5B",
        [
            "A lock:2 rc=1 reg=-/- lock=A gil=- freed=0 [A ready 3, B blocked 2]",
            "A read:3 rc=1 reg=1/- lock=A gil=- freed=0 [A ready 3, B blocked 2]",
            "A add:3 rc=1 reg=2/- lock=A gil=- freed=0 [A ready 3, B blocked 2]",
            "A write:3 rc=2 reg=2/- lock=A gil=- freed=0 [A ready 4, B blocked 2]",
            "A unlock:4 rc=2 reg=2/- lock=- gil=- freed=0 [A finished -, B ready 2]",
            "B lock:2 rc=2 reg=2/- lock=B gil=- freed=0 [A finished -, B ready 3]",
            "B read:3 rc=2 reg=2/2 lock=B gil=- freed=0 [A finished -, B ready 3]",
            "B add:3 rc=2 reg=2/3 lock=B gil=- freed=0 [A finished -, B ready 3]",
            "B write:3 rc=3 reg=2/3 lock=B gil=- freed=0 [A finished -, B ready 4]",
            "B unlock:4 rc=3 reg=2/3 lock=- gil=- freed=0 [A finished -, B finished -]",
        ],
        (3, False, 0, 0, 0, True),
        id="inc-inc object-lock: the same with the mutex inside the object",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-inc"), mode=Mode("atomic"), n=2),
        "ABAB",
        [
            "A atomic-add:2 rc=2 reg=2/- lock=- gil=- freed=0 [A ready 2, B ready 2]",
            "B atomic-add:2 rc=3 reg=2/3 lock=- gil=- freed=0 [A ready 2, B ready 2]",
            "A atomic-add:2 rc=4 reg=4/3 lock=- gil=- freed=0 [A finished -, B ready 2]",
            "B atomic-add:2 rc=5 reg=4/5 lock=- gil=- freed=0 [A finished -, B finished -]",
        ],
        (5, False, 0, 0, 0, True),
        id="inc-inc atomic: atomic adds interleave freely and lose nothing",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-inc"), mode=Mode("gil"), n=2, interval=3),
        None,
        [
            "A read:2 rc=1 reg=1/- lock=- gil=A freed=0 [A ready 2, B waiting-gil 2]",
            "A add:2 rc=1 reg=2/- lock=- gil=A freed=0 [A ready 2, B waiting-gil 2]",
            "A write:2 rc=2 reg=2/- lock=- gil=A freed=0 [A waiting-gil 2, B ready 2]",
            "B read:2 rc=2 reg=2/2 lock=- gil=B freed=0 [A waiting-gil 2, B ready 2]",
            "B add:2 rc=2 reg=2/3 lock=- gil=B freed=0 [A waiting-gil 2, B ready 2]",
            "B write:2 rc=3 reg=2/3 lock=- gil=B freed=0 [A ready 2, B waiting-gil 2]",
            "A read:2 rc=3 reg=3/3 lock=- gil=A freed=0 [A ready 2, B waiting-gil 2]",
            "A add:2 rc=3 reg=4/3 lock=- gil=A freed=0 [A ready 2, B waiting-gil 2]",
            "A write:2 rc=4 reg=4/3 lock=- gil=A freed=0 [A finished -, B ready 2]",
            "B read:2 rc=4 reg=4/4 lock=- gil=B freed=0 [A finished -, B ready 2]",
            "B add:2 rc=4 reg=4/5 lock=- gil=B freed=0 [A finished -, B ready 2]",
            "B write:2 rc=5 reg=4/5 lock=- gil=B freed=0 [A finished -, B finished -]",
        ],
        (5, False, 0, 0, 0, True),
        id="inc-inc gil: the GIL changes hands only between whole calls, every 3 steps here",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-dec"), mode=Mode("none"), n=1),
        "B6A",
        [
            "B check:2 rc=1 reg=-/- lock=- gil=- freed=0 [A ready 2, B ready 4]",
            "B read:4 rc=1 reg=-/1 lock=- gil=- freed=0 [A ready 2, B ready 4]",
            "B sub:4 rc=1 reg=-/0 lock=- gil=- freed=0 [A ready 2, B ready 4]",
            "B write:4 rc=0 reg=-/0 lock=- gil=- freed=0 [A ready 2, B ready 5]",
            "B test:5 rc=0 reg=-/0 lock=- gil=- freed=0 [A ready 2, B ready 6]",
            "B free:6 rc=0 reg=-/0 lock=- gil=- freed=1 [A ready 2, B finished -] freed",
            "A check:2 rc=0 reg=-/0 lock=- gil=- freed=1 [A failed -, B finished -] use-after-free,failed-check",
        ],
        (0, True, 1, 0, 0, False),
        id="inc-dec none: the seed's 'safe' second outcome: A's check reads freed memory: not correct",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-dec"), mode=Mode("none"), n=1),
        "AABBBBBBAA",
        [
            "A check:2 rc=1 reg=-/- lock=- gil=- freed=0 [A ready 4, B ready 2]",
            "A read:4 rc=1 reg=1/- lock=- gil=- freed=0 [A ready 4, B ready 2]",
            "B check:2 rc=1 reg=1/- lock=- gil=- freed=0 [A ready 4, B ready 4]",
            "B read:4 rc=1 reg=1/1 lock=- gil=- freed=0 [A ready 4, B ready 4]",
            "B sub:4 rc=1 reg=1/0 lock=- gil=- freed=0 [A ready 4, B ready 4]",
            "B write:4 rc=0 reg=1/0 lock=- gil=- freed=0 [A ready 4, B ready 5]",
            "B test:5 rc=0 reg=1/0 lock=- gil=- freed=0 [A ready 4, B ready 6]",
            "B free:6 rc=0 reg=1/0 lock=- gil=- freed=1 [A ready 4, B finished -] freed",
            "A add:4 rc=0 reg=2/0 lock=- gil=- freed=1 [A ready 4, B finished -]",
            "A write:4 rc=2 reg=2/0 lock=- gil=- freed=1 [A finished -, B finished -] use-after-free,lost-update",
        ],
        (2, True, 1, 0, 1, False),
        id="inc-dec none: A read before the free and writes after it",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-dec"), mode=Mode("global-lock"), n=1),
        "B",
        [
            "B lock:2 rc=1 reg=-/- lock=B gil=- freed=0 [A blocked 2, B ready 3]",
            "B check:3 rc=1 reg=-/- lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B read:7 rc=1 reg=-/1 lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B sub:7 rc=1 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B write:7 rc=0 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 8]",
            "B test:8 rc=0 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 9]",
            "B free:9 rc=0 reg=-/0 lock=B gil=- freed=1 [A blocked 2, B ready 10] freed",
            "B unlock:10 rc=0 reg=-/0 lock=- gil=- freed=1 [A ready 2, B finished -]",
            "A lock:2 rc=0 reg=-/0 lock=A gil=- freed=1 [A ready 3, B finished -]",
            "A check:3 rc=0 reg=-/0 lock=A gil=- freed=1 [A ready 4, B finished -] use-after-free,failed-check",
            "A unlock:4 rc=0 reg=-/0 lock=- gil=- freed=1 [A failed -, B finished -]",
        ],
        (0, True, 1, 0, 0, False),
        id="inc-dec global-lock: locked inc-dec: B frees, A's check still reads freed memory",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-dec"), mode=Mode("global-lock"), n=1),
        "A",
        [
            "A lock:2 rc=1 reg=-/- lock=A gil=- freed=0 [A ready 3, B blocked 2]",
            "A check:3 rc=1 reg=-/- lock=A gil=- freed=0 [A ready 7, B blocked 2]",
            "A read:7 rc=1 reg=1/- lock=A gil=- freed=0 [A ready 7, B blocked 2]",
            "A add:7 rc=1 reg=2/- lock=A gil=- freed=0 [A ready 7, B blocked 2]",
            "A write:7 rc=2 reg=2/- lock=A gil=- freed=0 [A ready 8, B blocked 2]",
            "A unlock:8 rc=2 reg=2/- lock=- gil=- freed=0 [A finished -, B ready 2]",
            "B lock:2 rc=2 reg=2/- lock=B gil=- freed=0 [A finished -, B ready 3]",
            "B check:3 rc=2 reg=2/- lock=B gil=- freed=0 [A finished -, B ready 7]",
            "B read:7 rc=2 reg=2/2 lock=B gil=- freed=0 [A finished -, B ready 7]",
            "B sub:7 rc=2 reg=2/1 lock=B gil=- freed=0 [A finished -, B ready 7]",
            "B write:7 rc=1 reg=2/1 lock=B gil=- freed=0 [A finished -, B ready 8]",
            "B test:8 rc=1 reg=2/1 lock=B gil=- freed=0 [A finished -, B ready 13]",
            "B unlock:13 rc=1 reg=2/1 lock=- gil=- freed=0 [A finished -, B finished -]",
        ],
        (1, False, 0, 0, 0, True),
        id="inc-dec global-lock: locked inc-dec, A first: the seed's first outcome",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-dec"), mode=Mode("object-lock"), n=1),
        "B",
        [
            "B lock:2 rc=1 reg=-/- lock=B gil=- freed=0 [A blocked 2, B ready 3]",
            "B check:3 rc=1 reg=-/- lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B read:7 rc=1 reg=-/1 lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B sub:7 rc=1 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B write:7 rc=0 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 8]",
            "B test:8 rc=0 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 9]",
            "B free:9 rc=0 reg=-/0 lock=B gil=- freed=1 [A blocked 2, B ready 10] freed",
            "B unlock:10 rc=0 reg=-/0 lock=- gil=- freed=1 [A ready 2, B finished -] use-after-free",
            "A lock:2 rc=0 reg=-/0 lock=A gil=- freed=1 [A ready 3, B finished -] use-after-free",
            "A check:3 rc=0 reg=-/0 lock=A gil=- freed=1 [A ready 4, B finished -] use-after-free,failed-check",
            "A unlock:4 rc=0 reg=-/0 lock=- gil=- freed=1 [A failed -, B finished -] use-after-free",
        ],
        (0, True, 4, 0, 0, False),
        id="inc-dec object-lock: the mutex lives in the freed object: unlock and lock touch freed memory",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-dec"), mode=Mode("atomic"), n=1),
        "ABBB",
        [
            "A check:2 rc=1 reg=-/- lock=- gil=- freed=0 [A ready 4, B ready 2]",
            "B check:2 rc=1 reg=-/- lock=- gil=- freed=0 [A ready 4, B ready 4]",
            "B atomic-sub:4 rc=0 reg=-/0 lock=- gil=- freed=0 [A ready 4, B ready 5]",
            "B free:5 rc=0 reg=-/0 lock=- gil=- freed=1 [A ready 4, B finished -] freed",
            "A atomic-add:4 rc=1 reg=1/0 lock=- gil=- freed=1 [A finished -, B finished -] use-after-free",
        ],
        (1, True, 1, 0, 0, False),
        id="inc-dec atomic: check-then-act: A's check passed before B freed",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-dec"), mode=Mode("gil"), n=1, interval=5),
        None,
        [
            "A check:2 rc=1 reg=-/- lock=- gil=A freed=0 [A ready 4, B waiting-gil 2]",
            "A read:4 rc=1 reg=1/- lock=- gil=A freed=0 [A ready 4, B waiting-gil 2]",
            "A add:4 rc=1 reg=2/- lock=- gil=A freed=0 [A ready 4, B waiting-gil 2]",
            "A write:4 rc=2 reg=2/- lock=- gil=A freed=0 [A finished -, B ready 2]",
            "B check:2 rc=2 reg=2/- lock=- gil=B freed=0 [A finished -, B ready 4]",
            "B read:4 rc=2 reg=2/2 lock=- gil=B freed=0 [A finished -, B ready 4]",
            "B sub:4 rc=2 reg=2/1 lock=- gil=B freed=0 [A finished -, B ready 4]",
            "B write:4 rc=1 reg=2/1 lock=- gil=B freed=0 [A finished -, B ready 5]",
            "B test:5 rc=1 reg=2/1 lock=- gil=B freed=0 [A finished -, B finished -]",
        ],
        (1, False, 0, 0, 0, True),
        id="inc-dec gil: under the GIL the pair ends as the seed's first outcome",
    ),
    pytest.param(
        Config(scenario=Scenario("dec-dec"), mode=Mode("none"), n=1),
        "AAAABBBBBBAA",
        [
            "A check:2 rc=2 reg=-/- lock=- gil=- freed=0 [A ready 4, B ready 2]",
            "A read:4 rc=2 reg=2/- lock=- gil=- freed=0 [A ready 4, B ready 2]",
            "A sub:4 rc=2 reg=1/- lock=- gil=- freed=0 [A ready 4, B ready 2]",
            "A write:4 rc=1 reg=1/- lock=- gil=- freed=0 [A ready 5, B ready 2]",
            "B check:2 rc=1 reg=1/- lock=- gil=- freed=0 [A ready 5, B ready 4]",
            "B read:4 rc=1 reg=1/1 lock=- gil=- freed=0 [A ready 5, B ready 4]",
            "B sub:4 rc=1 reg=1/0 lock=- gil=- freed=0 [A ready 5, B ready 4]",
            "B write:4 rc=0 reg=1/0 lock=- gil=- freed=0 [A ready 5, B ready 5]",
            "B test:5 rc=0 reg=1/0 lock=- gil=- freed=0 [A ready 5, B ready 6]",
            "B free:6 rc=0 reg=1/0 lock=- gil=- freed=1 [A ready 5, B finished -] freed",
            "A test:5 rc=0 reg=1/0 lock=- gil=- freed=1 [A ready 6, B finished -] use-after-free",
            "A free:6 rc=0 reg=1/0 lock=- gil=- freed=1 [A finished -, B finished -] double-free",
        ],
        (0, True, 1, 1, 0, False),
        id="dec-dec none: both threads see zero: the object is freed twice",
    ),
    pytest.param(
        Config(scenario=Scenario("dec-dec"), mode=Mode("global-lock"), n=1),
        None,
        [
            "A lock:2 rc=2 reg=-/- lock=A gil=- freed=0 [A ready 3, B blocked 2]",
            "A check:3 rc=2 reg=-/- lock=A gil=- freed=0 [A ready 7, B blocked 2]",
            "A read:7 rc=2 reg=2/- lock=A gil=- freed=0 [A ready 7, B blocked 2]",
            "A sub:7 rc=2 reg=1/- lock=A gil=- freed=0 [A ready 7, B blocked 2]",
            "A write:7 rc=1 reg=1/- lock=A gil=- freed=0 [A ready 8, B blocked 2]",
            "A test:8 rc=1 reg=1/- lock=A gil=- freed=0 [A ready 13, B blocked 2]",
            "A unlock:13 rc=1 reg=1/- lock=- gil=- freed=0 [A finished -, B ready 2]",
            "B lock:2 rc=1 reg=1/- lock=B gil=- freed=0 [A finished -, B ready 3]",
            "B check:3 rc=1 reg=1/- lock=B gil=- freed=0 [A finished -, B ready 7]",
            "B read:7 rc=1 reg=1/1 lock=B gil=- freed=0 [A finished -, B ready 7]",
            "B sub:7 rc=1 reg=1/0 lock=B gil=- freed=0 [A finished -, B ready 7]",
            "B write:7 rc=0 reg=1/0 lock=B gil=- freed=0 [A finished -, B ready 8]",
            "B test:8 rc=0 reg=1/0 lock=B gil=- freed=0 [A finished -, B ready 9]",
            "B free:9 rc=0 reg=1/0 lock=B gil=- freed=1 [A finished -, B ready 10] freed",
            "B unlock:10 rc=0 reg=1/0 lock=- gil=- freed=1 [A finished -, B finished -]",
        ],
        (0, True, 0, 0, 0, True),
        id="dec-dec global-lock: locked decrements free exactly once",
    ),
    pytest.param(
        Config(scenario=Scenario("dec-dec"), mode=Mode("atomic"), n=1),
        "ABAB",
        [
            "A check:2 rc=2 reg=-/- lock=- gil=- freed=0 [A ready 4, B ready 2]",
            "B check:2 rc=2 reg=-/- lock=- gil=- freed=0 [A ready 4, B ready 4]",
            "A atomic-sub:4 rc=1 reg=1/- lock=- gil=- freed=0 [A finished -, B ready 4]",
            "B atomic-sub:4 rc=0 reg=1/0 lock=- gil=- freed=0 [A finished -, B ready 5]",
            "B free:5 rc=0 reg=1/0 lock=- gil=- freed=1 [A finished -, B finished -] freed",
        ],
        (0, True, 0, 0, 0, True),
        id="dec-dec atomic: atomic_fetch_sub tells exactly one thread it reached zero",
    ),
    pytest.param(
        Config(scenario=Scenario("dec-dec"), mode=Mode("unlock-then-free"), n=1),
        "A7B8",
        [
            "A lock:2 rc=2 reg=-/- lock=A gil=- freed=0 [A ready 3, B blocked 2]",
            "A check:3 rc=2 reg=-/- lock=A gil=- freed=0 [A ready 7, B blocked 2]",
            "A read:7 rc=2 reg=2/- lock=A gil=- freed=0 [A ready 7, B blocked 2]",
            "A sub:7 rc=2 reg=1/- lock=A gil=- freed=0 [A ready 7, B blocked 2]",
            "A write:7 rc=1 reg=1/- lock=A gil=- freed=0 [A ready 8, B blocked 2]",
            "A test:8 rc=1 reg=1/- lock=A gil=- freed=0 [A ready 13, B blocked 2]",
            "A unlock:13 rc=1 reg=1/- lock=- gil=- freed=0 [A finished -, B ready 2]",
            "B lock:2 rc=1 reg=1/- lock=B gil=- freed=0 [A finished -, B ready 3]",
            "B check:3 rc=1 reg=1/- lock=B gil=- freed=0 [A finished -, B ready 7]",
            "B read:7 rc=1 reg=1/1 lock=B gil=- freed=0 [A finished -, B ready 7]",
            "B sub:7 rc=1 reg=1/0 lock=B gil=- freed=0 [A finished -, B ready 7]",
            "B write:7 rc=0 reg=1/0 lock=B gil=- freed=0 [A finished -, B ready 8]",
            "B test:8 rc=0 reg=1/0 lock=B gil=- freed=0 [A finished -, B ready 9]",
            "B unlock:9 rc=0 reg=1/0 lock=- gil=- freed=0 [A finished -, B ready 10]",
            "B free:10 rc=0 reg=1/0 lock=- gil=- freed=1 [A finished -, B finished -] freed",
        ],
        (0, True, 0, 0, 0, True),
        id="dec-dec unlock-then-free: the last owner unlocks, then frees: no access to freed memory",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-dec"), mode=Mode("unlock-then-free"), n=1),
        "B7A3B1",
        [
            "B lock:2 rc=1 reg=-/- lock=B gil=- freed=0 [A blocked 2, B ready 3]",
            "B check:3 rc=1 reg=-/- lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B read:7 rc=1 reg=-/1 lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B sub:7 rc=1 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B write:7 rc=0 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 8]",
            "B test:8 rc=0 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 9]",
            "B unlock:9 rc=0 reg=-/0 lock=- gil=- freed=0 [A ready 2, B ready 10]",
            "A lock:2 rc=0 reg=-/0 lock=A gil=- freed=0 [A ready 3, B ready 10]",
            "A check:3 rc=0 reg=-/0 lock=A gil=- freed=0 [A ready 4, B ready 10] failed-check",
            "A unlock:4 rc=0 reg=-/0 lock=- gil=- freed=0 [A failed -, B ready 10]",
            "B free:10 rc=0 reg=-/0 lock=- gil=- freed=1 [A failed -, B finished -] freed",
        ],
        (0, True, 0, 0, 0, False),
        id="inc-dec unlock-then-free: A slips in between B's unlock and free and reads 0 before the free: no use after free, yet A touched an object it held no reference to",
    ),
    pytest.param(
        Config(scenario=Scenario("inc-dec"), mode=Mode("unlock-then-free"), n=1),
        "B7A1B1A2",
        [
            "B lock:2 rc=1 reg=-/- lock=B gil=- freed=0 [A blocked 2, B ready 3]",
            "B check:3 rc=1 reg=-/- lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B read:7 rc=1 reg=-/1 lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B sub:7 rc=1 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 7]",
            "B write:7 rc=0 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 8]",
            "B test:8 rc=0 reg=-/0 lock=B gil=- freed=0 [A blocked 2, B ready 9]",
            "B unlock:9 rc=0 reg=-/0 lock=- gil=- freed=0 [A ready 2, B ready 10]",
            "A lock:2 rc=0 reg=-/0 lock=A gil=- freed=0 [A ready 3, B ready 10]",
            "B free:10 rc=0 reg=-/0 lock=A gil=- freed=1 [A ready 3, B finished -] freed",
            "A check:3 rc=0 reg=-/0 lock=A gil=- freed=1 [A ready 4, B finished -] use-after-free,failed-check",
            "A unlock:4 rc=0 reg=-/0 lock=- gil=- freed=1 [A failed -, B finished -] use-after-free",
        ],
        (0, True, 2, 0, 0, False),
        id="inc-dec unlock-then-free: B frees while A holds the lock inside the object: A's check and unlock touch freed memory",
    ),
]


@pytest.mark.parametrize(("config", "schedule", "expected_steps", "expected_outcome"), CASES)
def test_every_step_and_the_outcome(
    config: Config,
    schedule: str | None,
    expected_steps: list[str],
    expected_outcome: tuple[int, bool, int, int, int, bool],
) -> None:
    run = simulate(config, schedule)
    assert trace(run) == expected_steps
    outcome = run.outcome
    assert (
        outcome.final_rc,
        outcome.freed,
        outcome.use_after_free,
        outcome.double_free,
        outcome.lost_updates,
        outcome.correct,
    ) == expected_outcome


def test_a_blocked_thread_cannot_be_chosen_and_the_state_is_unchanged() -> None:
    machine = Machine(Config(scenario=Scenario.INC_INC, mode=Mode.GLOBAL_LOCK, n=1))
    state, _ = machine.advance(machine.initial(), Thread.A, index=1)
    with pytest.raises(ScheduleError, match="step 2: thread B is blocked: A holds the lock"):
        machine.advance(state, Thread.B, index=2)
    assert state.lock is Thread.A and state.b.pc == 0 and state.rc == 1


@pytest.mark.parametrize(
    ("config", "schedule", "message"),
    [
        (
            Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=1),
            "A4",
            "step 4: thread A has finished",
        ),
        (
            Config(scenario=Scenario.INC_DEC, mode=Mode.NONE, n=1),
            "B6A2",
            "step 8: both threads have finished after 7 steps",
        ),
        (
            Config(scenario=Scenario.INC_INC, mode=Mode.GIL, n=2, interval=3),
            "A3A",
            "step 4: thread A is waiting for the GIL, which B holds",
        ),
        (
            Config(scenario=Scenario.INC_DEC, mode=Mode.NONE, n=1),
            "B6AB",
            "step 8: both threads have finished",
        ),
        (
            Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=1),
            "AXB",
            "found 'XB' at character 2",
        ),
        (Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=1), "A0", "run lengths"),
    ],
)
def test_bad_schedules_name_the_step(config: Config, schedule: str, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        simulate(config, schedule)


def test_without_a_schedule_threads_alternate_one_step_at_a_time() -> None:
    run = simulate(Config(scenario=Scenario.INC_INC, mode=Mode.NONE, n=1))
    assert run.schedule == "A1B1A1B1A1B1"


def test_a_seed_chooses_the_rest_deterministically() -> None:
    config = Config(scenario=Scenario.DEC_DEC, mode=Mode.NONE, n=3)
    first, second = simulate(config, "A2", seed=7), simulate(config, "A2", seed=7)
    assert first == second
    assert first.schedule.startswith("A")
    schedules = {simulate(config, None, seed=seed).schedule for seed in range(20)}
    assert len(schedules) > 10  # the seed really chooses


def test_the_gil_keeps_the_holder_running_until_the_interval_then_switches_at_a_call() -> None:
    run = simulate(Config(scenario=Scenario.DEC_DEC, mode=Mode.GIL, n=3, interval=4))
    # dec_ref is 5 steps (check, read, sub, write, test) until the free: each thread runs one
    # whole call (5 >= 4 steps) and hands the GIL over at the call boundary.
    assert run.schedule.startswith("A5B5A5B5")
    assert all(step.gil is step.thread for step in run.steps)
