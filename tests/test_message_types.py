"""Messages of every Botpress type, both ways: checked, stored, rendered as text for search,
the inbox preview and text-only bots, and carried in agentMessage events."""

import pytest

from bots.events import event_as_json
from bots.models import Event
from desk import services
from desk.models import Message, Ticket

URL = "/api/v1/bots/support-bot/conversations/conv-1/messages"
START = "/api/v1/bots/support-bot/startHitl"
PICTURE = "https://cdn.example.com/photos/broken-kettle.jpg"


@pytest.fixture
def open_ticket(bot_api, connected_bot):
    r = bot_api.post(START, {"conversationId": "conv-1", "userName": "Ann Lee"})
    assert r.status_code == 201
    return Ticket.objects.get(conversation_id="conv-1")


VALID = [
    ({"type": "text", "text": "Hello"}, "text", {"text": "Hello"}, "Hello"),
    ({"type": "image", "imageUrl": PICTURE}, "image", {"imageUrl": PICTURE},
     f"[Image] {PICTURE}"),
    ({"type": "audio", "audioUrl": "https://cdn.example.com/a.mp3"}, "audio",
     {"audioUrl": "https://cdn.example.com/a.mp3"}, "[Audio] https://cdn.example.com/a.mp3"),
    ({"type": "video", "videoUrl": "http://cdn.example.com/v.mp4"}, "video",
     {"videoUrl": "http://cdn.example.com/v.mp4"}, "[Video] http://cdn.example.com/v.mp4"),
    ({"type": "file", "fileUrl": "https://cdn.example.com/inv.pdf", "title": "Invoice 42"},
     "file", {"fileUrl": "https://cdn.example.com/inv.pdf", "title": "Invoice 42"},
     "[File] Invoice 42: https://cdn.example.com/inv.pdf"),
    ({"type": "location", "latitude": 48.8584, "longitude": 2.2945, "title": "Eiffel Tower",
      "address": "Champ de Mars, Paris"}, "location",
     {"latitude": 48.8584, "longitude": 2.2945, "title": "Eiffel Tower",
      "address": "Champ de Mars, Paris"},
     "[Location] Eiffel Tower, Champ de Mars, Paris (48.8584, 2.2945) "
     "https://www.openstreetmap.org/?mlat=48.8584&mlon=2.2945#map=16/48.8584/2.2945"),
    ({"type": "markdown", "markdown": "**Order** #42 is _late_"}, "markdown",
     {"markdown": "**Order** #42 is _late_"}, "**Order** #42 is _late_"),
    ({"type": "bloc", "items": [
        {"type": "text", "payload": {"text": "Here it is:"}},
        {"type": "image", "payload": {"imageUrl": PICTURE}},
    ]}, "bloc", {"items": [
        {"type": "text", "payload": {"text": "Here it is:"}},
        {"type": "image", "payload": {"imageUrl": PICTURE}},
    ]}, f"Here it is:\n[Image] {PICTURE}"),
]


@pytest.mark.parametrize("body, kind, payload, text", VALID, ids=[v[1] for v in VALID])
def test_every_type_is_stored_with_its_payload_and_a_text_rendering(
    bot_api, open_ticket, body, kind, payload, text
):
    r = bot_api.post(URL, {**body, "messageId": "m-1"})
    assert r.status_code == 202, r.content
    answer = r.json()
    assert (answer["type"], answer["payload"], answer["text"]) == (kind, payload, text)
    stored = Message.objects.get(pk=answer["id"])
    assert (stored.type, stored.text) == (kind, text)


@pytest.mark.parametrize("body, kind, payload, text", VALID[1:], ids=[v[1] for v in VALID[1:]])
def test_botpress_shape_with_a_payload_object_is_the_same(
    bot_api, open_ticket, body, kind, payload, text
):
    fields = {k: v for k, v in body.items() if k != "type"}
    r = bot_api.post(URL, {"type": kind, "payload": fields})
    assert r.status_code == 202, r.content
    assert (r.json()["type"], r.json()["payload"], r.json()["text"]) == (kind, payload, text)


def test_a_bot_may_give_its_own_text_rendering(bot_api, open_ticket):
    r = bot_api.post(URL, {"type": "image", "imageUrl": PICTURE, "text": "Photo of the kettle"})
    assert r.json()["text"] == "Photo of the kettle"
    assert r.json()["payload"] == {"imageUrl": PICTURE}


INVALID = [
    ({"type": "sticker", "stickerId": "x"}, "type"),
    ({"type": "image"}, "imageUrl"),
    ({"type": "image", "imageUrl": "javascript:alert(1)"}, "imageUrl"),
    ({"type": "image", "imageUrl": "data:image/png;base64,AAAA"}, "imageUrl"),
    ({"type": "audio", "audioUrl": "ftp://files.example.com/a.mp3"}, "audioUrl"),
    ({"type": "video", "videoUrl": "https:///nohost"}, "videoUrl"),
    ({"type": "file", "fileUrl": "https://example.com/a b.pdf"}, "fileUrl"),
    ({"type": "file", "fileUrl": 42}, "fileUrl"),
    ({"type": "location", "latitude": 91, "longitude": 0}, "latitude"),
    ({"type": "location", "latitude": 10}, "longitude"),
    ({"type": "location", "latitude": True, "longitude": 0}, "latitude"),
    ({"type": "markdown"}, "markdown"),
    ({"type": "markdown", "markdown": "\u200b"}, "markdown"),
    ({"type": "text"}, "text"),
    ({"type": "bloc", "items": []}, "items"),
    ({"type": "bloc", "items": [{"type": "card", "payload": {"title": "x"}}]}, "items.0.type"),
    ({"type": "bloc", "items": [{"type": "text", "payload": {"text": "ok"}},
                                {"type": "image", "payload": {"imageUrl": "file:///etc"}}]},
     "items.1.payload.imageUrl"),
    ({"type": "card", "title": "Cards are for the history"}, "type"),
    ({"type": "image", "payload": {"imageUrl": "nope"}}, "payload.imageUrl"),
    ({"type": "image", "payload": "https://x.example/a.png"}, "payload"),
]


@pytest.mark.parametrize("body, field", INVALID, ids=[i[1] for i in INVALID])
def test_a_bad_message_is_422_naming_the_field_and_stores_nothing(
    bot_api, open_ticket, body, field
):
    before = Message.objects.count()
    r = bot_api.post(URL, body)
    assert r.status_code == 422, r.content
    assert r.json()["error"] == "invalid"
    assert field in r.json()["fields"], r.json()
    assert Message.objects.count() == before


# --- messageHistory in both shapes ---------------------------------------------------------

BOTPRESS_HISTORY = [
    {"source": {"type": "user", "userId": "u-1"}, "type": "text",
     "payload": {"text": "My kettle broke"}},
    {"source": {"type": "bot"}, "type": "card", "payload": {
        "title": "Acme Kettle 2000", "subtitle": "Still under warranty",
        "imageUrl": "https://cdn.example.com/kettle.png",
        "actions": [{"action": "postback", "label": "Repair", "value": "repair"},
                    {"action": "url", "label": "Manual", "value": "https://acme.example/m"}]}},
    {"source": {"type": "bot"}, "type": "choice", "payload": {
        "text": "What would you like?", "options": [
            {"label": "A refund", "value": "refund"}, {"label": "A new one", "value": "swap"}]}},
    {"source": {"type": "bot"}, "type": "dropdown", "payload": {
        "text": "Pick a store", "options": [{"label": "Paris", "value": "par"}]}},
    {"source": {"type": "bot"}, "type": "carousel", "payload": {"items": [
        {"title": "Kettle 3000", "actions": []},
        {"title": "Kettle 4000", "subtitle": "New", "actions": [
            {"action": "say", "label": "This one", "value": "kettle 4000"}]}]}},
    {"source": {"type": "user", "userId": "u-1"}, "type": "image",
     "payload": {"imageUrl": PICTURE}},
    {"role": "user", "text": "Desk's own shape still works"},
]


def test_a_botpress_transcript_is_accepted_as_it_is(bot_api, connected_bot):
    r = bot_api.post(START, {"conversationId": "bp-1", "userName": "Ann",
                             "messageHistory": BOTPRESS_HISTORY})
    assert r.status_code == 201, r.content
    lines = list(Ticket.objects.get(conversation_id="bp-1").messages.order_by("id"))
    assert [(m.kind, m.type) for m in lines] == [
        ("user", "text"), ("bot", "card"), ("bot", "choice"), ("bot", "dropdown"),
        ("bot", "carousel"), ("user", "image"), ("user", "text"),
    ]
    assert lines[1].text == (
        "[Card] Acme Kettle 2000 \u2014 Still under warranty\n"
        "[Image] https://cdn.example.com/kettle.png\nButtons: Repair | Manual"
    )
    assert lines[2].text == "What would you like?\nOptions: A refund | A new one"
    assert lines[4].text == (
        "[Card] Kettle 3000\n[Card] Kettle 4000 \u2014 New\nButtons: This one"
    )
    assert lines[1].payload["actions"][1] == {
        "action": "url", "label": "Manual", "value": "https://acme.example/m"
    }


@pytest.mark.parametrize(
    "item, field",
    [
        ({"source": {"type": "bot"}, "type": "card", "payload": {
            "title": "T", "actions": [{"action": "buy", "label": "Buy", "value": "b"}]}},
         "messageHistory.0.payload.actions.0.action"),
        ({"source": {"type": "bot"}, "type": "card", "payload": {
            "title": "T", "actions": [{"action": "url", "label": "Go", "value": "javascript:x"}]}},
         "messageHistory.0.payload.actions.0.value"),
        ({"source": {"type": "bot"}, "type": "choice", "payload": {"options": []}},
         "messageHistory.0.payload.text"),
        ({"source": {"type": "bot"}, "type": "carousel", "payload": {"items": [{"actions": []}]}},
         "messageHistory.0.payload.items.0.title"),
        ({"source": {"type": "bot"}, "type": "image", "payload": {"imageUrl": "/relative.png"}},
         "messageHistory.0.payload.imageUrl"),
        ({"source": {"type": "bot"}, "type": "gif", "payload": {}}, "messageHistory.0.type"),
        ({"source": {"type": "bot"}, "type": "card"}, "messageHistory.0.payload"),
        ({"text": "who said it?"}, "messageHistory.0.role"),
        ({"role": "bot", "source": {"type": "bot"}, "text": "both"}, "messageHistory.0.role"),
        ({"source": {"type": "admin"}, "type": "text", "payload": {"text": "x"}},
         "messageHistory.0.source.type"),
    ],
)
def test_a_bad_history_item_is_422_naming_its_path(bot_api, connected_bot, item, field):
    r = bot_api.post(START, {"conversationId": "bp-2", "messageHistory": [item]})
    assert r.status_code == 422, r.content
    assert field in r.json()["fields"], r.json()
    assert not Ticket.objects.exists()


# --- the text rendering where text is read ---------------------------------------------------


def test_search_and_the_inbox_preview_read_the_text_rendering(
    bot_api, open_ticket, agent_client
):
    bot_api.post(URL, {"type": "file", "fileUrl": "https://cdn.example.com/x.pdf",
                       "title": "Invoice-7731"})
    page = agent_client.get("/?q=Invoice-7731")
    assert "[File] Invoice-7731: https://cdn.example.com/x.pdf" in page.content.decode()
    assert open_ticket.title in page.content.decode()
    assert "Invoice-7731" not in agent_client.get("/?q=Invoice-0000").content.decode()


# --- agentMessage events ----------------------------------------------------------------------


def test_an_agent_text_reply_event_carries_type_payload_text_and_who(open_ticket, agent):
    services.ticket_reply(ticket_id=open_ticket.pk, agent=agent, text="On it!")
    event = event_as_json(Event.objects.get(type="agentMessage"))
    assert event["messageType"] == "text"
    assert event["payload"] == {"text": "On it!"}
    assert event["text"] == "On it!"
    assert event["agentName"] == "Maya Lopez"
    assert event["agentId"] == str(agent.pk)
    assert event["agentAvatarUrl"].startswith(f"http://testserver/avatars/{agent.pk}/")
    assigned = event_as_json(Event.objects.get(type="hitlAssigned"))
    assert assigned["agentId"] == str(agent.pk)
    assert assigned["agentAvatarUrl"] == event["agentAvatarUrl"]
