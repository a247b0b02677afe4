"""The queue as the waiting customer sees it: a pending ticket's place in line, the
estimated wait, the business hours, and the bot's `hitlQueued` updates.

- The line is the routing order (`assignment.QUEUE_ORDER`): highest priority, then
  oldest. Position 1 is next.
- The estimate (documented in docs/bot-api.md): the median wait to a first assignment
  of the bot's last ESTIMATE_SAMPLE tickets assigned within ESTIMATE_WINDOW, times the
  rounds of assignments ahead: ⌈position ÷ agents online⌉. No estimate (None) with
  fewer than ESTIMATE_MIN_SAMPLES waits measured or nobody online.
- startHitl's answer tells the bot the new ticket's place; outside business hours a
  `hitlQueued` with the bot's outside-hours message follows at once.
- Updates: whenever the line may have moved (a ticket joined, left or changed
  priority), `changed()` has a task worker compare each pending ticket's position
  with the last one its bot was told; a changed one is sent at once, or, when the last
  update went out less than DESK_QUEUE_UPDATE_SECONDS ago, held back until then and
  sent with the state of that moment, so the last state always reaches the bot.
"""

import math
import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import Q
from django.tasks import task
from django.utils import timezone

from bots.events import event_record
from bots.models import Bot, Event
from bots.tasks import TIMERS
from desk import selectors
from desk.models import BusinessHours, RoutingSettings, Status, Ticket

QUEUE_ORDER = ("-priority_rank", "created_at", "id")  # highest priority, then oldest

ESTIMATE_SAMPLE = 50
ESTIMATE_WINDOW = timedelta(days=7)
ESTIMATE_MIN_SAMPLES = 3


@dataclass(frozen=True)
class QueueState:
    """What startHitl answers and hitlQueued carries about a ticket's wait."""

    position: int | None  # None: not waiting (assigned or closed)
    estimated_wait_seconds: int | None
    agents_available: int
    within_business_hours: bool


# --- the line -------------------------------------------------------------------------------


def position_of(ticket: Ticket) -> int | None:
    """The pending ticket's place in line (1 is next), or None when it is not waiting."""
    if ticket.status != Status.PENDING:
        return None
    rank, created = ticket.priority_rank, ticket.created_at
    ahead = Ticket.objects.filter(status=Status.PENDING).filter(
        Q(priority_rank__gt=rank)
        | Q(priority_rank=rank, created_at__lt=created)
        | Q(priority_rank=rank, created_at=created, pk__lt=ticket.pk)
    )
    return ahead.count() + 1


def recent_waits(bot_id: int, *, now: datetime | None = None) -> list[float]:
    """Seconds from opening to first assignment of the bot's most recently assigned
    tickets (at most ESTIMATE_SAMPLE, within ESTIMATE_WINDOW)."""
    now = now or timezone.now()
    rows = (
        Ticket.objects.filter(bot_id=bot_id, first_assigned_at__gte=now - ESTIMATE_WINDOW)
        .order_by("-first_assigned_at")
        .values_list("created_at", "first_assigned_at")[:ESTIMATE_SAMPLE]
    )
    return [max(0.0, (assigned - created).total_seconds()) for created, assigned in rows]


def estimate_wait(*, waits: list[float], position: int | None, agents_online: int) -> int | None:
    """Seconds until the ticket at `position` is likely assigned: the median measured
    wait, once for each round of `agents_online` assignments ahead of it and its own."""
    if position is None or agents_online < 1 or len(waits) < ESTIMATE_MIN_SAMPLES:
        return None
    rounds = math.ceil(position / agents_online)
    return round(statistics.median(waits) * rounds)


def staffing() -> tuple[int, int]:
    """(agents online, agents available): online by choice and with a Desk tab open,
    and of those, the ones under capacity (routing's eligible agents)."""
    return selectors.staffing_counts()


# --- business hours ------------------------------------------------------------------------


def within_business_hours(
    now: datetime | None = None, *, routing: RoutingSettings | None = None
) -> bool:
    """Whether the team works now. Always, unless an admin set business hours."""
    if routing is None:
        routing = RoutingSettings.objects.filter(pk=1).first()
    if routing is None or not routing.business_hours:
        return True
    local = (now or timezone.now()).astimezone(ZoneInfo(routing.time_zone))
    days = {hours.weekday: hours for hours in BusinessHours.objects.all()}
    return is_open(days, local)


def is_open(days: dict[int, BusinessHours], local: datetime) -> bool:
    """Whether weekly hours (weekday → hours) include the local wall-clock time. Hours
    that close before they open run past midnight; equal ones are the whole day."""
    at, weekday = local.time().replace(tzinfo=None), local.weekday()
    today = days.get(weekday)
    if today is not None:
        if today.opens == today.closes:
            return True
        if today.opens < today.closes and today.opens <= at < today.closes:
            return True
        if today.closes < today.opens and at >= today.opens:
            return True
    yesterday = days.get((weekday - 1) % 7)
    return yesterday is not None and yesterday.closes < yesterday.opens and at < yesterday.closes


# --- the state of one ticket ---------------------------------------------------------------


_UNKNOWN = object()


def state_of(
    ticket: Ticket,
    *,
    now: datetime | None = None,
    position: int | None | object = _UNKNOWN,
    routing: RoutingSettings | None = None,
) -> QueueState:
    """Where the ticket stands: its place in line, the estimate, who can take it. A
    caller that knows the place already (`position`) or has read the routing settings
    (`routing`) passes them: one database round trip fewer each."""
    if position is _UNKNOWN:
        position = position_of(ticket)
    online, available = staffing()
    waits = recent_waits(ticket.bot_id, now=now) if position is not None and online else []
    return QueueState(
        position=position,
        estimated_wait_seconds=estimate_wait(
            waits=waits, position=position, agents_online=online
        ),
        agents_available=available,
        within_business_hours=within_business_hours(now, routing=routing),
    )


def place_of_arrival(priority_rank: int) -> tuple[int, bool]:
    """For a ticket about to join the line with this priority, in one read: its place
    (every waiting ticket of its priority or higher is ahead of it) and whether it goes
    ahead of any (a lower priority waits: their places move)."""
    # Plain SQL: the ORM spent 20 times as long building this aggregate as the
    # database spent counting (docs/perf.md, "startHitl's CPU").
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FILTER (WHERE priority_rank >= %s), "
            "count(*) FILTER (WHERE priority_rank < %s) "
            f"FROM {Ticket._meta.db_table} WHERE status = %s",
            [priority_rank, priority_rank, Status.PENDING.value],
        )
        ahead, behind = cursor.fetchone()
    return ahead + 1, behind > 0


def queued_message(bot: Bot, state: QueueState) -> str:
    if not state.within_business_hours:
        return bot.outside_hours_message
    return bot.queued_message.replace("{queuePosition}", str(state.position))


def tell_bot(ticket: Ticket, state: QueueState, *, now: datetime | None = None) -> None:
    """Record the ticket's hitlQueued with `state` (inside the caller's transaction)."""
    now = now or timezone.now()
    event_record(
        bot=ticket.bot,
        ticket=ticket,
        type=Event.Type.HITL_QUEUED,
        payload={
            "queuePosition": state.position,
            "estimatedWaitSeconds": state.estimated_wait_seconds,
            "agentsAvailable": state.agents_available,
            "withinBusinessHours": state.within_business_hours,
            "message": queued_message(ticket.bot, state),
        },
    )
    Ticket.objects.filter(pk=ticket.pk).update(
        queue_position_sent=state.position, queue_update_sent_at=now
    )
    ticket.queue_position_sent, ticket.queue_update_sent_at = state.position, now


def arrived(ticket: Ticket, state: QueueState, *, now: datetime) -> None:
    """A new ticket waits: startHitl's answer tells its bot the place in line, which
    counts as told (the ticket was created with that place as told, see
    `place_of_arrival`). Outside business hours the bot hears hitlQueued at once too,
    with the message that the team is offline."""
    if not state.within_business_hours:
        tell_bot(ticket, state, now=now)
        return
    if (ticket.queue_position_sent, ticket.queue_update_sent_at) != (state.position, now):
        Ticket.objects.filter(pk=ticket.pk).update(
            queue_position_sent=state.position, queue_update_sent_at=now
        )
        ticket.queue_position_sent, ticket.queue_update_sent_at = state.position, now


def left_queue(ticket: Ticket) -> None:
    """The ticket stopped waiting (assigned or closed): forget what its bot was told, and
    the others in line may have moved up."""
    if ticket.queue_position_sent is not None:
        Ticket.objects.filter(pk=ticket.pk).update(queue_position_sent=None)
        ticket.queue_position_sent = None
    if Ticket.objects.filter(status=Status.PENDING).exclude(pk=ticket.pk).exists():
        changed()


# --- updates as the line moves ---------------------------------------------------------------

_QUEUED_KEY = "desk:queue-update-queued"


def changed() -> None:
    """The line may have moved: once the caller's transaction commits, a task worker
    tells each waiting ticket's bot its new place (see `send_updates`). Asked many times
    at once, one task runs."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _, func, _ in connection.run_on_commit:
            if func is _enqueue_updates:
                return
    transaction.on_commit(_enqueue_updates, robust=True)


def _enqueue_updates() -> None:
    # A flag in the shared cache keeps a burst of changes to one queued task; the
    # task clears it before it reads the line, so a change after that queues another.
    if cache.add(_QUEUED_KEY, 1, timeout=60):
        send_queue_updates.enqueue()


@task(queue_name=TIMERS)
def send_queue_updates() -> int:
    """Tell waiting tickets' bots their new place in line; returns how many were told."""
    cache.delete(_QUEUED_KEY)
    return send_updates()


def send_updates(*, now: datetime | None = None) -> int:
    """Compare each pending ticket's place with the one its bot was last told: send the
    changed ones whose last update is at least DESK_QUEUE_UPDATE_SECONDS old, and hold
    the others back: one task runs again when the first of them is due (and sends every
    one due by then, so a burst of changes costs a few runs, not one per ticket)."""
    now = now or timezone.now()
    interval = timedelta(seconds=settings.DESK_QUEUE_UPDATE_SECONDS)
    line = list(
        Ticket.objects.filter(status=Status.PENDING)
        .order_by(*QUEUE_ORDER)
        .values_list("pk", "queue_position_sent", "queue_update_sent_at")
    )
    due_now: dict[int, int] = {}  # ticket → its place now
    later = None
    for position, (pk, sent, sent_at) in enumerate(line, start=1):
        if sent == position:
            continue
        if sent_at is None or now - sent_at >= interval:
            due_now[pk] = position
        else:
            due = sent_at + interval
            later = due if later is None else min(later, due)
    if later is not None:
        _run_again_at(later + HOLD_BATCH, now)
    if not due_now:
        return 0
    online, available = staffing()
    within = within_business_hours(now)
    waits: dict[int, list[float]] = {}
    told = 0
    # One transaction for the lot: each ticket is re-read as still pending, and told the
    # place it had in the line read above (a move since then queues another run).
    with transaction.atomic():
        tickets = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("bot")
            .filter(pk__in=list(due_now), status=Status.PENDING)
        )
        for ticket in tickets:
            position = due_now[ticket.pk]
            if online and ticket.bot_id not in waits:
                waits[ticket.bot_id] = recent_waits(ticket.bot_id, now=now)
            state = QueueState(
                position=position,
                estimated_wait_seconds=estimate_wait(
                    waits=waits.get(ticket.bot_id, []), position=position, agents_online=online
                ),
                agents_available=available,
                within_business_hours=within,
            )
            tell_bot(ticket, state, now=now)
            told += 1
    return told


# Held-back updates due within this long of the first one go out in the same run.
HOLD_BATCH = timedelta(milliseconds=500)
_NEXT_RUN_KEY = "desk:queue-update-next-run"


def _run_again_at(moment: datetime, now: datetime) -> None:
    """Have a task run at `moment`, unless one is already due by then (the shared cache
    remembers the next run; if it forgot, one run more does no harm)."""
    scheduled = cache.get(_NEXT_RUN_KEY)
    if scheduled is not None and now < scheduled <= moment:
        return
    ttl = (moment - now).total_seconds() + 5
    cache.set(_NEXT_RUN_KEY, moment, timeout=max(1, ttl))
    send_queue_updates.using(run_after=moment).enqueue()
