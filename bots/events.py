"""The bot's event log: what Desk tells a bot (assigned, agent message, stopped, an
approval decided).

`event_record` is the only way an event is written. Delivery (webhooks, long-poll)
reads the log; it never invents events. Recording an event also queues its webhook
delivery (in the same transaction, so the two commit together) and, once committed,
wakes the bot's long-polls in this process and, through the channel layer, in others.
"""

import logging

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from bots import wakeups
from bots.links import resolve_file_links
from bots.models import Bot, Event

logger = logging.getLogger("bots.events")


def event_record(
    *, bot: Bot, ticket=None, type: Event.Type, payload: dict, conversation_id: str = ""
) -> Event:
    """Append an event to the bot's log, inside the caller's transaction.

    An event about a ticket carries the ticket's ids and conversation; one about no
    ticket (an approval's decision) carries `conversation_id` when it has one."""
    now = timezone.now()
    if ticket is not None:
        conversation_id = ticket.conversation_id
        about = {
            "ticketId": str(ticket.public_id),
            "ticketNumber": ticket.number,
            "conversationId": conversation_id,
        }
    else:
        about = {"conversationId": conversation_id} if conversation_id else {}
    body = {"botId": bot.bot_id, **about, **payload}
    event = Event.objects.create(
        bot=bot,
        ticket=ticket,
        conversation_id=conversation_id,
        type=type,
        payload=body,
        created_at=now,
    )
    if bot.webhook_url:
        from bots.tasks import deliver_webhooks

        deliver_webhooks.enqueue(bot.pk)
    bot_pk = bot.pk
    transaction.on_commit(lambda: announce_event(bot_pk))
    return event


def event_as_json(event: Event) -> dict:
    """The JSON a bot receives for one event, by webhook or long-poll. A file Desk keeps
    is named by a URL signed now, so it works for DESK_FILE_URL_TTL_SECONDS from the
    moment the bot reads the event, however late that is."""
    payload = event.payload
    if event.type == Event.Type.AGENT_MESSAGE:
        payload = resolve_file_links(payload)
    return {
        "id": str(event.public_id),
        "cursor": event.pk,
        "type": event.type,
        # The same format as every other time in the API: 2026-05-06T09:30:00.123Z
        "createdAt": DjangoJSONEncoder().default(event.created_at),
        **payload,
    }


def bot_events_key(bot_pk: int) -> str:
    """The wake-up key, and channel-layer group, of a bot's long-polls."""
    return f"bot-events-{bot_pk}"


def announce_event(bot_pk: int) -> None:
    """Wake whoever waits for this bot's next event (called after the commit)."""
    wakeups.fire(bot_events_key(bot_pk))
    layer = get_channel_layer()
    if layer is None or isinstance(layer, InMemoryChannelLayer):
        return  # one process: the in-process wake-up above reached everyone
    try:
        async_to_sync(layer.group_send)(bot_events_key(bot_pk), {"type": "bot.event"})
    except Exception:  # the long-polls re-read the log on their own, soon
        logger.exception("could not announce bot %s's event on the channel layer", bot_pk)
