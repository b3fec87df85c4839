"""Ratios of the lock-cost table: what a page may say about "N times a plain increment"."""

from __future__ import annotations

import pytest

from app.lab.native import CostRow, Layout, relative_costs
from app.sim import Mode


def _row(mode: Mode, layout: Layout, ns: float) -> CostRow:
    return CostRow(
        mode=mode, layout=layout, threads=layout.threads, objects=layout.objects,
        samples=(ns,), thread_ns=(ns,) * layout.threads,
    )  # fmt: skip


ROWS = (
    _row(Mode.NONE, Layout.ONE_THREAD, 0.5),
    _row(Mode.ATOMIC, Layout.ONE_THREAD, 1.75),
    _row(Mode.GLOBAL_LOCK, Layout.ONE_THREAD, 7.0),
    _row(Mode.NONE, Layout.ONE_OBJECT, 2.0),
    _row(Mode.ATOMIC, Layout.ONE_OBJECT, 30.0),
)


def test_each_mode_is_divided_by_the_plain_increment_of_its_own_layout() -> None:
    alone = {cost.mode: cost.times_plain for cost in relative_costs(ROWS, Layout.ONE_THREAD)}
    assert alone == {Mode.ATOMIC: pytest.approx(3.5), Mode.GLOBAL_LOCK: pytest.approx(14.0)}
    shared = relative_costs(ROWS, Layout.ONE_OBJECT)
    assert [(cost.mode, cost.times_plain) for cost in shared] == [(Mode.ATOMIC, 15.0)]


def test_no_ratio_without_a_plain_figure_to_divide_by() -> None:
    assert relative_costs(ROWS, Layout.TWO_OBJECTS) == ()
    assert (
        relative_costs((_row(Mode.NONE, Layout.ONE_THREAD, 0.0), ROWS[1]), Layout.ONE_THREAD) == ()
    )
