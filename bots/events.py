"""The bot's event log: what Desk tells a bot (assigned, agent message, stopped).

`event_record` is the only way an event is written. Delivery (webhooks, long-poll)
reads the log; it never invents events.
"""

from django.utils import timezone

from bots.models import Bot, Event


def event_record(*, bot: Bot, ticket, type: Event.Type, payload: dict) -> Event:
    """Append an event to the bot's log, inside the caller's transaction."""
    now = timezone.now()
    body = {
        "botId": bot.bot_id,
        "ticketId": str(ticket.public_id),
        "ticketNumber": ticket.number,
        "conversationId": ticket.conversation_id,
        **payload,
    }
    event = Event.objects.create(
        bot=bot,
        ticket=ticket,
        conversation_id=ticket.conversation_id,
        type=type,
        payload=body,
        created_at=now,
    )
    return event


def event_as_json(event: Event) -> dict:
    """The JSON a bot receives for one event, by webhook or long-poll."""
    return {
        "id": str(event.public_id),
        "cursor": event.pk,
        "type": event.type,
        "createdAt": event.created_at.isoformat(),
        **event.payload,
    }
