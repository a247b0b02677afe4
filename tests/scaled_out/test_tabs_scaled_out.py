"""Agents' tabs on two servers sharing Redis, over time: idle longer than any library
timeout, signed out from the other server, closed in the middle of a broadcast.

Servers A and B and two delivery workers share one database and one Redis (see conftest).
"""

from __future__ import annotations

import time
import uuid
from contextlib import ExitStack, closing

import pytest
from processes import AgentSocket, create_agents, log_in, wait_for
from websockets.exceptions import ConnectionClosed

pytestmark = pytest.mark.slow

IDLE_SECONDS = 20  # four times channels_redis' 5 s wait on Redis, and redis-py's default timeout


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:10]}"


def test_idle_tabs_on_both_servers_stay_open_and_all_hear_the_next_escalation(cluster):
    before = cluster.group_size("inbox")
    with ExitStack() as stack:
        tabs = [
            stack.enter_context(cluster.agent_socket(server, "inbox=1"))
            for server in (cluster.a, cluster.b)
            for _ in range(3)
        ]
        wait_for(lambda: cluster.group_size("inbox") == before + len(tabs), what="all joined")
        time.sleep(IDLE_SECONDS)  # nothing at all happens meanwhile

        title = f"After a long quiet {uuid.uuid4().hex[:6]}"
        status, _ = cluster.bot.start_hitl(
            base_url=cluster.a.url, conversationId=conversation(), title=title
        )
        assert status == 201
        for tab in tabs:
            tab.wait_for(title)
        # No tab was dropped and replaced behind our back: the group holds exactly them.
        assert cluster.group_size("inbox") == before + len(tabs)
    wait_for(lambda: cluster.group_size("inbox") == before, what="closed tabs leaving")


def test_logging_out_on_a_closes_the_sessions_tabs_on_b_at_once(cluster):
    username, password, *_ = cluster.agent
    with closing(log_in(cluster.a.url, username, password)) as browser:
        session_id = browser.cookies["sessionid"]
        with AgentSocket(cluster.b, session_id, "inbox=1") as tab:
            response = browser.post(
                "/logout/", headers={"X-CSRFToken": browser.cookies["csrftoken"]}
            )
            assert response.status_code == 302
            started = time.monotonic()
            with pytest.raises(ConnectionClosed) as closed:
                tab.ws.recv(timeout=5)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
            assert time.monotonic() - started < 3

    # The tab heard nothing after the logout; the shared session of other tests still works.
    title = f"Not for a signed-out tab {uuid.uuid4().hex[:6]}"
    with cluster.agent_socket(cluster.b, "inbox=1") as still_signed_in:
        cluster.bot.start_hitl(base_url=cluster.a.url, conversationId=conversation(), title=title)
        still_signed_in.wait_for(title)


def test_tabs_closing_mid_broadcast_always_leave_and_say_so(cluster):
    """A second agent opens the ticket on B and closes the tab six times, each time in
    the middle of a burst of broadcasts (the first agent, on A, typing: every keystroke
    goes to the ticket's tabs). Each close must reach the watcher as "left", and no
    closed tab may stay in the group."""
    username = f"sam-{uuid.uuid4().hex[:6]}"
    create_agents(cluster.env, {username: ("sam-pw-9x4k!", "Sam", "Okafor", False)})
    [(sam_id,)] = cluster.sql("SELECT id FROM auth_user WHERE username = %s", username)
    with closing(log_in(cluster.a.url, username, "sam-pw-9x4k!")) as sams_browser:
        sams_session = sams_browser.cookies["sessionid"]
    status, ticket = cluster.bot.start_hitl(
        base_url=cluster.a.url, conversationId=conversation(), title="Watched closely"
    )
    assert status == 201
    group = f"ticket-{ticket['number']}"  # a ticket's number is its primary key
    query = f"ticket={ticket['number']}&after=0"
    here, gone = f'id="viewer-{sam_id}" class="viewer"', f'id="viewer-{sam_id}" class="gone"'

    with cluster.agent_socket(cluster.a, query) as watcher:
        for _ in range(6):
            watcher.frames.clear()
            tab = AgentSocket(cluster.b, sams_session, query)
            watcher.wait_for(here)
            for _ in range(200):  # a burst the tab on B is still being sent when it closes
                watcher.send({"action": "typing"})
            tab.close()
            watcher.wait_for(gone, timeout=5)
        wait_for(lambda: cluster.group_size(group) == 1, timeout=5, what="only the watcher left")
    wait_for(lambda: cluster.group_size(group) == 0, timeout=5, what="an empty group")
