"""Live fragments in each tab's language when the change happens on another server.

Server A renders what a change pushes, once per locale among the open tabs of every
server (recorded on the agents' presence rows); a German tab on B picks the German
rendering, or renders its own if A had not heard of its locale yet. Servers A and B
and two delivery workers share one database and one Redis (see conftest).
"""

from __future__ import annotations

import time
import uuid
from contextlib import closing

import pytest
from processes import AgentSocket, create_agents, log_in

pytestmark = pytest.mark.slow

# Longer than `desk.realtime.LISTENER_LOCALES_SECONDS`: by then A has read B's locales.
LOCALES_READ_AGAIN = 2.5


def conversation() -> str:
    return f"conv-{uuid.uuid4().hex[:10]}"


@pytest.fixture(scope="module")
def german_session(cluster) -> str:
    """A German agent in Berlin (chosen on her profile), signed in."""
    username, password = f"lena-{uuid.uuid4().hex[:6]}", "lena-pw-3k8z!"
    create_agents(cluster.env, {username: (password, "Lena", "Vogel", False)})
    with closing(log_in(cluster.a.url, username, password)) as browser:
        response = browser.post(
            "/me/profile/",
            data={
                "action": "locale",
                "language": "de",
                "time_zone": "Europe/Berlin",
                "csrfmiddlewaretoken": browser.cookies["csrftoken"],
            },
        )
        assert response.status_code == 302
        return browser.cookies["sessionid"]


def test_a_german_inbox_on_b_hears_an_escalation_on_a_in_german(cluster, german_session):
    with (
        AgentSocket(cluster.b, german_session, "inbox=1") as german_on_b,
        cluster.agent_socket(cluster.a, "inbox=1") as english_on_a,
    ):
        # At once (A may not know the German tab yet), and once A has read the locales.
        for wait in (0, LOCALES_READ_AGAIN):
            time.sleep(wait)
            title = f"Escalated on A {uuid.uuid4().hex[:6]}"
            status, _ = cluster.bot.start_hitl(
                base_url=cluster.a.url, conversationId=conversation(), title=title
            )
            assert status == 201
            german_row = german_on_b.wait_for(f'<span class="title">{title}<')
            english_row = english_on_a.wait_for(f'<span class="title">{title}<')
            assert "Übernehmen" in german_row and "Claim" not in german_row
            assert ">Claim<" in english_row and "Übernehmen" not in english_row
            german_alert = german_on_b.wait_for(f"Neue Eskalation #{_number(german_row)}")
            assert "New escalation" not in german_alert


def test_a_german_ticket_tab_on_b_hears_an_english_agent_on_a_in_german(
    cluster, german_session
):
    status, ticket = cluster.bot.start_hitl(
        base_url=cluster.a.url, conversationId=conversation(), title="Both languages"
    )
    assert status == 201
    number = ticket["number"]
    query = f"ticket={number}&after=0"
    with (
        AgentSocket(cluster.b, german_session, query) as german_on_b,
        cluster.agent_socket(cluster.a, query) as english_on_a,
    ):
        time.sleep(LOCALES_READ_AGAIN)
        english_on_a.send({"action": "claim", "ticket": number})  # Maya, English, on A
        german_side = german_on_b.wait_for('id="ticket-details"')
        assert "Zugewiesen" in german_side and "Maya Lopez" in german_side
        assert "Zugewiesen" not in english_on_a.wait_for('id="ticket-details"')

        text = f"On it {uuid.uuid4().hex[:6]}"
        english_on_a.send({"action": "reply", "ticket": number, "text": text})
        assert 'class="tag">Agent<' in german_on_b.wait_for(text)
        assert 'class="tag">agent<' in english_on_a.wait_for(text)


def _number(row: str) -> str:
    return row.split('<span class="num">#', 1)[1].split("<", 1)[0]
