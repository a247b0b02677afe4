"""Desk as several processes on PostgreSQL and Redis: what one process accepts, all serve.

Servers A and B and two delivery workers share one database and one Redis (see conftest).
"""

from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing

import pytest
from processes import log_in, wait_for

pytestmark = pytest.mark.slow


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:10]}"


def test_an_escalation_on_a_reaches_an_agent_websocket_on_b(cluster):
    title = f"Escalated on A, seen on B {uuid.uuid4().hex[:6]}"
    with cluster.agent_socket(cluster.b, "inbox=1") as inbox_on_b:
        status, _ = cluster.bot.start_hitl(
            base_url=cluster.a.url, conversationId=conversation(), title=title
        )
        assert status == 201
        row = inbox_on_b.wait_for(f'<span class="title">{title}</span>')  # not its alert
    assert "pending" in row


def test_an_agent_reply_on_b_reaches_the_bots_webhook_once(cluster):
    conversation_id = conversation()
    status, ticket = cluster.bot.start_hitl(
        base_url=cluster.a.url, conversationId=conversation_id, title="Reply from B"
    )
    assert status == 201
    number = ticket["number"]
    reply = f"Hello from server B {uuid.uuid4().hex[:6]}"
    with cluster.agent_socket(cluster.b, f"ticket={number}&after=0") as ticket_on_b:
        ticket_on_b.send({"action": "reply", "ticket": number, "text": reply})
        ticket_on_b.wait_for(reply)  # stored, and pushed back to the tab

    def delivered():
        events = cluster.webhook.events(conversation_id)
        return [e for e in events if e.get("type") == "agentMessage"] or None

    wait_for(delivered, timeout=20, what="the agentMessage webhook")
    time.sleep(1.5)  # room for a duplicate to show up, if the workers sent one
    events = cluster.webhook.events(conversation_id)
    messages = [e for e in events if e["type"] == "agentMessage"]
    assert [e["text"] for e in messages] == [reply]
    assert len({e["id"] for e in events}) == len(events), "an event was delivered twice"
    # Replying to a pending ticket claimed it first: the bot heard that, in order.
    assert [e["type"] for e in events] == ["hitlAssigned", "agentMessage"]
    assert events[0]["message"] == "You're now talking to Maya Lopez."


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


def test_thirty_concurrent_wrong_passwords_on_both_servers_let_at_most_five_through(cluster):
    """The login throttle counts in Redis, atomically: attempts sent at once to A and B
    for one username cannot all pass the check before any is counted."""
    import httpx

    username = f"nobody-{uuid.uuid4().hex[:6]}"  # counted like any username
    clients = [
        httpx.Client(base_url=(cluster.a if i % 2 else cluster.b).url, timeout=120)
        for i in range(30)
    ]
    for client in clients:
        client.get("/login/").raise_for_status()
    barrier = threading.Barrier(len(clients))

    def attempt(client) -> int:
        barrier.wait()
        return client.post("/login/", data={
            "username": username, "password": "wrong",
            "csrfmiddlewaretoken": client.cookies["csrftoken"],
        }).status_code

    with ThreadPoolExecutor(len(clients)) as pool:
        statuses = sorted(pool.map(attempt, clients))
    for client in clients:
        client.close()
    assert statuses == [200] * 5 + [429] * 25


def test_killing_a_server_loses_no_stored_message_and_the_other_keeps_serving(cluster):
    """The bot pours messages and escalations into A; A is SIGKILLed mid-stream. Everything
    A acknowledged is stored (an escalation whole, with its transcript; a message once),
    and B goes on serving, down to the agent's websocket that was open on it."""
    prefix = f"kill-{uuid.uuid4().hex[:6]}"
    chat = f"{prefix}-chat"
    status, ticket = cluster.bot.start_hitl(base_url=cluster.b.url, conversationId=chat)
    assert status == 201
    history = [{"role": "user", "text": f"line {n}"} for n in range(3)]
    acknowledged: dict[str, list[str]] = {"messages": [], "escalations": []}
    lock = threading.Lock()

    def send(i: int) -> None:
        try:
            if i % 2:
                kind, key = "escalations", f"{prefix}-{i}"
                status, _ = cluster.bot.start_hitl(
                    base_url=cluster.a.url, conversationId=key, title=f"Before the crash {i}",
                    messageHistory=history,
                )
                ok = status == 201
            else:
                kind, key = "messages", f"{prefix}-m{i}"
                status, _ = cluster.bot.call(
                    "POST", f"/conversations/{chat}/messages",
                    {"text": f"message {i}", "messageId": key}, base_url=cluster.a.url,
                )
                ok = status == 202
        except OSError:  # the connection died with the process
            return
        if ok:
            with lock:
                acknowledged[kind].append(key)

    with cluster.agent_socket(cluster.b, f"ticket={ticket['number']}&after=0") as agent_on_b:
        try:
            with ThreadPoolExecutor(6) as pool:
                futures = [pool.submit(send, i) for i in range(160)]
                deadline = time.monotonic() + 30
                while min(map(len, acknowledged.values())) < 5 and time.monotonic() < deadline:
                    time.sleep(0.02)
                cluster.a.kill()
                for future in futures:
                    future.result()
            assert min(map(len, acknowledged.values())) >= 5, acknowledged

            stored_messages = {row[0] for row in cluster.sql(
                "SELECT external_id FROM desk_message WHERE ticket_id = "
                "(SELECT id FROM desk_ticket WHERE conversation_id = %s)", chat,
            )}
            lost = [key for key in acknowledged["messages"] if key not in stored_messages]
            assert not lost, f"messages acknowledged by A but not stored: {lost}"
            stored_tickets = dict(cluster.sql(
                "SELECT t.conversation_id, count(m.id) FROM desk_ticket t "
                "LEFT JOIN desk_message m ON m.ticket_id = t.id "
                "WHERE t.conversation_id LIKE %s AND t.conversation_id != %s "
                "GROUP BY t.conversation_id",
                f"{prefix}-%", chat,
            ))
            lost = [key for key in acknowledged["escalations"] if key not in stored_tickets]
            assert not lost, f"escalations acknowledged by A but not stored: {lost}"
            # A ticket is stored with its whole transcript or not at all.
            assert all(n == len(history) for n in stored_tickets.values()), stored_tickets

            # B never noticed: the agent's socket on it still hears the bot, through B.
            status, _ = cluster.bot.call(
                "POST", f"/conversations/{chat}/messages", {"text": "after the crash"},
                base_url=cluster.b.url,
            )
            assert status == 202
            agent_on_b.wait_for("after the crash")
            status, _ = cluster.bot.start_hitl(
                base_url=cluster.b.url, conversationId=f"{prefix}-after", title="After the crash"
            )
            assert status == 201
        finally:
            cluster.ensure_running()
    # A, restarted, serves the same data.
    status, body = cluster.bot.start_hitl(
        base_url=cluster.a.url, conversationId=acknowledged["escalations"][0]
    )
    assert status == 200, body
