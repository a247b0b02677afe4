"""Routing scaled out: presence and auto-assignment across two server processes and two
workers on PostgreSQL and Redis (see conftest). An agent's open tab on one server makes
them present for a ticket escalated on the other; escalations racing on both servers
never take an agent past capacity nor assign a ticket twice."""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
from processes import AgentSocket, create_agents, log_in, manage

pytestmark = pytest.mark.slow

SAM = ("sam", "sam-pw-5x8h!", "Sam", "Okafor")


def shell(cluster, code: str) -> None:
    manage(cluster.env, "shell", "-c", "from desk.models import *\n" + code)


@pytest.fixture(scope="module")
def sam_session(cluster) -> str:
    username, password, first, last = SAM
    create_agents(cluster.env, {username: (password, first, last, False)})
    with closing(log_in(cluster.a.url, username, password)) as client:
        return client.cookies["sessionid"]


def present_since(cluster, username: str, since) -> bool:
    """Whether the agent's presence was recorded at or after `since` (a tab arrived)."""
    rows = cluster.sql(
        "SELECT p.last_seen_at >= %s FROM desk_presence p JOIN auth_user u ON u.id = p.agent_id"
        " WHERE u.username = %s",
        since,
        username,
    )
    return bool(rows and rows[0][0])


def wait_until_present(cluster, username: str, since, timeout: float = 10) -> None:
    """A tab is accepted before its agent's arrival is written (the same as on one
    server): wait for the write, as an escalation a moment later would find it."""
    deadline = time.monotonic() + timeout
    while not present_since(cluster, username, since):
        assert time.monotonic() < deadline, f"{username}'s tab never arrived"
        time.sleep(0.05)


def test_a_tab_open_on_b_gets_the_ticket_escalated_on_a(cluster):
    shell(cluster, "RoutingSettings.objects.filter(pk=1).update(mode='least_busy')")
    title = f"Routed across servers {uuid.uuid4().hex[:6]}"
    opened_at = cluster.sql("SELECT now()")[0][0]
    with cluster.agent_socket(cluster.b, "inbox=1") as inbox_on_b:
        wait_until_present(cluster, "maya", opened_at)
        status, ticket = cluster.bot.start_hitl(
            base_url=cluster.a.url, conversationId=f"conv-{uuid.uuid4().hex[:8]}", title=title
        )
        assert status == 201
        assert ticket["status"] == "assigned"
        row = inbox_on_b.wait_for(f'<span class="title">{title}</span>')  # not its alert
    assert "status-assigned" in row and "Maya Lopez" in row


def test_escalations_racing_on_both_servers_respect_every_capacity(cluster, sam_session):
    shell(
        cluster,
        "Ticket.objects.exclude(status='closed').update(status='closed')\n"
        "AgentProfile.objects.update(capacity=3)\n"
        "RoutingSettings.objects.filter(pk=1).update(mode='round_robin')",
    )
    prefix = f"race-{uuid.uuid4().hex[:6]}"
    barrier = threading.Barrier(16)
    with (
        cluster.agent_socket(cluster.a, "inbox=1"),
        AgentSocket(cluster.b, sam_session, "inbox=1"),
    ):
        shell(cluster, "AgentProfile.objects.update(capacity=3)")  # Sam's, now it exists

        def escalate(i: int):
            barrier.wait()
            server = cluster.a if i % 2 else cluster.b
            return cluster.bot.start_hitl(base_url=server.url, conversationId=f"{prefix}-{i}")

        with ThreadPoolExecutor(16) as pool:
            answers = list(pool.map(escalate, range(16)))
    assert sorted(status for status, _ in answers) == [201] * 16
    loads = dict(
        cluster.sql(
            "SELECT u.username, count(*) FROM desk_ticket t JOIN auth_user u "
            "ON u.id = t.assignee_id WHERE t.status = 'assigned' AND t.conversation_id "
            "LIKE %s GROUP BY u.username",
            f"{prefix}-%",
        )
    )
    assert loads == {"maya": 3, "sam": 3}
    [(pending,)] = cluster.sql(
        "SELECT count(*) FROM desk_ticket WHERE status = 'pending' AND conversation_id LIKE %s",
        f"{prefix}-%",
    )
    assert pending == 10
    twice = cluster.sql(
        "SELECT ticket_id FROM bots_event WHERE type = 'hitlAssigned' "
        "GROUP BY ticket_id HAVING count(*) > 1"
    )
    assert twice == []
    shell(cluster, "RoutingSettings.objects.filter(pk=1).update(mode='manual')")
