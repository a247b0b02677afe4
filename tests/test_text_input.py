"""Text Desk cannot store or show is refused where it comes in, naming the field: a NUL
character (PostgreSQL refuses it, so it would be a 500 there) and text made only of
zero-width characters (it would show as blank). Every text field of the bot API, and the
agent's composer (form post and websocket). Marked `postgres`: make test also runs these
on PostgreSQL."""

from urllib.parse import quote

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from bots.models import Bot
from desk import services
from desk.models import Message, Ticket
from tests.test_live_inbox import opened

pytestmark = pytest.mark.postgres

NUL = "Refund\x00please"
ZERO_WIDTH = "\u200b\u200c\u200d\u2060\ufeff"
BAD_TEXT = pytest.mark.parametrize("bad", [NUL, ZERO_WIDTH], ids=["nul", "zero-width"])

BOT = "/api/v1/bots/support-bot"
START = f"{BOT}/startHitl"
MESSAGES = f"{BOT}/conversations/conv-1/messages"


def calls(bad: str) -> list[tuple[str, str, dict, str]]:
    """(method, path, body, the field the 422 names) for every text field of the API."""
    return [
        ("put", BOT, {"name": bad}, "name"),
        ("put", BOT, {"agentAssignedMessage": bad}, "agentAssignedMessage"),
        ("put", BOT, {"sessionEndedMessage": bad}, "sessionEndedMessage"),
        ("put", BOT, {"agentAssignedTimeoutMessage": bad}, "agentAssignedTimeoutMessage"),
        ("post", START, {"conversationId": bad}, "conversationId"),
        ("post", START, {"conversationId": "conv-2", "title": bad}, "title"),
        ("post", START, {"conversationId": "conv-2", "userName": bad}, "userName"),
        ("post", START, {"conversationId": "conv-2", "description": bad}, "description"),
        (
            "post", START,
            {"conversationId": "conv-2", "messageHistory": [{"role": "user", "text": bad}]},
            "messageHistory.0.text",
        ),
        ("post", MESSAGES, {"text": bad}, "text"),
        ("post", MESSAGES, {"text": "hi", "messageId": bad}, "messageId"),
        ("post", MESSAGES, {"text": "hi", "userName": bad}, "userName"),
        ("post", f"{BOT}/stopHitl", {"conversationId": bad}, "conversationId"),
    ]


@pytest.fixture
def open_ticket(bot_api, connected_bot) -> Ticket:
    assert bot_api.post(START, {"conversationId": "conv-1"}).status_code == 201
    return Ticket.objects.get()


def snapshot() -> tuple:
    bot = Bot.objects.get()
    return (
        list(Ticket.objects.values_list("pk", "status", "title", "user_name")),
        list(Message.objects.values_list("pk", "text")),
        (bot.name, bot.agent_assigned_message, bot.session_ended_message,
         bot.agent_assigned_timeout_message),
    )


@BAD_TEXT
def test_every_text_field_of_the_api_refuses_it_with_422_naming_the_field(
    bot_api, open_ticket, bad
):
    bot_api.client = Client(raise_request_exception=False)
    before = snapshot()
    for method, path, body, field in calls(bad):
        response = getattr(bot_api, method)(path, body)
        assert response.status_code == 422, (field, response.content)
        assert response.json()["error"] == "invalid"
        assert field in response.json()["fields"], (field, response.json())
    assert snapshot() == before


@BAD_TEXT
def test_a_conversation_id_in_the_path_is_checked_too(bot_api, open_ticket, bad):
    bot_api.client = Client(raise_request_exception=False)
    response = bot_api.post(f"{BOT}/conversations/{quote(bad, safe='')}/messages", {"text": "hi"})
    assert response.status_code == 422
    assert "conversationId" in response.json()["fields"]


def test_the_messages_say_what_is_wrong(bot_api, open_ticket):
    fields = bot_api.post(START, {"conversationId": "c", "title": NUL}).json()["fields"]
    assert fields == {"title": "must not contain the NUL character (\\u0000)"}
    fields = bot_api.post(MESSAGES, {"text": ZERO_WIDTH}).json()["fields"]
    assert fields == {
        "text": "The message has only invisible characters (such as zero-width spaces): "
        "write some text."
    }


def test_visible_text_with_zero_width_characters_inside_is_stored_as_sent(bot_api, open_ticket):
    emoji = "\U0001f469\u200d\U0001f4bb works"  # the woman technologist: a ZWJ sequence
    assert bot_api.post(MESSAGES, {"text": emoji}).status_code == 202
    assert Message.objects.filter(text=emoji).exists()
    body = {"conversationId": "conv-2", "title": "a\u200bb", "userName": " "}
    response = bot_api.post(START, body)
    assert response.status_code == 201
    assert response.json()["title"] == "a\u200bb"


@pytest.fixture
def ticket(connected_bot) -> Ticket:
    ticket, _ = services.start_hitl(bot=connected_bot, conversation_id="conv-1")
    return ticket


@BAD_TEXT
@pytest.mark.parametrize("action", ["reply", "note"])
def test_the_composer_refuses_it_with_a_clear_error(agent_client, ticket, action, bad):
    response = agent_client.post(
        f"/tickets/{ticket.pk}/actions/", {"ticket": ticket.pk, "action": action, "text": bad}
    )
    assert response.status_code == 302
    page = agent_client.get(response.url).content.decode()
    expected = "NUL character" if "\x00" in bad else "only invisible characters"
    assert expected in page
    assert not Message.objects.filter(kind__in=["agent", "note"]).exists()
    assert Ticket.objects.get().status == "pending"


@pytest.mark.django_db(transaction=True)
@BAD_TEXT
async def test_a_reply_frame_with_it_gets_an_error_and_the_socket_stays_open(
    agent, connected_bot, bad
):
    ticket, _ = await sync_to_async(services.start_hitl)(bot=connected_bot, conversation_id="c")
    tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    await tab.send(action="reply", ticket=ticket.pk, text=bad)
    frame = await tab.wait_for('id="toast"')
    assert "NUL character" in frame or "only invisible characters" in frame
    await tab.send(action="note", ticket=ticket.pk, text="still here")
    await tab.wait_for("still here")
    assert not await Message.objects.filter(kind="agent").aexists()
    await tab.close()


# --- approvals (the same API, and the approver's rejection form) -----------------------------

APPROVALS = f"{BOT}/approvals"


def approval_request(**overrides) -> dict:
    return {
        "requestId": "req-1", "action": "refund", "title": "Refund $40",
        "summary": "Broken.", "arguments": {"amount": 40}, **overrides,
    }


@BAD_TEXT
@pytest.mark.parametrize("field", ["requestId", "action", "title", "summary", "conversationId"])
def test_every_text_field_of_an_approval_request_refuses_it(bot_api, connected_bot, field, bad):
    from approvals.models import Approval

    response = bot_api.post(APPROVALS, approval_request(**{field: bad}))
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert not Approval.objects.exists()


@BAD_TEXT
def test_a_rejection_reason_made_of_it_is_refused(agent, connected_bot, bad):
    from django.contrib.auth.models import Permission

    from approvals import services as approvals

    agent.user_permissions.add(Permission.objects.get(codename="decide_approval"))
    approval, _ = approvals.approval_request(
        bot=connected_bot, request_id="r1", action="refund", title="Refund $40",
        summary="", arguments={"amount": 40}, arguments_schema=None,
        conversation_id="", priority="high",
    )
    client = Client()
    client.force_login(agent)
    response = client.post(
        f"/approvals/{approval.pk}/decide/", {"decision": "reject", "reason": bad}
    )
    assert response.status_code == 422
    expected = "NUL character" if "\x00" in bad else "only zero-width or other invisible"
    assert expected in response.content.decode()
    approval.refresh_from_db()
    assert approval.status == "pending"


# --- the admin's settings forms ----------------------------------------------------------------


@BAD_TEXT
def test_the_settings_forms_refuse_it_and_save_nothing(admin_client, connected_bot, bad):
    from bots.models import ApiKey

    keys = ApiKey.objects.count()
    response = admin_client.post("/settings/api-keys/", {"name": bad})
    assert response.status_code == 422
    assert "A key&#x27;s name must" in response.content.decode()
    assert ApiKey.objects.count() == keys

    before = snapshot()
    response = admin_client.post(
        "/settings/bots/support-bot/messages/",
        {"agent_assigned_message": "Hi, {agentName} here.", "session_ended_message": bad},
    )
    assert response.status_code == 422
    assert "The message when the session ends must" in response.content.decode()
    assert snapshot() == before
