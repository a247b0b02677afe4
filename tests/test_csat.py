"""Customer satisfaction: the bot's csatMessage, csat in hitlStopped, and the rating API."""

from datetime import timedelta

import pytest
from django.utils import timezone

from desk import services
from desk.models import Rating, Ticket

pytestmark = pytest.mark.django_db(transaction=True)

BOT = "/api/v1/bots/support-bot"
START = f"{BOT}/startHitl"
ASK = "How would you rate the help you received, from 1 to 5?"


def rating_url(conversation_id: str = "conv-1") -> str:
    return f"{BOT}/conversations/{conversation_id}/rating"


def _start(bot_api, conversation_id: str = "conv-1") -> Ticket:
    assert bot_api.post(START, {"conversationId": conversation_id}).status_code == 201
    return Ticket.objects.get(conversation_id=conversation_id, status="pending")


def _agent_closes(ticket: Ticket, agent) -> Ticket:
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    return services.ticket_close(ticket_id=ticket.pk, agent=agent)


def _events(bot_api) -> list[dict]:
    return bot_api.get(f"{BOT}/events").json()["events"]


def _stopped(bot_api) -> dict:
    return [e for e in _events(bot_api) if e["type"] == "hitlStopped"][-1]


def _age(ticket: Ticket, *, closed_ago: timedelta) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(closed_at=timezone.now() - closed_ago)


# --- the deploy field and the event ---------------------------------------------------


def test_csat_is_off_by_default_and_a_deploy_turns_it_on(bot_api, connected_bot):
    assert bot_api.get(BOT).json()["csatMessage"] == ""
    answer = bot_api.put(BOT, {"csatMessage": ASK})
    assert answer.status_code == 200
    assert answer.json()["csatMessage"] == ASK
    # Fields left out keep their value.
    assert bot_api.put(BOT, {"name": "Renamed"}).json()["csatMessage"] == ASK
    assert bot_api.put(BOT, {"csatMessage": ""}).json()["csatMessage"] == ""


def test_a_csat_message_over_2000_characters_is_422_and_changes_nothing(
    bot_api, connected_bot
):
    answer = bot_api.put(BOT, {"csatMessage": "x" * 2001})
    assert answer.status_code == 422
    assert "csatMessage" in answer.json()["fields"]
    assert bot_api.get(BOT).json()["csatMessage"] == ""


def test_hitl_stopped_of_an_agent_closed_ticket_asks_for_the_rating(
    bot_api, connected_bot, agent
):
    bot_api.put(BOT, {"csatMessage": "{agentName} asks: how did we do, 1 to 5?"})
    _agent_closes(_start(bot_api), agent)
    event = _stopped(bot_api)
    assert event["reason"] == "agentClosed"
    assert event["csat"] == {"message": "Maya Lopez asks: how did we do, 1 to 5?", "scale": 5}


def test_without_a_csat_message_hitl_stopped_asks_nothing(bot_api, connected_bot, agent):
    _agent_closes(_start(bot_api), agent)
    assert "csat" not in _stopped(bot_api)
    assert not Rating.objects.exists()


def test_a_ticket_the_bot_stopped_asks_nothing(bot_api, connected_bot):
    bot_api.put(BOT, {"csatMessage": ASK})
    _start(bot_api)
    bot_api.post(f"{BOT}/stopHitl", {"conversationId": "conv-1"})
    event = _stopped(bot_api)
    assert event["reason"] == "botStopped"
    assert "csat" not in event


# --- the rating -----------------------------------------------------------------------


def test_a_rating_is_recorded_for_the_ticket_just_closed(bot_api, connected_bot, agent):
    bot_api.put(BOT, {"csatMessage": ASK})
    ticket = _agent_closes(_start(bot_api), agent)
    answer = bot_api.post(rating_url(), {"score": 4, "comment": "Quick and kind"})
    assert answer.status_code == 201
    body = answer.json()
    assert body["ticketId"] == str(ticket.public_id)
    assert body["ticketNumber"] == ticket.number
    assert (body["score"], body["comment"], body["replaced"]) == (4, "Quick and kind", False)
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment) == (4, "Quick and kind")
    assert rating.asked_at is not None
    assert ticket.messages.last().text == (
        "The customer rated this conversation 4/5: \u201cQuick and kind\u201d"
    )


def test_it_rates_the_most_recently_closed_ticket_of_the_conversation(
    bot_api, connected_bot, agent
):
    first = _agent_closes(_start(bot_api), agent)
    second = _agent_closes(_start(bot_api), agent)
    _start(bot_api)  # a third handoff is open: the closed one is still the one to rate
    answer = bot_api.post(rating_url(), {"score": 2})
    assert answer.status_code == 201
    assert answer.json()["ticketId"] == str(second.public_id)
    assert not Rating.objects.filter(ticket=first).exists()


def test_a_rating_without_being_asked_is_recorded_too(bot_api, connected_bot):
    _start(bot_api)
    bot_api.post(f"{BOT}/stopHitl", {"conversationId": "conv-1"})
    assert bot_api.post(rating_url(), {"score": 5}).status_code == 201


@pytest.mark.parametrize(
    "setup",
    ["never seen", "only open", "closed 8 days ago", "another conversation"],
)
def test_without_a_ticket_closed_in_the_last_7_days_it_is_409(
    bot_api, connected_bot, agent, setup
):
    if setup == "only open":
        _start(bot_api)
    elif setup == "closed 8 days ago":
        _age(_agent_closes(_start(bot_api), agent), closed_ago=timedelta(days=8))
    elif setup == "another conversation":
        _agent_closes(_start(bot_api, "conv-2"), agent)
    answer = bot_api.post(rating_url(), {"score": 5})
    assert answer.status_code == 409
    assert answer.json() == {
        "error": "no_recent_ticket",
        "message": "This conversation has no ticket closed in the last 7 days to rate.",
    }
    assert not Rating.objects.filter(score__isnull=False).exists()


def test_a_conversation_id_with_a_slash_is_rated_percent_encoded(bot_api, connected_bot, agent):
    _agent_closes(_start(bot_api, "web/42"), agent)
    assert bot_api.post(rating_url("web%2F42"), {"score": 5}).status_code == 201


def test_a_ticket_closed_6_days_ago_can_still_be_rated(bot_api, connected_bot, agent):
    _age(_agent_closes(_start(bot_api), agent), closed_ago=timedelta(days=6, hours=23))
    assert bot_api.post(rating_url(), {"score": 3}).status_code == 201


def test_a_second_rating_within_24_hours_replaces_the_first(bot_api, connected_bot, agent):
    ticket = _agent_closes(_start(bot_api), agent)
    first = bot_api.post(rating_url(), {"score": 2, "comment": "Slow"}).json()
    answer = bot_api.post(rating_url(), {"score": 5})
    assert answer.status_code == 201
    assert (answer.json()["score"], answer.json()["comment"]) == (5, "")
    assert answer.json()["replaced"] is True
    assert answer.json()["ratedAt"] == first["ratedAt"]
    rating = Rating.objects.get(ticket=ticket)
    assert (rating.score, rating.comment) == (5, "")
    assert ticket.messages.last().text == "The customer changed their rating to 5/5."


def test_after_24_hours_the_rating_is_final(bot_api, connected_bot, agent):
    ticket = _agent_closes(_start(bot_api), agent)
    bot_api.post(rating_url(), {"score": 2})
    Rating.objects.filter(ticket=ticket).update(
        rated_at=timezone.now() - timedelta(hours=24, minutes=1)
    )
    lines = ticket.messages.count()
    answer = bot_api.post(rating_url(), {"score": 5})
    assert answer.status_code == 409
    assert answer.json()["error"] == "already_rated"
    assert Rating.objects.get(ticket=ticket).score == 2
    assert ticket.messages.count() == lines


@pytest.mark.parametrize(
    "body, field",
    [
        ({"score": 0}, "score"),
        ({"score": 6}, "score"),
        ({"score": -1}, "score"),
        ({"score": "five"}, "score"),
        ({"score": 4.5}, "score"),
        ({}, "score"),
        ({"score": 4, "comment": "x" * 2001}, "comment"),
        ({"score": 4, "comment": 7}, "comment"),
        ({"score": 4, "comment": "nul \u0000 here"}, "comment"),
        ({"score": 4, "comment": "\u200b\u200b"}, "comment"),
    ],
)
def test_a_bad_score_or_comment_is_422_naming_it_and_changes_nothing(
    bot_api, connected_bot, agent, body, field
):
    ticket = _agent_closes(_start(bot_api), agent)
    lines = ticket.messages.count()
    answer = bot_api.post(rating_url(), body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid"
    assert field in answer.json()["fields"]
    assert not Rating.objects.exists()
    assert ticket.messages.count() == lines


def test_a_key_that_did_not_deploy_the_bot_cannot_rate(connected_bot, agent, db):
    from bots.services import api_key_create
    from tests.conftest import BotClient

    ticket = Ticket.objects.create(bot=connected_bot, conversation_id="conv-1")
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    services.ticket_close(ticket_id=ticket.pk, agent=agent)
    _, other_key = api_key_create(name="someone else")
    answer = BotClient(other_key).post(rating_url(), {"score": 1})
    assert answer.status_code == 404
    assert not Rating.objects.exists()


def test_the_rating_shows_in_the_ticket_side_bar(bot_api, connected_bot, agent, agent_client):
    bot_api.put(BOT, {"csatMessage": ASK})
    ticket = _agent_closes(_start(bot_api), agent)
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Customer rating" in page and "Asked; no answer yet" in page
    bot_api.post(rating_url(), {"score": 4, "comment": "Quick <b>and</b> kind"})
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "★★★★☆" in page and "4/5" in page
    assert "Quick &lt;b&gt;and&lt;/b&gt; kind" in page
    assert "The customer rated this conversation 4/5" in page
