"""Announcements to open browser tabs, through the Channels channel layer.

Service functions call these after they change the database; the messages go out
only once the transaction commits, so a tab never hears of a row it cannot read.
The channel layer carries notifications only: the database stays the truth.

Each announcement renders its HTML fragments once, here, and carries them in the
group message; the consumers only choose which of them a socket gets. So a change
costs one render however many tabs are open. Nothing rendered here depends on who
is looking; what does (the "Assigned to me" count) travels as plain numbers.

Groups:
- "inbox": every open inbox tab; message type "inbox.ticket".
- ticket_group(id): every tab showing that ticket; types "ticket.changed",
  "ticket.message", and the consumers' own "ticket.typing" and "ticket.presence".
"""

import logging
from collections.abc import Callable

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

INBOX_GROUP = "inbox"


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


def group_send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


def _once_on_commit(key: tuple, send: Callable[[], None]) -> None:
    """Run `send` after the commit, once per key and transaction: a reply that also
    claims the ticket changes it twice but is announced once, with the final state."""
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        getattr(func, "desk_key", None) == key for _, func, _ in connection.run_on_commit
    ):
        return
    send.desk_key = key  # type: ignore[attr-defined]
    transaction.on_commit(send, robust=True)


def announce_ticket_changed(ticket_id: int) -> None:
    """A ticket was created or changed: every inbox refreshes its row, every tab
    showing the ticket its details."""
    _once_on_commit(("changed", ticket_id), lambda: broadcast_ticket_changed(ticket_id))


def announce_message(ticket_id: int, message_id: int) -> None:
    """A transcript line was added: tabs viewing the ticket append it."""
    _once_on_commit(("message", message_id), lambda: broadcast_message(ticket_id, message_id))


def broadcast_ticket_changed(ticket_id: int) -> None:
    from desk import fragments

    row = fragments.inbox_row_update(ticket_id)
    if row is None:
        return
    group_send(INBOX_GROUP, {"type": "inbox.ticket", **row})
    group_send(
        ticket_group(ticket_id),
        {"type": "ticket.changed", **fragments.ticket_state(ticket_id)},
    )


def broadcast_message(ticket_id: int, message_id: int) -> None:
    from desk.models import Message

    message = Message.objects.filter(pk=message_id, ticket_id=ticket_id).first()
    if message is None:
        return
    html = render_to_string("desk/ticket.html#message-oob", {"message": message})
    group_send(
        ticket_group(ticket_id),
        {"type": "ticket.message", "ticket_id": ticket_id, "message_id": message_id, "html": html},
    )
