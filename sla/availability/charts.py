"""Server-side SVG chart geometry (no JavaScript): the templates draw what these return."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 48, 100, 12, 36
TARGET = 99.5


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: float
    below_target: bool
    partial: bool = False
    date: object = None

    @property
    def cx(self) -> float:
        return round(self.x + self.width / 2, 2)


def _scale_floor(values: Iterable[float]) -> float:
    """The y axis starts at 95 %, or lower (a whole multiple of 5) when a month was worse."""
    lowest = min([*values, 95.0])
    return float(max(0, math.floor(lowest / 5) * 5))


def availability_chart(history: list[dict[str, Any]]) -> dict[str, Any]:
    """Bars per month between the axis floor and 100 %, and the 99.5 % target line."""
    floor = _scale_floor(row["percent"] for row in history)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y_of(value: float) -> float:
        return round(TOP + plot_h * (100 - value) / (100 - floor), 2)

    step = plot_w / max(len(history), 1)
    bars = []
    for i, row in enumerate(history):
        y = y_of(row["percent"])
        bars.append(
            Bar(
                x=round(LEFT + i * step + step * 0.15, 2),
                y=y,
                width=round(step * 0.7, 2),
                height=round(TOP + plot_h - y, 2),
                label=row["month"],
                value=row["percent"],
                below_target=row["percent"] < TARGET,
                partial=row.get("partial", False),
                date=row.get("month_date"),
            )
        )
    ticks = [floor + (100 - floor) * k / 5 for k in range(6)]
    return {
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "bottom": TOP + plot_h,
        "bars": bars,
        "target_y": y_of(TARGET),
        "target": TARGET,
        "ticks": [{"y": y_of(t), "label": f"{t:g}"} for t in ticks],
        "label_y": HEIGHT - 12,
    }


def grouped_bars(
    groups: list[tuple[str, int, int]], width: int = 720, height: int = 220
) -> dict[str, Any]:
    """Met (green) and breached (red) stacked bars per group, for the staff compliance report."""
    left, bottom_pad, top = 40, 40, 12
    plot_h = height - top - bottom_pad
    peak = max([met + breached for _, met, breached in groups] + [1])
    step = (width - left - 12) / max(len(groups), 1)
    bars = []
    for i, (label, met, breached) in enumerate(groups):
        met_h = plot_h * met / peak
        breached_h = plot_h * breached / peak
        x = left + i * step + step * 0.2
        base = top + plot_h
        bars.append(
            {
                "label": label,
                "x": round(x, 2),
                "label_x": round(x + step * 0.3, 2),
                "width": round(step * 0.6, 2),
                "met": met,
                "breached": breached,
                "met_y": round(base - met_h, 2),
                "met_h": round(met_h, 2),
                "breached_y": round(base - met_h - breached_h, 2),
                "breached_h": round(breached_h, 2),
            }
        )
    return {
        "width": width,
        "height": height,
        "left": left,
        "bottom": top + plot_h,
        "peak": peak,
        "top": top,
        "bars": bars,
        "label_y": height - 22,
    }
