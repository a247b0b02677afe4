"""The ticket view: the transcript, the details, and every action as a plain form post."""

import pytest
from django.test import Client

from desk import services
from desk.models import Message, Ticket


@pytest.fixture
def ticket(connected_bot):
    ticket, _ = services.start_hitl(
        bot=connected_bot,
        conversation_id="conv-1",
        title="Refund please",
        priority="high",
        user_name="Jordan Lee",
        user_email="jordan@example.com",
        message_history=[
            services.HistoryItem(role="user", text="I was charged twice"),
            services.HistoryItem(role="bot", text="Let me find a person"),
        ],
    )
    return ticket


def act(client, ticket, **data):
    return client.post(f"/tickets/{ticket.pk}/actions/", {"ticket": ticket.pk, **data})


def test_it_needs_login(client, ticket):
    response = client.get(f"/tickets/{ticket.pk}/")
    assert response.status_code == 302 and response.url.startswith("/login/")


def test_an_unknown_ticket_is_404(agent_client, db):
    assert agent_client.get("/tickets/999/").status_code == 404
    assert agent_client.post("/tickets/999/actions/", {"action": "claim"}).status_code == 404


def test_it_shows_the_transcript_and_the_details(agent_client, ticket, agent):
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    services.ticket_reply(ticket_id=ticket.pk, agent=agent, text="Refunding now")
    services.ticket_add_note(ticket_id=ticket.pk, agent=agent, text="Checked the payment log")
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    for kind, text in [
        ("msg-user", "I was charged twice"),
        ("msg-bot", "Let me find a person"),
        ("msg-system", "Maya Lopez claimed the ticket."),
        ("msg-agent", "Refunding now"),
        ("msg-note", "Checked the payment log"),
    ]:
        start = html.index(f"msg {kind}")
        assert text in html[start : start + 1200], kind
    assert "internal note · not sent" in html
    for detail in ("Jordan Lee", "jordan@example.com", "Support Bot", "conv-1", "high", "assigned"):
        assert detail in html
    assert html.index("I was charged twice") < html.index("Refunding now")


def test_the_page_opens_its_socket_and_remembers_the_last_message(agent_client, ticket):
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    last = Message.objects.filter(ticket=ticket).latest("id")
    assert f'ws-connect="/ws/desk/?ticket={ticket.pk}"' in html
    assert f'data-message-id="{last.pk}"' in html


def test_user_text_is_escaped(agent_client, connected_bot):
    ticket, _ = services.start_hitl(
        bot=connected_bot,
        conversation_id="x",
        title="<b>bold</b>",
        user_name="<img src=x onerror=alert(1)>",
        message_history=[services.HistoryItem(role="user", text="<script>alert(1)</script>")],
    )
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert (
        "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    )
    assert "<img src=x" not in html and "<b>bold</b>" not in html


def test_a_closed_ticket_locks_the_composer(agent_client, ticket, agent):
    assert "<textarea" in agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    services.ticket_close(ticket_id=ticket.pk, agent=agent)
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "<textarea" not in html and "This ticket is closed" in html
    assert "Close ticket" not in html and "Assign to me" not in html


# --- actions as plain posts -----------------------------------------------------------------


def test_actions_need_csrf(agent):
    client = Client(enforce_csrf_checks=True)
    client.force_login(agent)
    ticket_id = 1
    assert client.post(f"/tickets/{ticket_id}/actions/", {"action": "claim"}).status_code == 403


def test_actions_need_post(agent_client, ticket):
    assert agent_client.get(f"/tickets/{ticket.pk}/actions/").status_code == 405


def test_claim_by_post(agent_client, ticket, agent):
    response = act(agent_client, ticket, action="claim")
    assert response.status_code == 302 and response.url == f"/tickets/{ticket.pk}/"
    ticket.refresh_from_db()
    assert ticket.assignee == agent and ticket.status == "assigned"
    assert "You claimed the ticket." in agent_client.get(response.url).content.decode()


def test_a_second_claim_says_who_won(agent_client, ticket, other_agent):
    services.ticket_claim(ticket_id=ticket.pk, agent=other_agent)
    response = act(agent_client, ticket, action="claim")
    page = agent_client.get(response.url).content.decode()
    assert "Sam Okafor already claimed this ticket." in page
    ticket.refresh_from_db()
    assert ticket.assignee == other_agent


def test_a_claim_from_the_inbox_goes_back_to_the_ticket(agent_client, ticket):
    response = act(agent_client, ticket, action="claim", next=f"/tickets/{ticket.pk}/")
    assert response.url == f"/tickets/{ticket.pk}/"
    response = act(
        agent_client, ticket, action="priority", priority="low", next="https://evil.example/"
    )
    assert response.url == f"/tickets/{ticket.pk}/"


def test_assign_by_post(agent_client, ticket, other_agent):
    act(agent_client, ticket, action="assign", assignee=other_agent.pk)
    ticket.refresh_from_db()
    assert ticket.assignee == other_agent
    assert Message.objects.filter(
        ticket=ticket, text="Maya Lopez assigned the ticket to Sam Okafor."
    ).exists()


def test_assign_to_nobody_is_refused(agent_client, ticket):
    response = act(agent_client, ticket, action="assign", assignee="")
    assert "Choose an agent" in agent_client.get(response.url).content.decode()


def test_priority_by_post(agent_client, ticket):
    act(agent_client, ticket, action="priority", priority="urgent")
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.priority_rank) == ("urgent", 4)
    response = act(agent_client, ticket, action="priority", priority="extreme")
    assert "Choose low, medium, high or urgent." in agent_client.get(response.url).content.decode()


def test_reply_by_post_claims_a_pending_ticket(agent_client, ticket, agent):
    act(agent_client, ticket, action="reply", text="Hello Jordan")
    ticket.refresh_from_db()
    assert ticket.assignee == agent
    assert Message.objects.get(ticket=ticket, kind="agent").text == "Hello Jordan"


def test_only_the_assignee_replies_but_anyone_adds_notes(agent_client, ticket, other_agent):
    services.ticket_claim(ticket_id=ticket.pk, agent=other_agent)
    response = act(agent_client, ticket, action="reply", text="Me too")
    assert "Sam Okafor is handling this ticket" in agent_client.get(response.url).content.decode()
    act(agent_client, ticket, action="note", text="FYI")
    assert not Message.objects.filter(kind="agent").exists()
    assert Message.objects.get(kind="note").text == "FYI"


def test_an_empty_message_is_refused(agent_client, ticket):
    response = act(agent_client, ticket, action="note", text="   ")
    assert "The message is empty." in agent_client.get(response.url).content.decode()


def test_close_by_post(agent_client, ticket):
    act(agent_client, ticket, action="close")
    ticket.refresh_from_db()
    assert ticket.status == "closed"
    response = act(agent_client, ticket, action="reply", text="hello?")
    assert "This ticket is closed." in agent_client.get(response.url).content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "closed"
