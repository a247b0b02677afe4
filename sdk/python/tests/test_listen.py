"""`listen()`: events forever from the long-poll, the cursor kept, Desk's restarts survived."""

from __future__ import annotations

import threading

import pytest
from conftest import wait_for

from desk_sdk import Desk, FileCursorStore, HitlAssigned, HitlStopped, MemoryCursorStore

pytestmark = pytest.mark.slow


class Crash(Exception):
    pass


def test_a_restarted_bot_resumes_after_the_last_event_it_handled(desk_server, tmp_path):
    desk = desk_server.connected_bot()
    desk.start_hitl("conv-l")
    desk_server.agent.claim(desk.bot_id, "conv-l")
    desk_server.agent.reply(desk.bot_id, "conv-l", "first")
    desk_server.agent.reply(desk.bot_id, "conv-l", "second")
    store = FileCursorStore(tmp_path / "bot.cursor")
    assert store.load() == 0

    handled = []
    with pytest.raises(Crash):  # the bot dies while handling "second"
        for event in desk.listen(cursor_store=store, wait=5):
            if getattr(event, "text", "") == "second":
                raise Crash
            handled.append(event)
    assert isinstance(handled[0], HitlAssigned) and handled[1].text == "first"
    assert store.load() == handled[1].cursor  # saved once "first" was handled

    restarted = Desk(desk_server.url, desk_server.api_key, desk.bot_id)
    events = restarted.listen(cursor_store=FileCursorStore(tmp_path / "bot.cursor"), wait=5)
    again = next(events)
    assert again.text == "second"  # not lost, and "first" does not come back
    desk_server.agent.close(desk.bot_id, "conv-l")
    stopped = next(events)
    assert isinstance(stopped, HitlStopped) and stopped.cursor > again.cursor
    # "second" is saved as handled once the loop asked for more; the event in hand is not yet.
    assert (tmp_path / "bot.cursor").read_text().strip() == str(again.cursor)


def test_listen_waits_out_a_desk_restart_and_goes_on(own_desk):
    desk = own_desk.connected_bot()
    desk.start_hitl("conv-down")
    received = []

    def bot() -> None:
        for event in Desk(own_desk.url, own_desk.api_key, desk.bot_id).listen(
            cursor_store=MemoryCursorStore(), wait=2, max_pause=1.0
        ):
            received.append(event)
            if isinstance(event, HitlAssigned):
                return

    listener = threading.Thread(target=bot, daemon=True)
    listener.start()
    own_desk.server.stop()
    own_desk.agent.claim(desk.bot_id, "conv-down")  # recorded while Desk's server is down
    listener.join(timeout=3)
    assert listener.is_alive() and received == []  # still polling, nothing raised
    own_desk.server.start()
    wait_for(lambda: received, timeout=20, what="the event after the restart")
    listener.join(timeout=5)
    assert [type(e) for e in received] == [HitlAssigned]
