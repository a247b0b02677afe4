"""The bot relays the end user's messages into the open ticket."""

import pytest

from desk.models import Message, Ticket

URL = "/api/v1/bots/support-bot/conversations/{}/messages"


@pytest.fixture
def open_ticket(bot_api, connected_bot):
    r = bot_api.post(
        "/api/v1/bots/support-bot/startHitl", {"conversationId": "conv-1", "userName": "Ann Lee"}
    )
    assert r.status_code == 201
    return Ticket.objects.get(conversation_id="conv-1")


def test_it_stores_the_message_and_answers_202(bot_api, open_ticket):
    r = bot_api.post(URL.format("conv-1"), {"text": "My order never came", "messageId": "m-1"})
    assert r.status_code == 202
    body = r.json()
    assert body["text"] == "My order never came"
    assert body["messageId"] == "m-1"
    assert body["ticketId"] == str(open_ticket.public_id)
    assert body["conversationId"] == "conv-1"
    assert body["userName"] == "Ann Lee"
    assert body["duplicate"] is False
    stored = Message.objects.get(pk=body["id"])
    assert (stored.ticket, stored.kind, stored.text) == (open_ticket, "user", "My order never came")


def test_the_same_message_id_twice_stores_it_once(bot_api, open_ticket):
    first = bot_api.post(URL.format("conv-1"), {"text": "hello", "messageId": "m-1"})
    again = bot_api.post(URL.format("conv-1"), {"text": "hello", "messageId": "m-1"})
    assert again.status_code == 202
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["duplicate"] is True
    assert open_ticket.messages.filter(kind="user").count() == 1


def test_messages_without_an_id_are_each_stored(bot_api, open_ticket):
    bot_api.post(URL.format("conv-1"), {"text": "one"})
    bot_api.post(URL.format("conv-1"), {"text": "one"})
    assert open_ticket.messages.filter(kind="user").count() == 2


def test_it_uses_the_given_user_name(bot_api, open_ticket):
    r = bot_api.post(URL.format("conv-1"), {"text": "hi", "userName": "Ann (mobile)"})
    assert r.json()["userName"] == "Ann (mobile)"


def test_it_answers_409_without_an_open_ticket(bot_api, connected_bot):
    r = bot_api.post(URL.format("never-escalated"), {"text": "hello?"})
    assert r.status_code == 409
    assert r.json() == {
        "error": "ticket_closed",
        "message": "There is no open ticket for this conversation. Call startHitl first.",
    }
    assert not Message.objects.exists()


def test_it_answers_409_once_the_ticket_is_closed(bot_api, open_ticket):
    bot_api.post("/api/v1/bots/support-bot/stopHitl", {"conversationId": "conv-1"})
    before = Message.objects.count()
    r = bot_api.post(URL.format("conv-1"), {"text": "still there?"})
    assert r.status_code == 409
    assert Message.objects.count() == before


@pytest.mark.parametrize(
    "body, field",
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "x" * 10_001}, "text"),
        ({"text": "ok", "messageId": ""}, "messageId"),
        ({"text": 5}, "text"),
    ],
)
def test_it_refuses_bad_input_with_422_naming_the_field(bot_api, open_ticket, body, field):
    before = Message.objects.count()
    r = bot_api.post(URL.format("conv-1"), body)
    assert r.status_code == 422
    assert r.json()["error"] == "invalid"
    assert field in r.json()["fields"]
    assert Message.objects.count() == before


def test_a_blank_text_is_refused(bot_api, open_ticket):
    r = bot_api.post(URL.format("conv-1"), {"text": "  \n "})
    assert r.status_code == 422
    assert r.json()["fields"] == {"text": "The message is empty."}


def test_it_needs_the_api_key(client, open_ticket):
    r = client.post(URL.format("conv-1"), {"text": "hi"}, content_type="application/json")
    assert r.status_code == 401


def test_an_unknown_bot_is_404(bot_api, db):
    r = bot_api.post("/api/v1/bots/nobody/conversations/c/messages", {"text": "hi"})
    assert r.status_code == 404
    assert r.json()["error"] == "not_found"


def test_it_is_in_the_openapi_document(client, db):
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    assert "post" in paths["/api/v1/bots/{botId}/conversations/{conversationId}/messages"]
    assert "post" in paths["/api/v1/bots/{botId}/stopHitl"]
    assert "get" in paths["/api/v1/bots/{botId}/events"]


def test_a_too_long_conversation_id_is_422(bot_api, open_ticket):
    r = bot_api.post(URL.format("c" * 201), {"text": "hi"})
    assert r.status_code == 422
    assert "conversationId" in r.json()["fields"]
