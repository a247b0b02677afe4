"""Waiting on the customer: the assignee (or an admin) sets an assigned ticket waiting; the
inbox shows it apart (its own filter, count and chip, after the assigned tickets); it is
assigned again by itself the moment the customer writes, live in every tab; with
DESK_WAITING_CLOSE_AFTER_SECONDS a silent customer's ticket closes (waitingTimeout)."""

import time

import pytest
from asgiref.sync import sync_to_async
from django.test import Client

from bots.models import Event
from desk import selectors, services
from desk.assignment import ticket_transfer
from desk.exceptions import Conflict, NotAllowed, TicketClosed
from desk.models import Message, Ticket
from tests.test_live_inbox import opened

MESSAGES = "/api/v1/bots/support-bot/conversations/{}/messages"


def assigned(bot, agent, conversation_id="c1", **fields) -> Ticket:
    ticket = services.start_hitl(bot=bot, conversation_id=conversation_id, **fields)[0]
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    return Ticket.objects.get(pk=ticket.pk)


def customer_writes(bot_api, conversation_id="c1", text="Here is my order number", **extra):
    r = bot_api.post(MESSAGES.format(conversation_id), {"text": text, **extra})
    assert r.status_code == 202, r.content
    return r


def lines(ticket: Ticket) -> list[str]:
    return list(ticket.messages.filter(kind="system").values_list("text", flat=True))


# --- setting it -------------------------------------------------------------------------


def test_the_assignee_sets_an_assigned_ticket_waiting(connected_bot, agent):
    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    ticket.refresh_from_db()
    assert ticket.status == "waiting" and ticket.assignee == agent
    assert ticket.waiting_started_at is not None
    assert lines(ticket)[-1] == "Maya Lopez is waiting for the customer's answer."


def test_an_admin_may_set_it_and_another_agent_may_not(
    connected_bot, agent, other_agent, admin_user
):
    ticket = assigned(connected_bot, agent)
    with pytest.raises(NotAllowed):
        services.ticket_wait(ticket_id=ticket.pk, agent=other_agent)
    assert Ticket.objects.get(pk=ticket.pk).status == "assigned"
    services.ticket_wait(ticket_id=ticket.pk, agent=admin_user)
    assert Ticket.objects.get(pk=ticket.pk).status == "waiting"


def test_a_pending_or_closed_ticket_cannot_wait(connected_bot, agent):
    pending = services.start_hitl(bot=connected_bot, conversation_id="p")[0]
    with pytest.raises(Conflict):
        services.ticket_wait(ticket_id=pending.pk, agent=agent)
    closed = assigned(connected_bot, agent, "c")
    services.ticket_close(ticket_id=closed.pk, agent=agent)
    with pytest.raises(TicketClosed):
        services.ticket_wait(ticket_id=closed.pk, agent=agent)
    assert Ticket.objects.get(pk=pending.pk).status == "pending"


def test_the_ticket_page_sets_it_with_a_plain_post(connected_bot, agent, agent_client):
    ticket = assigned(connected_bot, agent)
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Wait for the customer" in page
    r = agent_client.post(f"/tickets/{ticket.pk}/actions/", {"action": "wait"})
    assert r.status_code == 302
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert 'class="status status-waiting">waiting<' in page
    assert "for the customer's answer since" in page and "Stop waiting" in page
    assert "Closes by itself" not in page  # DESK_WAITING_CLOSE_AFTER_SECONDS is off
    agent_client.post(f"/tickets/{ticket.pk}/actions/", {"action": "resume"})
    ticket.refresh_from_db()
    assert ticket.status == "assigned" and ticket.waiting_started_at is None
    assert lines(ticket)[-1] == "Maya Lopez stopped waiting for the customer."


def test_the_side_bar_says_when_it_closes_by_itself(
    connected_bot, agent, agent_client, settings
):
    settings.DESK_WAITING_CLOSE_AFTER_SECONDS = 3600
    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    page = agent_client.get(f"/tickets/{ticket.pk}/").content.decode()
    assert "Closes by itself if the customer is still silent at" in page


def test_replying_keeps_it_waiting(connected_bot, agent):
    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    services.ticket_reply(ticket_id=ticket.pk, agent=agent, text="Any news?")
    assert Ticket.objects.get(pk=ticket.pk).status == "waiting"


# --- the customer answers --------------------------------------------------------------


def test_it_is_assigned_again_the_moment_the_customer_writes(bot_api, connected_bot, agent):
    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    customer_writes(bot_api, messageId="m-1")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.waiting_started_at) == (
        "assigned", agent, None
    )
    kinds = list(ticket.messages.order_by("pk").values_list("kind", "text"))
    assert kinds[-2:] == [
        ("user", "Here is my order number"),
        ("system", "The customer answered: the ticket is assigned again."),
    ]
    # The same message relayed again changes nothing more.
    customer_writes(bot_api, messageId="m-1")
    answered = ticket.messages.filter(kind="system", text__startswith="The customer answered")
    assert answered.count() == 1


def test_an_assigned_ticket_stays_as_it_was_when_the_customer_writes(
    bot_api, connected_bot, agent
):
    ticket = assigned(connected_bot, agent)
    customer_writes(bot_api)
    assert Ticket.objects.get(pk=ticket.pk).status == "assigned"
    assert not ticket.messages.filter(text__startswith="The customer answered").exists()


def test_start_hitl_and_stop_hitl_know_a_waiting_ticket(bot_api, connected_bot, agent):
    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    again = bot_api.post("/api/v1/bots/support-bot/startHitl", {"conversationId": "c1"})
    assert again.status_code == 200 and again.json()["status"] == "waiting"
    stopped = bot_api.post("/api/v1/bots/support-bot/stopHitl", {"conversationId": "c1"})
    assert stopped.status_code == 200 and stopped.json()["status"] == "closed"


def test_a_waiting_ticket_can_be_transferred_and_counts_toward_its_agents_load(
    connected_bot, agent, other_agent
):
    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    assert selectors.open_loads([agent.pk]) == {agent.pk: 1}
    ticket_transfer(ticket_id=ticket.pk, agent=agent, to=other_agent)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.assignee, ticket.waiting_started_at) == (
        "assigned", other_agent, None
    )


# --- the inbox ---------------------------------------------------------------------------


def test_the_inbox_shows_waiting_tickets_apart(connected_bot, agent, other_agent, agent_client):
    mine = assigned(connected_bot, agent, "mine", title="Mine, waiting")
    assigned(connected_bot, agent, "busy", title="Mine, assigned")
    sams = assigned(connected_bot, other_agent, "sams", title="Sam's, waiting")
    services.start_hitl(bot=connected_bot, conversation_id="queue", title="In the queue")
    services.ticket_wait(ticket_id=mine.pk, agent=agent)
    services.ticket_wait(ticket_id=sams.pk, agent=other_agent)

    page = agent_client.get("/?status=waiting")
    assert {t.pk for t in page.context["tickets"]} == {mine.pk, sams.pk}
    html = page.content.decode()
    assert 'id="count-status-waiting">2<' in html
    assert 'id="count-status-open">4<' in html and 'id="count-status-mine">2<' in html
    assert "Waiting on the customer" in html
    assert 'class="status status-waiting">waiting<' in html and "asked the customer" in html
    assert "row-waiting" in html

    everything = agent_client.get("/").context["tickets"]
    assert [t.title for t in everything] == [
        "In the queue", "Mine, assigned", "Mine, waiting", "Sam's, waiting",
    ]
    mine_only = agent_client.get("/?status=mine").context["tickets"]
    assert [t.title for t in mine_only] == ["Mine, assigned", "Mine, waiting"]


# --- live ----------------------------------------------------------------------------------

pytestmark_live = pytest.mark.django_db(transaction=True)

start_hitl = sync_to_async(services.start_hitl)
claim = sync_to_async(services.ticket_claim)
wait = sync_to_async(services.ticket_wait)
post_user_message = sync_to_async(services.post_user_message)


@pytestmark_live
async def test_every_tab_sees_it_wait_and_come_back_when_the_customer_writes(
    agent, other_agent, connected_bot
):
    ticket, _ = await start_hitl(bot=connected_bot, conversation_id="c1", title="Where is it")
    await claim(ticket_id=ticket.pk, agent=agent)
    waiting_tab = await opened("/ws/desk/?inbox=1&status=waiting", other_agent)
    open_tab = await opened("/ws/desk/?inbox=1", other_agent)
    ticket_tab = await opened(f"/ws/desk/?ticket={ticket.pk}", agent)
    for tab in (waiting_tab, open_tab, ticket_tab):
        await tab.drain()

    await wait(ticket_id=ticket.pk, agent=agent)
    row = await waiting_tab.wait_for(f'id="ticket-{ticket.pk}"')
    assert "row-waiting" in row and "gone" not in row
    assert "row-waiting" in await open_tab.wait_for(f'id="ticket-{ticket.pk}"')
    counts = await open_tab.wait_for('id="count-status-waiting"')
    assert 'id="count-status-waiting" hx-swap-oob="true">1<' in counts
    assert 'status-waiting' in await ticket_tab.wait_for('id="ticket-details"')
    for tab in (waiting_tab, open_tab, ticket_tab):
        await tab.drain()

    await post_user_message(bot=connected_bot, conversation_id="c1", text="It is 1042")
    gone = await waiting_tab.wait_for(f'id="ticket-{ticket.pk}"')
    assert 'class="gone"' in gone  # it left the waiting list
    back = await open_tab.wait_for(f'id="ticket-{ticket.pk}" role="row"')
    assert "row-assigned" in back
    counts = await open_tab.wait_for('id="count-status-waiting"')
    assert 'id="count-status-waiting" hx-swap-oob="true">0<' in counts
    details = await ticket_tab.wait_for('id="ticket-details"')
    assert "status-assigned" in details and "Wait for the customer" in details
    assert "The customer answered" in await ticket_tab.find("The customer answered")
    for tab in (waiting_tab, open_tab, ticket_tab):
        await tab.close()


# --- closing by itself ------------------------------------------------------------------------

pytest_plugins = ["webhook_receiver"]  # the worker and fast_retries fixtures


@pytest.fixture
def closes_after_a_second(settings):
    settings.DESK_WAITING_CLOSE_AFTER_SECONDS = 1


def wait_closed(ticket: Ticket, timeout: float = 5, started: float | None = None) -> float:
    """Seconds from `started` (a time.monotonic() taken before the ticket began to
    wait: a slow call must not shorten what is measured) until the ticket is closed."""
    started = time.monotonic() if started is None else started
    while time.monotonic() - started < timeout:
        ticket.refresh_from_db()
        if ticket.status == "closed":
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("the ticket never closed")


@pytestmark_live
def test_a_silent_customers_ticket_closes_after_the_configured_time(
    bot_api, connected_bot, agent, closes_after_a_second, worker
):
    ticket = assigned(connected_bot, agent)
    started = time.monotonic()
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    elapsed = wait_closed(ticket, started=started)
    assert 0.8 < elapsed < 2.5
    assert ticket.close_reason == "waiting" and ticket.closed_by is None
    assert lines(ticket)[-1] == "Closed: the customer did not answer in time."
    stopped = Event.objects.get(bot=connected_bot, type="hitlStopped")
    [event] = [e for e in bot_api.get("/api/v1/bots/support-bot/events").json()["events"]
               if e["type"] == "hitlStopped"]
    assert event["reason"] == "waitingTimeout" and event["conversationId"] == "c1"
    assert event["message"] == connected_bot.session_ended_message.replace(
        "{agentName}", "Maya Lopez"
    )
    assert stopped.payload["reason"] == "waitingTimeout"
    assert selectors.open_loads([agent.pk]) == {}


@pytestmark_live
def test_a_customer_who_answers_in_time_keeps_the_ticket_open(
    bot_api, connected_bot, agent, closes_after_a_second, worker
):
    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    time.sleep(0.4)
    customer_writes(bot_api)
    time.sleep(1.5)  # past the moment it would have closed
    ticket.refresh_from_db()
    assert ticket.status == "assigned"
    assert not Event.objects.filter(type="hitlStopped").exists()


@pytestmark_live
def test_a_second_wait_is_timed_from_its_own_start(
    bot_api, connected_bot, agent, closes_after_a_second, worker
):
    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    time.sleep(0.6)
    services.ticket_stop_waiting(ticket_id=ticket.pk, agent=agent)
    started = time.monotonic()  # before the second wait begins: a slow call adds nothing
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    ticket.refresh_from_db()
    assert ticket.status == "waiting"
    time.sleep(0.7)  # the first wait's task is due now: it finds another wait
    ticket.refresh_from_db()
    assert ticket.status == "waiting"
    wait_closed(ticket)
    assert time.monotonic() - started > 0.9


@pytestmark_live
def test_without_the_setting_nothing_is_scheduled(connected_bot, agent, worker):
    from django_tasks_db.models import DBTaskResult

    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    assert not DBTaskResult.objects.filter(
        task_path__endswith="close_silent_waiting_ticket"
    ).exists()
    time.sleep(0.3)
    assert Ticket.objects.get(pk=ticket.pk).status == "waiting"


def test_a_message_of_the_customer_is_counted_once_per_ticket(connected_bot, agent):
    # The flip is a conditional UPDATE: a second message finds nothing to flip.
    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    services.post_user_message(bot=connected_bot, conversation_id="c1", text="one")
    services.post_user_message(bot=connected_bot, conversation_id="c1", text="two")
    assert Message.objects.filter(text__startswith="The customer answered").count() == 1


def test_a_plain_post_by_another_agent_is_refused_with_a_message(
    connected_bot, agent, other_agent
):
    ticket = assigned(connected_bot, agent)
    client = Client()
    client.force_login(other_agent)
    r = client.post(f"/tickets/{ticket.pk}/actions/", {"action": "wait"}, follow=True)
    assert "Only Maya Lopez or an admin can set this ticket waiting." in r.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == "assigned"


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_racing_messages_bring_a_waiting_ticket_back_once(connected_bot, agent):
    """Eight customer messages at once (a bot relaying a burst), on their own database
    connections: the ticket is assigned again exactly once, with one system line."""
    import threading

    from django.db import connection

    ticket = assigned(connected_bot, agent)
    services.ticket_wait(ticket_id=ticket.pk, agent=agent)
    racers = 8
    barrier = threading.Barrier(racers, timeout=20)
    errors = []

    def write(n: int) -> None:
        try:
            barrier.wait()
            services.post_user_message(
                bot=connected_bot, conversation_id="c1", text=f"part {n}", external_id=f"m{n}"
            )
        except Exception as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=write, args=(n,)) for n in range(racers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    ticket.refresh_from_db()
    assert ticket.status == "assigned"
    assert Message.objects.filter(ticket=ticket, kind="user").count() == racers
    assert Message.objects.filter(text__startswith="The customer answered").count() == 1
