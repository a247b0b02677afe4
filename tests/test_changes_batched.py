"""Changed tickets' rows and side bars are rendered off the request that changed them,
in batches per server process (`realtime.ChangesBroadcast`): a new transcript line
still reaches the ticket's tabs from its own request, each line once; the rows and tallies
follow, each ticket once per batch, and the last change of a burst is always in the last
frame.

Tabs are real sockets through the project's ASGI application (see test_live_inbox.py).
"""

import asyncio
import re

import pytest

from desk import realtime, services
from tests.test_live_inbox import message_ids, opened, post_user_message, start_hitl

pytestmark = pytest.mark.django_db(transaction=True)


def rows_of(ticket_id: int, frames: list[str]) -> list[str]:
    return [f for f in frames if f'<div id="ticket-{ticket_id}" role="row"' in f]


TALLY = re.compile(r'id="transcript-count" hx-swap-oob="true">(\d+) messages?')


async def test_a_burst_of_messages_sends_every_line_and_ends_on_the_last_row(
    agent, connected_bot
):
    ticket, _ = await start_hitl(bot=connected_bot, conversation_id="conv-1")
    inbox = await opened("/ws/desk/?inbox=1", agent)
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await inbox.drain()
    await tab.drain()
    burst = 10
    await asyncio.gather(
        *(
            post_user_message(
                bot=connected_bot, conversation_id="conv-1", text=f"Parcel question {i}"
            )
            for i in range(burst)
        )
    )
    quiet = realtime.CHANGES_INTERVAL * 6
    in_tab = await tab.drain(quiet=quiet)
    in_inbox = await inbox.drain(quiet=quiet)
    # Every line reached the ticket's tab, once each and in order.
    lines = message_ids(in_tab)
    assert len(lines) == burst and lines == sorted(set(lines))
    # The row was rendered fewer times than the ticket changed, and ends on the last line.
    rows = rows_of(ticket.pk, in_inbox)
    assert 1 <= len(rows) < burst
    assert f"Parcel question {burst - 1}" in rows[-1]
    # So does the transcript's count in the ticket's side bar.
    tallies = [int(n) for f in in_tab for n in TALLY.findall(f)]
    assert tallies and tallies[-1] == burst
    await inbox.close()
    await tab.close()


async def test_changes_to_many_tickets_in_one_batch_each_reach_their_row(agent, connected_bot):
    tickets = [
        (await start_hitl(bot=connected_bot, conversation_id=f"conv-{i}"))[0] for i in range(6)
    ]
    inbox = await opened("/ws/desk/?inbox=1", agent)
    await inbox.drain()
    await asyncio.gather(
        *(
            post_user_message(
                bot=connected_bot, conversation_id=f"conv-{i}", text=f"Where is order {i}?"
            )
            for i in range(6)
        )
    )
    frames = await inbox.drain(quiet=realtime.CHANGES_INTERVAL * 6)
    for i, ticket in enumerate(tickets):
        rows = rows_of(ticket.pk, frames)
        assert rows, f"no row for ticket {i}"
        assert f"Where is order {i}?" in rows[-1]
        assert all(f"Where is order {j}?" not in rows[-1] for j in range(6) if j != i)
    await inbox.close()


async def test_a_change_outside_any_server_loop_sends_its_row_at_once(agent, connected_bot):
    # The task worker's threads and management commands are not called from an event
    # loop: nothing would run a deferred batch there.
    ticket, _ = await start_hitl(bot=connected_bot, conversation_id="conv-1")
    inbox = await opened("/ws/desk/?inbox=1", agent)
    await inbox.drain()
    await asyncio.to_thread(
        services.post_user_message, bot=connected_bot, conversation_id="conv-1", text="Hello?"
    )
    row = await inbox.wait_for(f'<div id="ticket-{ticket.pk}" role="row"')
    assert "Hello?" in row
    await inbox.close()


async def test_a_batch_that_fails_does_not_stop_the_next(agent, connected_bot, monkeypatch):
    ticket, _ = await start_hitl(bot=connected_bot, conversation_id="conv-1")
    inbox = await opened("/ws/desk/?inbox=1", agent)
    await inbox.drain()
    real = realtime.render_changes
    calls = []

    def failing_once(changed):
        calls.append(changed)
        if len(calls) == 1:
            raise RuntimeError("the database went away for a moment")
        return real(changed)

    monkeypatch.setattr(realtime, "render_changes", failing_once)
    await post_user_message(bot=connected_bot, conversation_id="conv-1", text="First try")
    await inbox.drain(quiet=realtime.CHANGES_INTERVAL * 4)
    await post_user_message(bot=connected_bot, conversation_id="conv-1", text="Second try")
    row = await inbox.wait_for(f'<div id="ticket-{ticket.pk}" role="row"')
    assert "Second try" in row
    await inbox.close()
