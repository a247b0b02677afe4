"""The reports' own tables: per-day rollups of tickets, what each ticket contributes to
them, and the conversations each bot reports handling.

A rollup row holds, for one day (in the desk's time zone) of one bot, agent, priority
and outcome, the number of tickets opened that day and, for each measured time,
how many tickets have it, their sum and a fixed histogram, so the Reports page
reads medians and 90th percentiles without touching the ticket or message tables.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# The measured times, each from the ticket's opening: to its first assignment, to the
# first agent reply, to its close.
METRICS = ("assign", "reply", "resolve")

# The histogram's bucket upper bounds, in seconds: bucket i holds the times in
# [BOUNDS[i-1], BOUNDS[i]); the last one everything from a week on. A quantile read from
# them lies in the bucket of the exact one (see reports.figures.quantile).
BUCKET_BOUNDS = (
    10, 20, 30, 45, 60, 90, 120, 180, 300, 450, 600, 900, 1200, 1800, 2700, 3600,
    5400, 7200, 10800, 14400, 21600, 28800, 43200, 86400, 172800, 345600, 604800,
)
BUCKETS = len(BUCKET_BOUNDS) + 1


def histogram_columns(metric: str) -> list[str]:
    return [f"{metric}_h{i}" for i in range(BUCKETS)]


# Every summed column of a rollup row, in a fixed order.
SUM_COLUMNS: list[str] = ["tickets"]
for _metric in METRICS:
    SUM_COLUMNS += [f"{_metric}_count", f"{_metric}_ms", *histogram_columns(_metric)]
SUM_COLUMNS += ["surveyed", "rated", "score_sum"]
KEY_COLUMNS = ("day", "bot_id", "priority", "outcome")

# The per-agent rollup: what the per-agent table shows ("closed": by an agent).
AGENT_SUM_COLUMNS: list[str] = ["tickets", "closed"]
for _metric in ("reply", "resolve"):
    AGENT_SUM_COLUMNS += [f"{_metric}_count", f"{_metric}_ms", *histogram_columns(_metric)]
AGENT_SUM_COLUMNS += ["surveyed", "rated", "score_sum"]
AGENT_KEY_COLUMNS = ("day", "bot_id", "agent_id")


class Outcome:
    """How a ticket ended, as the reports group it. A close reason Desk adds later (a
    waiting timeout) gets its own outcome from its name until it is given one here."""

    OPEN = "open"
    AGENT = "agent"
    BOT = "bot"
    EXPIRED = "expired"
    SILENT = "silent"

    # desk.models.CloseReason → outcome
    OF_CLOSE_REASON = {
        "agent": AGENT, "cancel": BOT, "timeout": BOT, "unassigned": EXPIRED, "waiting": SILENT,
    }
    # In the order charts stack them and tables list them.
    LABELS = {
        AGENT: _("Closed by an agent"),
        BOT: _("Stopped by the bot"),
        EXPIRED: _("Expired unassigned"),
        SILENT: _("Closed: the customer did not answer"),
        OPEN: _("Still open"),
    }

    # As a table's column header.
    SHORT = {
        AGENT: pgettext_lazy("report column", "Closed by agent"),
        BOT: pgettext_lazy("report column", "Bot stopped"),
        EXPIRED: pgettext_lazy("report column", "Expired"),
        SILENT: pgettext_lazy("report column", "Customer silent"),
        OPEN: pgettext_lazy("report column", "Open"),
    }

    @classmethod
    def of(cls, status: str, close_reason: str) -> str:
        if status != "closed":
            return cls.OPEN
        return cls.OF_CLOSE_REASON.get(close_reason, close_reason or "closed")

    @classmethod
    def label(cls, outcome: str) -> str:
        """In the active language."""
        return str(cls.LABELS.get(outcome, outcome.capitalize()))

    @classmethod
    def short(cls, outcome: str) -> str:
        return str(cls.SHORT.get(outcome, outcome.capitalize()))

    @classmethod
    def ordered(cls, seen: set[str]) -> list[str]:
        return [o for o in cls.LABELS if o in seen] + sorted(seen - set(cls.LABELS))


class DailyRollup(models.Model):
    """The tickets opened on one day for one (bot, priority, outcome), summed: the
    headline figures, the charts and the per-bot table.

    `bot_id` is a plain number, so the key is one unique index that an upsert can
    target on SQLite and PostgreSQL alike; the sum and histogram columns are added
    below from SUM_COLUMNS. The rows of a day are bounded by bots × 4 priorities ×
    outcomes, however many tickets there are."""

    day = models.DateField()
    bot_id = models.BigIntegerField()
    priority = models.CharField(max_length=10)
    outcome = models.CharField(max_length=24)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=list(KEY_COLUMNS), name="rollup_key"),
        ]

    def __str__(self) -> str:
        return f"{self.day} bot {self.bot_id} {self.priority} {self.outcome}"


for _column in SUM_COLUMNS:
    DailyRollup.add_to_class(_column, models.BigIntegerField(db_default=0))


class AgentDailyRollup(models.Model):
    """The tickets opened on one day for one bot that are assigned to one agent, summed:
    the per-agent table (with or without a bot filter). Unassigned tickets have none.
    The rows of a day are bounded by bots × agents."""

    day = models.DateField()
    bot_id = models.BigIntegerField()
    agent_id = models.BigIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=list(AGENT_KEY_COLUMNS), name="agent_rollup_key"),
        ]

    def __str__(self) -> str:
        return f"{self.day} bot {self.bot_id} agent {self.agent_id}"


for _column in AGENT_SUM_COLUMNS:
    AgentDailyRollup.add_to_class(_column, models.BigIntegerField(db_default=0))


class TicketContribution(models.Model):
    """What one ticket adds to the rollups now: its key and its measured times. A change
    to the ticket subtracts this and adds the new one, so the live upkeep is idempotent
    (the same state twice changes nothing) and a rebuild computes the same rows."""

    ticket_id = models.BigIntegerField(primary_key=True)
    day = models.DateField()
    bot_id = models.BigIntegerField()
    agent_id = models.BigIntegerField(default=0)
    priority = models.CharField(max_length=10)
    outcome = models.CharField(max_length=24)
    assign_ms = models.BigIntegerField(null=True)
    reply_ms = models.BigIntegerField(null=True)
    resolve_ms = models.BigIntegerField(null=True)
    surveyed = models.BooleanField(default=False)
    score = models.PositiveSmallIntegerField(null=True)

    def __str__(self) -> str:
        return f"contribution of ticket {self.ticket_id}"


class BotDayStats(models.Model):
    """How many conversations a bot handled on one day (desk time zone), as it reported
    them (PUT /api/v1/bots/{botId}/stats/{date}): the basis of its deflection rate."""

    bot = models.ForeignKey("bots.Bot", on_delete=models.CASCADE, related_name="day_stats")
    day = models.DateField()
    conversations = models.PositiveIntegerField()
    reported_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["bot", "day"], name="one_stats_row_per_bot_day"),
        ]
        indexes = [models.Index(fields=["day", "bot"], name="bot_stats_day")]

    def __str__(self) -> str:
        return f"{self.bot_id} on {self.day}: {self.conversations}"
