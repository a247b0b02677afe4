"""startHitl: a connected bot escalates a conversation into a ticket, idempotently."""

import threading

import pytest
from django.db import IntegrityError, connection, transaction

from bots.services import bot_set_connected
from desk import services
from desk.models import Message, Ticket

NOT_CONNECTED = (
    "This bot is not connected to Desk. "
    "Enable it on the Deflecting Bots page in Desk, then republish."
)


def start(bot_api, bot_id="support-bot", **body):
    return bot_api.post(f"/api/v1/bots/{bot_id}/startHitl", {"conversationId": "conv-1", **body})


def test_it_opens_a_pending_ticket(bot_api, connected_bot):
    response = start(
        bot_api,
        title="Refund please",
        priority="urgent",
        userName="Jordan Lee",
        userEmail="jordan@example.com",
    )
    assert response.status_code == 201
    body = response.json()
    assert body["status"] == "pending"
    assert body["priority"] == "urgent"
    assert body["conversationId"] == "conv-1"
    ticket = Ticket.objects.get(public_id=body["ticketId"])
    assert body["number"] == ticket.number
    assert (ticket.title, ticket.user_name, ticket.user_email) == (
        "Refund please",
        "Jordan Lee",
        "jordan@example.com",
    )


def test_priority_defaults_to_medium(bot_api, connected_bot):
    assert start(bot_api).json()["priority"] == "medium"


def test_message_history_becomes_the_transcript(bot_api, connected_bot):
    history = [
        {"role": "user", "text": "My order never came", "createdAt": "2026-11-25T10:00:00Z"},
        {"role": "bot", "text": "Let me find someone for you."},
    ]
    response = start(bot_api, userName="Jordan", messageHistory=history)
    ticket = Ticket.objects.get(public_id=response.json()["ticketId"])
    lines = list(ticket.messages.values_list("kind", "text"))
    assert lines == [("user", "My order never came"), ("bot", "Let me find someone for you.")]
    assert ticket.messages.first().created_at.isoformat() == "2026-11-25T10:00:00+00:00"


def test_calling_again_returns_the_same_open_ticket(bot_api, connected_bot):
    first = start(bot_api, messageHistory=[{"role": "user", "text": "hello"}])
    again = start(bot_api, messageHistory=[{"role": "user", "text": "hello"}])
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["ticketId"] == again.json()["ticketId"]
    assert Ticket.objects.count() == 1
    assert Message.objects.count() == 1


def test_a_closed_conversation_gets_a_new_ticket(bot_api, connected_bot, agent):
    first = start(bot_api).json()
    services.ticket_close(ticket_id=first["number"], agent=agent)
    second = start(bot_api)
    assert second.status_code == 201
    assert second.json()["number"] != first["number"]


def test_a_bot_that_is_not_enabled_gets_403_with_the_exact_message(bot_api, deployed_bot):
    response = start(bot_api)
    assert response.status_code == 403
    assert response.json()["message"] == NOT_CONNECTED
    assert not Ticket.objects.exists()


def test_a_disabled_bot_is_refused_again(bot_api, connected_bot):
    bot_set_connected(bot_id=connected_bot.bot_id, connected=False)
    response = start(bot_api)
    assert response.status_code == 403
    assert response.json()["message"] == NOT_CONNECTED


def test_an_unknown_bot_is_404(bot_api, connected_bot):
    assert start(bot_api, bot_id="nobody").status_code == 404


def test_it_needs_a_valid_key(bot_api, connected_bot):
    bot_api.headers = {}
    assert start(bot_api).status_code == 401
    bot_api.headers = {"Authorization": "Bearer wrong"}
    assert start(bot_api).status_code == 401
    assert not Ticket.objects.exists()


@pytest.mark.parametrize(
    "body, field",
    [
        ({"conversationId": ""}, "conversationId"),
        ({"conversationId": "   "}, "conversationId"),
        ({"priority": "asap"}, "priority"),
        ({"userEmail": "not-an-email"}, "userEmail"),
        ({"messageHistory": [{"role": "agent", "text": "x"}]}, "messageHistory.0.role"),
        ({"messageHistory": [{"role": "user"}]}, "messageHistory.0.text"),
        ({"title": "x" * 301}, "title"),
    ],
)
def test_a_bad_body_is_422_naming_the_field_and_creates_nothing(
    bot_api, connected_bot, body, field
):
    response = start(bot_api, **body)
    assert response.status_code == 422
    assert field in response.json()["fields"]
    assert not Ticket.objects.exists()
    assert not Message.objects.exists()


def test_a_missing_conversation_id_is_422(bot_api, connected_bot):
    response = bot_api.post("/api/v1/bots/support-bot/startHitl", {"title": "x"})
    assert response.status_code == 422
    assert "conversationId" in response.json()["fields"]


def test_a_body_that_is_not_json_is_422(bot_api, connected_bot):
    response = bot_api.post("/api/v1/bots/support-bot/startHitl", "not json")
    assert response.status_code == 422
    assert "body" in response.json()["fields"]


def test_a_body_over_one_mebibyte_is_413(bot_api, connected_bot):
    history = [{"role": "user", "text": "x" * 9000} for _ in range(130)]
    response = start(bot_api, messageHistory=history)
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"
    assert not Ticket.objects.exists()


def test_the_database_holds_one_open_ticket_per_conversation(connected_bot):
    Ticket.objects.create(bot=connected_bot, conversation_id="c")
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.create(bot=connected_bot, conversation_id="c")
    Ticket.objects.create(bot=connected_bot, conversation_id="c2", status="closed")
    Ticket.objects.create(bot=connected_bot, conversation_id="c2", status="closed")
    Ticket.objects.create(bot=connected_bot, conversation_id="c2")


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_racing_calls_make_one_ticket(connected_bot, monkeypatch):
    """Both calls find no open ticket, then both insert: the constraint picks one."""
    barrier = threading.Barrier(2, timeout=10)
    real_open_ticket = services._open_ticket
    calls = {"n": 0}

    def open_ticket_then_wait(bot, conversation_id):
        found = real_open_ticket(bot, conversation_id)
        calls["n"] += 1
        if calls["n"] <= 2:
            barrier.wait()
        return found

    monkeypatch.setattr(services, "_open_ticket", open_ticket_then_wait)
    results, errors = [], []

    def escalate():
        try:
            results.append(services.start_hitl(bot=connected_bot, conversation_id="race"))
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=escalate) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors
    assert sorted(created for _, created in results) == [False, True]
    assert len({ticket.pk for ticket, _ in results}) == 1
    assert Ticket.objects.filter(conversation_id="race").count() == 1


# --- times in messageHistory -------------------------------------------------------------


@pytest.mark.parametrize(
    "created_at",
    [
        "0001-01-01T00:00:00+14:00",  # before year 1 in UTC
        "9999-12-31T23:59:59-01:00",  # after year 9999 in UTC
        "0001-01-01T00:00:00Z",  # in UTC, but not in a time zone west of it
        "9999-12-31T23:59:59Z",
    ],
)
def test_a_created_at_at_the_edge_of_the_calendar_is_422_naming_it(
    bot_api, connected_bot, settings, created_at
):
    settings.DEBUG = True  # the embedded default, where it was a traceback
    bot_api.client.raise_request_exception = False
    history = [
        {"role": "user", "text": "hi"},
        {"role": "bot", "text": "x", "createdAt": created_at},
    ]
    response = start(bot_api, messageHistory=history)
    assert response.status_code == 422
    assert response.json()["fields"] == {
        "messageHistory.1.createdAt": (
            "must be between 0001-01-02T00:00:00Z and 9999-12-30T23:59:59Z"
        )
    }
    assert not Ticket.objects.exists()


@pytest.mark.parametrize("zone", ["Pacific/Kiritimati", "Etc/GMT+12"])  # UTC+14, UTC-12
def test_the_earliest_and_latest_times_accepted_show_in_any_time_zone(
    bot_api, connected_bot, agent_client, settings, zone
):
    history = [
        {"role": "user", "text": "first", "createdAt": "0001-01-02T00:00:00Z"},
        {"role": "bot", "text": "last", "createdAt": "9999-12-30T23:59:59Z"},
    ]
    ticket = start(bot_api, messageHistory=history).json()
    settings.TIME_ZONE = zone
    page = agent_client.get(f"/tickets/{ticket['number']}/")
    assert page.status_code == 200
    assert "first" in page.content.decode() and "last" in page.content.decode()


def test_a_created_at_without_an_offset_is_utc(bot_api, connected_bot, settings):
    settings.TIME_ZONE = "America/New_York"
    history = [{"role": "user", "text": "hi", "createdAt": "2026-11-25T10:00:00"}]
    ticket = Ticket.objects.get(public_id=start(bot_api, messageHistory=history).json()["ticketId"])
    assert ticket.messages.get().created_at.isoformat() == "2026-11-25T10:00:00+00:00"
