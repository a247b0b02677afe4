"""A ticket nobody claims within the bot's agentAssignedTimeoutSeconds closes by itself."""

import time

import pytest

from bots.models import Event
from bots.services import bot_set_connected
from bots.worker import EmbeddedWorker
from desk import services
from desk.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["webhook_receiver"]  # the receiver, worker and fast_retries fixtures


@pytest.fixture
def impatient_bot(bot_api):
    r = bot_api.put("/api/v1/bots/impatient", {
        "agentAssignedTimeoutSeconds": 1,
        "agentAssignedTimeoutMessage": "Sorry, {agentName} could not make it. Try again later.",
    })
    assert r.status_code == 201
    return bot_set_connected(bot_id="impatient", connected=True)


def start(bot_api, conversation_id="conv-1") -> Ticket:
    r = bot_api.post("/api/v1/bots/impatient/startHitl", {"conversationId": conversation_id})
    assert r.status_code == 201
    return Ticket.objects.get(pk=r.json()["number"])


def wait_closed(ticket: Ticket, timeout: float = 5) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        ticket.refresh_from_db()
        if ticket.status == "closed":
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("the ticket never closed")


def test_it_closes_on_time_with_no_request_arriving(bot_api, impatient_bot, worker):
    ticket = start(bot_api)
    elapsed = wait_closed(ticket)
    assert 0.8 < elapsed < 2.5
    assert ticket.close_reason == "unassigned"
    r = bot_api.get("/api/v1/bots/impatient/events")
    [event] = r.json()["events"]
    assert event["type"] == "hitlStopped"
    assert event["reason"] == "timeout"
    assert event["message"] == "Sorry, a support agent could not make it. Try again later."
    assert event["conversationId"] == "conv-1"


@pytest.mark.concurrency
def test_it_fires_exactly_once_across_several_workers(bot_api, impatient_bot, worker):
    others = [EmbeddedWorker(interval=0.01).start() for _ in range(3)]
    try:
        tickets = [start(bot_api, f"conv-{n}") for n in range(4)]
        for ticket in tickets:
            wait_closed(ticket)
        time.sleep(0.3)
    finally:
        for other in others:
            other.stop()
    stopped = Event.objects.filter(bot=impatient_bot, type="hitlStopped")
    assert stopped.count() == 4
    assert sorted(stopped.values_list("conversation_id", flat=True)) == [
        f"conv-{n}" for n in range(4)
    ]


def test_a_claimed_ticket_stays_open(bot_api, impatient_bot, agent, worker):
    ticket = start(bot_api)
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    time.sleep(1.5)
    ticket.refresh_from_db()
    assert ticket.status == "assigned"
    types = [e["type"] for e in bot_api.get("/api/v1/bots/impatient/events").json()["events"]]
    assert types == ["hitlAssigned"]


def test_without_a_timeout_nothing_is_scheduled(bot_api, connected_bot, worker):
    from django_tasks_db.models import DBTaskResult

    r = bot_api.post("/api/v1/bots/support-bot/startHitl", {"conversationId": "c"})
    assert r.status_code == 201
    assert not DBTaskResult.objects.filter(task_path__endswith="expire_unassigned_ticket").exists()


def test_it_fires_on_time_while_every_delivery_thread_waits_on_a_slow_receiver(
    bot_api, impatient_bot, agent, receiver, fast_retries, settings
):
    # One delivery thread, held for 3 s by a receiver that takes 5 s to answer: the
    # embedded worker's thread for timers alone still closes the ticket when it is due.
    from bots.worker import WorkerPool
    from tests.test_webhooks import deploy, handoff

    settings.DESK_WEBHOOK_TIMEOUT_SECONDS = 3
    receiver.secret = deploy(bot_api, receiver.url)
    receiver.delay = 5.0
    pool = WorkerPool(1, interval=0.05).start()
    try:
        handoff(bot_api, agent, replies=())
        deadline = time.monotonic() + 5
        while not receiver.in_flight:  # the delivery thread is now waiting on the receiver
            assert time.monotonic() < deadline, "the webhook was never sent"
            time.sleep(0.02)
        ticket = start(bot_api)
        elapsed = wait_closed(ticket)
        assert 0.8 < elapsed < 1.6
        assert receiver.in_flight  # the delivery thread was busy all along
    finally:
        receiver.delay = 0
        pool.stop()
