"""The reads behind the Reports page and its CSV downloads, from the rollups only.

`ReportFilter` is what one Reports tab shows (a date range and a bot), read from and
written back to its URL. `report(...)` reads everything the page needs in a handful
of grouped queries over `DailyRollup` and `BotDayStats`, whose sizes depend on the
days, bots and agents in the range, never on how many tickets or messages there are.
Each query sums only the columns its part of the page shows. The tables are (headers,
rows of text) so the page and the CSV are one source.
"""

from dataclasses import dataclass, field, replace
from datetime import date, timedelta

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Sum
from django.http import QueryDict
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from bots.models import Bot
from reports import figures as fig
from reports.figures import Figures
from reports.models import (
    AGENT_SUM_COLUMNS,
    SUM_COLUMNS,
    AgentDailyRollup,
    BotDayStats,
    DailyRollup,
    Outcome,
    histogram_columns,
)

PRESETS = {
    "today": gettext_lazy("Today"), "7d": gettext_lazy("7 days"), "30d": gettext_lazy("30 days"),
    "custom": gettext_lazy("Custom"),
}
PRESET_DAYS = {"today": 1, "7d": 7, "30d": 30}
DEFAULT_PRESET = "30d"
MAX_DAYS = 366


def today() -> date:
    """Today in the desk's time zone."""
    return timezone.localdate(timezone=timezone.get_default_timezone())


def _parse_day(text: str) -> date | None:
    try:
        return date.fromisoformat(text.strip())
    except (ValueError, AttributeError):
        return None


@dataclass(frozen=True)
class ReportFilter:
    """The days (inclusive, desk time zone) and the bot (a Bot.bot_id, or all) shown."""

    preset: str
    start: date
    end: date
    bot: str = ""
    # Why the URL's range was not taken as it was, for the page to say.
    note: str = ""

    @classmethod
    def from_query(cls, query: QueryDict, *, now: date | None = None) -> "ReportFilter":
        """Malformed values fall back to the 30-day default rather than an error page."""
        now = now or today()
        preset = query.get("range", DEFAULT_PRESET)
        bot = query.get("bot", "")[:64]
        if preset == "custom":
            start, end = _parse_day(query.get("from", "")), _parse_day(query.get("to", ""))
            if start is None or end is None:
                return cls.preset_of(DEFAULT_PRESET, now, bot=bot,
                                     note=_("Those dates were not understood: showing 30 days."))
            if start > end:
                start, end = end, start
            note = ""
            if end > now:
                end, note = now, _("Reports end today.")
            if (end - start).days >= MAX_DAYS:
                start, note = (
                    end - timedelta(days=MAX_DAYS - 1),
                    _("At most %(n)s days are shown.") % {"n": MAX_DAYS},
                )
            start = min(start, end)
            return cls("custom", start, end, bot, note)
        if preset not in PRESET_DAYS:
            preset = DEFAULT_PRESET
        return cls.preset_of(preset, now, bot=bot)

    @classmethod
    def preset_of(cls, preset: str, now: date, *, bot: str = "", note: str = "") -> "ReportFilter":
        return cls(preset, now - timedelta(days=PRESET_DAYS[preset] - 1), now, bot, note)

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range((self.end - self.start).days + 1)]

    @property
    def previous(self) -> "ReportFilter":
        """The period of the same length just before."""
        length = self.end - self.start + timedelta(days=1)
        return replace(self, start=self.start - length, end=self.end - length)

    def params(self, **changes) -> dict:
        values = {"range": self.preset, "bot": self.bot}
        if self.preset == "custom":
            values |= {"from": self.start.isoformat(), "to": self.end.isoformat()}
        values |= changes
        if values.get("range") != "custom":
            values.pop("from", None)
            values.pop("to", None)
        return {k: v for k, v in values.items() if v}

    def query(self, **changes) -> str:
        return urlencode(self.params(**changes))


# --- the reads ---------------------------------------------------------------------------

# What the charts need of each day: the escalations and the first-reply times.
DAY_COLUMNS = ["tickets", "reply_count", "reply_ms", *histogram_columns("reply")]


def _summed(model, columns: list[str], *, start: date, end: date, bot_pk: int | None,
            group: tuple[str, ...], agent_id: int | None = None) -> list[dict]:
    """Rollup rows of the days, summed per `group`: dicts of the group's values and
    `sums`, the summed `columns`. One plain SQL statement: built with the ORM, a
    hundred Sum() annotations cost more to compile than the query takes to run."""
    quote = connection.ops.quote_name
    where, params = [f"{quote('day')} >= %s", f"{quote('day')} <= %s"], [start, end]
    if bot_pk is not None:
        where.append(f"{quote('bot_id')} = %s")
        params.append(bot_pk)
    if agent_id is not None:
        where.append(f"{quote('agent_id')} = %s")
        params.append(agent_id)
    selected = [quote(g) for g in group] + [f"SUM({quote(c)})" for c in columns]
    sql = (
        f"SELECT {', '.join(selected)} FROM {quote(model._meta.db_table)} "
        f"WHERE {' AND '.join(where)}"
    )
    if group:
        sql += f" GROUP BY {', '.join(quote(g) for g in group)}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found = []
    for row in rows:
        values = dict(zip(group, row[: len(group)], strict=True))
        if "day" in values and isinstance(values["day"], str):
            values["day"] = date.fromisoformat(values["day"])
        # int(): PostgreSQL sums bigints as numeric (Decimal).
        sums = dict(zip(columns, (int(n or 0) for n in row[len(group):]), strict=True))
        if group or any(sums.values()):
            found.append({**values, "sums": sums})
    return found


@dataclass
class BotLine:
    bot: Bot
    figures: Figures = field(default_factory=Figures)
    conversations: int | None = None  # None: no report in the range
    reported_escalations: int = 0  # escalations on the days it reported

    @property
    def deflection(self) -> float | None:
        if self.conversations is None:
            return None
        return fig.deflection(self.reported_escalations, self.conversations)


@dataclass
class AgentLine:
    agent: object  # a user
    figures: Figures = field(default_factory=Figures)


@dataclass
class Report:
    filter: ReportFilter
    total: Figures
    previous: Figures
    by_day: dict[date, Figures]
    bots: list[BotLine]
    agents: list[AgentLine]
    conversations: int | None
    reported_escalations: int
    previous_conversations: int | None
    previous_reported_escalations: int

    @property
    def deflection(self) -> float | None:
        if self.conversations is None:
            return None
        return fig.deflection(self.reported_escalations, self.conversations)

    @property
    def previous_deflection(self) -> float | None:
        if self.previous_conversations is None:
            return None
        return fig.deflection(self.previous_reported_escalations, self.previous_conversations)

    @property
    def outcomes(self) -> list[str]:
        seen = set(self.total.outcomes)
        for figures in self.by_day.values():
            seen |= set(figures.outcomes)
        return Outcome.ordered(seen)


def _bot_pk(bot_id: str) -> int | None:
    """The filter's bot, or None for all bots (an unknown id matches nothing: -1)."""
    if not bot_id:
        return None
    return Bot.objects.filter(bot_id=bot_id).values_list("pk", flat=True).first() or -1


def _deflection_inputs(
    report_filter: ReportFilter, bot_pk: int | None
) -> dict[int, dict[date, list[int]]]:
    """Per bot and day of the current and previous periods that the bot reported:
    [conversations, escalations]."""
    start = report_filter.previous.start
    stats = BotDayStats.objects.filter(day__gte=start, day__lte=report_filter.end)
    if bot_pk is not None:
        stats = stats.filter(bot_id=bot_pk)
    found: dict[int, dict[date, list[int]]] = {}
    for bot, day, conversations in stats.values_list("bot_id", "day", "conversations"):
        found.setdefault(bot, {})[day] = [conversations, 0]
    if not found:
        return found
    escalations = (
        DailyRollup.objects.filter(
            day__gte=start, day__lte=report_filter.end, bot_id__in=list(found)
        )
        .order_by()
        .values_list("bot_id", "day")
        .annotate(n=Sum("tickets"))
    )
    for bot, day, n in escalations:
        if day in found[bot]:
            found[bot][day][1] = n or 0
    return found


def report(report_filter: ReportFilter, *, agent=None) -> Report:
    """Everything the page shows. With `agent` (an agent who is not an admin), only
    that agent's own row is read."""
    bot_pk = _bot_pk(report_filter.bot)
    current, before = report_filter, report_filter.previous
    users = get_user_model().objects
    if agent is not None:
        line = AgentLine(agent)
        for row in _summed(AgentDailyRollup, AGENT_SUM_COLUMNS, start=current.start,
                           end=current.end, bot_pk=bot_pk, group=(), agent_id=agent.pk):
            line.figures.add(row["sums"])
        return Report(current, Figures(), Figures(), {}, [], [line], None, 0, None, 0)

    total, previous, by_day = Figures(), Figures(), {day: Figures() for day in current.days}
    for row in _summed(DailyRollup, DAY_COLUMNS, start=current.start, end=current.end,
                       bot_pk=bot_pk, group=("day", "outcome")):
        by_day[row["day"]].add(row["sums"], row["outcome"])
    for row in _summed(DailyRollup, SUM_COLUMNS, start=before.start, end=before.end,
                       bot_pk=bot_pk, group=("outcome",)):
        previous.add(row["sums"], row["outcome"])

    bots = Bot.objects.order_by("name", "bot_id")
    if bot_pk is not None:
        bots = bots.filter(pk=bot_pk)
    lines = {bot.pk: BotLine(bot) for bot in bots}
    for row in _summed(DailyRollup, SUM_COLUMNS, start=current.start, end=current.end,
                       bot_pk=bot_pk, group=("bot_id", "outcome")):
        total.add(row["sums"], row["outcome"])
        if row["bot_id"] in lines:
            lines[row["bot_id"]].figures.add(row["sums"], row["outcome"])
    reported = _deflection_inputs(report_filter, bot_pk)
    totals = {"now": [None, 0], "before": [None, 0]}
    for bot, days in reported.items():
        for day, (conversations, escalations) in days.items():
            period = "now" if day >= current.start else "before"
            totals[period][0] = (totals[period][0] or 0) + conversations
            totals[period][1] += escalations
            if period == "now" and bot in lines:
                line = lines[bot]
                line.conversations = (line.conversations or 0) + conversations
                line.reported_escalations += escalations

    agent_rows = _summed(AgentDailyRollup, AGENT_SUM_COLUMNS, start=current.start,
                         end=current.end, bot_pk=bot_pk, group=("agent_id",))
    people = {
        user.pk: user
        for user in users.filter(is_active=True)
        | users.filter(pk__in=[row["agent_id"] for row in agent_rows])
    }
    agents = {pk: AgentLine(user) for pk, user in people.items()}
    for row in agent_rows:
        if row["agent_id"] in agents:
            agents[row["agent_id"]].figures.add(row["sums"])
    ordered_agents = sorted(
        agents.values(), key=lambda a: (-a.figures.escalations, _name(a.agent).lower())
    )
    return Report(
        current, total, previous, by_day,
        sorted(lines.values(), key=lambda b: (-b.figures.escalations, b.bot.name.lower())),
        ordered_agents,
        totals["now"][0], totals["now"][1], totals["before"][0], totals["before"][1],
    )


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


# --- the tables (the page and the CSV alike) --------------------------------------------


@dataclass
class Table:
    headers: list[str]
    rows: list[list[str]]
    numeric_from: int = 1  # columns from this one on are figures (right-aligned)


def bot_table(result: Report) -> Table:
    outcomes = [Outcome.AGENT, Outcome.BOT, Outcome.EXPIRED, Outcome.OPEN]
    extra = sorted({o for line in result.bots for o in line.figures.outcomes} - set(outcomes))
    outcomes += extra
    headers = [
        _("Bot"), _("Escalations"), _("Conversations"), _("Deflection"),
        *[Outcome.short(o) for o in outcomes],
        _("Median assignment"), _("Median first reply"), _("P90 first reply"),
        _("Median resolution"), _("CSAT (1–5)"), _("Ratings"), _("Response rate"),
    ]
    rows = []
    for line in result.bots:
        f = line.figures
        rows.append([
            line.bot.name or line.bot.bot_id,
            fig.count(f.escalations),
            fig.count(line.conversations),
            fig.percent(line.deflection),
            *[fig.count(f.outcomes[o]) for o in outcomes],
            fig.duration(f.median("assign")),
            fig.duration(f.median("reply")),
            fig.duration(f.p90("reply")),
            fig.duration(f.median("resolve")),
            fig.score(f.csat),
            fig.count(f.ratings),
            fig.percent(f.response_rate),
        ])
    return Table(headers, rows)


def agent_table(result: Report) -> Table:
    # "Time online" needs a history of each agent's availability, which Desk does not
    # keep (see docs/reports.md), so the column is left out rather than guessed.
    headers = [
        _("Agent"), _("Tickets handled"), _("Closed by them"), _("Median first reply"),
        _("Median resolution"), _("CSAT (1–5)"), _("Ratings"),
    ]
    rows = []
    for line in result.agents:
        f = line.figures
        rows.append([
            _name(line.agent),
            fig.count(f.escalations),
            fig.count(f.sums["closed"]),
            fig.duration(f.median("reply")),
            fig.duration(f.median("resolve")),
            fig.score(f.csat),
            fig.count(f.ratings),
        ])
    return Table(headers, rows)
