"""The bot takes the conversation back with stopHitl."""

import pytest

from desk.models import Ticket

# The events endpoint reads on its own connection: it sees committed rows only.
pytestmark = pytest.mark.django_db(transaction=True)

START = "/api/v1/bots/support-bot/startHitl"
STOP = "/api/v1/bots/support-bot/stopHitl"


def _start(bot_api, conversation_id="conv-1"):
    assert bot_api.post(START, {"conversationId": conversation_id}).status_code == 201
    return Ticket.objects.get(conversation_id=conversation_id)


def _events(bot_api):
    return bot_api.get("/api/v1/bots/support-bot/events").json()["events"]


def test_it_closes_the_ticket_because_the_customer_left(bot_api, connected_bot):
    ticket = _start(bot_api)
    r = bot_api.post(STOP, {"conversationId": "conv-1"})
    assert r.status_code == 200
    assert r.json()["status"] == "closed"
    assert r.json()["ticketId"] == str(ticket.public_id)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.close_reason) == ("closed", "cancel")
    assert ticket.messages.last().text == "Closed: the customer left the conversation."


def test_it_emits_hitl_stopped_with_reason_bot_stopped(bot_api, connected_bot):
    _start(bot_api)
    bot_api.post(STOP, {"conversationId": "conv-1", "reason": "timeout"})
    [event] = _events(bot_api)
    assert event["type"] == "hitlStopped"
    assert event["reason"] == "botStopped"
    assert event["conversationId"] == "conv-1"


def test_an_unknown_conversation_is_404_and_nothing_changes(bot_api, connected_bot):
    _start(bot_api)
    r = bot_api.post(STOP, {"conversationId": "other"})
    assert r.status_code == 404
    assert r.json() == {"error": "not_found", "message": "No ticket for this conversation."}
    assert Ticket.objects.get().status == "pending"
    assert _events(bot_api) == []


def test_a_closed_conversation_is_409(bot_api, connected_bot):
    _start(bot_api)
    bot_api.post(STOP, {"conversationId": "conv-1"})
    r = bot_api.post(STOP, {"conversationId": "conv-1"})
    assert r.status_code == 409
    assert r.json()["error"] == "ticket_closed"
    assert len(_events(bot_api)) == 1


def test_a_bad_reason_is_422(bot_api, connected_bot):
    _start(bot_api)
    r = bot_api.post(STOP, {"conversationId": "conv-1", "reason": "bored"})
    assert r.status_code == 422
    assert "reason" in r.json()["fields"]
    assert Ticket.objects.get().status == "pending"


def test_a_missing_conversation_id_is_422(bot_api, connected_bot):
    r = bot_api.post(STOP, {})
    assert r.status_code == 422
    assert "conversationId" in r.json()["fields"]


def test_a_new_handoff_can_start_after_the_stop(bot_api, connected_bot):
    first = _start(bot_api)
    bot_api.post(STOP, {"conversationId": "conv-1"})
    r = bot_api.post(START, {"conversationId": "conv-1"})
    assert r.status_code == 201
    assert r.json()["ticketId"] != str(first.public_id)
