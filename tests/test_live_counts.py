"""The live side-bar counts: sent apart from the rows, coalesced per process, and never
left behind the last change of a burst.

Tabs are real sockets through the project's ASGI application (see test_live_inbox.py).
"""

import asyncio
import re

import pytest
from asgiref.sync import sync_to_async

from desk import realtime, services
from tests.test_live_inbox import claim, opened, start_hitl

pytestmark = pytest.mark.django_db(transaction=True)

PENDING = re.compile(r'id="count-status-pending" hx-swap-oob="true">(\d+)<')
MINE = re.compile(r'id="count-status-mine" hx-swap-oob="true">(\d+)<')


def count_frames(frames: list[str]) -> list[str]:
    return [f for f in frames if PENDING.search(f)]


def last_count(pattern: re.Pattern, frames: list[str]) -> int:
    return int(pattern.findall("".join(count_frames(frames)))[-1])


async def test_after_a_burst_of_escalations_the_counts_end_at_the_right_numbers(
    agent, connected_bot
):
    inbox = await opened("/ws/desk/?inbox=1", agent)
    burst = 12
    await asyncio.gather(
        *(start_hitl(bot=connected_bot, conversation_id=f"conv-{i}") for i in range(burst))
    )
    frames = await inbox.drain(quiet=realtime.COUNTS_INTERVAL * 3)
    rows = {i for f in frames for i in re.findall(r'<div id="ticket-(\d+)" role="row"', f)}
    assert len(rows) == burst  # each change still sends its own row
    assert last_count(PENDING, frames) == burst
    # The counts were recounted fewer times than there were changes.
    assert 1 <= len(count_frames(frames)) < burst
    await inbox.close()


async def test_the_last_change_of_a_burst_is_in_the_counts(agent, other_agent, connected_bot):
    maya = await opened("/ws/desk/?inbox=1", agent)
    sam = await opened("/ws/desk/?inbox=1", other_agent)
    tickets = [
        (await start_hitl(bot=connected_bot, conversation_id=f"conv-{i}"))[0] for i in range(3)
    ]
    await claim(ticket_id=tickets[-1].pk, agent=agent)  # right after, within the interval
    for tab, mine in ((maya, 1), (sam, 0)):
        frames = await tab.drain(quiet=realtime.COUNTS_INTERVAL * 3)
        assert last_count(PENDING, frames) == 2
        assert last_count(MINE, frames) == mine
    await maya.close()
    await sam.close()


async def test_a_change_outside_any_server_loop_sends_the_counts_at_once(agent, connected_bot):
    # The task worker's threads and management commands are not called from an event
    # loop: nothing would run a deferred broadcast there.
    inbox = await opened("/ws/desk/?inbox=1", agent)
    await asyncio.to_thread(services.start_hitl, bot=connected_bot, conversation_id="conv-1")
    await inbox.find('id="count-status-pending" hx-swap-oob="true">1<')
    await inbox.close()


async def test_a_note_updates_the_note_count_in_an_open_ticket_tab(agent, connected_bot):
    ticket, _ = await start_hitl(bot=connected_bot, conversation_id="conv-1")
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await tab.drain()
    await sync_to_async(services.ticket_add_note)(ticket_id=ticket.pk, agent=agent, text="VIP")
    tally = await tab.wait_for('id="transcript-count"')
    assert "0 messages · 1 note<" in tally
    await tab.close()
