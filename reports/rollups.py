"""Keeping the per-day rollups: live, inside the transaction of each ticket change, and
from scratch (`rebuild`, the `rebuild_reports` command).

`ticket_changed(ticket)` is the one hook desk.services calls after a change that can
move a figure (opened, assigned, first reply, priority, closed, rated). It computes
what the ticket contributes now, compares it with what it contributed before (its
`TicketContribution` row), and moves the difference with one upsert per rollup row
touched (a ticket counts in one DailyRollup row and, once assigned, one
AgentDailyRollup row). Calling it again with the same state changes nothing.

This module sits beside desk.services in the domain layer: it reads desk's models and
is called by its services; it imports no service, page or entry point.
"""

import bisect
import time
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.apps import apps as global_apps
from django.db import connection, transaction
from django.utils import timezone

from reports.models import (
    AGENT_KEY_COLUMNS,
    AGENT_SUM_COLUMNS,
    BUCKET_BOUNDS,
    KEY_COLUMNS,
    SUM_COLUMNS,
    AgentDailyRollup,
    DailyRollup,
    Outcome,
    TicketContribution,
)

Key = tuple  # a rollup row's key: (day, bot_id, priority, outcome) or (day, bot_id, agent_id)


def report_day(moment: datetime) -> date:
    """The day a moment falls on in the desk's time zone (settings.TIME_ZONE)."""
    return timezone.localtime(moment, timezone.get_default_timezone()).date()


def bucket(ms: int) -> int:
    """The histogram bucket of a time in milliseconds."""
    return bisect.bisect_right(BUCKET_BOUNDS, ms / 1000)


def _ms(start: datetime, end: datetime | None) -> int | None:
    if end is None:
        return None
    return max(0, round((end - start).total_seconds() * 1000))


@dataclass(frozen=True)
class Contribution:
    """What one ticket adds to the rollups."""

    day: date
    bot_id: int
    agent_id: int
    priority: str
    outcome: str
    assign_ms: int | None
    reply_ms: int | None
    resolve_ms: int | None
    surveyed: bool
    score: int | None

    @classmethod
    def of(
        cls,
        *,
        bot_id: int,
        assignee_id: int | None,
        priority: str,
        status: str,
        close_reason: str,
        created_at: datetime,
        first_assigned_at: datetime | None,
        first_reply_at: datetime | None,
        closed_at: datetime | None,
        surveyed: bool,
        score: int | None,
    ) -> "Contribution":
        outcome = Outcome.of(status, close_reason)
        return cls(
            day=report_day(created_at),
            bot_id=bot_id,
            agent_id=assignee_id or 0,
            priority=priority,
            outcome=outcome,
            assign_ms=_ms(created_at, first_assigned_at),
            reply_ms=_ms(created_at, first_reply_at),
            resolve_ms=_ms(created_at, closed_at) if outcome != Outcome.OPEN else None,
            surveyed=surveyed or score is not None,
            score=score,
        )

    @classmethod
    def of_row(cls, row: TicketContribution) -> "Contribution":
        return cls(**{name: getattr(row, name) for name in cls.__dataclass_fields__})

    def fields(self) -> dict:
        """As the columns of a TicketContribution row."""
        return {name: getattr(self, name) for name in self.__dataclass_fields__}

    def rows(self) -> list[tuple[int, Key, dict[str, int]]]:
        """(rollup, key, columns) of each rollup row this ticket adds to, and by how much
        (rollup: an index into ROLLUPS)."""
        times = {"assign": self.assign_ms, "reply": self.reply_ms, "resolve": self.resolve_ms}
        found = [(0, (self.day, self.bot_id, self.priority, self.outcome),
                  self._columns(times))]
        if self.agent_id:
            columns = self._columns({"reply": self.reply_ms, "resolve": self.resolve_ms})
            columns["closed"] = int(self.outcome == Outcome.AGENT)
            found.append((1, (self.day, self.bot_id, self.agent_id), columns))
        return found

    def _columns(self, times: dict[str, int | None]) -> dict[str, int]:
        found = {"tickets": 1}
        for metric, ms in times.items():
            if ms is not None:
                found[f"{metric}_count"] = 1
                found[f"{metric}_ms"] = ms
                found[f"{metric}_h{bucket(ms)}"] = 1
        if self.surveyed:
            found["surveyed"] = 1
        if self.score is not None:
            found["rated"] = 1
            found["score_sum"] = self.score
        return found


# The rollup tables, as Contribution.rows numbers them: (model, key columns, sum columns).
ROLLUPS = (
    (DailyRollup, KEY_COLUMNS, SUM_COLUMNS),
    (AgentDailyRollup, AGENT_KEY_COLUMNS, AGENT_SUM_COLUMNS),
)


def _contribution_of(ticket, *, surveyed: bool, score: int | None) -> Contribution:
    return Contribution.of(
        bot_id=ticket.bot_id,
        assignee_id=ticket.assignee_id,
        priority=ticket.priority,
        status=ticket.status,
        close_reason=ticket.close_reason,
        created_at=ticket.created_at,
        first_assigned_at=ticket.first_assigned_at,
        first_reply_at=ticket.first_reply_at,
        closed_at=ticket.closed_at,
        surveyed=surveyed,
        score=score,
    )


def ticket_changed(ticket, *, rating=None, new: bool = False) -> None:
    """Bring the rollups up to date with `ticket` (a desk Ticket, saved), inside the
    caller's transaction. Pass `rating` when its Rating changed; otherwise the survey
    figures the ticket contributed stay as they were. `new`: the ticket was created in
    this transaction, so it has contributed nothing yet (no read to find out)."""
    stored = None if new else TicketContribution.objects.filter(ticket_id=ticket.pk).first()
    before = Contribution.of_row(stored) if stored else None
    if rating is not None:
        surveyed, score = True, rating.score
    elif before is not None:
        surveyed, score = before.surveyed, before.score
    else:
        surveyed, score = False, None
    after = _contribution_of(ticket, surveyed=surveyed, score=score)
    if after == before:
        return
    deltas: dict[tuple[int, Key], Counter] = defaultdict(Counter)
    if before is not None:
        for rollup, key, columns in before.rows():
            deltas[(rollup, key)].subtract(columns)
    for rollup, key, columns in after.rows():
        deltas[(rollup, key)].update(columns)
    # A fixed order of rows, so two changes touching the same two rows cannot deadlock.
    for rollup, key in sorted(deltas):
        changed = {column: n for column, n in deltas[(rollup, key)].items() if n}
        if changed:
            model, key_columns, _ = ROLLUPS[rollup]
            _add(model, key_columns, key, changed)
    fields = after.fields()
    if stored is None:
        TicketContribution.objects.create(ticket_id=ticket.pk, **fields)
    else:
        for name, value in fields.items():
            setattr(stored, name, value)
        stored.save(update_fields=list(fields))


def _add(model, key_columns: tuple, key: Key, columns: dict[str, int]) -> None:
    """Add `columns` to one rollup row, creating it: one INSERT … ON CONFLICT DO UPDATE
    (SQLite and PostgreSQL), so concurrent writers never lose an increment."""
    quote = connection.ops.quote_name
    table = quote(model._meta.db_table)
    names = [*key_columns, *columns]
    sets = ", ".join(f"{quote(c)} = {table}.{quote(c)} + excluded.{quote(c)}" for c in columns)
    sql = (
        f"INSERT INTO {table} ({', '.join(quote(n) for n in names)}) "
        f"VALUES ({', '.join(['%s'] * len(names))}) "
        f"ON CONFLICT ({', '.join(quote(c) for c in key_columns)}) DO UPDATE SET {sets}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*key, *columns.values()])


# --- from scratch ---------------------------------------------------------------------

TICKET_FIELDS = (
    "pk", "bot_id", "assignee_id", "priority", "status", "close_reason", "created_at",
    "first_assigned_at", "first_reply_at", "closed_at",
)


CONTRIBUTION_FIELDS = list(Contribution.__dataclass_fields__)


def _insert(model, columns: list[str], rows: list[tuple]) -> None:
    """Many rows at once (executemany): the rebuild writes a row per ticket."""
    if not rows:
        return
    quote = connection.ops.quote_name
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) "
        f"VALUES ({', '.join(['%s'] * len(columns))})"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def rebuild(*, apps=global_apps, batch: int = 5_000) -> dict:
    """Recompute every rollup row and ticket contribution from the tickets and their
    ratings, in one transaction. On PostgreSQL the rollup tables are locked first, so a
    ticket change waits and then applies its difference to the rebuilt rows."""
    Ticket = apps.get_model("desk", "Ticket")
    Rating = apps.get_model("desk", "Rating")
    tables = [apps.get_model("reports", model.__name__) for model, _, _ in ROLLUPS]
    Contributed = apps.get_model("reports", "TicketContribution")
    started = time.perf_counter()
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                names = ", ".join(m._meta.db_table for m in [Contributed, *tables])
                cursor.execute(f"LOCK TABLE {names} IN ACCESS EXCLUSIVE MODE")
        for model in [Contributed, *tables]:
            model.objects.all().delete()
        ratings = {
            ticket_id: (asked_at is not None or score is not None, score)
            for ticket_id, asked_at, score in Rating.objects.values_list(
                "ticket_id", "asked_at", "score"
            ).iterator(chunk_size=batch)
        }
        totals: list[dict[Key, Counter]] = [defaultdict(Counter) for _ in ROLLUPS]
        pending: list[tuple] = []
        tickets = 0
        rows = Ticket.objects.order_by().values_list(*TICKET_FIELDS)
        for values in rows.iterator(chunk_size=batch):
            fields = dict(zip(TICKET_FIELDS, values, strict=True))
            ticket_id = fields.pop("pk")
            surveyed, score = ratings.get(ticket_id, (False, None))
            contribution = Contribution.of(**fields, surveyed=surveyed, score=score)
            for rollup, key, columns in contribution.rows():
                totals[rollup][key].update(columns)
            pending.append((ticket_id, *contribution.fields().values()))
            tickets += 1
            if len(pending) >= batch:
                _insert(Contributed, ["ticket_id", *CONTRIBUTION_FIELDS], pending)
                pending = []
        _insert(Contributed, ["ticket_id", *CONTRIBUTION_FIELDS], pending)
        for table, (_, key_columns, sum_columns), rows in zip(
            tables, ROLLUPS, totals, strict=True
        ):
            _insert(
                table,
                [*key_columns, *sum_columns],
                [(*key, *(sums[c] for c in sum_columns)) for key, sums in rows.items()],
            )
    return {
        "tickets": tickets,
        "rows": sum(len(rows) for rows in totals),
        "seconds": round(time.perf_counter() - started, 2),
    }
