"""Reads shared by the inbox page, its live rows, the counts in the side bar and the ticket view.

`InboxFilter` is the one place that knows what each inbox filter means: it narrows a
queryset for the page, and tells a live socket whether a changed ticket belongs in the
view that tab shows, from the facts the broadcast carries.
"""

import functools
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    StringAgg,
    Subquery,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.functions import Cast, Coalesce
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from bots.models import ApiKey, Bot
from bots.services import bots_for_key_sql
from desk import closed_count, search_index
from desk.exceptions import NotFound, TicketClosed
from desk.models import (
    DEFAULT_CAPACITY,
    HELD,
    AgentProfile,
    Availability,
    Label,
    Message,
    Presence,
    Priority,
    Status,
    Ticket,
    TicketLabel,
)

STATUS_FILTERS = {
    "pending": _("Pending"),
    "mine": _("Assigned to me"),
    "waiting": _("Waiting on the customer"),
    "open": _("All open"),
    "closed": _("Closed"),
}
DEFAULT_STATUS = "open"
CONVERSATION_KINDS = (Message.Kind.USER, Message.Kind.BOT, Message.Kind.AGENT)


def inbox_tickets() -> QuerySet[Ticket]:
    """Tickets with what a row shows, in no order: `InboxFilter.apply` narrows them to
    one list and puts it in inbox order. Each carries the ids of its last conversation
    line and its last agent reply (`with_row_details` reads the rest in one query).

    Built once per thread and copied: building its subqueries cost more than running
    the query (2.2 against 0.1 ms for the copy, on every live row and inbox page). One per
    thread, because compiling a query touches the subqueries it shares with its copies."""
    base = getattr(_inbox_tickets, "base", None)
    if base is None:
        base = _inbox_tickets.base = _build_inbox_tickets()
    return base.all()


_inbox_tickets = threading.local()


def _build_inbox_tickets() -> QuerySet[Ticket]:
    lines = Message.objects.filter(ticket=OuterRef("pk")).order_by("-id").values("id")
    label_ids = (
        TicketLabel.objects.filter(ticket=OuterRef("pk"))
        .order_by()
        .values("ticket")
        .annotate(ids=StringAgg(Cast("label_id", CharField()), delimiter=Value(",")))
        .values("ids")
    )
    return Ticket.objects.select_related("bot", "assignee").annotate(
        last_line_id=Subquery(lines.filter(kind__in=CONVERSATION_KINDS)[:1]),
        last_reply_id=Subquery(lines.filter(kind=Message.Kind.AGENT)[:1]),
        label_ids=Subquery(label_ids, output_field=CharField()),
    )


# Within a list: urgent first, then the longest waiting. No list mixes open and closed
# tickets, so open lists put pending, then assigned, then waiting tickets first with
# `status_rank` (a column the database computes from `status`), which the
# `ticket_open_order` index serves; a CASE in the query could not use it.
OPEN_ORDER = ("status_rank", "-priority_rank", "created_at", "id")
CLOSED_ORDER = ("-priority_rank", "created_at", "id")  # the `ticket_inbox_order` index


def with_row_details(tickets: Iterable[Ticket], labels: list[Label] | None = None) -> list[Ticket]:
    """The tickets of one inbox page (from `inbox_tickets`), each with what its row
    shows, in one query more whatever the page size (never computed over the whole
    table):

    - `preview`: the last line of the conversation (internal notes and system lines
      are not part of it), or None;
    - `unread`: end-user messages relayed since the escalation and the last agent reply.
      It is the same for every agent, because the inbox is the team's: it says the
      customer awaits an answer;
    - `waiting_since`: when the customer started waiting (the escalation while the
      ticket is pending, else the first unanswered message), or None (also while the
      agent waits for the customer: status waiting);
    - `labels.all()`: its labels, by name, from `labels` (every label, as
      `inbox_counts` read them) or else read in one query for the page.
    """
    rows = list(tickets)
    _attach_labels(rows, labels)
    previews: dict[int, Message] = {}
    unanswered: dict[int, list] = {}
    if rows:
        # One read: each ticket's last line, and the customer's lines since its last
        # reply. Lines the bot relayed in messageHistory came before the ticket: the
        # agent reads them on opening it, they are not news.
        by_ticket = {t.pk: t for t in rows}
        for message in _row_lines(rows):
            ticket = by_ticket[message.ticket_id]
            message.ticket = ticket  # the row's own ticket, no query to reach it
            if message.pk == ticket.last_line_id:
                previews[ticket.pk] = message
            if (
                message.kind == Message.Kind.USER
                and message.pk > (ticket.last_reply_id or 0)
                and message.created_at > ticket.created_at
            ):
                unanswered.setdefault(ticket.pk, []).append(message.created_at)
    for ticket in rows:
        ticket.preview = previews.get(ticket.pk)
        waiting = unanswered.get(ticket.pk, [])
        ticket.unread = len(waiting) if ticket.is_open else 0
        if ticket.status == Status.PENDING:
            ticket.waiting_since = ticket.created_at
        elif ticket.status == Status.ASSIGNED and waiting:
            ticket.waiting_since = waiting[0]
        else:
            ticket.waiting_since = None
    return rows


def _row_lines(rows: list[Ticket]) -> list[Message]:
    """The lines `with_row_details` reads, in id order: each row's last line, and the
    customer's lines after its last agent reply and its escalation. In plain SQL (each
    row adds four conditions the ORM took longer to build and compile than to run)."""
    quote = connection.ops.quote_name
    line_id, ticket_id, kind, created_at = (
        f"{quote(Message._meta.db_table)}.{quote(name)}"
        for name in ("id", "ticket_id", "kind", "created_at")
    )
    created_field = Message._meta.get_field("created_at")
    last_ids = [t.last_line_id for t in rows if t.last_line_id]
    conditions = [f"{line_id} IN ({', '.join(['%s'] * len(last_ids))})"] if last_ids else []
    params: list = list(last_ids)
    for ticket in rows:
        conditions.append(
            f"({ticket_id} = %s AND {kind} = %s AND {line_id} > %s AND {created_at} > %s)"
        )
        params += [
            ticket.pk,
            Message.Kind.USER,
            ticket.last_reply_id or 0,
            created_field.get_db_prep_value(ticket.created_at, connection),
        ]
    select, _, _ = _reader(connection.vendor, Message)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {select} FROM {quote(Message._meta.db_table)} "
            f"WHERE {' OR '.join(conditions)} ORDER BY {line_id}",
            params,
        )
        return [_from_row(Message, row) for row in cursor.fetchall()]


def _attach_labels(rows: list[Ticket], labels: list[Label] | None) -> None:
    """Fill each row's `labels` (as `prefetch_related` would) from the ids its query
    carried (`inbox_tickets`)."""
    ids = {t.pk: [int(i) for i in (t.label_ids or "").split(",") if i] for t in rows}
    wanted = {i for row_ids in ids.values() for i in row_ids}
    if labels is None:
        labels = list(Label.objects.filter(pk__in=wanted)) if wanted else []
    by_id = {label.pk: label for label in labels}
    for ticket in rows:
        mine = sorted(
            (by_id[i] for i in ids[ticket.pk] if i in by_id),
            key=lambda label: (label.name, label.pk),
        )
        queryset = ticket.labels.get_queryset()  # never run: its cache is filled here
        queryset._result_cache, queryset._prefetch_done = mine, True
        ticket._prefetched_objects_cache = {"labels": queryset}


def all_labels() -> list[Label]:
    """Every label, by name: the side bar's filter, a ticket's menu, Settings → Labels."""
    return sorted(Label.objects.all(), key=lambda label: (label.name.casefold(), label.pk))


def label_ticket_counts() -> dict[int, tuple[int, int]]:
    """Per label: (open tickets, all tickets) carrying it."""
    return {
        row["label_id"]: (row["open"], row["all"])
        for row in TicketLabel.objects.order_by()
        .values("label_id")
        .annotate(all=Count("id"), open=Count("id", filter=~Q(ticket__status=Status.CLOSED)))
    }


def row_labels() -> Prefetch:
    """A ticket's labels as its row and side bar show them, for `prefetch_related`."""
    return Prefetch("labels", queryset=Label.objects.order_by("name", "pk"))


def inbox_row(ticket_id: int) -> Ticket | None:
    """One ticket as its inbox row shows it (for a live push)."""
    return inbox_rows([ticket_id]).get(ticket_id)


def inbox_rows(ticket_ids: list[int]) -> dict[int, Ticket]:
    """`inbox_row` for many tickets, in the queries of one inbox page."""
    rows = with_row_details(inbox_tickets().filter(pk__in=ticket_ids))
    return {ticket.pk: ticket for ticket in rows}


MAX_ROW_ID = 2**63 - 1  # the largest id a database column holds


def row_id(value: str | None) -> int | None:
    """A positive whole number a database id column can hold, or None."""
    try:
        number = int(value or "")
    except ValueError:  # also a number too long to read
        return None
    return number if 0 < number <= MAX_ROW_ID else None


@dataclass(frozen=True)
class InboxFilter:
    """What one inbox tab shows, read from (and written back to) its URL."""

    status: str = DEFAULT_STATUS
    priority: str = ""
    bot: str = ""  # a Bot.bot_id
    assignee: int | None = None
    label: int | None = None  # a Label's id
    q: str = ""
    page: int = 1

    @classmethod
    def from_query(cls, query: QueryDict) -> "InboxFilter":
        """Unknown or malformed values fall back to "no filter" rather than an error page:
        an id no database column can hold, a NUL character (PostgreSQL refuses it in
        a query), a page past the last (the last page)."""
        status = query.get("status", DEFAULT_STATUS)
        priority = query.get("priority", "")
        bot = query.get("bot", "")[:64]
        return cls(
            status=status if status in STATUS_FILTERS else DEFAULT_STATUS,
            priority=priority if priority in Priority.values else "",
            bot="" if "\x00" in bot else bot,
            assignee=row_id(query.get("assignee")),
            label=row_id(query.get("label")),
            q=" ".join(query.get("q", "").replace("\x00", " ").split())[:200],
            page=row_id(query.get("page")) or 1,
        )

    @property
    def is_narrowed(self) -> bool:
        return bool(self.priority or self.bot or self.assignee or self.label or self.q)

    def apply(self, tickets: QuerySet[Ticket], agent: AbstractBaseUser) -> QuerySet[Ticket]:
        tickets = tickets.filter(self._status_q(agent))
        if self.priority:
            tickets = tickets.filter(priority=self.priority)
        if self.bot:
            tickets = tickets.filter(bot__bot_id=self.bot)
        if self.assignee:
            tickets = tickets.filter(assignee_id=self.assignee)
        if self.label:
            tickets = tickets.filter(
                Exists(TicketLabel.objects.filter(ticket_id=OuterRef("pk"), label_id=self.label))
            )
        if self.q:
            tickets = tickets.filter(search_q(self.q, open_only=self.status != "closed"))
        return tickets.order_by(*(CLOSED_ORDER if self.status == "closed" else OPEN_ORDER))

    def _status_q(self, agent: AbstractBaseUser) -> Q:
        match self.status:
            case "pending":
                return Q(status=Status.PENDING)
            case "mine":
                return Q(status__in=HELD, assignee_id=agent.pk)
            case "waiting":
                return Q(status=Status.WAITING)
            case "closed":
                return Q(status=Status.CLOSED)
            case _:
                return ~Q(status=Status.CLOSED)

    def admits(self, facts: dict, agent: AbstractBaseUser) -> bool:
        """Whether a ticket with these facts (from a broadcast) belongs in this view,
        the text search aside (`needs_search_check`): the same rules as `apply`."""
        status = facts["status"]
        match self.status:
            case "pending":
                ok = status == Status.PENDING
            case "mine":
                ok = status in HELD and facts["assignee_id"] == agent.pk
            case "waiting":
                ok = status == Status.WAITING
            case "closed":
                ok = status == Status.CLOSED
            case _:
                ok = status != Status.CLOSED
        return (
            ok
            and (not self.priority or facts["priority"] == self.priority)
            and (not self.bot or facts["bot_id"] == self.bot)
            and (not self.assignee or facts["assignee_id"] == self.assignee)
            and (not self.label or self.label in facts.get("labels", ()))
        )

    def known_count(self, counts: dict) -> int | None:
        """The length of this list when the side-bar counts already say it (a status
        alone, or all open tickets of one priority, bot or assignee), else None."""
        if self.q or self.label or sum(map(bool, (self.priority, self.bot, self.assignee))) > (
            self.status == "open"
        ):
            return None
        if self.priority:
            return counts["priority"].get(self.priority, 0)
        if self.bot:
            return counts["bot"].get(self.bot, 0)
        if self.assignee:
            return counts["assignee"].get(self.assignee, 0)
        return counts["status"].get(self.status, 0)

    @property
    def needs_search_check(self) -> bool:
        return bool(self.q)

    def matches_search(self, ticket_id: int) -> bool:
        return search_matches(ticket_id, self.q, open_only=self.status != "closed")

    def but(self, **changes) -> "InboxFilter":
        return replace(self, **changes)


# At most this many words of a search are looked for (the rest are ignored).
MAX_SEARCH_WORDS = 32


def search_words(text: str) -> list[str]:
    """The words a search looks for: runs of letters and digits, as the search index
    reads them (desk.search_index), lower-cased, each once."""
    words = dict.fromkeys(word.casefold() for word in re.findall(r"[^\W_]+", text))
    return list(words)[:MAX_SEARCH_WORDS]


def _search_sql(
    words: list[str],
    *,
    ticket_id: int | None = None,
    whole: bool = False,
    open_only: bool = False,
) -> tuple[str, list]:
    """The ids of the tickets whose search document has every word: one lookup in the
    database's full-text index (PostgreSQL: a GIN index on a tsvector; SQLite: FTS5).
    With `ticket_id`, only whether that ticket matches; with `whole`, the last word too
    as a whole word; with `open_only`, the open tickets' documents only, in an index of
    their own (SQLite: a second FTS5 table; PostgreSQL: a partial GIN index), so the
    closed history is not read: a prefix's matches are gathered over the whole index it
    reads before anything else narrows them, and a word most tickets have would cost a
    walk over every ticket ever made (desk.search_index)."""
    # Whole words, but the last one may be the start of a word (it may be half typed) if
    # it has two characters or more: a prefix stands for every word it starts, and "a"
    # would be most of the index.
    last = -1 if whole else len(words) - 1
    starts = [i == last and len(word) > 1 for i, word in enumerate(words)]
    pairs = list(zip(words, starts, strict=True))
    if connection.vendor == "postgresql":
        table = search_index.TABLE
        sql = f"SELECT ticket_id FROM {table} WHERE document @@ to_tsquery('simple', %s)"
        terms = [f"'{word}':*" if start else f"'{word}'" for word, start in pairs]
        params: list = [" & ".join(terms)]
        if ticket_id is not None:
            sql += " AND ticket_id = %s"
            params.append(ticket_id)
        if open_only:
            sql += " AND open"
        return sql, params
    table = search_index.OPEN_TABLE if open_only else search_index.TABLE
    sql = f"SELECT rowid FROM {table} WHERE {table} MATCH %s"
    params = [" ".join(f'"{word}"*' if start else f'"{word}"' for word, start in pairs)]
    if ticket_id is not None:
        sql += " AND rowid = %s"
        params.append(ticket_id)
    return sql, params


def search_q(text: str, *, open_only: bool = False) -> Q:
    """Tickets with every word of `text` in the title, the customer's name or email, a
    custom field (name or value), or any line of the transcript, as whole words but the
    last, which may be the start of one ("refund jor" finds Jordan's refund). A search
    with no letter or digit finds nothing. `open_only`: the caller keeps only open
    tickets, so the closed history is not read (see `_search_sql`)."""
    words = search_words(text)
    if not words or connection.vendor not in search_index.VENDORS:
        return Q(pk__in=[])
    sql, params = _search_sql(words, open_only=open_only)
    if connection.vendor == "sqlite" and _matches_many(words, open_only=open_only):
        # SQLite knows nothing of how many tickets an FTS5 query matches and always
        # walks the matches, looking each ticket up: for a word most tickets have, the
        # whole table. Then the list is read in its own order instead (its index) and
        # each ticket checked against the matches ("+" keeps the id's index out of it).
        table = Ticket._meta.db_table
        return Q(RawSQL(f'+"{table}"."id" IN ({sql})', params, output_field=BooleanField()))
    return Q(pk__in=RawSQL(sql, params))


# A search matching this many tickets or more is "many" (see search_q). Counting up to
# it in the full-text index, all words whole (FTS5 streams a whole word's matches, where
# it gathers every match of a prefix first), takes a fraction of a millisecond.
MANY_MATCHES = 1000


def _matches_many(words: list[str], *, open_only: bool = False) -> bool:
    sql, params = _search_sql(words, whole=True, open_only=open_only)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM ({sql} LIMIT {MANY_MATCHES})", params)
        return cursor.fetchone()[0] >= MANY_MATCHES


def search_matches(ticket_id: int, text: str, *, open_only: bool = False) -> bool:
    """Whether one ticket matches a search (a live tab's check of a changed row).
    `open_only`: for an open list, so an open ticket only (a ticket closed meanwhile
    leaves the list anyway)."""
    words = search_words(text)
    if not words or connection.vendor not in search_index.VENDORS:
        return False
    sql, params = _search_sql(words, ticket_id=ticket_id, open_only=open_only)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def inbox_counts(agent: AbstractBaseUser | None = None) -> dict:
    """The numbers beside each filter in the side bar, in two queries whatever the size
    of the history: the closed tickets (kept by the database, desk.closed_count) with the
    version a page has seen (the last ticket and line ids, see `inbox_version`), and the
    open tickets grouped by status, priority, bot and assignee (with, for `agent`, the
    queue and their tickets awaiting a reply: the tab title); and the labels with their
    open tickets, in a third. Nothing here reads the closed tickets themselves."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {closed_count.closed_sql(connection.vendor)}, "
            f"(SELECT max(id) FROM {Ticket._meta.db_table}), "
            f"(SELECT max(id) FROM {Message._meta.db_table})"
        )
        closed, last_ticket, last_message = cursor.fetchone()
    closed = int(closed)  # PostgreSQL sums to a numeric
    version = {"t": last_ticket or 0, "m": last_message or 0}
    by_status: dict[str, int] = {}
    open_groups = (
        Ticket.objects.exclude(status=Status.CLOSED)
        .order_by()
        .values_list("status", "priority", "bot__bot_id", "assignee_id")
        .annotate(n=Count("id"))
    )
    if agent is not None:
        open_groups = open_groups.annotate(
            awaiting=Count(
                "id", filter=Q(status=Status.ASSIGNED, assignee_id=agent.pk) & awaiting_reply()
            )
        )
    else:
        open_groups = open_groups.annotate(awaiting=Value(0))
    priority: dict[str, int] = {}
    bots: dict[str, int] = {}
    assignee: dict[int, int] = {}
    awaiting_mine = 0
    for status, prio, bot_id, assignee_id, n, awaiting in open_groups.values_list(
        "status", "priority", "bot__bot_id", "assignee_id", "n", "awaiting"
    ):
        by_status[status] = by_status.get(status, 0) + n
        priority[prio] = priority.get(prio, 0) + n
        bots[bot_id] = bots.get(bot_id, 0) + n
        if assignee_id is not None:
            assignee[assignee_id] = assignee.get(assignee_id, 0) + n
        awaiting_mine += awaiting
    labels = sorted(
        Label.objects.annotate(
            open_tickets=Count("tickets", filter=~Q(tickets__status=Status.CLOSED))
        ),
        key=lambda label: (label.name.casefold(), label.pk),
    )
    counts = {
        "status": {
            "pending": by_status.get(Status.PENDING, 0),
            "waiting": by_status.get(Status.WAITING, 0),
            "open": sum(by_status.values()),
            "closed": closed,
        },
        "priority": priority,
        "bot": bots,
        "assignee": assignee,
        "version": version,
        "label": {label.pk: label.open_tickets for label in labels if label.open_tickets},
        "labels": labels,
    }
    if agent is not None:
        counts["status"]["mine"] = assignee.get(agent.pk, 0)
        counts["awaiting_mine"] = awaiting_mine
    return counts


def inbox_version() -> dict:
    """What an inbox page has seen. Every change to a ticket either creates a ticket or
    adds a transcript line (claims, priority changes and closes write a system line), so a
    tab whose version is still current has missed nothing."""
    return {
        "t": Ticket.objects.order_by("-id").values_list("id", flat=True).first() or 0,
        "m": Message.objects.order_by("-id").values_list("id", flat=True).first() or 0,
    }


def inbox_changed_since(*, ticket_id: int, message_id: int) -> bool:
    return (
        Ticket.objects.filter(id__gt=ticket_id).exists()
        or Message.objects.filter(id__gt=message_id).exists()
    )


def desk_bots() -> QuerySet[Bot]:
    return Bot.objects.order_by("name", "bot_id")


def desk_agents() -> QuerySet:
    """The people a ticket can be assigned to: active accounts."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .order_by("first_name", "last_name", "username")
    )


# --- agents' availability, presence and load -----------------------------------------------

# What the desk shows next to an agent's name: their availability, with "away" for an
# agent online by choice but with no open Desk tab for DESK_AWAY_AFTER_SECONDS.
AGENT_STATUSES = {
    "online": "online",
    "away": "away (no open Desk tab)",
    "busy": "busy",
    "offline": "offline",
}


def presence_cutoff(now: datetime | None = None) -> datetime:
    """An agent last seen before this is away."""
    return (now or timezone.now()) - timedelta(seconds=settings.DESK_AWAY_AFTER_SECONDS)


def listener_locales() -> list[str]:
    """The locales the agents' open tabs recorded (`assignment.presence_arrived`),
    of every agent present."""
    return list(
        Presence.objects.filter(last_seen_at__gte=presence_cutoff())
        .exclude(locale="")
        .order_by()
        .values_list("locale", flat=True)
        .distinct()
    )


def open_load() -> Coalesce:
    """The agent's open tickets, assigned or waiting (their load), for an annotation of
    users."""
    return Coalesce(
        Subquery(
            Ticket.objects.filter(assignee_id=OuterRef("pk"), status__in=HELD)
            .order_by()
            .values("assignee_id")
            .annotate(n=Count("id"))
            .values("n"),
            output_field=IntegerField(),
        ),
        0,
    )


def agents_with_status(*, load: bool = False, now: datetime | None = None) -> QuerySet:
    """Active agents, each with `availability`, `present`, `status` (a key of
    AGENT_STATUSES), `capacity` and, with `load`, `load` (open assigned tickets)."""
    profile = AgentProfile.objects.filter(agent_id=OuterRef("pk"))
    agents = desk_agents().annotate(
        availability=Coalesce(
            Subquery(profile.values("availability")[:1]), Value(Availability.ONLINE.value)
        ),
        capacity=Coalesce(
            Subquery(profile.values("capacity")[:1]), Value(DEFAULT_CAPACITY),
            output_field=IntegerField(),
        ),
        last_assigned_at=Subquery(profile.values("last_assigned_at")[:1]),
        present=Exists(
            Presence.objects.filter(agent_id=OuterRef("pk"), last_seen_at__gte=presence_cutoff(now))
        ),
        status=Case(
            When(availability=Availability.BUSY, then=Value("busy")),
            When(availability=Availability.OFFLINE, then=Value("offline")),
            When(present=True, then=Value("online")),
            default=Value("away"),
            output_field=CharField(),
        ),
    )
    if load:
        agents = agents.annotate(load=open_load())
    return agents


def staffing_counts(now: datetime | None = None) -> tuple[int, int]:
    """(agents online, and of those under capacity): the agents `agents_with_status`
    calls online, counted, and those whose load is below their capacity. Every startHitl
    reads it; the same rule as plain SQL, since the ORM spent about 4 ms of CPU building
    that annotated query against microseconds for the database (docs/perf.md,
    "startHitl's CPU"). tests/test_queue_position.py holds the two to the same answers."""
    users = get_user_model()._meta.db_table
    tickets, profiles = Ticket._meta.db_table, AgentProfile._meta.db_table
    presences = Presence._meta.db_table
    held = ", ".join(["%s"] * len(HELD))
    cutoff = connection.ops.adapt_datetimefield_value(presence_cutoff(now))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT count(*), coalesce(sum(CASE WHEN held < room THEN 1 ELSE 0 END), 0) "
            f"FROM (SELECT coalesce(p.capacity, %s) AS room, "
            f"  (SELECT count(*) FROM {tickets} t "
            f"   WHERE t.assignee_id = u.id AND t.status IN ({held})) AS held "
            f" FROM {users} u LEFT JOIN {profiles} p ON p.agent_id = u.id "
            f" WHERE u.is_active AND coalesce(p.availability, %s) NOT IN (%s, %s) "
            f"  AND EXISTS (SELECT 1 FROM {presences} s "
            f"   WHERE s.agent_id = u.id AND s.last_seen_at >= %s)) agents",
            [
                DEFAULT_CAPACITY, *(status.value for status in HELD), Availability.ONLINE.value,
                Availability.BUSY.value, Availability.OFFLINE.value, cutoff,
            ],
        )
        online, available = cursor.fetchone()
    return int(online), int(available)  # PostgreSQL sums to a numeric


def open_loads(agent_ids: list[int]) -> dict[int, int]:
    """Each agent's open tickets, assigned or waiting, read now (agents with none are
    left out)."""
    return dict(
        Ticket.objects.filter(assignee_id__in=agent_ids, status__in=HELD)
        .order_by()
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )


def agents_gone_away(since: datetime, until: datetime) -> list[int]:
    """The agents whose presence ran out between two cutoffs (last seen in [since, until))."""
    return list(
        Presence.objects.filter(last_seen_at__gte=since, last_seen_at__lt=until).values_list(
            "agent_id", flat=True
        )
    )


def own_status(availability: str) -> str:
    """The status of an agent who is present (a tab of theirs just opened), from their
    availability: what `agents_with_status` computes, without the query."""
    if availability in (Availability.BUSY, Availability.OFFLINE):
        return str(availability)
    return "online"


def agent_with_status(agent_id: int, *, load: bool = True):
    """One agent as `agents_with_status` describes them, or None (unknown or disabled)."""
    return agents_with_status(load=load).filter(pk=agent_id).first()


def agent_by_id(user_id: object):
    try:
        return desk_agents().get(pk=int(user_id))
    except (ValueError, TypeError, get_user_model().DoesNotExist):
        return None


def transcript(ticket_id: int, *, after: int = 0) -> QuerySet[Message]:
    """A ticket's transcript lines in order; with `after`, only those a tab has not seen."""
    return (
        Message.objects.filter(ticket_id=ticket_id, id__gt=after)
        .order_by("id")
        .prefetch_related("files")
    )


def transcript_tail(
    ticket_id: int, *, before: int | None = None, lines: int
) -> tuple[list[Message], int]:
    """The last `lines` transcript lines (before the line `before`, when given), in
    order, and the id to page back from (the first line shown), or 0 when there is
    nothing earlier."""
    older = Message.objects.filter(ticket_id=ticket_id)
    if before is not None:
        older = older.filter(id__lt=before)
    page = list(older.order_by("-id").prefetch_related("files")[: lines + 1])
    more = len(page) > lines
    page = page[:lines][::-1]
    return page, (page[0].pk if more and page else 0)


def transcript_counts_many(ticket_ids: list[int]) -> dict[int, dict]:
    """The conversation's lines and the notes of each ticket, as `ticket_with_counts`
    counts them, in one query. In plain SQL: every relayed message's tally reads it, and
    the ORM's filtered counts took longer to compile than to run."""
    counts = {ticket_id: {"message_count": 0, "note_count": 0} for ticket_id in ticket_ids}
    if not ticket_ids:
        return counts
    quote = connection.ops.quote_name
    kinds = ", ".join(["%s"] * len(CONVERSATION_KINDS))
    tickets = ", ".join(["%s"] * len(ticket_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('ticket_id')}, "
            f"COUNT(CASE WHEN {quote('kind')} IN ({kinds}) THEN 1 END), "
            f"COUNT(CASE WHEN {quote('kind')} = %s THEN 1 END) "
            f"FROM {quote(Message._meta.db_table)} WHERE {quote('ticket_id')} IN ({tickets}) "
            f"GROUP BY {quote('ticket_id')}",
            [*CONVERSATION_KINDS, Message.Kind.NOTE, *ticket_ids],
        )
        for ticket_id, messages, notes in cursor.fetchall():
            counts[ticket_id] = {"message_count": messages, "note_count": notes}
    return counts


def _line_count(**condition) -> Coalesce:
    """On a ticket queryset: how many of its transcript lines match, counted over the
    transcript index (a join and GROUP BY over every ticket column took 50 ms at 2,000
    lines)."""
    lines = (
        Message.objects.filter(ticket=OuterRef("pk"), **condition)
        .order_by()
        .values("ticket")
        .annotate(n=Count("id"))
        .values("n")
    )
    return Coalesce(Subquery(lines, output_field=IntegerField()), Value(0))


def ticket_with_counts(ticket_id: int) -> Ticket:
    return (
        Ticket.objects.select_related("bot", "assignee", "closed_by", "rating")
        .prefetch_related(row_labels())
        .annotate(
            message_count=_line_count(kind__in=CONVERSATION_KINDS),
            note_count=_line_count(kind=Message.Kind.NOTE),
        )
        .get(pk=ticket_id)
    )


# --- the customer -----------------------------------------------------------------------

CUSTOMER_HISTORY_SIZE = 10


def customer_history(ticket: Ticket) -> tuple[list[Ticket], bool] | None:
    """The customer's tickets with the same bot opened before this one, newest first, at
    most CUSTOMER_HISTORY_SIZE, in one query: those with the same user id (when the bot
    sent one) or the same email. (tickets, more): `more` when there were older ones
    still. None when the ticket has neither, so nobody can tell who the customer is."""
    same = Q()
    if ticket.user_id:
        same |= Q(user_id=ticket.user_id)
    if ticket.user_email:
        same |= Q(user_email=ticket.user_email)
    if not same:
        return None
    found = list(
        Ticket.objects.filter(same, bot_id=ticket.bot_id, pk__lt=ticket.pk)
        .order_by("-pk")
        .only("pk", "title", "status", "created_at")[: CUSTOMER_HISTORY_SIZE + 1]
    )
    return found[:CUSTOMER_HISTORY_SIZE], len(found) > CUSTOMER_HISTORY_SIZE


def lock_open_ticket(ticket_id: int) -> Ticket:
    """The ticket (not its bot), locked for the rest of the transaction; refused when closed."""
    try:
        ticket = (
            Ticket.objects.select_for_update(of=("self",)).select_related("bot").get(pk=ticket_id)
        )
    except Ticket.DoesNotExist:
        raise NotFound(gettext("No such ticket.")) from None
    if not ticket.is_open:
        raise TicketClosed(gettext("This ticket is closed."), ticket=ticket)
    return ticket


# --- what waits for an agent (the tab title, the alerts) ------------------------------


def awaiting_reply() -> Exists:
    """On a ticket queryset: the customer wrote since the escalation and the last agent
    reply."""
    last_reply = (
        Message.objects.filter(ticket_id=OuterRef(OuterRef("pk")), kind=Message.Kind.AGENT)
        .order_by("-id")
        .values("id")[:1]
    )
    return Exists(
        Message.objects.filter(
            ticket_id=OuterRef("pk"),
            kind=Message.Kind.USER,
            id__gt=Coalesce(Subquery(last_reply), Value(0)),
            created_at__gt=OuterRef("created_at"),
        )
    )


def awaiting_reply_counts(agent_id: int | None = None) -> dict[int, int]:
    """Assigned tickets whose customer wrote since the escalation and the last agent
    reply, per assignee (or only `agent_id`'s): what waits for that agent's answer."""
    tickets = Ticket.objects.filter(status=Status.ASSIGNED).order_by()
    if agent_id is not None:
        tickets = tickets.filter(assignee_id=agent_id)
    return dict(
        tickets.filter(awaiting_reply())
        .values_list("assignee_id")
        .annotate(n=Count("id"))
        .values_list("assignee_id", "n")
    )


def waiting_counts(agent_id: int) -> dict[str, int]:
    """The queue's length and the agent's tickets awaiting a reply, in one query (what a
    tab's title counts: `waiting_for`)."""
    mine = Q(status=Status.ASSIGNED, assignee_id=agent_id)
    return Ticket.objects.filter(Q(status=Status.PENDING) | mine).order_by().aggregate(
        pending=Count("id", filter=Q(status=Status.PENDING)),
        mine=Count("id", filter=mine & Q(awaiting_reply())),
    )


def waiting_for(agent_id: int, *, status: str, pending: int | None = None) -> int:
    """The number in an agent's tab title: their tickets awaiting a reply, plus the queue
    when they take new tickets (their status is "online")."""
    mine = awaiting_reply_counts(agent_id).get(agent_id, 0)
    if status != "online":
        return mine
    if pending is None:
        pending = pending_count()
    return mine + pending


def pending_count() -> int:
    """Tickets in the queue."""
    return Ticket.objects.filter(status=Status.PENDING).count()


# --- the relay's first read, in plain SQL ------------------------------------------------


@functools.cache
def _reader(vendor: str, model: type) -> tuple[str, list[str], list[tuple[int, list, Any]]]:
    """How the ORM reads the model's concrete columns from this database, worked out
    once: the select list, the attribute names, and what it does to each value read (its
    dates, UUIDs, JSON, booleans) as (index, converters, column)."""
    table = model._meta.db_table
    fields = model._meta.concrete_fields
    columns = [field.get_col(table) for field in fields]
    compiler = model.objects.none().query.get_compiler(connection=connection)
    select = ", ".join(compiler.compile(column)[0] for column in columns)
    converters = []
    for index, column in enumerate(columns):
        found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
        if found:
            converters.append((index, found, column))
    return select, [field.attname for field in fields], converters


def _from_row(model: type, values: Sequence) -> Any:
    """A model instance from its concrete columns' values (as `_reader` selects them), as
    a queryset would make it."""
    _, names, converters = _reader(connection.vendor, model)
    values = list(values)
    for index, functions, column in converters:
        for convert in functions:
            values[index] = convert(values[index], column, connection)
    return model.from_db(connection.alias, names, values)


def open_ticket_with_bot(*, api_key: ApiKey, bot_id: str, conversation_id: str) -> Ticket | None:
    """The conversation's open ticket and its bot, read together, if the key may use the
    bot (`bots_for_key`); None otherwise (no such bot, or no open ticket). At most one
    ticket matches (`one_open_ticket_per_conversation`).

    In plain SQL: every relayed message reads it first, and the ORM spent several times
    the query's own time building and compiling it (docs/perf.md, "The relay's request
    and its live rows")."""
    ticket_select, ticket_names, _ = _reader(connection.vendor, Ticket)
    bot_select, _, _ = _reader(connection.vendor, Bot)
    quote = connection.ops.quote_name
    tickets, bots = quote(Ticket._meta.db_table), quote(Bot._meta.db_table)
    scope, scope_params = bots_for_key_sql(api_key, f"{bots}.{quote('id')}")
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {ticket_select}, {bot_select} FROM {tickets} INNER JOIN {bots} "
            f"ON ({tickets}.{quote('bot_id')} = {bots}.{quote('id')}) "
            f"WHERE {tickets}.{quote('conversation_id')} = %s "
            f"AND NOT ({tickets}.{quote('status')} = %s) "
            f"AND {bots}.{quote('bot_id')} = %s AND {scope} LIMIT 1",
            [conversation_id, Status.CLOSED, bot_id, *scope_params],
        )
        row = cursor.fetchone()
    if row is None:
        return None
    ticket = _from_row(Ticket, row[: len(ticket_names)])
    ticket.bot = _from_row(Bot, row[len(ticket_names) :])
    return ticket
