"""Bots report the conversations they handled per day; Reports turn them into deflection."""

from datetime import timedelta

import pytest
from django.utils import timezone

from bots.services import api_key_create
from desk import services
from reports.models import BotDayStats
from tests.conftest import BotClient

pytestmark = pytest.mark.django_db

STATS = "/api/v1/bots/support-bot/stats"


def today():
    return timezone.localdate()


def test_a_bot_reports_a_day_and_reporting_it_again_replaces_the_count(bot_api, connected_bot):
    day = (today() - timedelta(days=1)).isoformat()
    first = bot_api.put(f"{STATS}/{day}", {"conversations": 40})
    assert first.status_code == 201
    assert first.json()["botId"] == "support-bot"
    assert (first.json()["date"], first.json()["conversations"]) == (day, 40)
    again = bot_api.put(f"{STATS}/{day}", {"conversations": 42})
    assert again.status_code == 200
    assert again.json()["conversations"] == 42
    same = bot_api.put(f"{STATS}/{day}", {"conversations": 42})
    assert same.status_code == 200
    assert list(BotDayStats.objects.values_list("conversations", flat=True)) == [42]


def test_today_may_be_reported_and_zero_is_a_count(bot_api, connected_bot):
    answer = bot_api.put(f"{STATS}/{today().isoformat()}", {"conversations": 0})
    assert answer.status_code == 201
    assert BotDayStats.objects.get().conversations == 0


@pytest.mark.parametrize(
    "day, body, field",
    [
        ("tomorrow", {"conversations": 5}, "date"),
        ("yesterday", {"conversations": -1}, "conversations"),
        ("yesterday", {"conversations": "many"}, "conversations"),
        ("yesterday", {"conversations": 2.5}, "conversations"),
        ("yesterday", {}, "conversations"),
        ("2026-02-30", {"conversations": 5}, "date"),
        ("last-monday", {"conversations": 5}, "date"),
    ],
)
def test_a_future_date_or_a_bad_count_is_422_naming_it_and_changes_nothing(
    bot_api, connected_bot, day, body, field
):
    dates = {
        "tomorrow": (today() + timedelta(days=1)).isoformat(),
        "yesterday": (today() - timedelta(days=1)).isoformat(),
    }
    answer = bot_api.put(f"{STATS}/{dates.get(day, day)}", body)
    assert answer.status_code == 422
    assert answer.json()["error"] == "invalid"
    assert field in answer.json()["fields"]
    assert not BotDayStats.objects.exists()


def test_another_keys_bot_is_404(connected_bot):
    _, other = api_key_create(name="other")
    answer = BotClient(other).put(f"{STATS}/{today().isoformat()}", {"conversations": 3})
    assert answer.status_code == 404
    assert not BotDayStats.objects.exists()


def _bot_row(admin_client, **query) -> dict:
    csv = admin_client.get("/reports/bots.csv", query).content.decode().splitlines()
    headers = csv[0].split(",")
    return dict(zip(headers, csv[1].split(","), strict=True))


def test_without_reports_the_deflection_rate_is_a_dash(bot_api, connected_bot, admin_client):
    services.start_hitl(bot=connected_bot, conversation_id="c1")
    row = _bot_row(admin_client, range="7d")
    assert (row["Escalations"], row["Conversations"], row["Deflection"]) == ("1", "—", "—")
    page = admin_client.get("/reports/", {"range": "7d"}).content.decode()
    assert "no bot reported" in page


def test_deflection_is_one_minus_escalations_over_reported_conversations(
    bot_api, connected_bot, admin_client
):
    for n in range(3):
        services.start_hitl(bot=connected_bot, conversation_id=f"c{n}")
    bot_api.put(f"{STATS}/{today().isoformat()}", {"conversations": 12})
    row = _bot_row(admin_client, range="7d")
    assert (row["Escalations"], row["Conversations"], row["Deflection"]) == ("3", "12", "75.0 %")
    page = admin_client.get("/reports/", {"range": "7d"}).content.decode()
    assert "75.0 %" in page
