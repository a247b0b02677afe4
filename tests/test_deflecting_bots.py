"""Settings → Deflecting Bots: deployed bots, enabled or disabled by admins."""

import re

import pytest
from django.core.management import CommandError, call_command

from bots.models import Bot
from desk.services import start_hitl

HTMX = {"HX-Request": "true"}


def test_a_bot_appears_only_after_its_first_deploy(admin_client, bot_api):
    assert "shop-bot" not in admin_client.get("/settings/bots/").content.decode()
    bot_api.put("/api/v1/bots/shop-bot", {"name": "Shop bot"})
    html = admin_client.get("/settings/bots/").content.decode()
    assert "Shop bot" in html
    assert "not connected" in html


def test_the_page_shows_open_tickets_per_bot(admin_client, connected_bot):
    start_hitl(bot=connected_bot, conversation_id="a")
    start_hitl(bot=connected_bot, conversation_id="b")
    response = admin_client.get("/settings/bots/")
    assert [b.open_tickets for b in response.context["bots"]] == [2]


def test_enabling_lets_the_bot_escalate(admin_client, bot_api, deployed_bot):
    body = {"conversationId": "c"}
    assert bot_api.post("/api/v1/bots/support-bot/startHitl", body).status_code == 403
    response = admin_client.post(
        "/settings/bots/support-bot/connect/", {"connected": "on"}, headers=HTMX
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert f'<tr id="bot-{deployed_bot.pk}"' in html
    assert "connected" in html and "Disable" in html
    assert bot_api.post("/api/v1/bots/support-bot/startHitl", body).status_code == 201


def test_disabling_refuses_new_escalations(admin_client, bot_api, connected_bot):
    response = admin_client.post("/settings/bots/support-bot/connect/")
    assert response.status_code == 302
    assert not Bot.objects.get().connected
    assert (
        bot_api.post("/api/v1/bots/support-bot/startHitl", {"conversationId": "c"}).status_code
        == 403
    )


def test_admins_edit_the_handoff_messages(admin_client, deployed_bot):
    response = admin_client.post(
        "/settings/bots/support-bot/messages/",
        {"agent_assigned_message": "{agentName} joined.", "session_ended_message": "Bye!"},
        headers=HTMX,
    )
    assert response.status_code == 200
    bot = Bot.objects.get()
    assert (bot.agent_assigned_message, bot.session_ended_message) == (
        "{agentName} joined.",
        "Bye!",
    )


def test_admins_edit_the_routing_messages_too(admin_client, deployed_bot):
    page = admin_client.get("/settings/bots/").content.decode()
    assert "You are number {queuePosition} in line." in page
    response = admin_client.post(
        "/settings/bots/support-bot/messages/",
        {
            "agent_transferred_message": "{agentName} is with you now.",
            "queued_message": "Place {queuePosition}.",
            "outside_hours_message": "Closed till 9.",
        },
        headers=HTMX,
    )
    assert response.status_code == 200
    bot = Bot.objects.get()
    assert (bot.agent_transferred_message, bot.queued_message, bot.outside_hours_message) == (
        "{agentName} is with you now.", "Place {queuePosition}.", "Closed till 9."
    )
    assert bot.session_ended_message.startswith("The support session has ended")  # unchanged
    refused = admin_client.post(
        "/settings/bots/support-bot/messages/",
        {"queued_message": "x" * 2001, "outside_hours_message": "Changed?"},
        headers=HTMX,
    )
    assert refused.status_code == 422
    assert 'name="queued_message" rows="2" maxlength="2000" aria-invalid="true"' in (
        refused.content.decode()
    )
    assert Bot.objects.get().outside_hours_message == "Closed till 9."


def test_agents_get_403_on_the_page_and_its_actions(agent_client, deployed_bot):
    assert agent_client.get("/settings/bots/").status_code == 403
    assert (
        agent_client.post("/settings/bots/support-bot/connect/", {"connected": "on"}).status_code
        == 403
    )
    assert (
        agent_client.post(
            "/settings/bots/support-bot/messages/",
            {"agent_assigned_message": "x", "session_ended_message": "y"},
        ).status_code
        == 403
    )
    bot = Bot.objects.get()
    assert not bot.connected
    assert bot.agent_assigned_message != "x"


def test_an_unknown_bot_is_404(admin_client, db):
    assert (
        admin_client.post("/settings/bots/ghost/connect/", {"connected": "on"}).status_code == 404
    )


def test_the_connect_bot_command(deployed_bot, capsys):
    call_command("connect_bot", "support-bot")
    assert Bot.objects.get().connected
    call_command("connect_bot", "support-bot", "--disconnect")
    assert not Bot.objects.get().connected
    assert "not connected" in capsys.readouterr().out
    with pytest.raises(CommandError, match="No deployed bot"):
        call_command("connect_bot", "ghost")


def test_the_page_costs_the_same_queries_for_one_bot_or_many(admin_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def deploy(n):
        bot_deploy_with_hook(f"hook-{n}")

    deploy(0)
    with CaptureQueriesContext(connection) as one:
        admin_client.get("/settings/bots/")
    for n in range(1, 6):
        deploy(n)
    with CaptureQueriesContext(connection) as six:
        response = admin_client.get("/settings/bots/")
    assert response.content.decode().count("waiting") >= 6
    assert len(six) == len(one)


def bot_deploy_with_hook(bot_id: str) -> None:
    from bots.services import bot_deploy

    bot_deploy(bot_id=bot_id, api_key=None, webhook_url=f"https://{bot_id}.example/hook")


def test_a_handoff_message_over_the_api_limit_is_refused_with_the_reason(
    admin_client, bot_api, deployed_bot
):
    before = Bot.objects.values("agent_assigned_message", "session_ended_message").get()
    too_long = {"agent_assigned_message": "x" * 50_000, "session_ended_message": "Bye!"}
    response = admin_client.post("/settings/bots/support-bot/messages/", too_long, headers=HTMX)
    assert response.status_code == 422
    html = response.content.decode()
    assert "The message when an agent joins is limited to 2,000 characters" in html
    assert "Nothing was saved." in html
    assert "<details open>" in html  # the editor stays open, with what was typed
    assert "x" * 50_000 in html
    plain = admin_client.post("/settings/bots/support-bot/messages/", too_long)
    assert plain.status_code == 422
    assert "limited to 2,000 characters" in plain.content.decode()
    assert Bot.objects.values("agent_assigned_message", "session_ended_message").get() == before

    # The same limit as the bot API's.
    at_limit = {"agent_assigned_message": "x" * 2000, "session_ended_message": "y" * 2000}
    assert admin_client.post("/settings/bots/support-bot/messages/", at_limit).status_code == 302
    ok = bot_api.put("/api/v1/bots/support-bot", {"sessionEndedMessage": "y" * 2000})
    assert ok.status_code == 200
    over = bot_api.put("/api/v1/bots/support-bot", {"sessionEndedMessage": "y" * 2001})
    assert over.status_code == 422
    response = admin_client.post(
        "/settings/bots/support-bot/messages/",
        {"agent_assigned_message": "ok", "session_ended_message": "y" * 2001},
    )
    assert response.status_code == 422
    assert Bot.objects.get().agent_assigned_message == "x" * 2000


def test_every_htmx_target_on_the_page_is_an_element_of_the_page_for_any_bot_id(
    admin_client, bot_api
):
    """Bot ids may hold dots, underscores and dashes; htmx reads hx-target as a CSS
    selector, so `#bot-my.bot` would look for class "bot" and swap nothing."""
    from bots.models import WebhookState

    for bot_id in ("my.bot", "a_b-c.d", "9lives", "support-bot"):
        assert bot_api.put(f"/api/v1/bots/{bot_id}", {"name": bot_id}).status_code == 201
    bot_api.put("/api/v1/bots/hooked.bot", {"webhookUrl": "https://hooked.example/hook"})
    WebhookState.objects.filter(bot__bot_id="hooked.bot").update(attempts=2)  # a Retry form

    html = admin_client.get("/settings/bots/").content.decode()
    targets = re.findall(r'hx-target="([^"]*)"', html)
    # Each bot's Enable and message editor, one Retry now, and the header's Alerts menu.
    assert len(targets) == 5 * 2 + 1 + 1
    ids = set(re.findall(r'\sid="([^"]*)"', html))
    for target in targets:
        assert re.fullmatch(r"#[A-Za-z][\w-]*", target), f"{target} is not an id selector"
        assert target[1:] in ids, f"{target} matches no element of the page"
    for bot in Bot.objects.all():  # and each one is that bot's row
        row = re.search(rf'<tr id="bot-{bot.pk}"(.*?)</tr>', html, re.S).group(1)
        assert f"<code class=\"muted\">{bot.bot_id}</code>" in row
