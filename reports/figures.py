"""What the Reports show, computed from summed rollup columns: counts, medians and
90th percentiles from the fixed histograms, CSAT, deflection, and their wording.

The same `Figures` serve a headline, a day of a chart and a table row; the same
formatting serves the page and its CSV downloads, so the two always agree.
"""

from collections import Counter
from dataclasses import dataclass, field

from django.utils.formats import number_format
from django.utils.translation import pgettext

from reports.models import BUCKET_BOUNDS, Outcome, histogram_columns


def quantile(histogram: list[int], q: float, *, mean: float | None = None) -> float | None:
    """The q-quantile (0 < q ≤ 1), in seconds, of the times counted in `histogram`
    (counts per bucket of BUCKET_BOUNDS), or None when it counts nothing.

    It is interpolated within the bucket holding the value of rank ⌈q·n⌉ of the sorted
    times, so it lies in the same bucket as the exact quantile; the open-ended last
    bucket (a week and more) answers its lower bound. When every time is in one bucket
    and their `mean` is known, that is the better guess within it (a single time of
    2 s reads 2 s, not the middle of 0–10 s)."""
    n = sum(histogram)
    if n == 0:
        return None
    if mean is not None and sum(1 for count in histogram if count) == 1:
        return mean
    rank = q * n
    below = 0
    for i, count in enumerate(histogram):
        if count and below + count >= rank:
            low = BUCKET_BOUNDS[i - 1] if i else 0
            if i >= len(BUCKET_BOUNDS):
                return float(low)
            high = BUCKET_BOUNDS[i]
            return low + (high - low) * max(0.0, rank - below) / count
        below += count
    return float(BUCKET_BOUNDS[-1])


@dataclass
class Figures:
    """Summed rollup columns (`sums`) and the tickets per outcome (`outcomes`)."""

    sums: Counter = field(default_factory=Counter)
    outcomes: Counter = field(default_factory=Counter)

    def add(self, row: dict, outcome: str | None = None) -> None:
        """Add one aggregated row (column → sum); its tickets count for `outcome`."""
        for column, value in row.items():
            if value:
                self.sums[column] += value
        if outcome is not None and row.get("tickets"):
            self.outcomes[outcome] += row["tickets"]

    def __iadd__(self, other: "Figures") -> "Figures":
        self.sums.update(other.sums)
        self.outcomes.update(other.outcomes)
        return self

    @property
    def escalations(self) -> int:
        return self.sums["tickets"]

    @property
    def closed_by_agent(self) -> int:
        """Tickets an agent closed (an agent's rollup counts them in `closed`)."""
        return self.outcomes[Outcome.AGENT] or self.sums["closed"]

    def histogram(self, metric: str) -> list[int]:
        return [self.sums[column] for column in histogram_columns(metric)]

    def median(self, metric: str) -> float | None:
        return quantile(self.histogram(metric), 0.5, mean=self.mean(metric))

    def p90(self, metric: str) -> float | None:
        return quantile(self.histogram(metric), 0.9, mean=self.mean(metric))

    def mean(self, metric: str) -> float | None:
        count = self.sums[f"{metric}_count"]
        return self.sums[f"{metric}_ms"] / count / 1000 if count else None

    @property
    def ratings(self) -> int:
        return self.sums["rated"]

    @property
    def csat(self) -> float | None:
        """The average score, 1 to 5."""
        return self.sums["score_sum"] / self.ratings if self.ratings else None

    @property
    def response_rate(self) -> float | None:
        """Of the tickets whose customer was asked (or rated unasked), the share rated."""
        surveyed = self.sums["surveyed"]
        return self.ratings / surveyed if surveyed else None


def deflection(escalations: int, conversations: int) -> float | None:
    """1 − escalations / conversations, over the days a bot reported; None without reports."""
    if conversations <= 0:
        return None
    return 1 - escalations / conversations


# --- wording ----------------------------------------------------------------------------
# In the active language: its units, its decimal comma or point, its digit grouping
# (the page and the CSV the agent downloads alike).

NONE = "—"


def duration(seconds: float | None) -> str:
    """42 s, 4 min 10 s, 25 min, 3 h 05 min, 2 d 4 h (in English)."""
    if seconds is None:
        return NONE
    seconds = round(seconds)
    if seconds < 60:
        return pgettext("duration", "%(s)s s") % {"s": seconds}
    minutes, rest = divmod(seconds, 60)
    if minutes < 10:
        if rest:
            return pgettext("duration", "%(m)s min %(s)s s") % {"m": minutes, "s": f"{rest:02d}"}
        return pgettext("duration", "%(m)s min") % {"m": minutes}
    minutes = round(seconds / 60)
    if minutes < 60:
        return pgettext("duration", "%(m)s min") % {"m": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return pgettext("duration", "%(h)s h %(m)s min") % {"h": hours, "m": f"{minutes:02d}"}
    days, hours = divmod(hours, 24)
    return pgettext("duration", "%(d)s d %(h)s h") % {"d": days, "h": hours}


def count(n: int | None) -> str:
    return NONE if n is None else number_format(n, force_grouping=True)


def decimal(value: float, places: int) -> str:
    return number_format(value, places, force_grouping=True)


def percent(share: float | None) -> str:
    return NONE if share is None else f"{decimal(share * 100, 1)} %"


def score(value: float | None) -> str:
    return NONE if value is None else decimal(value, 2)


@dataclass(frozen=True)
class Change:
    """A figure against the previous period: the words and whether it is better."""

    text: str
    tone: str  # "better", "worse" or "same"


def change(
    now: float | None, before: float | None, *, higher_is: str, points: bool = False
) -> Change | None:
    """`higher_is` "better", "worse" or "neutral"; `points` for shares (percentage
    points rather than a relative change). None when either period has no figure."""
    if now is None or before is None:
        return None
    if points:
        delta = (now - before) * 100
        points_word = pgettext("percentage points", "pp")
        if abs(delta) < 0.05:
            return Change(f"±0 {points_word}", "same")
        text = f"{'▲' if delta > 0 else '▼'} {decimal(abs(delta), 1)} {points_word}"
    else:
        if before == 0:
            return None if now == 0 else Change(pgettext("figure change", "new"), "same")
        delta = (now - before) / before * 100
        if abs(delta) < 0.5:
            return Change("±0 %", "same")
        text = f"{'▲' if delta > 0 else '▼'} {decimal(abs(delta), 0)} %"
    if higher_is == "neutral":
        return Change(text, "same")
    up_is_good = higher_is == "better"
    return Change(text, "better" if (delta > 0) == up_is_good else "worse")
