"""The two charts of the Reports page as server-rendered SVG: escalations per day
stacked by outcome, and first-reply time per day (median and 90th percentile).

No chart library: the server computes the shapes, CSS colours them (light and dark,
static/reports.css), and each mark has a <title> with its figure. The markup is built
here with format_html (every value escaped) rather than in the page template: a
month's marks took Django's template engine about 20 ms, format_html under 2.
"""

import math
from dataclasses import dataclass, field
from datetime import date

from django.utils.dateformat import format as date_format
from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import ngettext, pgettext

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


def axis_day(day: date) -> str:
    """Mar 5 in English; 5 mars, 5. März… (Django's date format, in the active language)."""
    return date_format(day, pgettext("chart axis day, a Django date format", "M j"))


def mark_day(day: date) -> str:
    """Wed Mar 5 in English, for a mark's title."""
    return date_format(day, pgettext("chart mark day, a Django date format", "D M j"))


def _x_ticks(days: list[date], center) -> list[Tick]:
    every = max(1, math.ceil(len(days) / 8))
    return [
        Tick(center(i), axis_day(day))
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
    chart.y_ticks = [
        Tick(TOP + PLOT_H - t * scale,
             pgettext("duration", "%(m)s min") % {"m": number_format(t if t % 1 else int(t))})
        for t in ticks
    ]
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
            "label": _("Median") if name == "median" else _("90th percentile"),
            "runs": [" ".join(run) for run in runs],
            "points": points,
        })
    chart.empty = top == 0
    return chart


# --- the markup ---------------------------------------------------------------------------


def _n(value: float) -> str:
    return f"{value:.1f}"


def _axes(chart: Chart) -> SafeString:
    y = format_html_join(
        "",
        '<line class="grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
        '<text class="axis" x="{}" y="{}" text-anchor="end" '
        'dominant-baseline="middle">{}</text>',
        (
            (chart.left, chart.right_edge, _n(t.at), _n(t.at), chart.left - 6, _n(t.at), t.label)
            for t in chart.y_ticks
        ),
    )
    x = format_html_join(
        "",
        '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
        ((_n(t.at), chart.height - 6, t.label) for t in chart.x_ticks),
    )
    return y + x


def _empty(chart: Chart, text: str) -> SafeString:
    if not chart.empty:
        return SafeString("")
    return format_html(
        '<text class="axis" x="{}" y="{}" text-anchor="middle">{}</text>',
        _n(chart.center_x), _n(chart.center_y), text,
    )


def escalations_svg(chart: Chart) -> SafeString:
    bars = []
    for bar in chart.bars:
        title = ngettext(
            "%(day)s: %(n)s escalation", "%(day)s: %(n)s escalations", bar.total
        ) % {"day": mark_day(bar.day), "n": fig.count(bar.total)}
        title += "".join(f"; {s.label}: {fig.count(s.n)}" for s in bar.segments)
        rects = format_html_join(
            "",
            '<rect class="o-{}" x="{}" y="{}" width="{}" height="{}"/>',
            ((s.outcome, _n(bar.x), _n(s.y), _n(bar.width), _n(s.height)) for s in bar.segments),
        )
        bars.append(format_html('<g class="bar"><title>{}</title>{}</g>', title, rects))
    return format_html(
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}">{}{}{}</svg>',
        chart.width, chart.height, _("Escalations per day, stacked by outcome"),
        _axes(chart), SafeString("".join(bars)),
        _empty(chart, _("No escalations in this period")),
    )


def first_reply_svg(chart: Chart) -> SafeString:
    series = []
    for line in chart.lines:
        runs = format_html_join("", '<polyline points="{}"/>', ((run,) for run in line["runs"]))
        points = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="2.5"><title>{}</title></circle>',
            (
                (_n(p["x"]), _n(p["y"]), pgettext(
                    "a chart mark: the day, the series (median…) and its time",
                    "%(day)s, %(series)s: %(time)s",
                ) % {"day": mark_day(p["day"]), "series": line["label"], "time": p["text"]})
                for p in line["points"]
            ),
        )
        series.append(format_html('<g class="series s-{}">{}{}</g>', line["name"], runs, points))
    return format_html(
        '<svg viewBox="0 0 {} {}" role="img" aria-label="{}">{}{}{}</svg>',
        chart.width, chart.height, _("Median and 90th percentile time to first reply per day"),
        _axes(chart), SafeString("".join(series)),
        _empty(chart, _("No agent replies in this period")),
    )
