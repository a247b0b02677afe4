"""Who gets which ticket: agents' availability, capacity and presence, and routing.

Every rule about it lives here and nowhere else; the header's availability menu, the
Team page, the websocket consumer, the ticket actions and the task worker call these.

- Availability is the agent's choice (online, busy, offline). Presence is a fact: an
  open Desk tab refreshes the agent's `Presence` row while it is connected, in the
  database, so every server process sees the same; an agent not seen for
  DESK_AWAY_AFTER_SECONDS is away.
- An agent is *eligible* for a new ticket when online, present and under capacity.
- With an automatic routing mode (round robin, least busy) a new ticket goes at once
  to an eligible agent (`pick`); otherwise it waits in the queue, which drains by
  itself (`drain`), highest priority then oldest, whenever capacity may have appeared
  (`request_drain`).
- An assigned ticket can be transferred to another agent or handed back to the queue
  (`ticket_transfer`); routing does not give a handed-back ticket to the agent who
  handed it back. What the waiting customer is told lives in `desk.queue`.

Imports run one way: the ticket actions (`desk.services`) build on this module; it
builds on the transcript's write primitives, the selectors and the bot event log.
"""

import logging
from datetime import UTC, datetime, time
from fractions import Fraction
from zoneinfo import available_timezones

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from bots.events import event_record
from bots.models import Event
from bots.tasks import TIMERS
from desk import alerts, queue, realtime, selectors, transcript
from desk.avatars import agent_fields
from desk.exceptions import InvalidInput, NotAllowed, NotFound
from desk.models import (
    HELD,
    AgentProfile,
    Availability,
    BusinessHours,
    Presence,
    RoutingMode,
    RoutingSettings,
    Status,
    Ticket,
)
from desk.people import display_name, fill_agent_name
from desk.queue import QUEUE_ORDER
from desk.selectors import lock_open_ticket, presence_cutoff
from desk.transcript import clean_text, system_line
from reports import rollups

logger = logging.getLogger(__name__)

MAX_CAPACITY = 100


# --- profiles ----------------------------------------------------------------------------


def profile_for(agent_id: int) -> AgentProfile:
    """The agent's profile, created with the defaults the first time it is needed."""
    profile = AgentProfile.objects.filter(agent_id=agent_id).first()
    if profile is not None:
        return profile
    try:
        with transaction.atomic():
            return AgentProfile.objects.create(agent_id=agent_id)
    except IntegrityError:  # a concurrent first use created it
        return AgentProfile.objects.get(agent_id=agent_id)


def agent_set_availability(*, agent: AbstractBaseUser, availability: str) -> AgentProfile:
    """The agent's own choice from the header: online, busy or offline."""
    if availability not in Availability.values:
        raise InvalidInput(_("Choose online, busy or offline."), field="availability")
    profile = profile_for(agent.pk)
    if profile.availability == availability:
        return profile
    with transaction.atomic():
        AgentProfile.objects.filter(agent_id=agent.pk).update(availability=availability)
        profile.availability = availability
        realtime.announce_agent_status(agent.pk)
        if availability == Availability.ONLINE:
            request_drain()
    return profile


def agent_set_capacity(
    *, agent_id: object, capacity: object, by: AbstractBaseUser
) -> AgentProfile:
    """An admin sets how many open tickets routing gives the agent at most."""
    if not by.is_staff:
        raise NotAllowed(_("Only admins can set an agent's capacity."))
    try:
        agent = get_user_model().objects.get(pk=int(agent_id), is_active=True)  # type: ignore[arg-type]
    except (TypeError, ValueError, get_user_model().DoesNotExist):
        raise NotFound(_("No such agent.")) from None
    try:
        value = int(str(capacity).strip())
    except ValueError:
        value = -1
    if not 0 <= value <= MAX_CAPACITY:
        raise InvalidInput(
            _("The capacity is a whole number from 0 to %(most)s.") % {"most": MAX_CAPACITY},
            field="capacity",
        )
    profile = profile_for(agent.pk)
    if profile.capacity == value:
        return profile
    with transaction.atomic():
        AgentProfile.objects.filter(agent_id=agent.pk).update(capacity=value)
        raised = value > profile.capacity
        profile.capacity = value
        realtime.announce_agent_status(agent.pk)
        if raised:
            request_drain()
    return profile


# --- presence ------------------------------------------------------------------------------


def presence_arrived(*, agent: AbstractBaseUser, locale: str | None = None) -> bool:
    """A Desk tab of the agent connected (showing `locale`, `localization.locale_key`,
    recorded with the presence in the same write, for every server process rendering
    live fragments: `desk.realtime`). An agent's tabs in two locales (two browsers, no
    language chosen) record the latest; a tab that finds its own missing from a frame
    renders it itself.
    True when the agent was away until now."""
    now = timezone.now()
    fields = {"last_seen_at": now} if locale is None else {"last_seen_at": now, "locale": locale}
    if Presence.objects.filter(agent_id=agent.pk, last_seen_at__gte=presence_cutoff(now)).update(
        **fields
    ):
        return False
    try:
        with transaction.atomic():
            Presence.objects.update_or_create(agent_id=agent.pk, defaults=fields)
    except IntegrityError:  # another tab of theirs arrived at the same moment
        Presence.objects.filter(agent_id=agent.pk).update(**fields)
    profile = profile_for(agent.pk)
    realtime.announce_agent_status(agent.pk)
    if profile.availability == Availability.ONLINE:
        request_drain()
    return True


def presence_seen_many(*, agent_ids: list[int]) -> None:
    """Open tabs of these agents are still there (a server process's heartbeat)."""
    if agent_ids:
        Presence.objects.filter(agent_id__in=agent_ids).update(last_seen_at=timezone.now())


def presence_seen(*, agent_id: int) -> None:
    """An open tab of the agent is still there (its heartbeat), or just closed: the
    agent counts as present for DESK_AWAY_AFTER_SECONDS from now."""
    Presence.objects.filter(agent_id=agent_id).update(last_seen_at=timezone.now())


# --- the routing mode -----------------------------------------------------------------------


def routing_settings(*, lock: bool = False) -> RoutingSettings:
    """The desk's one routing row, created with the defaults the first time. With `lock`,
    held for the rest of the transaction: it is the routing lock (see `drain`)."""
    rows = RoutingSettings.objects.select_for_update() if lock else RoutingSettings.objects
    if lock:
        found = rows.filter(pk=1).first()
    else:  # every startHitl reads it: plain SQL, a third of the ORM's cost
        found = next(iter(RoutingSettings.objects.raw(
            f"SELECT * FROM {RoutingSettings._meta.db_table} WHERE id = %s", [1]
        )), None)
    if found is None:
        try:
            with transaction.atomic():
                RoutingSettings.objects.create(pk=1)
        except IntegrityError:  # created meanwhile
            pass
        found = rows.get(pk=1)
    return found


def routing_set_mode(*, mode: str, by: AbstractBaseUser) -> RoutingSettings:
    """An admin chooses manual, round robin or least busy. An automatic mode drains the
    queue at once."""
    if not by.is_staff:
        raise NotAllowed(_("Only admins can change the routing."))
    if mode not in RoutingMode.values:
        raise InvalidInput(_("Choose manual, round robin or least busy."), field="mode")
    with transaction.atomic():
        found = routing_settings(lock=True)
        if found.mode != mode:
            found.mode = mode
            found.save(update_fields=["mode"])
        if mode != RoutingMode.MANUAL:
            request_drain()
    return found


def routing_set_business_hours(
    *, by: AbstractBaseUser, enabled: bool, time_zone: str, days: dict[int, tuple[str, str]]
) -> RoutingSettings:
    """An admin sets the weekly business hours: `days` maps a weekday (0 is Monday) to
    its opening and closing times ("HH:MM"); a day left out is closed. Outside them,
    bots tell waiting customers the team is offline (desk.queue)."""
    if not by.is_staff:
        raise NotAllowed(_("Only admins can change the routing."))
    if time_zone not in available_timezones():
        raise InvalidInput(_("Choose a time zone such as Europe/Paris."), field="time_zone")
    hours = []
    for weekday, (opens, closes) in sorted(days.items()):
        name = BusinessHours.Weekday(weekday).label
        times = []
        for field, text in (("opens", opens), ("closes", closes)):
            try:
                times.append(time.fromisoformat(text.strip()) if text.strip() else None)
            except ValueError:
                times.append(None)
            if times[-1] is None or len(text.strip()) != 5:
                raise InvalidInput(
                    _("%(day)s: give the time as HH:MM, e.g. 09:00.") % {"day": name},
                    field=f"day-{weekday}-{field}",
                )
        hours.append(BusinessHours(weekday=weekday, opens=times[0], closes=times[1]))
    if enabled and not hours:
        raise InvalidInput(_("Open at least one day, or turn business hours off."), field="days")
    with transaction.atomic():
        found = routing_settings(lock=True)
        found.business_hours, found.time_zone = enabled, time_zone
        found.save(update_fields=["business_hours", "time_zone"])
        BusinessHours.objects.all().delete()
        BusinessHours.objects.bulk_create(hours)
    return found


# --- who is eligible, and who is picked ----------------------------------------------------


def eligible_agents() -> list:
    """Agents who may get a new ticket now: online by choice, present (a Desk tab open
    within DESK_AWAY_AFTER_SECONDS), active, and under capacity. Each carries `load`,
    `capacity` and `last_assigned_at`."""
    return list(
        selectors.agents_with_status(load=True)
        .filter(status="online", load__lt=F("capacity"))
        .order_by("pk")
    )


NEVER = datetime.min.replace(tzinfo=UTC)


def pick(agents: list, mode: str, *, exclude_id: int | None = None):
    """The agent routing gives the next ticket, among `agents` with room left, or None.

    - round robin: whoever was assigned a ticket longest ago (never first), so agents
      take turns;
    - least busy: the lowest load for their capacity (load / capacity), ties to whoever
      was assigned longest ago.
    Ties left go to the oldest account. `exclude_id` is an agent the ticket must not go
    back to (they handed it back to the queue).
    """
    room = [a for a in agents if a.load < a.capacity and a.pk != exclude_id]
    if not room:
        return None
    if mode == RoutingMode.LEAST_BUSY:
        return min(
            room, key=lambda a: (Fraction(a.load, a.capacity), a.last_assigned_at or NEVER, a.pk)
        )
    return min(room, key=lambda a: (a.last_assigned_at or NEVER, a.pk))


# --- assigning ------------------------------------------------------------------------------


def assign(
    ticket: Ticket,
    *,
    assignee: AbstractBaseUser,
    by: AbstractBaseUser | None,
    mode: str = "",
    line: dict | None = None,
) -> None:
    """Give a locked, open ticket to `assignee`: the ticket, the agent's last assignment,
    the transcript's system line (`line`, the event and its values, or one saying who
    did it), the bot's hitlAssigned and the tabs. `by` is who did it (None: routing, in
    `mode`)."""
    now = timezone.now()
    waited = ticket.status == Status.PENDING
    # A ticket handed back to the queue had an agent: the customer meets a new one.
    reassigned = ticket.assignee_id is not None or (
        waited and ticket.first_assigned_at is not None
    )
    ticket.status = Status.ASSIGNED
    ticket.assignee = assignee
    ticket.assigned_at = now
    ticket.first_assigned_at = ticket.first_assigned_at or now
    ticket.returned_by = None
    ticket.waiting_started_at = None  # a new agent has asked the customer nothing yet
    ticket.save(
        update_fields=[
            "status", "assignee", "assigned_at", "first_assigned_at", "returned_by",
            "waiting_started_at",
        ]
    )
    if waited:
        queue.left_queue(ticket)
    rollups.ticket_changed(ticket)
    if not AgentProfile.objects.filter(agent_id=assignee.pk).update(last_assigned_at=now):
        profile_for(assignee.pk)
        AgentProfile.objects.filter(agent_id=assignee.pk).update(last_assigned_at=now)
    system_line(ticket, now=now, **(line or _assigned_line(assignee, by, mode)))
    event_record(
        bot=ticket.bot,
        ticket=ticket,
        type=Event.Type.HITL_ASSIGNED,
        payload={
            **agent_fields(assignee),
            "message": fill_agent_name(
                ticket.bot.agent_transferred_message
                if reassigned
                else ticket.bot.agent_assigned_message,
                assignee,
            ),
            "reassigned": reassigned,
        },
    )
    realtime.announce_ticket_changed(ticket.pk)
    alerts.assigned(ticket, assignee=assignee, by=by)


# --- transfer ---------------------------------------------------------------------------


QUEUE = "queue"  # what the transfer menu sends for "back to the queue"


@transaction.atomic
def ticket_transfer(
    *, ticket_id: int, agent: AbstractBaseUser, to: AbstractBaseUser | None, note: str = ""
) -> Ticket:
    """Hand an assigned (or waiting) ticket to another agent (`to`), or back to the queue
    (None), with an optional internal note saying why. Its assignee or an admin may."""
    note = clean_text(note, field="note") if (note or "").strip() else ""
    ticket = lock_open_ticket(ticket_id)
    if ticket.status not in HELD:
        raise InvalidInput(
            _("Only an assigned ticket can be transferred; assign or claim a waiting one."),
            field="assignee",
        )
    check_handles(ticket, agent, _("Only the assignee or an admin can transfer this ticket."))
    previous = ticket.assignee
    if to is not None:
        if not to.is_active:
            raise NotAllowed(_("That agent's account is disabled."))
        if to.pk == previous.pk:
            raise InvalidInput(
                _("%(agent)s already has this ticket.") % {"agent": display_name(to)},
                field="assignee",
            )
        if agent.pk == previous.pk:
            line = {"event": "transferred", "by": display_name(agent), "agent": display_name(to)}
        else:
            line = {
                "event": "transferred_from",
                "by": display_name(agent),
                "previous": display_name(previous),
                "agent": display_name(to),
            }
        assign(ticket, assignee=to, by=agent, line=line)
    else:
        return_to_queue(ticket, by=agent)
    if note:
        transcript.note(ticket, agent, note)
    request_drain()  # the previous assignee has room again
    return ticket


def return_to_queue(ticket: Ticket, *, by: AbstractBaseUser) -> None:
    """A locked, assigned ticket waits in the queue again, ahead of newer ones of its
    priority (it keeps its age). Its bot is told its place in line at once."""
    previous = ticket.assignee
    now = timezone.now()
    ticket.status = Status.PENDING
    ticket.assignee = None
    ticket.assigned_at = None
    ticket.returned_by = previous
    ticket.waiting_started_at = None
    ticket.save(
        update_fields=["status", "assignee", "assigned_at", "returned_by", "waiting_started_at"]
    )
    rollups.ticket_changed(ticket)
    if by.pk == previous.pk:
        system_line(ticket, "returned", now, by=display_name(by))
    else:
        system_line(
            ticket, "returned_for", now, by=display_name(by), previous=display_name(previous)
        )
    queue.tell_bot(ticket, queue.state_of(ticket, now=now), now=now)
    queue.changed()
    realtime.announce_ticket_changed(ticket.pk)
    alerts.new_escalation(ticket)


def _assigned_line(assignee: AbstractBaseUser, by: AbstractBaseUser | None, mode: str) -> dict:
    """The system line of an assignment: the event and its values (`desk.system_lines`).
    Routing's mode is stored as its value, worded in each reader's language."""
    if by is None:
        return {"event": "routed", "agent": display_name(assignee), "mode": RoutingMode(mode).value}
    if by.pk == assignee.pk:
        return {"event": "claimed", "agent": display_name(assignee)}
    return {"event": "assigned", "by": display_name(by), "agent": display_name(assignee)}


def check_handles(ticket: Ticket, agent: AbstractBaseUser, refusal: str) -> None:
    """An assigned (or waiting) ticket is worked by its assignee; admins may step in."""
    if ticket.status in HELD and ticket.assignee_id != agent.pk and not agent.is_staff:
        raise NotAllowed(refusal)


# --- the queue drains -------------------------------------------------------------------

# Tickets one drain transaction assigns at most (the rest in the next one), and how many
# a request assigns itself before handing the rest of the queue to the task worker.
DRAIN_BATCH = 20
INLINE_DRAIN = 5


def drain(*, limit: int | None = None) -> tuple[int, bool]:
    """Give waiting tickets to eligible agents, highest priority then oldest, until the
    queue is empty, nobody has room, or `limit` tickets went. (assigned, more): `more`
    when it stopped at the limit with work perhaps left.

    Race-free across processes: each batch runs in one transaction that first takes the
    routing lock (the RoutingSettings row, FOR UPDATE; SQLite's single writer does the
    same), so assigners run one at a time; it locks the eligible agents' profiles before
    reading their loads, so a claim committing meanwhile is counted; and it takes only
    tickets it could lock (SKIP LOCKED), re-read as still pending, so no ticket is given
    twice.
    """
    total = 0
    while True:
        want = DRAIN_BATCH if limit is None else min(DRAIN_BATCH, limit - total)
        if want <= 0:
            return total, True
        assigned, finished = _drain_batch(want)
        total += assigned
        if finished:
            return total, False


def _drain_batch(limit: int) -> tuple[int, bool]:
    """One transaction of `drain`: (assigned, finished)."""
    with transaction.atomic():
        mode = routing_settings(lock=True).mode
        if mode == RoutingMode.MANUAL:
            return 0, True
        agents = eligible_agents()
        if not agents:
            return 0, True
        ids = [a.pk for a in agents]
        list(AgentProfile.objects.select_for_update().filter(agent_id__in=ids).order_by("pk"))
        loads = selectors.open_loads(ids)
        for agent in agents:
            agent.load = loads.get(agent.pk, 0)
        wanted = limit + len(agents)  # room for tickets an agent may not take back
        tickets = list(
            Ticket.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("bot")
            .filter(status=Status.PENDING)
            .order_by(*QUEUE_ORDER)[:wanted]
        )
        assigned = 0
        for ticket in tickets:
            if assigned == limit:
                return assigned, False
            agent = pick(agents, mode, exclude_id=ticket.returned_by_id)
            if agent is None:
                if not any(a.load < a.capacity for a in agents):
                    return assigned, True
                continue
            assign(ticket, assignee=agent, by=None, mode=mode)
            agent.load += 1
            agent.last_assigned_at = ticket.assigned_at
            assigned += 1
        return assigned, len(tickets) < wanted


@task(queue_name=TIMERS)
def drain_queue() -> int:
    """The rest of a long drain, on a task worker (see `request_drain`)."""
    return drain()[0]


def request_drain() -> None:
    """Capacity may have appeared (an agent arrived or came online, a ticket closed, a
    capacity went up, routing was turned on): drain once the caller's transaction
    commits. The request drains a few tickets itself, at once; a long queue's rest goes
    to the task worker, off the request."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _, func, _ in connection.run_on_commit:
            if func is _drain_after_commit:
                return
    transaction.on_commit(_drain_after_commit, robust=True)


def _drain_after_commit() -> None:
    if routing_settings().mode == RoutingMode.MANUAL:
        return
    _, more = drain(limit=INLINE_DRAIN)
    if more:
        drain_queue.enqueue()


def route_arrival(routing: RoutingSettings | None = None) -> int:
    """Inside the transaction that queued a new ticket: with an automatic mode, drain now,
    in that transaction, so the ticket is announced (and answered to the bot) already
    assigned when an agent is free. A failure here leaves it queued, never lost.
    `routing`: the settings, when the caller has read them."""
    if (routing or routing_settings()).mode == RoutingMode.MANUAL:
        return 0
    try:
        assigned, finished = _drain_batch(INLINE_DRAIN)
    except Exception:
        logger.exception("routing a new ticket failed; it waits in the queue")
        return 0
    if not finished:
        request_drain()
    return assigned
