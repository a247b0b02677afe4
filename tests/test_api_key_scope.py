"""An API key reaches only the bots it deployed, unless an admin made it workspace-wide."""

import pytest

from bots.models import Bot, Event
from bots.services import api_key_create
from desk import services
from desk.models import Message, Ticket
from tests.conftest import BotClient


def other_bot_client(workspace_wide: bool = False) -> BotClient:
    _, plain = api_key_create(name="other team", workspace_wide=workspace_wide)
    return BotClient(plain)


def test_a_new_key_is_restricted_by_default(admin_client):
    admin_client.post("/settings/api-keys/", {"name": "k"})
    assert admin_client.get("/settings/api-keys/").context["keys"][0].workspace_wide is False


def test_admins_can_make_a_workspace_wide_key(admin_client):
    admin_client.post("/settings/api-keys/", {"name": "ops", "workspace_wide": "on"})
    page = admin_client.get("/settings/api-keys/")
    assert page.context["keys"][0].workspace_wide is True
    assert "every bot" in page.content.decode()


# The long-poll reads on its own thread, so these rows must be committed.
@pytest.mark.django_db(transaction=True)
def test_a_restricted_key_cannot_see_or_touch_another_keys_bot(connected_bot, agent):
    ticket, _ = services.start_hitl(bot=connected_bot, conversation_id="c1")
    services.ticket_reply(ticket_id=ticket.pk, agent=agent, text="hello")
    other = other_bot_client()
    base = f"/api/v1/bots/{connected_bot.bot_id}"
    answers = [
        other.get(base),
        other.put(base, {"name": "hijacked", "webhookUrl": "https://evil.example/hook"}),
        other.post(f"{base}/startHitl", {"conversationId": "c2"}),
        other.post(f"{base}/conversations/c1/messages", {"text": "injected"}),
        other.post(f"{base}/stopHitl", {"conversationId": "c1"}),
        other.get(f"{base}/events?after=0"),
    ]
    assert [r.status_code for r in answers] == [404] * 6
    for response in answers:
        assert (
            "support-bot" in response.json()["message"] or response.json()["error"] == "not_found"
        )
    bot = Bot.objects.get()
    assert bot.name == "Support Bot" and bot.webhook_url == ""
    assert Ticket.objects.count() == 1 and Ticket.objects.get().is_open
    assert not Message.objects.filter(text="injected").exists()


# The long-poll reads on its own thread, so these rows must be committed.
@pytest.mark.django_db(transaction=True)
def test_a_restricted_key_works_for_the_bots_it_deploys(bot_api):
    assert bot_api.put("/api/v1/bots/mine", {"name": "Mine"}).status_code == 201
    assert bot_api.get("/api/v1/bots/mine").status_code == 200
    assert bot_api.get("/api/v1/bots/mine/events?after=0").status_code == 200


# The long-poll reads on its own thread, so these rows must be committed.
@pytest.mark.django_db(transaction=True)
def test_a_workspace_wide_key_reaches_every_bot(connected_bot):
    other = other_bot_client(workspace_wide=True)
    base = f"/api/v1/bots/{connected_bot.bot_id}"
    assert other.get(base).status_code == 200
    assert other.post(f"{base}/startHitl", {"conversationId": "c9"}).status_code == 201
    assert other.get(f"{base}/events?after=0").status_code == 200


# The long-poll reads on its own thread, so these rows must be committed.
@pytest.mark.django_db(transaction=True)
def test_events_of_one_bot_never_reach_another_bots_key(connected_bot, agent):
    ticket, _ = services.start_hitl(bot=connected_bot, conversation_id="c1")
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    assert Event.objects.filter(bot=connected_bot).exists()
    other = other_bot_client()
    other.put("/api/v1/bots/their-bot", {})
    response = other.get("/api/v1/bots/their-bot/events?after=0")
    assert response.status_code == 200
    assert response.json()["events"] == []
