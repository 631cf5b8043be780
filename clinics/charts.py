"""A small grouped bar chart drawn on the server as SVG geometry (no JavaScript, no CDN).

The template (`tenants/includes/bar_chart.svg.html`) draws what `weekly_bar_chart` computes;
a table with the same numbers sits next to it for screen readers and for copying.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Series:
    key: str  # the row key holding the value
    label: str  # "New patients"
    css_class: str  # colour, from app.css


WIDTH, HEIGHT = 640, 240
LEFT, RIGHT, TOP, BOTTOM = 40, 8, 12, 34


def _nice_ceiling(value: int) -> int:
    """The axis top: 4 whole-number steps that cover `value` (at least 4)."""
    if value <= 4:
        return 4
    step = value / 4
    magnitude = 10 ** math.floor(math.log10(step))
    for factor in (1, 2, 2.5, 3, 4, 5, 10):
        nice = factor * magnitude
        if nice >= step and float(nice).is_integer():
            return int(nice * 4)
    return int(math.ceil(step) * 4)  # pragma: no cover (the loop always returns)


def weekly_bar_chart(rows: list[dict], series: list[Series]) -> dict:
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    values = [row[s.key] for row in rows for s in series]
    top = _nice_ceiling(max(values, default=0))
    group = plot_w / max(len(rows), 1)
    bar_w = group * 0.78 / max(len(series), 1)
    bars, labels = [], []
    for i, row in enumerate(rows):
        x0 = LEFT + i * group + group * 0.11
        week = row["week_start"]
        for j, s in enumerate(series):
            value = row[s.key]
            h = plot_h * value / top
            bars.append(
                {
                    "x": round(x0 + j * bar_w, 1),
                    "y": round(TOP + plot_h - h, 1),
                    "w": round(bar_w - 1, 1),
                    "h": round(h, 1),
                    "css": s.css_class,
                    "title": f"Week of {week.day} {week:%b}: {value} {s.label.lower()}",
                }
            )
        if i % 2 == 0 or len(rows) <= 6:
            labels.append(
                {"x": round(LEFT + i * group + group / 2, 1), "text": f"{week.day} {week:%b}"}
            )
    ticks = [
        {"y": round(TOP + plot_h - plot_h * k / 4, 1), "value": top * k // 4} for k in range(5)
    ]
    names = [s.label for s in series]
    title = " and ".join([names[0]] + [name.lower() for name in names[1:]])
    return {
        "title": f"{title} per week, last {len(rows)} weeks",
        "width": WIDTH,
        "height": HEIGHT,
        "left": LEFT,
        "right": WIDTH - RIGHT,
        "baseline": TOP + plot_h,
        "label_y": HEIGHT - 12,
        "bars": bars,
        "labels": labels,
        "ticks": ticks,
        "series": series,
        "rows": rows,
        "table": [
            {"week_start": row["week_start"], "values": [row[s.key] for s in series]}
            for row in rows
        ],
        "total": sum(values),
    }
