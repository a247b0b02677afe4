"""The live desk: one websocket per tab at /ws/desk/, pushing HTML fragments.

Each test opens real sockets through the project's ASGI application (origin check,
session auth, routing) with Channels' WebsocketCommunicator, and looks at the
frames an agent's tab would swap in.
"""

import asyncio
import json
import re

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from desk import realtime, services
from desk.asgi import application
from desk.models import Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


class Tab:
    """One browser tab's socket, logged in as `user` (or anonymous)."""

    def __init__(self, path: str, user=None, origin: bytes = b"http://localhost") -> None:
        self.path, self.user, self.origin = path, user, origin
        self.frames: list[str] = []

    async def open(self) -> bool:
        # Changes made just before are announced before the tab opens, as a page loaded
        # after them shows them already (`realtime.changes_pending`).
        while realtime.changes_pending():
            await asyncio.sleep(0.01)
        headers = [(b"host", b"localhost"), (b"origin", self.origin)]  # as a browser sends
        if self.user is not None:
            client = Client()
            await sync_to_async(client.force_login)(self.user)
            headers.append((b"cookie", f"sessionid={client.cookies['sessionid'].value}".encode()))
        self.socket = WebsocketCommunicator(application, self.path, headers=headers)
        connected, _ = await self.socket.connect(timeout=5)  # a loaded machine is slow
        self.connected = connected
        return connected

    async def send(self, **frame) -> None:
        await self.socket.send_to(text_data=json.dumps(frame))

    async def wait_for(self, text: str, timeout: float = 3) -> str:
        """The first frame containing `text`; earlier frames are kept in self.frames."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            remaining = deadline - loop.time()
            if remaining <= 0:
                raise AssertionError(f"no frame with {text!r}; got {self.frames!r}")
            try:
                frame = await self.socket.receive_from(timeout=remaining)
            except TimeoutError:
                continue
            self.frames.append(frame)
            if text in frame:
                return frame

    async def find(self, text: str, timeout: float = 3) -> str:
        """Like wait_for, but a frame already received counts too."""
        for frame in self.frames:
            if text in frame:
                return frame
        return await self.wait_for(text, timeout)

    async def drain(self, quiet: float = 0.3) -> list[str]:
        """Every frame until the socket has been quiet for `quiet` seconds."""
        got = []
        while not await self.socket.receive_nothing(timeout=quiet):
            got.append(await self.socket.receive_from())
        self.frames += got
        return got

    async def close(self) -> None:
        await self.socket.disconnect()


async def opened(path: str, user) -> Tab:
    tab = Tab(path, user)
    assert await tab.open(), f"{path} refused"
    return tab


def message_ids(frames: list[str]) -> list[int]:
    return [int(i) for f in frames for i in re.findall(r'data-message-id="(\d+)"', f)]


start_hitl = sync_to_async(services.start_hitl)
claim = sync_to_async(services.ticket_claim)
reply = sync_to_async(services.ticket_reply)
post_user_message = sync_to_async(services.post_user_message)


async def ticket_for(bot, conversation_id="conv-1", **fields) -> Ticket:
    ticket, _ = await start_hitl(bot=bot, conversation_id=conversation_id, **fields)
    return ticket


# --- who may connect ----------------------------------------------------------------------


async def test_an_anonymous_socket_is_refused(db):
    tab = Tab("/ws/desk/?inbox=1")
    assert not await tab.open()
    await tab.close()


async def test_a_socket_from_another_origin_is_refused(agent):
    tab = Tab("/ws/desk/?inbox=1", agent, origin=b"https://evil.example")
    assert not await tab.open()
    await tab.close()


async def test_a_disabled_agent_is_refused(agent):
    agent.is_active = False
    await sync_to_async(agent.save)()
    tab = Tab("/ws/desk/?inbox=1", agent)
    assert not await tab.open()
    await tab.close()


async def test_a_socket_for_a_ticket_that_does_not_exist_is_refused(agent):
    tab = Tab("/ws/desk/?ticket=999", agent)
    assert not await tab.open()
    await tab.close()


async def test_a_socket_that_says_nothing_about_its_page_is_refused(agent):
    tab = Tab("/ws/desk/", agent)
    assert not await tab.open()
    await tab.close()


# --- the live inbox ---------------------------------------------------------------------------


async def test_a_start_hitl_through_the_api_reaches_an_open_inbox_as_a_row(
    agent, bot_api, connected_bot
):
    inbox = await opened("/ws/desk/?inbox=1", agent)
    response = await sync_to_async(bot_api.post)(
        "/api/v1/bots/support-bot/startHitl",
        {
            "conversationId": "conv-9",
            "title": "Refund <b>now</b>",
            "priority": "urgent",
            "userName": "Jordan Lee",
            "messageHistory": [{"role": "user", "text": "Charged twice"}],
        },
    )
    assert response.status_code == 201
    ticket = await Ticket.objects.aget(conversation_id="conv-9")
    frame = await inbox.wait_for(f'id="ticket-{ticket.pk}"')
    assert 'hx-swap-oob="beforeend:#ticket-rows"' in frame
    assert "Refund &lt;b&gt;now&lt;/b&gt;" in frame and "<b>now" not in frame
    assert "Jordan Lee" in frame and "Charged twice" in frame and "urgent" in frame
    # The counts follow in a frame of their own (see tests/test_live_counts.py).
    await inbox.find('id="count-status-pending" hx-swap-oob="true">1<')
    await inbox.close()


async def test_a_claim_moves_the_row_in_every_inbox(agent, other_agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    maya = await opened("/ws/desk/?inbox=1", agent)
    sam = await opened("/ws/desk/?inbox=1", other_agent)
    await claim(ticket_id=ticket.pk, agent=agent)
    for tab in (maya, sam):
        frame = await tab.wait_for(f'id="ticket-{ticket.pk}"')
        assert "status-assigned" in frame and "Maya Lopez" in frame
        counts = await tab.find('id="count-status-pending" hx-swap-oob="true">0<')
        # "Assigned to me" is the one count that differs between the two agents.
        mine = 1 if tab is maya else 0
        assert f'id="count-status-mine" hx-swap-oob="true">{mine}<' in counts
    await maya.close()
    await sam.close()


async def test_a_new_end_user_message_marks_the_row_unread_with_a_preview(agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    await claim(ticket_id=ticket.pk, agent=agent)
    await reply(ticket_id=ticket.pk, agent=agent, text="Looking into it")
    inbox = await opened("/ws/desk/?inbox=1", agent)
    await post_user_message(bot=connected_bot, conversation_id="conv-1", text="Any news?")
    frame = await inbox.wait_for("1 new")  # the row (the agent's alert comes apart)
    assert "unread" in frame and "Any news?" in frame
    await inbox.close()


async def test_a_new_end_user_message_moves_no_count_but_refreshes_the_message_count(
    agent, connected_bot
):
    ticket = await ticket_for(connected_bot)
    await claim(ticket_id=ticket.pk, agent=agent)
    await reply(ticket_id=ticket.pk, agent=agent, text="Looking into it")
    inbox = await opened("/ws/desk/?inbox=1", agent)
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await tab.drain()
    await post_user_message(bot=connected_bot, conversation_id="conv-1", text="Any news?")
    row = await inbox.wait_for("1 new")
    assert "unread" in row and "Any news?" in row
    assert "count-" not in row  # no count changed, none is sent
    await tab.wait_for("Any news?")
    tally = await tab.find('id="transcript-count"')
    assert "2 messages · 0 notes" in tally
    # Only that line of the side bar is sent again, not the whole of it.
    assert not any('id="ticket-details"' in frame for frame in await tab.drain() + tab.frames)
    await inbox.close()
    await tab.close()


async def test_lines_posted_in_a_burst_reach_a_tab_once_each_in_order(agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await tab.drain()
    sent = [
        (await post_user_message(bot=connected_bot, conversation_id="conv-1", text=f"line {i}"))[
            0
        ].pk
        for i in range(15)
    ]
    await tab.wait_for("line 14")
    await tab.drain()  # anything after the last line: a repeat would show here
    assert message_ids(tab.frames) == sent
    await tab.close()


async def test_a_filtered_inbox_drops_a_row_that_leaves_its_view(agent, other_agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    pending = await opened("/ws/desk/?inbox=1&status=pending", agent)
    await claim(ticket_id=ticket.pk, agent=other_agent)
    frame = await pending.wait_for(f'id="ticket-{ticket.pk}"')
    assert f'<div id="ticket-{ticket.pk}" class="gone">' in frame
    assert 'beforeend:#ticket-rows"><div id="ticket-' in frame  # the tombstone, not the row
    assert "Sam Okafor" not in frame
    await pending.close()


async def test_a_search_only_takes_in_rows_that_match(agent, connected_bot):
    inbox = await opened("/ws/desk/?inbox=1&q=refund", agent)
    other = await ticket_for(connected_bot, "conv-a", title="Login trouble")
    frame = await inbox.wait_for(f'id="ticket-{other.pk}"')
    assert 'class="gone"' in frame
    match = await ticket_for(connected_bot, "conv-b", title="Refund please")
    frame = await inbox.wait_for(f'id="ticket-{match.pk}"')
    assert "Refund please" in frame and 'class="gone"' not in frame
    await inbox.close()


async def test_a_reconnecting_inbox_that_missed_changes_gets_the_list_again(agent, connected_bot):
    first = await ticket_for(connected_bot, "conv-a", title="Seen before")
    version_t, version_m = first.pk, 0
    await ticket_for(connected_bot, "conv-b", title="Missed while away")
    inbox = await opened(f"/ws/desk/?inbox=1&t={version_t}&m={version_m}", agent)
    frame = await inbox.wait_for('id="ticket-list"')
    assert "Missed while away" in frame and "Seen before" in frame
    await inbox.close()

    up_to_date = await opened(f"/ws/desk/?inbox=1&t={first.pk + 1}&m=0", agent)
    # No list again (the counts of a change just before may still arrive: they are
    # sent a moment after it, and are the same for everyone).
    assert not any('id="ticket-list"' in frame for frame in await up_to_date.drain())
    await up_to_date.close()


# --- the ticket view -----------------------------------------------------------------------------


async def test_a_reply_reaches_a_second_agents_socket(agent, other_agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    await maya.send(action="reply", ticket=ticket.pk, text="Hi <script>x</script>\nsecond line")
    for tab in (maya, sam):
        frame = await tab.wait_for("msg-agent")
        assert 'hx-swap-oob="beforeend:#message-list"' in frame
        assert "Hi &lt;script&gt;x&lt;/script&gt;<br>second line" in frame
        assert "<script>x" not in frame
    # Replying to a pending ticket claimed it; both tabs see who has it now.
    details = await sam.find('id="ticket-details"')
    assert "Maya Lopez" in details and "status-assigned" in details
    message = await Message.objects.aget(kind="agent")
    assert message.author_id == agent.pk
    await maya.close()
    await sam.close()


async def test_a_note_is_shown_as_internal(agent, other_agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await maya.send(action="note", ticket=ticket.pk, text="VIP customer")
    frame = await sam.wait_for("VIP customer")
    assert "msg-note" in frame and "internal note" in frame
    assert "1 note" in await sam.wait_for("1 note")  # the details count it too
    await maya.close()
    await sam.close()


async def test_an_error_goes_only_to_the_socket_that_caused_it(agent, other_agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    await claim(ticket_id=ticket.pk, agent=agent)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    await maya.drain()
    await sam.send(action="reply", ticket=ticket.pk, text="Let me")
    frame = await sam.wait_for('id="toast"')
    assert "Maya Lopez is handling this ticket" in frame and 'data-source="reply"' in frame
    assert not any("toast" in f for f in await maya.drain())
    assert not await Message.objects.filter(kind="agent").aexists()
    await maya.close()
    await sam.close()


async def test_a_frame_that_is_not_json_gets_an_error(agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await tab.socket.send_to(text_data="claim it!")
    assert "not understood" in await tab.wait_for('id="toast"')
    await tab.send(action="explode", ticket=ticket.pk)
    assert "Unknown action" in await tab.wait_for("Unknown action")
    await tab.close()


async def test_a_frame_nested_past_the_parsers_depth_gets_an_error_and_the_tab_stays(
    agent, connected_bot
):
    """100,000 nested arrays (JSON's parser gives up with RecursionError, not
    ValueError): the tab is told, its socket stays open and goes on working."""
    ticket = await ticket_for(connected_bot)
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await tab.socket.send_to(text_data="[" * 100_000 + "]" * 100_000)
    assert "not understood" in await tab.wait_for('id="toast"')
    await tab.send(action="claim", ticket=ticket.pk)
    await tab.wait_for("Maya Lopez")
    await tab.close()


async def test_concurrent_claims_leave_one_assignee(agent, other_agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    await asyncio.gather(
        maya.send(action="claim", ticket=ticket.pk), sam.send(action="claim", ticket=ticket.pk)
    )
    await asyncio.sleep(0.5)
    maya_frames, sam_frames = await maya.drain(), await sam.drain()
    await ticket.arefresh_from_db()
    assert ticket.status == "assigned"
    winner, loser_frames = (
        ("Maya Lopez", sam_frames)
        if ticket.assignee_id == agent.pk
        else ("Sam Okafor", maya_frames)
    )
    refusals = [f for f in maya_frames + sam_frames if 'id="toast"' in f]
    assert len(refusals) == 1 and refusals[0] in loser_frames
    assert f"{winner} already claimed this ticket." in refusals[0]
    assert await Message.objects.filter(kind="system", text__contains="claimed").acount() == 1
    await maya.close()
    await sam.close()


async def test_reconnect_replays_exactly_the_missed_messages(agent, connected_bot):
    ticket = await ticket_for(
        connected_bot,
        message_history=[
            services.HistoryItem(role="user", text="one"),
            services.HistoryItem(role="bot", text="two"),
        ],
    )
    seen = (
        await Message.objects.filter(ticket=ticket)
        .order_by("-id")
        .values_list("id", flat=True)
        .afirst()
    )
    missed = [
        (await post_user_message(bot=connected_bot, conversation_id="conv-1", text=t))[0].pk
        for t in ("three", "four")
    ]
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}&after={seen}", agent)
    # The replay, however long a loaded machine takes to send it; then nothing more.
    await tab.wait_for("four")
    await tab.find('id="ticket-details"')
    await tab.drain()
    frames = tab.frames
    assert message_ids(frames) == missed
    assert "three" in frames[0] and "four" in frames[1]
    assert any('id="ticket-details"' in f for f in frames)  # state refreshed after the gap
    # Live traffic follows, each line once.
    await post_user_message(bot=connected_bot, conversation_id="conv-1", text="five")
    await tab.wait_for("five")
    assert message_ids(await tab.drain()) == []
    await tab.close()


async def test_a_first_connect_after_the_page_replays_nothing(agent, connected_bot):
    ticket = await ticket_for(
        connected_bot,
        message_history=[
            services.HistoryItem(role="user", text="one"),
        ],
    )
    last = (
        await Message.objects.filter(ticket=ticket)
        .order_by("-id")
        .values_list("id", flat=True)
        .afirst()
    )
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}&after={last}", agent)
    assert message_ids(await tab.drain()) == []
    await tab.close()


async def test_closing_locks_the_composer_in_every_tab(agent, other_agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    await claim(ticket_id=ticket.pk, agent=agent)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    await maya.send(action="close", ticket=ticket.pk)
    frame = await sam.wait_for('id="composer"')
    assert "composer locked" in frame and "This ticket is closed" in frame
    assert "<textarea" not in frame
    await maya.send(action="reply", ticket=ticket.pk, text="too late")
    assert "closed" in await maya.wait_for('id="toast"')
    await maya.close()
    await sam.close()


async def test_typing_shows_to_the_other_agents_only(agent, other_agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    await maya.drain()
    await maya.send(action="typing")
    assert "Maya Lopez is typing…" in await sam.wait_for("typing…")
    assert not any("typing…" in f for f in await maya.drain())
    await maya.close()
    await sam.close()


async def test_each_tab_shows_who_is_viewing_the_ticket(agent, other_agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    assert "Maya Lopez" in await maya.wait_for(f'id="viewer-{agent.pk}"')
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    assert "Sam Okafor" in await maya.wait_for(f'id="viewer-{other_agent.pk}"')
    # The newcomer hears of everyone already there.
    await sam.wait_for(f'id="viewer-{agent.pk}"')
    await sam.close()
    gone = await maya.wait_for(f'<li id="viewer-{other_agent.pk}" class="gone">')
    assert "Sam" not in gone
    await maya.close()


async def test_a_tab_open_past_the_layers_group_expiry_keeps_hearing(agent, connected_bot):
    """Channel layers drop group members after group_expiry; an open tab re-joins."""
    from channels.layers import get_channel_layer

    layer = get_channel_layer()
    layer.group_expiry = 1
    try:
        tab = await opened("/ws/desk/?inbox=1", agent)
        await asyncio.sleep(2.5)  # past the expiry, and past the layer's expiry sweep
        await ticket_for(connected_bot, conversation_id="late", title="Still listening?")
        assert "Still listening?" in await tab.wait_for("Still listening?")
        await tab.close()
    finally:
        layer.group_expiry = 86400


async def test_a_socket_whose_agent_logged_out_elsewhere_can_act_no_more(agent, connected_bot):
    ticket = await ticket_for(connected_bot)
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await tab.drain()
    from django.contrib.sessions.models import Session

    await Session.objects.all().adelete()  # the agent logged out in another tab
    await tab.send(action="claim", ticket=ticket.pk)
    output = await tab.socket.receive_output(timeout=3)
    assert output["type"] == "websocket.close" and output.get("code") == 4401
    await ticket.arefresh_from_db()
    assert ticket.status == "pending"
    await tab.close()
