"""Every change to a ticket: the one function per domain action.

HTTP views, the bot API and the websocket consumer all call these, so the rules
(who may do what, in which state) live here and nowhere else. Each function
validates, writes inside a transaction, records the bot's event when the bot
must hear of it, and announces the change to open tabs after the commit.

A task that changes tickets is declared here, beside the function it runs (the
assignment timeout): the task worker imports this module, and nothing here imports
an entry point, so imports run one way.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.tasks import task
from django.utils import timezone
from django.utils.translation import gettext as _

from bots.events import event_record
from bots.models import Bot, Event
from bots.tasks import TIMERS
from desk import alerts, assignment, queue, realtime, transcript
from desk.assignment import assign, check_handles
from desk.avatars import agent_fields
from desk.content import Content
from desk.customers import clean_custom_fields
from desk.exceptions import (
    AlreadyClaimed,
    AlreadyRated,
    BotNotConnected,
    Conflict,
    InvalidInput,
    NoRecentTicket,
    NotAllowed,
    NotFound,
    TicketClosed,
)
from desk.files import agent_content, fetch_remote_media_later
from desk.files import delete as delete_file
from desk.labels import check_bot_labels as labels_for_bot
from desk.labels import label_at_escalation
from desk.models import (
    HELD,
    PRIORITY_RANK,
    RATING_COMMENT_MAX_LENGTH,
    RATING_SCALE,
    AgentProfile,
    CloseReason,
    Message,
    Priority,
    Rating,
    Status,
    StoredFile,
    Ticket,
)
from desk.people import display_name, fill_agent_name
from desk.selectors import lock_open_ticket
from desk.transcript import MAX_MESSAGE_LENGTH, clean_text, link_files, system_line
from reports import rollups

__all__ = ["MAX_MESSAGE_LENGTH", "clean_text", "display_name"]  # read here by other modules


@dataclass(frozen=True)
class HistoryItem:
    role: str  # "user" or "bot"
    text: str = ""
    created_at: datetime | None = None
    content: Content | None = None  # a message of another type than plain text





# --- what bots do ---------------------------------------------------------------


def start_hitl(
    *,
    bot: Bot,
    conversation_id: str,
    title: str = "",
    priority: str = Priority.MEDIUM,
    user_name: str = "",
    user_email: str = "",
    user_id: str = "",
    custom_fields: dict | None = None,
    description: str = "",
    message_history: list[HistoryItem] = (),
    labels: Sequence[str] = (),
) -> tuple[Ticket, bool]:
    """Open a ticket for the conversation, or return its open one. (ticket, created).
    `labels` (names) are put on a new ticket; refused naming one that may not be made.
    `user_id` is the customer's id in the bot, `custom_fields` what else it knows of
    them (checked by `desk.customers`: InvalidInput before anything is written)."""
    custom_fields = clean_custom_fields(custom_fields)
    if not bot.connected:
        raise BotNotConnected()
    label_names = labels_for_bot(labels)
    if existing := _open_ticket(bot, conversation_id):
        return existing, False
    now = timezone.now()
    rank = PRIORITY_RANK[Priority(priority)]
    try:
        with transaction.atomic():
            # Its place in line, read before it joins: startHitl's answer tells the bot,
            # which counts as told (the place is stored with the ticket, no update).
            place, overtakes = queue.place_of_arrival(rank)
            ticket = Ticket.objects.create(
                bot=bot,
                conversation_id=conversation_id,
                title=title or f"Conversation {conversation_id}",
                description=description,
                priority=priority,
                priority_rank=rank,
                user_name=user_name,
                user_email=user_email,
                user_id=user_id,
                custom_fields=custom_fields,
                queue_position_sent=place,
                queue_update_sent_at=now,
            )
            history = Message.objects.bulk_create(
                Message(
                    ticket=ticket,
                    kind=Message.Kind.USER if item.role == "user" else Message.Kind.BOT,
                    author_name=user_name if item.role == "user" else bot.name,
                    text=item.content.text if item.content else item.text,
                    type=item.content.type if item.content else "text",
                    payload=item.content.payload if item.content else {},
                    created_at=item.created_at or now,
                )
                for item in message_history
            )
            link_files(
                (message, item.content)
                for message, item in zip(history, message_history, strict=True)
                if item.content and item.content.files
            )
            fetch_remote_media_later(m for m in history if m.type != "text")
            # What startHitl answers: known without reading them back.
            ticket.label_names = sorted(
                {label.name for label in label_at_escalation(ticket, label_names)}
            )
            if description:
                Message.objects.create(
                    ticket=ticket, kind=Message.Kind.BOT, author_name=bot.name,
                    text=description, created_at=now,
                )
            schedule_assignment_timeout(ticket)
            rollups.ticket_changed(ticket, new=True)
            # Nobody can be showing a ticket that did not exist: no details side bar to
            # refresh (unless routing assigns it now: then one announcement says so).
            realtime.announce_ticket_changed(ticket.pk, state=False)
            routing = assignment.routing_settings()
            routed = assignment.route_arrival(routing)
            if routed:
                ticket.refresh_from_db(
                    fields=["status", "assignee", "assigned_at", "queue_position_sent"]
                )
            # What startHitl answers about the wait (its place in line). Outside business
            # hours the bot also hears hitlQueued with its outside-hours message.
            # Routing may have assigned it, or others ahead of it: then its place is read.
            known = {} if routed else {"position": place}
            ticket.queue_state = queue.state_of(ticket, now=now, routing=routing, **known)
            if ticket.status == Status.PENDING:
                alerts.new_escalation(ticket)
                queue.arrived(ticket, ticket.queue_state, now=now)
                if overtakes:
                    queue.changed()  # it went ahead of some: their places moved
    except IntegrityError:
        # A concurrent call for the same conversation won the constraint.
        if existing := _open_ticket(bot, conversation_id):
            return existing, False
        raise
    return ticket, True


def _open_tickets(conversation_id: str) -> QuerySet[Ticket]:
    """The conversation's open ticket (one per bot at most), to narrow to its bot."""
    return Ticket.objects.filter(conversation_id=conversation_id).exclude(status=Status.CLOSED)


def _open_ticket(bot: Bot, conversation_id: str) -> Ticket | None:
    """`_open_tickets`' rule for one bot, in plain SQL: every startHitl reads it first,
    and building the query cost the ORM three times what reading the row costs."""
    found = Ticket.objects.raw(
        f"SELECT * FROM {Ticket._meta.db_table} "
        "WHERE bot_id = %s AND conversation_id = %s AND NOT status = %s LIMIT 1",
        [bot.pk, conversation_id, Status.CLOSED.value],
    )
    return next(iter(found), None)


def open_ticket_for_conversation(*, bot: Bot, conversation_id: str) -> Ticket:
    if ticket := _open_ticket(bot, conversation_id):
        return ticket
    if Ticket.objects.filter(bot=bot, conversation_id=conversation_id).exists():
        raise TicketClosed("The ticket for this conversation is closed.")
    raise NotFound("No ticket for this conversation.")


_NOT_READ = object()


def post_user_message(
    *,
    bot: Bot,
    conversation_id: str,
    text: str = "",
    external_id: str | None = None,
    user_name: str = "",
    content: Content | None = None,
    ticket: Ticket | None | object = _NOT_READ,
) -> tuple[Message, bool]:
    """Relay an end-user message into the open ticket. (message, created). `content`: a
    message of another type than plain text (`desk.content`), its files stored already.
    `ticket`: the open ticket (or None: there is none) when the caller read it already
    (`selectors.open_ticket_with_bot`)."""
    if content is None:
        text = clean_text(text)
    else:
        text = text.strip() or content.text
    if ticket is _NOT_READ:
        ticket = _open_ticket(bot, conversation_id)
    if ticket is None:
        raise TicketClosed(
            "There is no open ticket for this conversation. Call startHitl first."
        )
    # A messageId seen before is found by the unique constraint the insert meets (no
    # read first: a retry is rare, every message pays for a read).
    try:
        with transaction.atomic():
            message = Message.objects.create(
                ticket=ticket,
                kind=Message.Kind.USER,
                author_name=user_name or ticket.user_name,
                text=text,
                type=content.type if content else "text",
                payload=content.payload if content else {},
                external_id=external_id or None,
                created_at=timezone.now(),
            )
            if content is not None:
                link_files([(message, content)])
                fetch_remote_media_later([message])
            answered = _customer_answered(ticket, message)
            alerts.customer_wrote(ticket, message)
    except IntegrityError:
        if external_id:
            found = Message.objects.filter(ticket=ticket, external_id=external_id).first()
            if found is not None:
                return found, False
        raise
    realtime.announce_message(ticket.pk, message.pk, line=message if content is None else None)
    if answered:
        # The status changed: its row, the counts and the side bar all move.
        realtime.announce_ticket_changed(ticket.pk)
    else:
        # Its row's preview and unread badge and the side bar's message count change; no
        # status, priority or assignee does, so no count in the inbox does.
        realtime.announce_ticket_changed(ticket.pk, counts=False, state=False, tally=True)
    return message, True


def _customer_answered(ticket: Ticket, message: Message) -> bool:
    """A waiting ticket whose customer wrote is assigned again, at once: one conditional
    UPDATE, so it happens exactly once however many messages arrive together (and after
    a concurrent "wait" commits, on PostgreSQL, which re-reads the row it waited for)."""
    if not Ticket.objects.filter(pk=ticket.pk, status=Status.WAITING).update(
        status=Status.ASSIGNED, waiting_started_at=None
    ):
        return False
    ticket.status, ticket.waiting_started_at = Status.ASSIGNED, None
    rollups.ticket_changed(ticket)
    system_line(ticket, "answered", message.created_at)
    return True


@transaction.atomic
def stop_hitl(*, bot: Bot, conversation_id: str, reason: str = "cancel") -> Ticket:
    """The bot takes the conversation back (the end user left, or the bot timed out)."""
    found = open_ticket_for_conversation(bot=bot, conversation_id=conversation_id)
    ticket = lock_open_ticket(found.pk)
    close_reason = CloseReason.BOT_TIMEOUT if reason == "timeout" else CloseReason.BOT_CANCEL
    _close(ticket, by=None, reason=close_reason)
    return ticket


@task(queue_name=TIMERS)
def expire_unassigned_ticket(ticket_id: int) -> bool:
    """The agent-assignment timeout, run by a task worker: close the ticket if nobody
    claimed it yet. Only the run that still finds the ticket pending closes it, so a
    duplicate run or a second worker does nothing."""
    return expire_unassigned(ticket_id=ticket_id) is not None


def schedule_assignment_timeout(ticket: Ticket) -> None:
    """Queue the timeout for a new ticket when its bot asked for one.

    Called inside the transaction that creates the ticket: the queued task is a row
    in the same database, so it exists exactly when the ticket does.
    """
    seconds = ticket.bot.agent_assigned_timeout_seconds
    if not seconds:
        return
    due = ticket.created_at + timedelta(seconds=seconds)
    expire_unassigned_ticket.using(run_after=due).enqueue(ticket.pk)


def expire_unassigned(*, ticket_id: int) -> Ticket | None:
    """Close a ticket still pending after the bot's agentAssignedTimeoutSeconds.

    Safe to call more than once and from several workers: only the call that finds
    the ticket still pending closes it; the others return None.
    """
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("bot")
            .filter(pk=ticket_id, status=Status.PENDING)
            .first()
        )
        if ticket is None:
            return None
        _close(
            ticket,
            by=None,
            reason=CloseReason.UNASSIGNED_TIMEOUT,
        )
        return ticket


# How long after its close a ticket can still be rated, and a rating replaced.
RATING_WINDOW = timedelta(days=7)
RATING_REPLACE_WINDOW = timedelta(hours=24)


def rate_conversation(
    *, bot: Bot, conversation_id: str, score: int, comment: str = ""
) -> tuple[Rating, bool]:
    """The customer's satisfaction score (1 to 5) for the conversation's most recently
    closed ticket, if it closed within RATING_WINDOW. A second rating replaces the first
    for RATING_REPLACE_WINDOW after it, then the rating is final. (rating, replaced)."""
    if not 1 <= score <= RATING_SCALE:
        raise InvalidInput(f"The score runs from 1 to {RATING_SCALE}.", field="score")
    comment = (comment or "").strip()
    if len(comment) > RATING_COMMENT_MAX_LENGTH:
        raise InvalidInput(
            f"The comment is longer than {RATING_COMMENT_MAX_LENGTH:,} characters.",
            field="comment",
        )
    now = timezone.now()
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update()
            .filter(bot=bot, conversation_id=conversation_id, status=Status.CLOSED)
            .order_by("-closed_at", "-pk")
            .first()
        )
        if ticket is None or ticket.closed_at < now - RATING_WINDOW:
            raise NoRecentTicket(
                "This conversation has no ticket closed in the last 7 days to rate."
            )
        rating = Rating.objects.filter(ticket=ticket).first() or Rating(ticket=ticket)
        replaced = rating.score is not None
        if replaced and now - rating.rated_at > RATING_REPLACE_WINDOW:
            raise AlreadyRated(
                "This ticket was rated more than 24 hours ago; its rating is final.",
                ticket=ticket,
            )
        rating.score = score
        rating.comment = comment
        rating.rated_at = rating.rated_at or now
        rating.updated_at = now
        rating.save()
        event = "rating_changed" if replaced else "rated"
        if comment:
            system_line(
                ticket, f"{event}_with_comment", now,
                score=score, scale=RATING_SCALE, comment=comment,
            )
        else:
            system_line(ticket, event, now, score=score, scale=RATING_SCALE)
        rollups.ticket_changed(ticket, rating=rating)
        realtime.announce_ticket_changed(ticket.pk, counts=False)
    return rating, replaced


# --- what agents do ---------------------------------------------------------------


@transaction.atomic
def ticket_claim(*, ticket_id: int, agent: AbstractBaseUser) -> Ticket:
    """Assign a pending ticket to the agent. Of two racing claims, exactly one wins."""
    ticket = lock_open_ticket(ticket_id)
    if ticket.assignee_id == agent.pk:
        return ticket
    if ticket.status != Status.PENDING:
        raise AlreadyClaimed(
            _("%(agent)s already claimed this ticket.") % {"agent": display_name(ticket.assignee)},
            ticket=ticket,
        )
    assign(ticket, assignee=agent, by=agent)
    return ticket


@transaction.atomic
def ticket_assign(
    *, ticket_id: int, agent: AbstractBaseUser, assignee: AbstractBaseUser
) -> Ticket:
    """Give the ticket to another agent (or take it over)."""
    ticket = lock_open_ticket(ticket_id)
    if not assignee.is_active:
        raise NotAllowed(_("That agent's account is disabled."))
    check_handles(ticket, agent, _("Only the assignee or an admin can reassign this ticket."))
    if ticket.assignee_id == assignee.pk:
        return ticket
    assign(ticket, assignee=assignee, by=agent)
    return ticket




@transaction.atomic
def ticket_reply(
    *, ticket_id: int, agent: AbstractBaseUser, text: str, files: list[StoredFile] = ()
) -> Message:
    """Send the agent's reply to the end user: text, files (stored already, see
    `desk.files.agent_uploads`), or both. Replying to a pending ticket claims it."""
    text = _agent_text(text, files)
    ticket = lock_open_ticket(ticket_id)
    if ticket.status == Status.PENDING:
        assign(ticket, assignee=agent, by=agent)
    else:
        refusal = _("%(agent)s is handling this ticket; add an internal note instead.")
        check_handles(ticket, agent, refusal % {"agent": display_name(ticket.assignee)})
    content = agent_content(text, list(files)) if files else None
    message = Message.objects.create(
        ticket=ticket,
        kind=Message.Kind.AGENT,
        author=agent,
        author_name=display_name(agent),
        text=content.text if content else text,
        type=content.type if content else "text",
        payload=content.payload if content else {},
        created_at=timezone.now(),
    )
    if content is not None:
        link_files([(message, content)])
    if ticket.first_reply_at is None:
        ticket.first_reply_at = message.created_at
        ticket.save(update_fields=["first_reply_at"])
        rollups.ticket_changed(ticket)
    event_record(
        bot=ticket.bot,
        ticket=ticket,
        type=Event.Type.AGENT_MESSAGE,
        payload={
            "messageId": message.pk,
            "messageType": message.type,
            "payload": content.payload if content else {"text": text},
            "text": content.bot_text if content else text,
            **agent_fields(agent),
        },
    )
    realtime.announce_message(ticket.pk, message.pk)
    realtime.announce_ticket_changed(ticket.pk)
    return message


def _agent_text(text: str, files) -> str:
    """What an agent wrote, cleaned; with files, it may be left empty."""
    if files and not (text or "").strip():
        return ""
    return clean_text(text)


@transaction.atomic
def ticket_add_note(
    *, ticket_id: int, agent: AbstractBaseUser, text: str, files: list[StoredFile] = ()
) -> Message:
    """An internal note, with files or not: seen by agents only, never sent to the bot."""
    text = _agent_text(text, files)
    ticket = lock_open_ticket(ticket_id)
    content = agent_content(text, list(files)) if files else None
    message = transcript.note(ticket, agent, text, content=content)
    # The details side bar counts notes; the inbox row and counts do not change.
    realtime.announce_ticket_changed(ticket.pk, counts=False, state=False, tally=True)
    return message


@transaction.atomic
def agent_set_avatar(*, agent: AbstractBaseUser, picture: StoredFile | None) -> None:
    """The picture bots show beside the agent's messages (None: their initials). The
    previous picture is deleted."""
    profile = assignment.profile_for(agent.pk)
    old = profile.avatar
    AgentProfile.objects.filter(pk=profile.pk).update(avatar=picture)
    if old is not None and old != picture:
        delete_file(old)


@transaction.atomic
def ticket_set_priority(*, ticket_id: int, agent: AbstractBaseUser, priority: str) -> Ticket:
    ticket = lock_open_ticket(ticket_id)
    new = Priority(priority)
    if ticket.priority == new:
        return ticket
    old = ticket.priority
    ticket.priority = new
    ticket.priority_rank = PRIORITY_RANK[new]
    ticket.save(update_fields=["priority", "priority_rank"])
    rollups.ticket_changed(ticket)
    if ticket.status == Status.PENDING:
        queue.changed()
    system_line(
        ticket, "priority_changed", timezone.now(),
        agent=display_name(agent), old=str(old), new=str(new),
    )
    realtime.announce_ticket_changed(ticket.pk)
    return ticket


@transaction.atomic
def ticket_close(*, ticket_id: int, agent: AbstractBaseUser) -> Ticket:
    """The agent ends the session; the bot takes the conversation back."""
    ticket = lock_open_ticket(ticket_id)
    refusal = _("%(agent)s is handling this ticket.")
    check_handles(ticket, agent, refusal % {"agent": display_name(ticket.assignee)})
    _close(ticket, by=agent, reason=CloseReason.AGENT)
    return ticket


@transaction.atomic
def ticket_wait(*, ticket_id: int, agent: AbstractBaseUser) -> Ticket:
    """The agent asked the customer something: the ticket waits for their answer (status
    waiting) and is assigned again the moment they write (`post_user_message`). With
    DESK_WAITING_CLOSE_AFTER_SECONDS, it closes if they stay silent that long."""
    ticket = lock_open_ticket(ticket_id)
    if ticket.status == Status.WAITING:
        return ticket
    if ticket.status != Status.ASSIGNED:
        raise Conflict(_("Only an assigned ticket can wait for the customer: claim it first."))
    refusal = _("Only %(agent)s or an admin can set this ticket waiting.")
    check_handles(ticket, agent, refusal % {"agent": display_name(ticket.assignee)})
    now = timezone.now()
    ticket.status = Status.WAITING
    ticket.waiting_started_at = now
    ticket.save(update_fields=["status", "waiting_started_at"])
    rollups.ticket_changed(ticket)
    system_line(ticket, "waiting", now, agent=display_name(agent))
    schedule_waiting_timeout(ticket)
    realtime.announce_ticket_changed(ticket.pk)
    return ticket


@transaction.atomic
def ticket_stop_waiting(*, ticket_id: int, agent: AbstractBaseUser) -> Ticket:
    """The agent stops waiting for the customer: the ticket is assigned again."""
    ticket = lock_open_ticket(ticket_id)
    if ticket.status != Status.WAITING:
        return ticket
    refusal = _("Only %(agent)s or an admin can stop the wait.")
    check_handles(ticket, agent, refusal % {"agent": display_name(ticket.assignee)})
    ticket.status = Status.ASSIGNED
    ticket.waiting_started_at = None
    ticket.save(update_fields=["status", "waiting_started_at"])
    rollups.ticket_changed(ticket)
    system_line(ticket, "stopped_waiting", timezone.now(), agent=display_name(agent))
    realtime.announce_ticket_changed(ticket.pk)
    return ticket


@task(queue_name=TIMERS)
def close_silent_waiting_ticket(ticket_id: int, waiting_started_at: str) -> bool:
    """The waiting timeout, run by a task worker: close the ticket if it still waits, in
    the same wait (the customer did not write, nobody stopped it and set it waiting
    again). A duplicate run or a second worker does nothing."""
    since = datetime.fromisoformat(waiting_started_at)
    return close_silent_waiting(ticket_id=ticket_id, since=since) is not None


def schedule_waiting_timeout(ticket: Ticket) -> None:
    """Queue the waiting timeout when DESK_WAITING_CLOSE_AFTER_SECONDS is set. Called in
    the transaction that set the ticket waiting: the task exists exactly when the wait
    does. A wait that ends early leaves its task to find nothing to do."""
    seconds = settings.DESK_WAITING_CLOSE_AFTER_SECONDS
    if seconds <= 0:
        return
    due = ticket.waiting_started_at + timedelta(seconds=seconds)
    close_silent_waiting_ticket.using(run_after=due).enqueue(
        ticket.pk, ticket.waiting_started_at.isoformat()
    )


def close_silent_waiting(*, ticket_id: int, since: datetime) -> Ticket | None:
    """Close a ticket still waiting, since `since`, for a customer who never answered;
    the bot hears hitlStopped with reason waitingTimeout. None when it no longer does."""
    with transaction.atomic():
        ticket = (
            Ticket.objects.select_for_update(of=("self",))
            .select_related("bot", "assignee")
            .filter(pk=ticket_id, status=Status.WAITING, waiting_started_at=since)
            .first()
        )
        if ticket is None:
            return None
        _close(
            ticket,
            by=None,
            reason=CloseReason.WAITING_TIMEOUT,
        )
        return ticket


# The system line of each way a ticket closes (`desk.system_lines`).
_CLOSED_LINE = {
    CloseReason.AGENT: "closed",
    CloseReason.BOT_CANCEL: "closed_customer_left",
    CloseReason.BOT_TIMEOUT: "closed_bot_timeout",
    CloseReason.UNASSIGNED_TIMEOUT: "closed_unassigned",
    CloseReason.WAITING_TIMEOUT: "closed_waiting",
}


def _close(ticket: Ticket, *, by: AbstractBaseUser | None, reason: CloseReason) -> None:
    now = timezone.now()
    frees_capacity = ticket.status in HELD
    if ticket.status == Status.PENDING:
        queue.left_queue(ticket)
    ticket.status = Status.CLOSED
    ticket.closed_at = now
    ticket.closed_by = by
    ticket.close_reason = reason
    ticket.waiting_started_at = None
    ticket.save(
        update_fields=["status", "closed_at", "closed_by", "close_reason", "waiting_started_at"]
    )
    if reason == CloseReason.AGENT:
        system_line(ticket, _CLOSED_LINE[reason], now, agent=display_name(by))
    else:
        system_line(ticket, _CLOSED_LINE[reason], now)
    payload: dict = {"reason": _STOP_REASON[reason]}
    rating = None
    if reason == CloseReason.AGENT:
        payload["message"] = fill_agent_name(ticket.bot.session_ended_message, by)
        if by is not None:
            payload.update(agent_fields(by))
        if ticket.bot.csat_message:
            # The bot asks the customer; their answer comes back through `rate_conversation`.
            rating = Rating.objects.create(ticket=ticket, asked_at=now)
            payload["csat"] = {
                "message": fill_agent_name(ticket.bot.csat_message, by),
                "scale": RATING_SCALE,
            }
    elif reason == CloseReason.UNASSIGNED_TIMEOUT:
        payload["message"] = fill_agent_name(ticket.bot.agent_assigned_timeout_message, None)
    elif reason == CloseReason.WAITING_TIMEOUT:
        payload["message"] = fill_agent_name(ticket.bot.session_ended_message, ticket.assignee)
    rollups.ticket_changed(ticket, rating=rating)
    event_record(bot=ticket.bot, ticket=ticket, type=Event.Type.HITL_STOPPED, payload=payload)
    realtime.announce_ticket_changed(ticket.pk)
    if frees_capacity:
        assignment.request_drain()


# The reason a bot reads in hitlStopped.
_STOP_REASON = {
    CloseReason.AGENT: "agentClosed",
    CloseReason.BOT_CANCEL: "botStopped",
    CloseReason.BOT_TIMEOUT: "botStopped",
    CloseReason.UNASSIGNED_TIMEOUT: "timeout",
    CloseReason.WAITING_TIMEOUT: "waitingTimeout",
}
