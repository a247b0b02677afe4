"""The inbox: every open ticket for a logged-in agent, in the order agents work them."""

from datetime import timedelta

from django.utils import timezone

from desk import services
from desk.models import Ticket


def make(bot, conversation_id, priority="medium", minutes_ago=0):
    ticket, _ = services.start_hitl(bot=bot, conversation_id=conversation_id, priority=priority,
                                    title=f"about {conversation_id}")
    Ticket.objects.filter(pk=ticket.pk).update(
        created_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return ticket


def test_it_needs_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response.url.startswith("/login/")


def test_the_login_page_is_desks_own(client, agent):
    page = client.get("/login/").content.decode()
    assert "Desk" in page and 'name="password"' in page
    response = client.post("/login/", {"username": "maya", "password": "pw-maya-123"})
    assert response.status_code == 302 and response.url == "/"
    assert client.get("/").status_code == 200


def test_a_wrong_password_is_refused(client, agent):
    response = client.post("/login/", {"username": "maya", "password": "nope"})
    assert response.status_code == 200
    assert "didn't match" in response.content.decode()


def test_open_tickets_are_ordered_pending_first_then_priority_then_age(agent_client, connected_bot, agent):
    old_low = make(connected_bot, "old-low", "low", minutes_ago=30)
    new_urgent = make(connected_bot, "new-urgent", "urgent", minutes_ago=1)
    old_urgent = make(connected_bot, "old-urgent", "urgent", minutes_ago=20)
    claimed = make(connected_bot, "claimed", "urgent", minutes_ago=40)
    closed = make(connected_bot, "closed", "urgent", minutes_ago=50)
    services.ticket_claim(ticket_id=claimed.pk, agent=agent)
    services.ticket_close(ticket_id=closed.pk, agent=agent)
    response = agent_client.get("/")
    order = [t.conversation_id for t in response.context["tickets"]]
    assert order == ["old-urgent", "new-urgent", "old-low", "claimed"]
    closed_view = agent_client.get("/?status=closed")
    assert [t.conversation_id for t in closed_view.context["tickets"]] == ["closed"]
    html = response.content.decode()
    assert html.index("about old-urgent") < html.index("about old-low")
    assert f"#{old_low.number}" in html and f"#{new_urgent.number}" in html and old_urgent


def test_rows_show_what_an_agent_needs(agent_client, connected_bot):
    services.start_hitl(bot=connected_bot, conversation_id="c", title="Refund", priority="high",
                        user_name="Jordan Lee", user_email="jordan@example.com")
    html = agent_client.get("/").content.decode()
    for text in ("Refund", "high", "pending", "Jordan Lee", "jordan@example.com", "Support Bot"):
        assert text in html


def test_it_is_paginated(agent_client, connected_bot):
    for i in range(30):
        services.start_hitl(bot=connected_bot, conversation_id=f"c{i}")
    first = agent_client.get("/")
    assert len(first.context["tickets"]) == 25
    second = agent_client.get("/?page=2")
    assert len(second.context["tickets"]) == 5
    assert agent_client.get("/?page=99").status_code == 200


def test_titles_are_escaped(agent_client, connected_bot):
    services.start_hitl(bot=connected_bot, conversation_id="x", title="<script>alert(1)</script>")
    html = agent_client.get("/").content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
