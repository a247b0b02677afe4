"""The two charts of the Reports page as SVG geometry, drawn by the page template:
escalations per day stacked by outcome, and first-reply time per day (median and 90th
percentile). No chart library: the server computes the shapes, CSS colours them (light
and dark), and each mark has a <title> for its figure.
"""

import math
from dataclasses import dataclass, field
from datetime import date

from reports import figures as fig
from reports.figures import Figures
from reports.models import Outcome

WIDTH, HEIGHT = 720, 220
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 10, 24  # room for the axes' labels
PLOT_W, PLOT_H = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and a few round steps up to at least `top`."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    return [step * i for i in range(math.ceil(top / step) + 1)]


@dataclass
class Segment:
    outcome: str
    y: float
    height: float
    n: int

    @property
    def label(self) -> str:
        return Outcome.label(self.outcome)


@dataclass
class Bar:
    day: date
    x: float
    width: float
    total: int
    segments: list[Segment] = field(default_factory=list)


@dataclass
class Tick:
    at: float  # x or y on the SVG
    label: str


@dataclass
class Chart:
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    top: int = TOP
    right_edge: int = WIDTH - RIGHT
    bottom_edge: int = HEIGHT - BOTTOM
    y_ticks: list[Tick] = field(default_factory=list)
    x_ticks: list[Tick] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    empty: bool = True

    @property
    def center_x(self) -> float:
        return LEFT + PLOT_W / 2

    @property
    def center_y(self) -> float:
        return TOP + PLOT_H / 2


def _x_ticks(days: list[date], center) -> list[Tick]:
    every = max(1, math.ceil(len(days) / 8))
    return [
        Tick(center(i), f"{day:%b} {day.day}")
        for i, day in enumerate(days)
        if (len(days) - 1 - i) % every == 0
    ]


def escalations_chart(days: list[date], by_day: dict[date, Figures], outcomes: list[str]) -> Chart:
    chart = Chart()
    top = max((by_day[d].escalations for d in days), default=0)
    ticks = nice_ticks(top)
    scale = PLOT_H / ticks[-1]
    slot = PLOT_W / max(1, len(days))
    width = max(1.0, slot * 0.75)
    chart.y_ticks = [Tick(TOP + PLOT_H - t * scale, fig.count(round(t))) for t in ticks
                     if t == int(t)]
    chart.x_ticks = _x_ticks(days, lambda i: LEFT + slot * i + slot / 2)
    for i, day in enumerate(days):
        figures = by_day[day]
        bar = Bar(day, LEFT + slot * i + (slot - width) / 2, width, figures.escalations)
        y = TOP + PLOT_H
        for outcome in outcomes:
            n = figures.outcomes[outcome]
            if n:
                height = n * scale
                y -= height
                bar.segments.append(Segment(outcome, y, height, n))
        chart.bars.append(bar)
    chart.empty = top == 0
    return chart


def first_reply_chart(days: list[date], by_day: dict[date, Figures]) -> Chart:
    """Median and p90 first reply per day, in minutes; a day without replies is a gap."""
    chart = Chart()
    series = {
        "median": [by_day[d].median("reply") for d in days],
        "p90": [by_day[d].p90("reply") for d in days],
    }
    top = max((v for values in series.values() for v in values if v is not None), default=0)
    minutes = top / 60
    ticks = nice_ticks(minutes)
    scale = PLOT_H / ticks[-1]
    slot = PLOT_W / max(1, len(days))
    chart.y_ticks = [Tick(TOP + PLOT_H - t * scale, f"{t:g} min") for t in ticks]
    chart.x_ticks = _x_ticks(days, lambda i: LEFT + slot * i + slot / 2)
    for name, values in series.items():
        runs, points, current = [], [], []
        for i, (day, seconds) in enumerate(zip(days, values, strict=True)):
            if seconds is None:
                if current:
                    runs.append(current)
                current = []
                continue
            x, y = LEFT + slot * i + slot / 2, TOP + PLOT_H - seconds / 60 * scale
            current.append(f"{x:.1f},{y:.1f}")
            points.append({"x": x, "y": y, "day": day, "text": fig.duration(seconds)})
        if current:
            runs.append(current)
        chart.lines.append({
            "name": name,
            "label": "Median" if name == "median" else "90th percentile",
            "runs": [" ".join(run) for run in runs],
            "points": points,
        })
    chart.empty = top == 0
    return chart
