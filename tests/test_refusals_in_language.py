"""What Desk says when it refuses or confirms an agent's action, in the agent's language;
the same refusals in the bot API stay English, whatever the request's Accept-Language
(the API's messages are a contract bots and their tests read)."""

import io

import pytest
from django.test import Client

from desk import services
from desk.models import AgentProfile


@pytest.fixture
def ticket(connected_bot):
    return services.start_hitl(
        bot=connected_bot, conversation_id="conv-1", title="Refund please", user_name="Jo"
    )[0]


def act(client: Client, ticket, **data) -> str:
    """A ticket action posted from the page; the page it comes back to."""
    return client.post(f"/tickets/{ticket.pk}/actions/", data, follow=True).content.decode()


def test_a_refused_action_is_explained_in_german(german_client, ticket):
    page = act(german_client, ticket, action="wait")
    assert (
        "Nur ein zugewiesenes Ticket kann auf den Kunden warten: Übernehmen Sie es zuerst."
        in page
    )
    assert "claim it first" not in page


def test_a_refusal_naming_the_agent_who_has_the_ticket_is_in_german(
    agent, german_client, ticket
):
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    assert "Maya Lopez hat dieses Ticket bereits übernommen." in act(
        german_client, ticket, action="claim"
    )
    assert "Maya Lopez bearbeitet dieses Ticket." in act(german_client, ticket, action="close")
    assert "Nur Maya Lopez oder ein Admin kann dieses Ticket auf den Kunden warten lassen." in (
        act(german_client, ticket, action="wait")
    )


def test_the_same_refusal_stays_english_for_an_english_agent(agent_client, ticket):
    page = act(agent_client, ticket, action="wait")
    assert "Only an assigned ticket can wait for the customer: claim it first." in page


def test_a_done_action_is_confirmed_in_german(german_client, ticket):
    page = act(german_client, ticket, action="claim")
    assert "Sie haben das Ticket übernommen." in page
    assert "You claimed the ticket." not in page


def test_an_empty_composer_message_is_refused_in_german(agent, german_client, ticket):
    page = act(german_client, ticket, action="note", text="\u200b\u200b")
    assert "Die Nachricht enthält nur unsichtbare Zeichen" in page


def test_an_agents_empty_upload_is_refused_in_german(german_client, ticket):
    empty = io.BytesIO(b"")
    empty.name = "empty.txt"
    answer = german_client.post(f"/tickets/{ticket.pk}/files/", {"file": empty})
    assert answer.status_code == 422
    assert answer.json()["message"] == "Die Datei ist leer."


def test_start_hitl_in_german_gets_the_exact_english_error(bot_api, connected_bot):
    answer = bot_api.post(
        "/api/v1/bots/support-bot/startHitl",
        {"conversationId": "conv-9", "labels": ["Nope"]},
        **{"accept-language": "de"},
    )
    assert answer.status_code == 422
    assert answer["Content-Language"] == "en"
    assert answer.json()["message"] == (
        "There is no label named “Nope” in Desk, and bots may not create labels. "
        "Create it on Settings → Labels, or allow bots to create labels there."
    )


def test_a_refusal_worded_for_agents_stays_english_in_the_bot_api(
    bot_api, connected_bot, other_agent
):
    """The same words an agent reads in German ("Die Datei ist leer."), asked for in
    German by a bot whose client also carries a German agent's session."""
    AgentProfile.objects.update_or_create(agent=other_agent, defaults={"language": "de"})
    bot_api.client.force_login(other_agent)
    empty = io.BytesIO(b"")
    empty.name = "empty.txt"
    answer = bot_api.client.post(
        "/api/v1/bots/support-bot/files",
        {"file": empty},
        headers={**bot_api.headers, "accept-language": "de"},
    )
    assert answer.status_code == 422
    assert answer["Content-Language"] == "en"
    assert answer.json()["message"] == "The file is empty."
    assert answer.json()["fields"] == {"file": "The file is empty."}
