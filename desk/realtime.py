"""Announcements to open browser tabs, through the Channels channel layer.

Service functions call these after they change the database; the messages go out
only once the transaction commits, so a tab never hears of a row it cannot read.
The channel layer carries notifications only: the database stays the truth.
"""

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

INBOX_GROUP = "inbox"


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


def _send_on_commit(group: str, message: dict) -> None:
    def send() -> None:
        layer = get_channel_layer()
        if layer is not None:
            async_to_sync(layer.group_send)(group, message)

    transaction.on_commit(send)


def announce_ticket_changed(ticket_id: int) -> None:
    """A ticket was created or changed: every inbox refreshes its row."""
    _send_on_commit(INBOX_GROUP, {"type": "ticket.changed", "ticket_id": ticket_id})
    _send_on_commit(ticket_group(ticket_id), {"type": "ticket.changed", "ticket_id": ticket_id})


def announce_message(ticket_id: int, message_id: int) -> None:
    """A transcript line was added: tabs viewing the ticket append it."""
    _send_on_commit(
        ticket_group(ticket_id),
        {"type": "ticket.message", "ticket_id": ticket_id, "message_id": message_id},
    )
