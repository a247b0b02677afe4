"""The bot API limits requests per API key: 429 with Retry-After, other keys unaffected."""

import pytest
from django.core.cache import cache

from bots.services import api_key_create
from desk.models import Ticket
from tests.conftest import BotClient


@pytest.fixture(autouse=True)
def low_limit(settings):
    settings.DESK_API_RATE_LIMIT = "5/m"
    cache.clear()
    yield
    cache.clear()


def test_a_key_over_its_limit_gets_429_with_retry_after(bot_api, connected_bot):
    for _ in range(5):
        assert bot_api.get("/api/v1/bots/support-bot").status_code == 200
    response = bot_api.post("/api/v1/bots/support-bot/startHitl", {"conversationId": "c"})
    assert response.status_code == 429
    assert response.json()["error"] == "rate_limited"
    assert int(response["Retry-After"]) >= 1
    assert not Ticket.objects.exists()


def test_other_keys_keep_their_own_budget(bot_api, connected_bot):
    for _ in range(6):
        bot_api.get("/api/v1/bots/support-bot")
    _, plain = api_key_create(name="second", workspace_wide=True)
    assert BotClient(plain).get("/api/v1/bots/support-bot").status_code == 200


def test_unauthenticated_calls_are_401_not_429(client, db):
    for _ in range(7):
        response = client.get("/api/v1/bots/support-bot")
    assert response.status_code == 401


def test_the_limit_can_be_turned_off(bot_api, connected_bot, settings):
    settings.DESK_API_RATE_LIMIT = None
    for _ in range(8):
        assert bot_api.get("/api/v1/bots/support-bot").status_code == 200
