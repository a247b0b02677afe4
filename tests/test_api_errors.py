"""Every answer under /api/ is JSON in the one error shape, whatever went wrong and whatever
DEBUG says: unknown paths, wrong methods, unexpected errors (logged, never a traceback),
bodies no parser should dig into."""

import logging

import pytest
from django.test import Client

from desk import services
from desk.models import Ticket


@pytest.fixture
def bot_api_raw(bot_api):
    """The bot's client, answering errors the way a server does instead of raising them."""
    bot_api.client = Client(raise_request_exception=False)
    return bot_api


def assert_error_shape(response, status: int, code: str) -> dict:
    assert response.status_code == status
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"] == code
    assert body["message"]
    return body


@pytest.mark.parametrize("debug", [True, False])
def test_an_unexpected_error_answers_500_in_the_error_shape_and_is_logged(
    bot_api_raw, connected_bot, settings, monkeypatch, caplog, debug
):
    settings.DEBUG = debug

    def broken(**kwargs):
        raise RuntimeError("boom in /srv/desk/secret/path.py")

    monkeypatch.setattr(services, "start_hitl", broken)
    with caplog.at_level(logging.ERROR):
        response = bot_api_raw.post(
            "/api/v1/bots/support-bot/startHitl", {"conversationId": "conv-1"}
        )
    assert_error_shape(response, 500, "server_error")
    text = response.content.decode()
    assert "boom" not in text and "Traceback" not in text and "/srv/" not in text
    logged = [r for r in caplog.records if r.exc_info and "boom" in str(r.exc_info[1])]
    assert logged, "the exception and its traceback are in the log"


@pytest.mark.parametrize("debug", [True, False])
@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/nope",
        "/api/v2/bots/support-bot",
        "/api/v1/bots/support-bot/startHitl/extra",
        "/api/",
    ],
)
def test_an_unknown_api_path_is_a_json_404(bot_api_raw, connected_bot, settings, debug, path):
    settings.DEBUG = debug
    body = assert_error_shape(bot_api_raw.post(path, {}), 404, "not_found")
    assert "/api/v1/docs" in body["message"]


@pytest.mark.parametrize("debug", [True, False])
def test_a_method_an_endpoint_does_not_take_is_a_json_405(
    bot_api_raw, connected_bot, settings, debug
):
    settings.DEBUG = debug
    response = bot_api_raw.get("/api/v1/bots/support-bot/startHitl")
    body = assert_error_shape(response, 405, "method_not_allowed")
    assert response["Allow"] == "POST"
    assert "POST" in body["message"]


def test_a_refused_host_is_answered_in_json_even_in_debug(bot_api_raw, connected_bot, settings):
    settings.DEBUG = True
    response = bot_api_raw.get("/api/v1/bots/support-bot", HOST="evil.example")
    assert_error_shape(response, 400, "bad_request")
    assert b"DisallowedHost" not in response.content


def test_pages_outside_the_api_keep_their_html_errors(agent_client):
    response = agent_client.get("/no-such-page/")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


@pytest.mark.parametrize(
    "body",
    [
        "[" * 100_000 + "]" * 100_000,
        '{"a":' * 100_000 + "1" + "}" * 100_000,
        '{"conversationId": "c", "messageHistory": ' + "[" * 100_000,
    ],
    ids=["arrays", "objects", "unfinished"],
)
def test_a_body_nested_100000_levels_deep_is_422_invalid(bot_api_raw, connected_bot, body):
    response = bot_api_raw.post("/api/v1/bots/support-bot/startHitl", body)
    body = assert_error_shape(response, 422, "invalid")
    assert body["message"] == "The request body is nested too deeply."
    assert "body" in body["fields"]
    assert not Ticket.objects.exists()
