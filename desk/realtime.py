"""Announcements to open browser tabs, through the Channels channel layer.

Service functions call these after they change the database; the messages go out
only once the transaction commits, so a tab never hears of a row it cannot read.
The channel layer carries notifications only: the database stays the truth.

Each announcement renders its HTML fragments once, here, and carries them in the
group message; the consumers only choose which of them a socket gets. So a change
costs one render however many tabs are open. Nothing rendered here depends on who
is looking; what does (the "Assigned to me" count) travels as plain numbers.

Rendering happens off the request. In a server, a committed announcement is handed
to the event loop and queued; one task per loop renders what is queued, in one
thread of its own (not the thread every sync view and consumer call shares), and
sends it, in the order the announcements committed. What piled up while a render ran
is rendered as one batch: a ticket changed twice is rendered once, and the counts
once for all. Renders read the database when they run, so a frame may show a state
newer than the change that queued it, never an older one. Outside a server (a
management command, a worker thread) an announcement renders and sends at once.

Groups:
- "inbox": every open inbox tab; message type "inbox.ticket".
- ticket_group(id): every tab showing that ticket; types "ticket.changed",
  "ticket.message", and the consumers' own "ticket.typing" and "ticket.presence".
"""

import asyncio
import logging
import weakref
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from asgiref.sync import SyncToAsync, async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer
from django.db import transaction
from django.template.loader import render_to_string

logger = logging.getLogger(__name__)

INBOX_GROUP = "inbox"

# What of a changed ticket to re-render: its inbox row, the side-bar counts, and the
# details side bar of the tabs showing it.
ROW, COUNTS, STATE = "row", "counts", "state"
EVERYTHING = frozenset({ROW, COUNTS, STATE})


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
        _hand_over(announcement)

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


def render(announcements: list[Announcement]) -> list[tuple[str, dict]]:
    """The group messages for a batch of announcements, in their order. A ticket
    announced more than once is rendered once, where it was last announced, with every
    part any of them asked for; the counts are rendered once for the batch."""
    from desk import fragments
    from desk.models import Message

    parts: dict[int, set[str]] = {}
    last: dict[int, int] = {}
    for i, a in enumerate(announcements):
        if a.message_id is None:
            parts.setdefault(a.ticket_id, set()).update(a.parts)
            last[a.ticket_id] = i
    counts = None
    if any(COUNTS in p for p in parts.values()):
        counts = fragments.inbox_counts_update()
    frames: list[tuple[str, dict]] = []
    for i, a in enumerate(announcements):
        if a.message_id is not None:
            message = Message.objects.filter(pk=a.message_id, ticket_id=a.ticket_id).first()
            if message is not None:
                html = render_to_string("desk/ticket.html#message-oob", {"message": message})
                frames.append(
                    (
                        ticket_group(a.ticket_id),
                        {
                            "type": "ticket.message",
                            "ticket_id": a.ticket_id,
                            "message_id": a.message_id,
                            "html": html,
                        },
                    )
                )
            continue
        if last[a.ticket_id] != i:
            continue
        row = fragments.inbox_row_update(a.ticket_id)
        if row is None:
            continue
        wanted = parts[a.ticket_id]
        inbox = {"type": "inbox.ticket", **row}
        if COUNTS in wanted:
            inbox.update(counts)
        frames.append((INBOX_GROUP, inbox))
        if STATE in wanted:
            state = fragments.ticket_state(a.ticket_id)
            frames.append((ticket_group(a.ticket_id), {"type": "ticket.changed", **state}))
    return frames


# --- sending, off the request -------------------------------------------------------

# The one thread that renders announcements in a server process: one, so batches are
# rendered in the order they committed.
_renderer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="desk-announce")


@dataclass
class _Queue:
    pending: deque = field(default_factory=deque)
    task: asyncio.Task | None = None


_queues: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Queue]" = (
    weakref.WeakKeyDictionary()
)


def _server_loop() -> asyncio.AbstractEventLoop | None:
    """The event loop of the server this thread works for, if any. asgiref records it
    in every thread that runs sync code for the loop (sync views, consumers' database
    calls): it is how `async_to_sync` finds the loop too."""
    loop = getattr(SyncToAsync.threadlocal, "main_event_loop", None)
    if loop is not None and loop.is_running():
        return loop
    return None


def _hand_over(announcement: Announcement) -> None:
    """Called once the transaction committed. Never raises: the change is saved."""
    loop = _server_loop()
    try:
        if loop is not None:
            loop.call_soon_threadsafe(_enqueue, announcement)
            return
        _send_now(render([announcement]))
    except Exception:
        logger.exception("could not announce %s", announcement)


def _enqueue(announcement: Announcement) -> None:
    """On the loop: queue the announcement; start the task that sends if it is idle."""
    loop = asyncio.get_running_loop()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = _Queue()
    queue.pending.append(announcement)
    if queue.task is None or queue.task.done():
        queue.task = loop.create_task(_send_queued(queue))


_render_off_loop = database_sync_to_async(render, thread_sensitive=False, executor=_renderer)


async def _send_queued(queue: _Queue) -> None:
    layer = get_channel_layer()
    while queue.pending:
        batch = list(queue.pending)
        queue.pending.clear()
        try:
            frames = await _render_off_loop(batch)
        except Exception:
            logger.exception("could not render %d announcements", len(batch))
            continue
        for group, message in frames:
            try:
                if layer is not None:
                    await layer.group_send(group, message)
            except Exception:  # tabs catch up from the database when they reconnect
                logger.exception("could not send to %s", group)


def _send_now(frames: list[tuple[str, dict]]) -> None:
    for group, message in frames:
        group_send(group, message)


async def settled() -> None:
    """Wait until every announcement queued on this loop has been sent (for tests)."""
    queue = _queues.get(asyncio.get_running_loop())
    while queue is not None and queue.task is not None and not queue.task.done():
        await asyncio.shield(queue.task)
