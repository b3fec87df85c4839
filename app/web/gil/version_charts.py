"""The geometry of the /versions charts, computed from the measured rows; templates only draw it.

Two bar charts rendered as server-side SVG:
- lost updates by version: per interpreter, the mean share of updates lost by `n += 1` and by
  `n = n + one()`, on a linear scale;
- round trip by switch interval: per interval, each interpreter's median round trip alone and
  beside a CPU-bound thread, on a log scale (0.01 ms to 100 ms: the two differ a hundredfold).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.lab.convoy import INTERVALS_MS as CONVOY_INTERVALS_MS
from app.lab.lost_updates import STATEMENT_CODE, STATEMENTS
from app.lab.survey import Row

WIDTH = 760
HEIGHT = 300
_LEFT = 56  # room for the y-axis labels
_RIGHT = 12
_TOP = 16
_BOTTOM = 64  # room for the group labels and the version labels under the bars
_PLOT_HEIGHT = HEIGHT - _TOP - _BOTTOM
_LOG_FLOOR_MS = 0.01
_LOG_CEILING_MS = 100.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    kind: str  # CSS class: which series (inplace, call, idle, loaded)
    title: str  # the exact value, as a tooltip and for screen readers
    label: str = ""  # a short value drawn above the bar (so a zero still shows)


@dataclass(frozen=True, slots=True, kw_only=True)
class Label:
    x: float
    y: float
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Chart:
    title: str
    width: int
    height: int
    plot_left: int
    plot_right: int
    bars: tuple[Bar, ...]
    y_ticks: tuple[Label, ...]  # y is the pixel row of the grid line
    x_labels: tuple[Label, ...]  # under each bar or group
    group_labels: tuple[Label, ...]
    legend: tuple[tuple[str, str], ...]  # (kind, text)
    rotate_x_labels: bool = False  # many narrow bars: slant their labels so they fit

    @property
    def empty(self) -> bool:
        return not self.bars


def _linear_y(value: float, top: float) -> float:
    return _TOP + _PLOT_HEIGHT * (1 - min(value, top) / top)


def _log_y(value_ms: float) -> float:
    clamped = min(max(value_ms, _LOG_FLOOR_MS), _LOG_CEILING_MS)
    span = math.log10(_LOG_CEILING_MS) - math.log10(_LOG_FLOOR_MS)
    return _TOP + _PLOT_HEIGHT * (1 - (math.log10(clamped) - math.log10(_LOG_FLOOR_MS)) / span)


def _standing(x: float, y: float, width: float, *, kind: str, title: str, label: str = "") -> Bar:
    """A bar from the plot's floor up to `y`, its left edge at `x`."""
    return Bar(
        x=x, y=y, width=width, height=_TOP + _PLOT_HEIGHT - y, kind=kind, title=title, label=label
    )


def lost_updates_chart(rows: Sequence[Row]) -> Chart:
    measured = [row for row in rows if row.races]
    # The top of the scale: the largest share lost, rounded up to 10 %, at least 10 %.
    largest = max((race.lost_fraction for row in measured for race in row.races), default=0.0)
    top = max(0.1, math.ceil(largest * 10) / 10)
    bars: list[Bar] = []
    x_labels: list[Label] = []
    slot = (WIDTH - _LEFT - _RIGHT) / max(1, len(measured))
    bar_width = min(28.0, slot * 0.36)
    for index, row in enumerate(measured):
        centre = _LEFT + slot * (index + 0.5)
        for offset, statement in zip((-1, 0), STATEMENTS, strict=True):
            race = row.race(statement)
            if race is None:
                continue
            bars.append(
                _standing(
                    centre + offset * bar_width,
                    _linear_y(race.lost_fraction, top),
                    bar_width,
                    kind=statement,
                    label=f"{race.lost_fraction:.0%}",
                    title=(
                        f"Python {row.interpreter.version}, {race.code}: "
                        f"{race.lost_fraction:.1%} of updates lost "
                        f"(per run: {', '.join(f'{lost:,}' for lost in race.lost_updates)})"
                    ),
                )
            )
        x_labels.append(Label(x=centre, y=HEIGHT - _BOTTOM + 18, text=row.interpreter.version))
    tenths = round(top * 10)
    step = 1 if tenths <= 5 else 2
    ticks = tuple(
        Label(x=_LEFT - 6, y=_linear_y(tenth / 10, top), text=f"{tenth / 10:.0%}")
        for tenth in range(0, tenths + 1, step)
    )
    return Chart(
        title="Share of updates lost, by version",
        width=WIDTH,
        height=HEIGHT - _BOTTOM + 30,  # one line of labels under the bars
        plot_left=_LEFT,
        plot_right=WIDTH - _RIGHT,
        bars=tuple(bars),
        y_ticks=ticks,
        x_labels=tuple(x_labels),
        group_labels=(),
        legend=tuple((statement, STATEMENT_CODE[statement]) for statement in STATEMENTS),
    )


def convoy_chart(rows: Sequence[Row]) -> Chart:
    measured = [row for row in rows if row.convoy]
    bars: list[Bar] = []
    x_labels: list[Label] = []
    group_labels: list[Label] = []
    group_width = (WIDTH - _LEFT - _RIGHT) / len(CONVOY_INTERVALS_MS)
    pair_width = group_width * 0.9 / max(1, len(measured))
    bar_width = min(16.0, pair_width * 0.45)
    for group, interval_ms in enumerate(CONVOY_INTERVALS_MS):
        group_left = _LEFT + group * group_width + group_width * 0.05
        group_labels.append(
            Label(
                x=_LEFT + (group + 0.5) * group_width,
                y=HEIGHT - 12,
                text=f"switch interval {interval_ms:g} ms",
            )
        )
        for index, row in enumerate(measured):
            result = next((r for r in row.convoy if r.interval_ms == interval_ms), None)
            centre = group_left + pair_width * (index + 0.5)
            if result is None:
                continue
            for offset, kind, value in (
                (-1, "idle", result.idle_rtt_ms),
                (0, "loaded", result.loaded_rtt_ms),
            ):
                where = "alone" if kind == "idle" else "beside a CPU-bound thread"
                bars.append(
                    _standing(
                        centre + offset * bar_width,
                        _log_y(value),
                        bar_width,
                        kind=kind,
                        title=(
                            f"Python {row.interpreter.version}, interval {interval_ms:g} ms, "
                            f"{where}: {value:.3f} ms"
                        ),
                    )
                )
            if len(measured) > 1:
                x_labels.append(
                    Label(x=centre, y=HEIGHT - _BOTTOM + 14, text=row.interpreter.version)
                )
    ticks = tuple(
        Label(x=_LEFT - 6, y=_log_y(value), text=f"{value:g} ms")
        for value in (0.01, 0.1, 1.0, 10.0, 100.0)
    )
    return Chart(
        title="Median round trip of a one-byte echo, by switch interval (log scale)",
        width=WIDTH,
        height=HEIGHT,
        plot_left=_LEFT,
        plot_right=WIDTH - _RIGHT,
        bars=tuple(bars),
        y_ticks=ticks,
        x_labels=tuple(x_labels),
        group_labels=tuple(group_labels),
        legend=(("idle", "alone"), ("loaded", "beside one CPU-bound thread")),
        rotate_x_labels=True,
    )
