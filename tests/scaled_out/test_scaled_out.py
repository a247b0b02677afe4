"""Desk as several processes on PostgreSQL and Redis: what one process accepts, all serve.

Servers A and B and a delivery worker share one database and one Redis (see conftest).
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
from processes import log_in

pytestmark = pytest.mark.slow


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:10]}"


def test_concurrent_start_hitl_across_both_processes_makes_one_ticket(cluster):
    conversation_id = conversation()
    barrier = threading.Barrier(12)

    def escalate(i: int):
        server = cluster.a if i % 2 else cluster.b
        barrier.wait()
        return cluster.bot.start_hitl(
            base_url=server.url, conversationId=conversation_id, title="Racing escalation",
            messageHistory=[{"role": "user", "text": f"I need a person ({i})"}],
        )

    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(escalate, range(12)))

    statuses = sorted(status for status, _ in answers)
    assert statuses == [200] * 11 + [201], answers
    assert len({body["ticketId"] for _, body in answers}) == 1
    rows = cluster.sql(
        "SELECT count(*) FROM desk_ticket WHERE conversation_id = %s", conversation_id
    )
    assert rows == [(1,)]


def test_a_ticket_escalated_on_a_shows_in_the_inbox_on_b(cluster):
    title = f"Escalated on A {uuid.uuid4().hex[:6]}"
    status, _ = cluster.bot.start_hitl(
        base_url=cluster.a.url, conversationId=conversation(), title=title, priority="urgent"
    )
    assert status == 201
    username, password, *_ = cluster.agent
    with closing(log_in(cluster.b.url, username, password)) as agent_on_b:
        page = agent_on_b.get("/")
    assert page.status_code == 200
    assert title in page.text


def test_killing_a_server_loses_no_stored_message_and_the_other_keeps_serving(cluster):
    """Escalations pour into A; A is SIGKILLed mid-stream. Every one A acknowledged is
    stored whole (ticket and transcript), none is half-stored, and B goes on serving."""
    prefix = f"kill-{uuid.uuid4().hex[:6]}"
    history = [{"role": "user", "text": f"line {n}"} for n in range(3)]
    acknowledged: list[str] = []
    lock = threading.Lock()

    def escalate(i: int) -> None:
        conversation_id = f"{prefix}-{i}"
        try:
            status, _ = cluster.bot.start_hitl(
                base_url=cluster.a.url, conversationId=conversation_id,
                title=f"Before the crash {i}", messageHistory=history,
            )
        except OSError:  # the connection died with the process
            return
        if status == 201:
            with lock:
                acknowledged.append(conversation_id)

    try:
        with ThreadPoolExecutor(6) as pool:
            futures = [pool.submit(escalate, i) for i in range(120)]
            deadline = time.monotonic() + 30
            while len(acknowledged) < 10 and time.monotonic() < deadline:
                time.sleep(0.02)
            cluster.a.kill()
            for future in futures:
                future.result()
        assert len(acknowledged) >= 10

        stored = dict(cluster.sql(
            "SELECT t.conversation_id, count(m.id) FROM desk_ticket t "
            "LEFT JOIN desk_message m ON m.ticket_id = t.id "
            "WHERE t.conversation_id LIKE %s GROUP BY t.conversation_id",
            f"{prefix}-%",
        ))
        missing = [c for c in acknowledged if c not in stored]
        assert not missing, f"acknowledged by A but not stored: {missing}"
        # A ticket is stored with its whole transcript or not at all.
        assert all(count == len(history) for count in stored.values()), stored

        # B never noticed: it takes a new escalation and shows A's last ones.
        status, _ = cluster.bot.start_hitl(
            base_url=cluster.b.url, conversationId=f"{prefix}-after", title="After the crash"
        )
        assert status == 201
        username, password, *_ = cluster.agent
        with closing(log_in(cluster.b.url, username, password)) as agent_on_b:
            page = agent_on_b.get("/")
        assert page.status_code == 200 and "Before the crash" in page.text
    finally:
        cluster.ensure_running()
    # A, restarted, serves the same data.
    status, body = cluster.bot.start_hitl(
        base_url=cluster.a.url, conversationId=acknowledged[0], title="again"
    )
    assert status == 200, body
