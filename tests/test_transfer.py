"""Transfer: an assigned ticket goes to another agent or back to the queue, with an
optional internal note; the bot hears hitlAssigned (reassigned) with its
agentTransferredMessage, or hitlQueued with its place in line."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.test import Client
from test_live_inbox import opened
from test_routing import on_shift, set_mode

from bots.models import Event
from desk import assignment, services
from desk.models import AgentProfile, Message, Ticket

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def no_queue_update_pending():
    """No flag left in the process's cache by an earlier test's queued update."""
    cache.clear()


@pytest.fixture
def ticket(connected_bot, agent):
    ticket, _ = services.start_hitl(
        bot=connected_bot, conversation_id="conv-1", title="Refund", user_name="Jordan"
    )
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    ticket.refresh_from_db()
    return ticket


def act(client: Client, ticket, **data):
    return client.post(f"/tickets/{ticket.pk}/actions/", {"ticket": ticket.pk, **data})


def flash(client: Client, response) -> str:
    return client.get(response.url).content.decode()


def last_event(type_: str) -> dict:
    return Event.objects.filter(type=type_).order_by("-pk").first().payload


def test_the_assignee_transfers_to_another_agent_with_a_note(
    agent_client, ticket, other_agent
):
    response = act(
        agent_client, ticket, action="transfer", assignee=other_agent.pk,
        note="Sam knows billing",
    )
    assert "Ticket transferred." in flash(agent_client, response)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == ("assigned", other_agent)
    lines = list(Message.objects.filter(ticket=ticket).values_list("kind", "text"))
    assert ("system", "Maya Lopez transferred the ticket to Sam Okafor.") in lines
    assert ("note", "Sam knows billing") in lines  # internal: never sent to the bot
    assigned = last_event("hitlAssigned")
    assert assigned["reassigned"] is True
    assert assigned["agentName"] == "Sam Okafor"
    assert assigned["message"] == "Sam Okafor has taken over the conversation."
    assert not Event.objects.filter(payload__text="Sam knows billing").exists()


def test_the_bots_own_transferred_message_is_used(
    connected_bot, bot_api, agent_client, ticket, other_agent
):
    bot_api.put(
        "/api/v1/bots/support-bot", {"agentTransferredMessage": "Now with {agentName}."}
    )
    act(agent_client, ticket, action="transfer", assignee=other_agent.pk)
    assert last_event("hitlAssigned")["message"] == "Now with Sam Okafor."
    events = bot_api.get("/api/v1/bots/support-bot/events").json()["events"]
    assert [e["reassigned"] for e in events if e["type"] == "hitlAssigned"] == [False, True]


def test_back_to_the_queue(agent_client, ticket, agent):
    response = act(agent_client, ticket, action="transfer", assignee="queue", note="Off shift")
    assert "Ticket transferred." in flash(agent_client, response)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.returned_by) == ("pending", None, agent)
    assert Message.objects.filter(
        ticket=ticket, kind="system", text="Maya Lopez returned the ticket to the queue."
    ).exists()
    queued = last_event("hitlQueued")
    assert queued["queuePosition"] == 1
    assert queued["message"] == "You are number 1 in line. An agent will be with you shortly."


def test_routing_does_not_give_a_returned_ticket_back_to_who_returned_it(
    agent_client, ticket, agent, other_agent
):
    set_mode("least_busy")
    on_shift(agent, capacity=5)
    act(agent_client, ticket, action="transfer", assignee="queue")
    assert Ticket.objects.get(pk=ticket.pk).status == "pending"  # only Maya is on shift
    on_shift(other_agent)  # Sam arrives: it is his at once
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee) == ("assigned", other_agent)
    assigned = last_event("hitlAssigned")
    assert (assigned["reassigned"], assigned["agentName"]) == (True, "Sam Okafor")
    assert ticket.returned_by is None


def test_a_transfer_frees_room_for_the_queue_at_once(
    connected_bot, agent_client, ticket, agent, other_agent
):
    set_mode("round_robin")
    on_shift(agent, capacity=1)  # Maya is full with the ticket
    waiting, _ = services.start_hitl(bot=connected_bot, conversation_id="conv-2")
    assert Ticket.objects.get(pk=waiting.pk).status == "pending"
    # Sam takes no routed tickets (capacity 0), but may be given one.
    assignment.profile_for(other_agent.pk)
    AgentProfile.objects.filter(agent=other_agent).update(capacity=0)
    assignment.presence_arrived(agent=other_agent)
    act(agent_client, ticket, action="transfer", assignee=other_agent.pk)
    assert Ticket.objects.get(pk=waiting.pk).assignee == agent


def test_only_the_assignee_or_an_admin_may_transfer(
    ticket, other_agent, admin_user, admin_client
):
    sam = Client()
    sam.force_login(other_agent)
    response = act(sam, ticket, action="transfer", assignee=other_agent.pk)
    assert "Only the assignee or an admin can transfer this ticket." in flash(sam, response)
    assert Ticket.objects.get(pk=ticket.pk).assignee_id != other_agent.pk
    act(admin_client, ticket, action="transfer", assignee="queue")
    assert Message.objects.filter(
        text="Alex Admin returned Maya Lopez's ticket to the queue."
    ).exists()
    assert Ticket.objects.get(pk=ticket.pk).returned_by.username == "maya"


@pytest.mark.parametrize(
    ("assignee", "refusal"),
    [
        ("", "Choose an agent to transfer the ticket to, or the queue."),
        ("9999", "Choose an agent to transfer the ticket to, or the queue."),
        ("self", "Maya Lopez already has this ticket."),
    ],
)
def test_a_bad_transfer_is_refused_and_changes_nothing(
    agent_client, ticket, agent, assignee, refusal
):
    before = Message.objects.filter(ticket=ticket).count()
    response = act(
        agent_client, ticket, action="transfer",
        assignee=agent.pk if assignee == "self" else assignee, note="why",
    )
    assert refusal in flash(agent_client, response)
    assert Message.objects.filter(ticket=ticket).count() == before
    assert Ticket.objects.get(pk=ticket.pk).assignee == agent


def test_a_waiting_ticket_is_assigned_not_transferred(connected_bot, agent_client):
    waiting, _ = services.start_hitl(bot=connected_bot, conversation_id="conv-9")
    response = act(agent_client, waiting, action="transfer", assignee="queue")
    assert "Only an assigned ticket can be transferred" in flash(agent_client, response)


def test_a_disabled_agent_cannot_be_given_the_ticket(agent_client, ticket):
    gone = get_user_model().objects.create_user("gone", first_name="Gone", is_active=False)
    act(agent_client, ticket, action="transfer", assignee=gone.pk)
    assert Ticket.objects.get(pk=ticket.pk).assignee.username == "maya"


async def test_a_transfer_over_the_websocket_shows_in_every_tab(ticket, agent, other_agent):
    maya = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    sam = await opened(f"/ws/desk/?ticket={ticket.pk}", other_agent)
    await maya.send(action="transfer", ticket=ticket.pk, assignee=str(other_agent.pk), note="")
    for tab in (maya, sam):
        await tab.wait_for("Maya Lopez transferred the ticket to Sam Okafor.")
        details = await tab.find('id="ticket-details"')
        assert "Sam Okafor" in details
    await maya.close()
    await sam.close()
    assert (await Ticket.objects.aget(pk=ticket.pk)).assignee_id == other_agent.pk
