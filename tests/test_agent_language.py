"""Desk in the agent's language and time zone: the browser's Accept-Language, or the
language chosen on their profile; times in the zone the browser reports, or the chosen
one. The bot API stays English whatever a request asks."""

from datetime import UTC, datetime

import pytest

from desk import services
from desk.models import AgentProfile, Ticket


@pytest.fixture
def ticket(connected_bot):
    ticket, _ = services.start_hitl(
        bot=connected_bot, conversation_id="conv-1", title="Refund please", user_name="Jo"
    )
    # Opened at a known instant: 23:30 UTC is 08:30 the next day in Tokyo.
    Ticket.objects.filter(pk=ticket.pk).update(created_at=datetime(2026, 3, 1, 23, 30, tzinfo=UTC))
    return ticket


def test_the_inbox_speaks_the_browsers_language(agent_client, db):
    page = agent_client.get("/", headers={"accept-language": "de-DE,de;q=0.9,en;q=0.5"})
    html = page.content.decode()
    assert page["Content-Language"] == "de"
    assert '<html lang="de">' in html
    assert "Posteingang" in html and "Keine offenen Tickets" in html
    assert ">Inbox<" not in html


def test_a_browser_in_an_unknown_language_gets_english(agent_client, db):
    html = agent_client.get("/", headers={"accept-language": "ja"}).content.decode()
    assert '<html lang="en">' in html and ">Inbox<" in html


def test_the_language_chosen_on_the_profile_wins_over_the_browsers(agent, agent_client):
    response = agent_client.post(
        "/me/profile/", {"action": "locale", "language": "fr", "time_zone": ""}
    )
    assert response.status_code == 302
    assert AgentProfile.objects.get(agent=agent).language == "fr"
    page = agent_client.get("/me/profile/", headers={"accept-language": "de"})
    html = page.content.decode()
    assert "Votre langue et votre fuseau horaire sont enregistrés." in html
    assert "Boîte de réception" in html and "Posteingang" not in html
    # Back to following the browser.
    agent_client.post("/me/profile/", {"action": "locale", "language": "", "time_zone": ""})
    page = agent_client.get("/", headers={"accept-language": "de"})
    assert "Posteingang" in page.content.decode()


def test_the_profile_refuses_an_unknown_language_or_time_zone(agent, agent_client):
    agent_client.post("/me/profile/", {"action": "locale", "language": "es", "time_zone": ""})
    for bad in ({"language": "xx", "time_zone": ""}, {"language": "de", "time_zone": "Mars/Base"}):
        page = agent_client.post("/me/profile/", {"action": "locale", **bad}, follow=True)
        assert page.status_code == 200
        profile = AgentProfile.objects.get(agent=agent)
        assert (profile.language, profile.time_zone) == ("es", "")
    assert "no es una zona horaria que Desk conozca" in page.content.decode()


def test_times_show_in_the_time_zone_the_browser_reports(agent, agent_client, ticket):
    assert "23:30" in agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    response = agent_client.post("/me/time-zone/", {"time_zone": "Asia/Tokyo"})
    assert response.status_code == 204
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Mar 2, 2026 08:30" in html and "23:30" not in html
    # A German agent reads the date the German way.
    html = agent_client.get(f"/tickets/{ticket.pk}/", headers={"accept-language": "de"})
    assert "2. Mär 2026, 08:30" in html.content.decode()


def test_a_time_zone_chosen_on_the_profile_wins_over_the_browsers(agent, agent_client, ticket):
    agent_client.post("/me/time-zone/", {"time_zone": "Asia/Tokyo"})
    agent_client.post(
        "/me/profile/", {"action": "locale", "language": "", "time_zone": "America/New_York"}
    )
    html = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Mar 1, 2026 18:30" in html
    # The page tells desk.js not to report the browser's zone while one is chosen.
    assert "data-time-zone-url" not in html


def test_a_browser_time_zone_desk_does_not_know_is_refused(agent, agent_client):
    response = agent_client.post("/me/time-zone/", {"time_zone": "Not/AZone"})
    assert response.status_code == 400
    assert "is not a time zone Desk knows" in response.content.decode()
    assert not AgentProfile.objects.filter(agent=agent).exclude(browser_time_zone="").exists()


def test_the_bot_api_answers_in_english_whatever_the_request_asks(bot_api, db):
    response = bot_api.get("/api/v1/bots/nope/events", **{"accept-language": "de"})
    assert response.status_code == 404
    assert response["Content-Language"] == "en"
    assert response.json()["message"].isascii()
