"""A bot deploys itself with PUT /api/v1/bots/{botId} and then shows on the Deflecting Bots page."""

from bots.models import Bot
from bots.services import api_key_create, api_key_revoke


def test_it_creates_the_bot_with_defaults(bot_api):
    response = bot_api.put("/api/v1/bots/shop-bot", {"name": "Shop bot"})
    assert response.status_code == 201
    body = response.json()
    assert body["botId"] == "shop-bot"
    assert body["connected"] is False
    assert body["agentAssignedMessage"] == "A support agent has joined the conversation."
    assert body["sessionEndedMessage"] == (
        "The support session has ended. Is there anything else I can help you with?"
    )
    assert body["webhookSecret"].startswith("whsec_")
    assert Bot.objects.get(bot_id="shop-bot").name == "Shop bot"


def test_a_second_deploy_updates_and_keeps_the_rest(bot_api):
    bot_api.put(
        "/api/v1/bots/shop-bot", {"name": "Shop bot", "webhookUrl": "https://bot.example/hook"}
    )
    secret = Bot.objects.get(bot_id="shop-bot").webhook_secret
    response = bot_api.put(
        "/api/v1/bots/shop-bot",
        {"agentAssignedMessage": "{agentName} is here.", "agentAssignedTimeoutSeconds": 300},
    )
    assert response.status_code == 200
    bot = Bot.objects.get(bot_id="shop-bot")
    assert bot.name == "Shop bot"
    assert bot.webhook_url == "https://bot.example/hook"
    assert bot.agent_assigned_message == "{agentName} is here."
    assert bot.agent_assigned_timeout_seconds == 300
    assert bot.webhook_secret == secret
    assert bot.last_deployed_at > bot.first_deployed_at


def test_deploying_does_not_reset_the_connected_flag(bot_api, connected_bot):
    response = bot_api.put(f"/api/v1/bots/{connected_bot.bot_id}", {"name": "Renamed"})
    assert response.status_code == 200
    assert response.json()["connected"] is True


def test_it_validates_each_field_and_changes_nothing(bot_api):
    response = bot_api.put(
        "/api/v1/bots/shop-bot",
        {"webhookUrl": "not a url", "agentAssignedTimeoutSeconds": -1},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid"
    assert set(body["fields"]) == {"webhookUrl", "agentAssignedTimeoutSeconds"}
    assert not Bot.objects.exists()


def test_it_refuses_a_bot_id_that_is_not_slug_like(bot_api):
    response = bot_api.put("/api/v1/bots/-bad%20id", {"name": "x"})
    assert response.status_code == 422
    assert "botId" in response.json()["fields"]
    assert not Bot.objects.exists()


def test_it_requires_a_key(client, db):
    response = client.put("/api/v1/bots/shop-bot", data="{}", content_type="application/json")
    assert response.status_code == 401
    assert "API key" in response.json()["message"]
    assert not Bot.objects.exists()


def test_it_refuses_a_wrong_key(bot_api, db):
    bot_api.headers = {"Authorization": "Bearer desk_not-a-real-key"}
    assert bot_api.put("/api/v1/bots/shop-bot", {"name": "x"}).status_code == 401
    assert not Bot.objects.exists()


def test_a_revoked_key_is_refused_at_once(bot_api, db):
    key, plain = api_key_create(name="soon revoked")
    bot_api.headers = {"Authorization": f"Bearer {plain}"}
    assert bot_api.put("/api/v1/bots/shop-bot", {}).status_code == 201
    api_key_revoke(key_id=key.pk)
    assert bot_api.put("/api/v1/bots/shop-bot", {}).status_code == 401


def test_the_bot_is_readable_after_deploy(bot_api, deployed_bot):
    response = bot_api.get(f"/api/v1/bots/{deployed_bot.bot_id}")
    assert response.status_code == 200
    assert response.json()["name"] == "Support Bot"
    assert bot_api.get("/api/v1/bots/unknown").status_code == 404


def test_the_openapi_document_and_docs_are_served(client, db):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert "/api/v1/bots/{botId}" in paths
    assert "/api/v1/bots/{botId}/startHitl" in paths
    assert client.get("/api/v1/docs").status_code == 200
