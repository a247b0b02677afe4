"""The bot relays the end user's messages into the open ticket."""

from urllib.parse import quote

import pytest

from desk import services
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


# --- conversation ids in the path --------------------------------------------------------


@pytest.mark.parametrize(
    "conversation_id",
    ["team/42", "a/../b", "/", "a//b", "x?y#z&%2F", "line\nbreak", "ünï/cödé", "..a", ".b"],
)
def test_any_conversation_id_is_reached_percent_encoded(bot_api, connected_bot, conversation_id):
    started = bot_api.post(
        "/api/v1/bots/support-bot/startHitl", {"conversationId": conversation_id}
    )
    assert started.status_code == 201
    # The test client, like daphne, decodes %2F before routing.
    r = bot_api.post(URL.format(quote(conversation_id, safe="")), {"text": "hi"})
    assert r.status_code == 202, r.content
    assert r.json()["conversationId"] == conversation_id
    assert Ticket.objects.get(conversation_id=conversation_id).messages.get().text == "hi"


@pytest.mark.parametrize("conversation_id", [".", ".."])
def test_a_conversation_id_no_url_can_carry_is_refused_by_start_hitl(
    bot_api, connected_bot, conversation_id
):
    r = bot_api.post("/api/v1/bots/support-bot/startHitl", {"conversationId": conversation_id})
    assert r.status_code == 422
    assert r.json()["fields"] == {
        "conversationId": 'must not be "." or "..", which no URL can carry as a path '
        "segment; any other characters are allowed"
    }
    assert not Ticket.objects.exists()


def test_an_open_ticket_from_before_with_such_an_id_can_still_be_stopped(bot_api, connected_bot):
    services.start_hitl(bot=connected_bot, conversation_id="..")
    r = bot_api.post("/api/v1/bots/support-bot/stopHitl", {"conversationId": ".."})
    assert r.status_code == 200
    assert r.json()["status"] == "closed"
