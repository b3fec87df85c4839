"""Geometry for the GIL lab's SVG charts, derived from the measured records.

Templates draw what these return (rectangles, ticks, labels); no numbers are computed in
the templates. All sizes are SVG user units inside a viewBox that CSS scales to the page.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass

from app.lab.gil import Slice, Timeline

WIDTH = 900
LEFT = 56  # room for lane labels
RIGHT = 12
LANE_HEIGHT = 26
LANE_GAP = 8
AXIS_HEIGHT = 30
MAX_DRAWN_SLICES = 1500  # past this the chart shows the start of the run only
BAR_CHART_WIDTH = 600  # narrower: bar charts sit two to a row


@dataclass(frozen=True, slots=True, kw_only=True)
class Lane:
    name: str
    y: float
    label_y: float


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    lane: str  # thread name: the CSS class picks its colour
    x: float
    y: float
    width: float
    height: float
    title: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True, slots=True, kw_only=True)
class LaneChart:
    width: int
    height: float
    plot_left: float
    plot_right: float
    axis_y: float
    lanes: tuple[Lane, ...]
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    unit: str
    shown_until: float  # the chart's right edge, in `unit`
    truncated: bool  # not every slice fits: the chart shows the start of the run


def _nice_step(span: float, target_ticks: int = 8) -> float:
    raw = span / max(1, target_ticks)
    magnitude = 10 ** math.floor(math.log10(raw)) if raw > 0 else 1
    for factor in (1, 2, 2.5, 5, 10):
        if raw <= factor * magnitude:
            return factor * magnitude
    return 10 * magnitude


def _format(value: float) -> str:
    return f"{value:g}"


def _ticks(*, left: float, scale: float, step: float, count: int) -> tuple[Tick, ...]:
    """An axis's ticks 0, step, ..., count * step, at `left` + value * `scale` pixels."""
    return tuple(
        Tick(x=round(left + index * step * scale, 2), label=_format(round(index * step, 6)))
        for index in range(count + 1)
    )


def lane_chart(
    lanes: Sequence[str],
    spans: Sequence[tuple[str, float, float, str]],
    *,
    until: float,
    unit: str,
    truncated: bool = False,
) -> LaneChart:
    """One lane per name; each span (lane, start, end, title) a bar; a time axis below."""
    plot_width = WIDTH - LEFT - RIGHT
    scale = plot_width / until if until > 0 else 0.0
    lane_rows = tuple(
        Lane(
            name=name,
            y=index * (LANE_HEIGHT + LANE_GAP),
            label_y=index * (LANE_HEIGHT + LANE_GAP) + LANE_HEIGHT / 2,
        )
        for index, name in enumerate(lanes)
    )
    lane_y = {lane.name: lane.y for lane in lane_rows}
    bars = tuple(
        Bar(
            lane=name,
            x=round(LEFT + start * scale, 2),
            y=lane_y[name],
            # At least a hairline, so the shortest slices still show.
            width=round(max(0.6, (min(end, until) - start) * scale), 2),
            height=LANE_HEIGHT,
            title=title,
        )
        for name, start, end, title in spans
        if start < until
    )
    axis_y = len(lane_rows) * (LANE_HEIGHT + LANE_GAP)
    step = _nice_step(until)
    ticks = _ticks(left=LEFT, scale=scale, step=step, count=int(until / step))
    return LaneChart(
        width=WIDTH,
        height=axis_y + AXIS_HEIGHT,
        plot_left=LEFT,
        plot_right=WIDTH - RIGHT,
        axis_y=axis_y,
        lanes=lane_rows,
        bars=bars,
        ticks=ticks,
        unit=unit,
        shown_until=until,
        truncated=truncated,
    )


def timeline_chart(timeline: Timeline) -> LaneChart:
    """The measured GIL slices, one lane per thread, over the whole run (or its start)."""
    slices: Sequence[Slice] = timeline.slices
    truncated = len(slices) > MAX_DRAWN_SLICES
    if truncated:
        slices = slices[:MAX_DRAWN_SLICES]
    until = max([timeline.duration_ms, *(piece.end_ms for piece in slices)])
    if truncated:
        until = slices[-1].end_ms
    spans = [
        (
            piece.thread,
            piece.start_ms,
            piece.end_ms,
            f"thread {piece.thread} held the GIL from {piece.start_ms:.2f} to "
            f"{piece.end_ms:.2f} ms ({piece.length_ms:.2f} ms)",
        )
        for piece in slices
    ]
    return lane_chart(timeline.threads, spans, until=until, unit="ms", truncated=truncated)


def distribution_chart(timeline: Timeline) -> BarChart:
    """How many whole slices fall in each quarter-interval bin of length."""
    rows = [
        (
            f"{b.from_ms:g} to {b.to_ms:g} ms" if b.to_ms is not None else f"≥ {b.from_ms:g} ms",
            float(b.count),
            "histogram",
        )
        for b in timeline.distribution
    ]
    return bar_chart(rows, unit="", decimals=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class HorizontalBar:
    label: str
    value: float
    kind: str  # CSS class: which colour
    y: float
    width: float
    value_label: str
    # Repeated measurements: the bar is the median, a whisker spans the rounds' range.
    range_x: tuple[float, float] | None = None  # the whisker's ends, in plot pixels
    range_label: str = ""

    @property
    def label_x(self) -> float:
        """Where the value label starts: past the bar and past its whisker."""
        return max(self.width, self.range_x[1] if self.range_x else 0.0)


@dataclass(frozen=True, slots=True, kw_only=True)
class BarChart:
    width: int
    height: float
    plot_left: float
    bars: tuple[HorizontalBar, ...]
    ticks: tuple[Tick, ...]
    axis_y: float
    bar_height: float
    unit: str


def _range_label(low_high: tuple[float, float], unit: str, decimals: int) -> str:
    low, high = low_high
    return f"{low:.{decimals}f} to {high:.{decimals}f} {unit}".strip()


def bar_chart(
    rows: Sequence[tuple[str, float, str]],
    *,
    unit: str = "s",
    decimals: int = 2,
    ranges: Sequence[tuple[float, float]] | None = None,
) -> BarChart:
    """Horizontal bars (label, value, kind) on one shared scale, with an axis below; with
    `ranges` (low, high per row), each bar is a median and a whisker spans its rounds."""
    if ranges is not None and len(ranges) != len(rows):
        raise ValueError("one range per row")
    left = 170
    plot_width = BAR_CHART_WIDTH - left - 70  # room for the value label past the longest bar
    bar_height = 26
    gap = 10
    highs = [high for _, high in ranges] if ranges is not None else []
    top = max([value for _, value, _ in rows] + highs, default=0.0)
    step = _nice_step(top or 1.0, 6)
    axis_max = step * math.ceil((top or 1.0) / step)
    scale = plot_width / axis_max
    bars = tuple(
        HorizontalBar(
            label=label,
            value=value,
            kind=kind,
            y=index * (bar_height + gap),
            width=round(max(1.0, value * scale), 2),
            value_label=f"{value:.{decimals}f} {unit}".strip(),
            range_x=None
            if ranges is None
            else (round(ranges[index][0] * scale, 2), round(ranges[index][1] * scale, 2)),
            range_label="" if ranges is None else _range_label(ranges[index], unit, decimals),
        )
        for index, (label, value, kind) in enumerate(rows)
    )
    axis_y = len(rows) * (bar_height + gap)
    ticks = _ticks(left=left, scale=scale, step=step, count=round(axis_max / step))
    return BarChart(
        width=BAR_CHART_WIDTH,
        height=axis_y + AXIS_HEIGHT,
        plot_left=left,
        bars=bars,
        ticks=ticks,
        axis_y=axis_y,
        bar_height=bar_height,
        unit=unit,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class SimulatedSlice:
    thread: str
    start: int  # step number, from 0
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def simulated_slices(threads_by_step: Sequence[str]) -> tuple[SimulatedSlice, ...]:
    """Consecutive steps of one thread, from the simulator's trace (one thread name per step)."""
    slices: list[SimulatedSlice] = []
    for index, thread in enumerate(threads_by_step):
        if slices and slices[-1].thread == thread:
            last = slices[-1]
            slices[-1] = SimulatedSlice(thread=thread, start=last.start, end=index + 1)
        else:
            slices.append(SimulatedSlice(thread=thread, start=index, end=index + 1))
    return tuple(slices)


def median_length(slices: Sequence[SimulatedSlice]) -> float | None:
    """The median slice in steps, leaving out the first and last as the measured side does."""
    whole = slices[1:-1] if len(slices) > 2 else slices
    return statistics.median(piece.length for piece in whole) if whole else None


def simulated_chart(slices: Sequence[SimulatedSlice], *, lanes: Sequence[str]) -> LaneChart:
    spans = [
        (
            piece.thread,
            float(piece.start),
            float(piece.end),
            f"thread {piece.thread} held the GIL for steps {piece.start + 1} to {piece.end}",
        )
        for piece in slices
    ]
    until = float(slices[-1].end) if slices else 1.0
    return lane_chart(lanes, spans, until=until, unit="steps")
