"""The GIL lab's chart geometry is derived from the records: lanes, bars and the time axis."""

from __future__ import annotations

import pytest

from app.lab.gil import Run, derive_timeline
from app.web.gil.charts import (
    LEFT,
    MAX_DRAWN_SLICES,
    RIGHT,
    WIDTH,
    bar_chart,
    median_length,
    simulated_slices,
    timeline_chart,
)

MS = 1_000_000


def test_one_lane_per_thread_and_one_bar_per_slice() -> None:
    runs = [Run(thread=i % 2, start_ns=i * 5 * MS, end_ns=(i + 1) * 5 * MS) for i in range(4)]
    chart = timeline_chart(derive_timeline(runs, interval_ms=5, duration_ms=20, threads=2))
    assert [lane.name for lane in chart.lanes] == ["A", "B"]
    assert [bar.lane for bar in chart.bars] == ["A", "B", "A", "B"]
    plot = WIDTH - LEFT - RIGHT
    assert chart.bars[1].x == LEFT + plot / 4
    assert chart.bars[1].width == plot / 4
    assert chart.ticks[0].label == "0"
    assert chart.ticks[-1].x == WIDTH - RIGHT
    assert not chart.truncated


def test_a_run_with_too_many_slices_shows_its_start() -> None:
    count = MAX_DRAWN_SLICES + 10
    runs = [Run(thread=i % 2, start_ns=i * MS, end_ns=(i + 1) * MS) for i in range(count)]
    chart = timeline_chart(derive_timeline(runs, interval_ms=1, duration_ms=count, threads=2))
    assert chart.truncated
    assert len(chart.bars) == MAX_DRAWN_SLICES


def test_simulated_slices_group_consecutive_steps() -> None:
    slices = simulated_slices(list("AAABBBBBBAAA"))
    assert [(s.thread, s.start, s.end) for s in slices] == [("A", 0, 3), ("B", 3, 9), ("A", 9, 12)]
    assert median_length(slices) == 6


def test_bars_share_one_scale() -> None:
    chart = bar_chart([("in turn", 0.9, "sequential"), ("threads", 0.3, "threads")])
    assert chart.bars[0].width == 3 * chart.bars[1].width
    assert chart.bars[0].value_label == "0.90 s"


def test_a_bar_of_repeated_rounds_is_the_median_with_a_whisker_over_the_range() -> None:
    chart = bar_chart(
        [("in turn", 0.6, "sequential"), ("threads", 0.3, "threads")],
        ranges=[(0.5, 1.2), (0.28, 0.31)],
    )
    turn, threads = chart.bars
    # The scale reaches the longest whisker, not only the longest median.
    assert float(chart.ticks[-1].label) >= 1.2
    assert turn.range_x is not None and turn.range_x[1] == 2 * turn.width
    assert turn.label_x == turn.range_x[1] and turn.range_label == "0.50 to 1.20 s"
    assert threads.range_x is not None and threads.range_x[0] < threads.width < threads.range_x[1]


def test_ranges_must_match_the_rows() -> None:
    with pytest.raises(ValueError, match="one range per row"):
        bar_chart([("in turn", 0.6, "sequential")], ranges=[])
