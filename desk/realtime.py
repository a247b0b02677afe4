"""Announcements to open browser tabs, through the Channels channel layer.

Service functions call these after they change the database; the messages go out
only once the transaction commits, so a tab never hears of a row it cannot read.
The channel layer carries notifications only: the database stays the truth.

Each announcement renders its HTML fragments once, here, and carries them in the
group message; the consumers only choose which of them a socket gets. So a change
costs one render however many tabs are open. Nothing rendered here depends on who
is looking; what does (the "Assigned to me" count) travels as plain numbers.

Rendering happens in the request, after its commit, on the thread that runs every
sync view: handing it to a thread of its own was measured slower (see docs/perf.md),
so each announcement renders only what the change can have moved.

Groups:
- "inbox": every open inbox tab; message type "inbox.ticket".
- ticket_group(id): every tab showing that ticket; types "ticket.changed",
  "ticket.message", and the consumers' own "ticket.typing" and "ticket.presence".
"""

from dataclasses import dataclass, field

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

INBOX_GROUP = "inbox"

# What of a changed ticket to re-render: its inbox row, the side-bar counts, and the
# details side bar of the tabs showing it.
ROW, COUNTS, STATE = "row", "counts", "state"


def ticket_group(ticket_id: int) -> str:
    return f"ticket-{ticket_id}"


def group_send(group: str, message: dict) -> None:
    layer = get_channel_layer()
    if layer is not None:
        async_to_sync(layer.group_send)(group, message)


@dataclass
class Announcement:
    """One thing to tell the tabs: a changed ticket (`parts` of it) or a new line."""

    ticket_id: int
    message_id: int | None = None
    parts: set[str] = field(default_factory=set)

    @property
    def key(self) -> tuple:
        return ("message", self.message_id) if self.message_id else ("changed", self.ticket_id)


def _once_on_commit(announcement: Announcement) -> None:
    """Announce after the commit, once per ticket or line and transaction: a reply that
    also claims the ticket changes it twice but is announced once, with the final state."""
    connection = transaction.get_connection()
    if connection.in_atomic_block:
        for _, func, _ in connection.run_on_commit:
            queued = getattr(func, "desk_announcement", None)
            if queued is not None and queued.key == announcement.key:
                queued.parts |= announcement.parts
                return

    def send() -> None:
        for group, message in render(announcement):
            group_send(group, message)

    send.desk_announcement = announcement  # type: ignore[attr-defined]
    transaction.on_commit(send, robust=True)


def announce_ticket_changed(ticket_id: int, *, counts: bool = True, state: bool = True) -> None:
    """A ticket was created or changed: every inbox refreshes its row (and, unless the
    change cannot move them, the counts); every tab showing the ticket its details
    (not needed for a ticket just created: nobody can be showing it yet)."""
    parts = {ROW} | ({COUNTS} if counts else set()) | ({STATE} if state else set())
    _once_on_commit(Announcement(ticket_id, parts=parts))


def announce_message(ticket_id: int, message_id: int) -> None:
    """A transcript line was added: tabs viewing the ticket append it."""
    _once_on_commit(Announcement(ticket_id, message_id=message_id))


# --- rendering ------------------------------------------------------------------------


def render(announcement: Announcement) -> list[tuple[str, dict]]:
    """The group messages for one announcement: (group, message) pairs."""
    from desk import fragments
    from desk.models import Message

    ticket_id = announcement.ticket_id
    if announcement.message_id is not None:
        message = Message.objects.filter(pk=announcement.message_id, ticket_id=ticket_id).first()
        if message is None:
            return []
        html = render_to_string("desk/ticket.html#message-oob", {"message": message})
        frame = {
            "type": "ticket.message",
            "ticket_id": ticket_id,
            "message_id": message.pk,
            "html": html,
        }
        return [(ticket_group(ticket_id), frame)]
    row = fragments.inbox_row_update(ticket_id)
    if row is None:
        return []
    inbox = {"type": "inbox.ticket", **row}
    if COUNTS in announcement.parts:
        inbox.update(fragments.inbox_counts_update())
    frames = [(INBOX_GROUP, inbox)]
    if STATE in announcement.parts:
        state = fragments.ticket_state(ticket_id)
        frames.append((ticket_group(ticket_id), {"type": "ticket.changed", **state}))
    return frames
