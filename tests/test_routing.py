"""Routing: with an automatic mode, new tickets go at once to an eligible agent (online,
with a Desk tab open, under capacity), and the queue drains by itself, highest priority
then oldest, the moment capacity appears."""

import threading
import time

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from test_live_inbox import opened

from bots.models import Event
from desk import assignment, services
from desk.models import AgentProfile, Presence, RoutingSettings, Ticket

pytest_plugins = ["webhook_receiver"]  # the worker fixture
# Drains run once a transaction commits, as in production: every test commits for real.
pytestmark = pytest.mark.django_db(transaction=True)


def set_mode(mode: str) -> None:
    assignment.routing_settings()
    RoutingSettings.objects.filter(pk=1).update(mode=mode)


def on_shift(*agents, capacity: int = 5) -> None:
    """The agents are online with a Desk tab open."""
    for agent in agents:
        assignment.presence_arrived(agent=agent)
        AgentProfile.objects.filter(agent=agent).update(capacity=capacity)


def escalate(bot, conversation_id: str, **fields) -> Ticket:
    ticket, created = services.start_hitl(bot=bot, conversation_id=conversation_id, **fields)
    assert created
    ticket.refresh_from_db()
    return ticket


def assignees(*tickets) -> list:
    return [Ticket.objects.get(pk=t.pk).assignee_id for t in tickets]


@pytest.fixture
def third_agent(db):
    return get_user_model().objects.create_user(
        "lee", password=None, first_name="Lee", last_name="Park"
    )


# --- the modes -----------------------------------------------------------------------------


def test_manual_mode_leaves_new_tickets_in_the_queue(connected_bot, agent):
    on_shift(agent)
    ticket = escalate(connected_bot, "c1")
    assert (ticket.status, ticket.assignee_id) == ("pending", None)


def test_manual_is_the_default(db):
    assert assignment.routing_settings().mode == "manual"


def test_round_robin_takes_turns(connected_bot, agent, other_agent, third_agent):
    set_mode("round_robin")
    on_shift(agent, other_agent, third_agent)
    tickets = [escalate(connected_bot, f"c{n}") for n in range(6)]
    order = assignees(*tickets)
    assert sorted(order[:3]) == sorted([agent.pk, other_agent.pk, third_agent.pk])
    assert order[3:] == order[:3]


def test_least_busy_picks_the_lowest_load(connected_bot, agent, other_agent):
    set_mode("least_busy")
    busy_one = escalate(connected_bot, "before")  # manual until on shift: stays pending
    services.ticket_claim(ticket_id=busy_one.pk, agent=agent)
    on_shift(agent, other_agent)
    first, second, third = (escalate(connected_bot, f"c{n}") for n in range(3))
    # Sam has none, Maya one: Sam. Then one each: the tie goes to whoever was assigned
    # longest ago (Maya, at her claim). Then Maya two, Sam one: Sam.
    assert assignees(first, second, third) == [other_agent.pk, agent.pk, other_agent.pk]


def test_least_busy_compares_load_with_capacity(connected_bot, agent, other_agent):
    on_shift(agent, capacity=10)
    on_shift(other_agent, capacity=2)
    for n in range(3):
        services.ticket_claim(ticket_id=escalate(connected_bot, f"m{n}").pk, agent=agent)
    set_mode("least_busy")
    # Maya 3/10 (0.3), Sam 0/2 (0): Sam; then Sam 1/2 (0.5) against Maya 0.3: Maya.
    first, second = escalate(connected_bot, "a"), escalate(connected_bot, "b")
    assert assignees(first, second) == [other_agent.pk, agent.pk]


# --- who is eligible -----------------------------------------------------------------------


@pytest.mark.parametrize("availability", ["busy", "offline"])
def test_busy_and_offline_agents_get_no_new_tickets(connected_bot, agent, availability):
    set_mode("least_busy")
    on_shift(agent)
    assignment.agent_set_availability(agent=agent, availability=availability)
    assert escalate(connected_bot, "c").status == "pending"


def test_an_agent_with_no_open_tab_gets_no_new_tickets(connected_bot, agent, settings):
    set_mode("least_busy")
    on_shift(agent)
    Presence.objects.filter(agent=agent).update(
        last_seen_at=Presence.objects.get(agent=agent).last_seen_at.replace(year=2000)
    )
    assert escalate(connected_bot, "c").status == "pending"


def test_an_agent_at_capacity_gets_no_more(connected_bot, agent):
    set_mode("round_robin")
    on_shift(agent, capacity=2)
    tickets = [escalate(connected_bot, f"c{n}") for n in range(3)]
    assert [t.status for t in tickets] == ["assigned", "assigned", "pending"]


def test_a_disabled_account_gets_no_new_tickets(connected_bot, agent):
    set_mode("round_robin")
    on_shift(agent)
    agent.is_active = False
    agent.save(update_fields=["is_active"])
    assert escalate(connected_bot, "c").status == "pending"


def test_claiming_may_go_beyond_capacity_in_every_mode(connected_bot, agent):
    set_mode("least_busy")
    on_shift(agent, capacity=1)
    escalate(connected_bot, "mine")
    AgentProfile.objects.filter(agent=agent).update(availability="busy")
    extra = escalate(connected_bot, "extra")
    services.ticket_claim(ticket_id=extra.pk, agent=agent)
    assert Ticket.objects.filter(assignee=agent, status="assigned").count() == 2


# --- what the bot and the transcript hear ------------------------------------------------


def test_a_routed_ticket_tells_the_bot_and_the_transcript(connected_bot, agent):
    set_mode("least_busy")
    on_shift(agent)
    ticket = escalate(connected_bot, "c")
    [event] = Event.objects.filter(ticket=ticket)
    assert event.type == "hitlAssigned"
    assert event.payload["agentName"] == "Maya Lopez"
    assert event.payload["reassigned"] is False
    assert event.payload["message"] == connected_bot.agent_assigned_message
    line = ticket.messages.get(kind="system")
    assert line.text == "Routing assigned the ticket to Maya Lopez (least busy)."


def test_start_hitl_answers_with_the_assigned_ticket(bot_api, connected_bot, agent):
    set_mode("round_robin")
    on_shift(agent)
    response = bot_api.post(
        "/api/v1/bots/support-bot/startHitl", {"conversationId": "c", "priority": "high"}
    )
    assert response.status_code == 201
    assert response.json()["status"] == "assigned"


# --- the queue drains --------------------------------------------------------------------


def test_the_queue_drains_highest_priority_then_oldest_when_an_agent_arrives(
    connected_bot, agent
):
    set_mode("least_busy")
    old_low = escalate(connected_bot, "old-low", priority="low")
    medium = escalate(connected_bot, "medium", priority="medium")
    urgent = escalate(connected_bot, "urgent", priority="urgent")
    medium_later = escalate(connected_bot, "medium-later", priority="medium")
    AgentProfile.objects.create(agent=agent, capacity=2)
    assignment.presence_arrived(agent=agent)  # a tab opens
    statuses = [Ticket.objects.get(pk=t.pk).status for t in (urgent, medium, medium_later, old_low)]
    assert statuses == ["assigned", "assigned", "pending", "pending"]


def test_it_drains_when_an_agent_reconnects_after_being_away(connected_bot, agent):
    set_mode("least_busy")
    on_shift(agent)
    Presence.objects.filter(agent=agent).update(
        last_seen_at=Presence.objects.get(agent=agent).last_seen_at.replace(year=2000)
    )
    ticket = escalate(connected_bot, "c")
    assert ticket.status == "pending"
    assignment.presence_arrived(agent=agent)
    assert assignees(ticket) == [agent.pk]


def test_it_drains_when_an_agent_comes_back_online(connected_bot, agent):
    set_mode("least_busy")
    on_shift(agent)
    assignment.agent_set_availability(agent=agent, availability="busy")
    ticket = escalate(connected_bot, "c")
    assignment.agent_set_availability(agent=agent, availability="online")
    assert assignees(ticket) == [agent.pk]


def test_closing_a_ticket_hands_the_next_one_over_at_once(connected_bot, agent):
    set_mode("round_robin")
    on_shift(agent, capacity=1)
    first, waiting = escalate(connected_bot, "first"), escalate(connected_bot, "waiting")
    assert assignees(first, waiting) == [agent.pk, None]
    services.ticket_close(ticket_id=first.pk, agent=agent)
    assert assignees(waiting) == [agent.pk]


def test_the_bot_stopping_a_ticket_frees_the_capacity_too(connected_bot, agent):
    set_mode("round_robin")
    on_shift(agent, capacity=1)
    escalate(connected_bot, "first")
    waiting = escalate(connected_bot, "waiting")
    services.stop_hitl(bot=connected_bot, conversation_id="first")
    assert assignees(waiting) == [agent.pk]


def test_raising_a_capacity_drains_the_queue(connected_bot, agent, admin_user):
    set_mode("round_robin")
    on_shift(agent, capacity=1)
    tickets = [escalate(connected_bot, f"c{n}") for n in range(3)]
    assignment.agent_set_capacity(agent_id=agent.pk, capacity=3, by=admin_user)
    assert assignees(*tickets) == [agent.pk] * 3


def test_turning_routing_on_drains_the_queue(connected_bot, agent, admin_user):
    on_shift(agent)
    tickets = [escalate(connected_bot, f"c{n}") for n in range(2)]
    assignment.routing_set_mode(mode="least_busy", by=admin_user)
    assert assignees(*tickets) == [agent.pk] * 2


def test_a_long_queue_finishes_draining_on_the_worker(connected_bot, agent, worker):
    set_mode("least_busy")
    tickets = [escalate(connected_bot, f"c{n}") for n in range(assignment.INLINE_DRAIN + 7)]
    AgentProfile.objects.create(agent=agent, capacity=50)
    assignment.presence_arrived(agent=agent)
    # A tab's arrival assigns a few at once, in its own request; the worker the rest.
    deadline = time.monotonic() + 10
    while Ticket.objects.filter(status="pending").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert assignees(*tickets) == [agent.pk] * len(tickets)


# --- the settings page -------------------------------------------------------------------


def test_admins_choose_the_routing_mode(admin_client):
    page = admin_client.get("/settings/routing/").content.decode()
    assert 'value="manual" checked' in page
    response = admin_client.post("/settings/routing/", {"mode": "round_robin"})
    assert response.status_code == 302
    assert assignment.routing_settings().mode == "round_robin"
    assert 'value="round_robin" checked' in admin_client.get("/settings/routing/").content.decode()


def test_an_unknown_mode_is_refused_and_changes_nothing(admin_client):
    response = admin_client.post("/settings/routing/", {"mode": "lottery"})
    assert response.status_code == 422
    assert "Choose manual, round robin or least busy." in response.content.decode()
    assert assignment.routing_settings().mode == "manual"


def test_the_routing_page_is_for_admins_only(agent_client, client, db):
    assert agent_client.get("/settings/routing/").status_code == 403
    assert agent_client.post("/settings/routing/", {"mode": "round_robin"}).status_code == 403
    assert client.get("/settings/routing/").status_code == 302
    assert assignment.routing_settings().mode == "manual"


# --- live ----------------------------------------------------------------------------------


async def test_the_assigned_agents_tab_shows_the_ticket_at_once(connected_bot, agent):
    from asgiref.sync import sync_to_async

    await sync_to_async(set_mode)("least_busy")
    tab = await opened("/ws/desk/?inbox=1", agent)  # the open tab makes Maya present
    await tab.drain()
    await sync_to_async(services.start_hitl)(
        bot=connected_bot, conversation_id="c", title="Routed to Maya"
    )
    row = await tab.wait_for('role="row"')  # (its alert may come first)
    assert "Routed to Maya" in row and "status-assigned" in row and "Maya Lopez" in row
    mine = await tab.wait_for('id="count-status-mine"')
    assert '>1</span>' in mine
    await tab.close()


# --- racing assigners ----------------------------------------------------------------------


def race(threads: int, work) -> list[Exception]:
    barrier = threading.Barrier(threads, timeout=20)
    errors: list[Exception] = []

    def run(n: int) -> None:
        try:
            barrier.wait()
            work(n)
        except Exception as exc:  # reported by the caller
            errors.append(exc)
        finally:
            connection.close()

    pool = [threading.Thread(target=run, args=(n,)) for n in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join(timeout=60)
    return errors


@pytest.mark.concurrency
def test_racing_drains_never_exceed_a_capacity_nor_assign_a_ticket_twice(
    connected_bot, agent, other_agent, third_agent
):
    """Eight assigners at once (as two servers and a worker would be) over twelve waiting
    tickets and three agents with room for two each."""
    tickets = [escalate(connected_bot, f"c{n}") for n in range(12)]
    on_shift(agent, other_agent, third_agent, capacity=2)
    set_mode("least_busy")
    errors = race(8, lambda n: assignment.drain())
    assert not errors
    for person in (agent, other_agent, third_agent):
        assert Ticket.objects.filter(assignee=person, status="assigned").count() == 2
    assert Ticket.objects.filter(status="pending").count() == 6
    for ticket in tickets:
        assert Event.objects.filter(ticket=ticket, type="hitlAssigned").count() == (
            1 if Ticket.objects.get(pk=ticket.pk).status == "assigned" else 0
        )


@pytest.mark.concurrency
def test_racing_drains_and_claims_never_assign_a_ticket_twice(
    connected_bot, agent, other_agent, third_agent
):
    tickets = [escalate(connected_bot, f"c{n}") for n in range(10)]
    on_shift(agent, other_agent, capacity=3)
    set_mode("round_robin")

    def work(n: int) -> None:
        if n % 2:
            assignment.drain()
            return
        for ticket in tickets[n::3]:
            try:
                services.ticket_claim(ticket_id=ticket.pk, agent=third_agent)
            except services.AlreadyClaimed:
                pass

    assert not race(6, work)
    for ticket in tickets:
        assert Event.objects.filter(ticket=ticket, type="hitlAssigned").count() <= 1
        assert ticket.messages.filter(kind="system").count() <= 1
    # Routing kept within capacity whatever the claims did.
    for person in (agent, other_agent):
        assert Ticket.objects.filter(assignee=person, status="assigned").count() <= 3
