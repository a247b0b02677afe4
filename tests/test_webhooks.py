"""Events reach the bot's webhook: signed, in order, at least once, retried until they land."""

import time

import pytest

from bots.services import bot_set_connected
from bots.worker import EmbeddedWorker
from desk import services
from desk.models import Ticket

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["webhook_receiver"]  # the receiver, worker and fast_retries fixtures


def deploy(bot_api, url: str, bot_id: str = "hook-bot") -> str:
    """Deploy with a webhook URL and enable the bot; its signing secret."""
    r = bot_api.put(f"/api/v1/bots/{bot_id}", {"name": "Hook Bot", "webhookUrl": url,
                    "agentAssignedMessage": "{agentName} is here to help."})
    assert r.status_code == 201
    bot_set_connected(bot_id=bot_id, connected=True)
    return r.json()["webhookSecret"]


def handoff(bot_api, agent, conversation_id="conv-1", replies=("Hi!", "Checking…", "Done."),
            bot_id="hook-bot"):
    """A whole handoff: escalate, claim, agent replies, close. 2 + len(replies) events."""
    r = bot_api.post(f"/api/v1/bots/{bot_id}/startHitl", {"conversationId": conversation_id})
    assert r.status_code == 201
    ticket = Ticket.objects.get(pk=r.json()["number"])
    services.ticket_claim(ticket_id=ticket.pk, agent=agent)
    services.ticket_add_note(ticket_id=ticket.pk, agent=agent, text="internal, never sent")
    for text in replies:
        services.ticket_reply(ticket_id=ticket.pk, agent=agent, text=text)
    services.ticket_close(ticket_id=ticket.pk, agent=agent)
    return ticket


def test_events_arrive_signed_and_in_order(bot_api, agent, receiver, worker):
    receiver.secret = deploy(bot_api, receiver.url)
    ticket = handoff(bot_api, agent)
    events = receiver.wait_for(5)
    assert [e["type"] for e in events] == [
        "hitlAssigned", "agentMessage", "agentMessage", "agentMessage", "hitlStopped",
    ]
    assert [e["text"] for e in events[1:4]] == ["Hi!", "Checking…", "Done."]
    assert events[0]["message"] == "Maya Lopez is here to help."
    assert events[0]["agentName"] == "Maya Lopez"
    assert events[-1]["reason"] == "agentClosed"
    assert events[-1]["message"].startswith("The support session has ended.")
    cursors = [e["cursor"] for e in events]
    assert cursors == sorted(cursors)
    for delivery in receiver.deliveries:
        assert delivery.signature_ok
        event = delivery.event
        assert delivery.headers["Desk-Event-Id"] == event["id"]
        assert delivery.headers["Desk-Event-Type"] == event["type"]
        assert delivery.headers["Content-Type"] == "application/json"
        assert event["conversationId"] == "conv-1"
        assert event["ticketId"] == str(ticket.public_id)
        assert event["botId"] == "hook-bot"
        assert event["createdAt"].endswith("Z")
    time.sleep(0.2)
    assert len(receiver.deliveries) == 5  # nothing else, no internal note


def test_with_the_receiver_down_then_up_every_event_arrives_once(
    bot_api, agent, admin_client, receiver, worker
):
    receiver.secret = deploy(bot_api, receiver.url)
    receiver.stop()  # connection refused from now on
    handoff(bot_api, agent)
    _wait(lambda: _state("hook-bot").attempts >= 3)
    page = admin_client.get("/settings/bots/").content.decode()
    assert "5 waiting" in page
    assert "ConnectError" in page

    receiver.start()  # back on the same port
    events = receiver.wait_for(5)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids)) == 5
    assert [e["type"] for e in events] == [
        "hitlAssigned", "agentMessage", "agentMessage", "agentMessage", "hitlStopped",
    ]
    # The receiver has the last event a moment before the worker, back from posting it,
    # records it as delivered: the page says so once the worker has.
    _wait(lambda: "0 waiting" in admin_client.get("/settings/bots/").content.decode())
    assert _state("hook-bot").attempts == 0


def test_a_non_2xx_answer_is_retried_with_the_same_event(bot_api, agent, receiver, worker):
    receiver.secret = deploy(bot_api, receiver.url)
    receiver.fail_next = 2
    handoff(bot_api, agent, replies=())
    events = receiver.wait_for(2)
    tries = [d for d in receiver.deliveries if d.event["type"] == "hitlAssigned"]
    assert [d.headers["_status"] for d in tries] == ["500", "500", "200"]
    assert len({d.event["id"] for d in tries}) == 1
    assert [d.headers["Desk-Delivery-Attempt"] for d in tries] == ["1", "2", "3"]
    assert [e["type"] for e in events] == ["hitlAssigned", "hitlStopped"]


def test_with_an_invalid_secret_the_signature_check_fails(bot_api, agent, receiver, worker):
    secret = deploy(bot_api, receiver.url)
    receiver.secret = "whsec_not-the-right-one"
    handoff(bot_api, agent, replies=())
    _wait(lambda: len(receiver.deliveries) >= 1)
    first = receiver.deliveries[0]
    assert first.signature_ok is False
    assert first.headers["_status"] == "401"
    # The right secret verifies that very request; a changed body or an old one does not.
    assert receiver.verify(secret, first.headers, first.body)
    assert not receiver.verify(secret, first.headers, first.body.replace(b"hitl", b"HITL"))
    stale = dict(first.headers, **{"Desk-Timestamp": str(int(time.time()) - 3600)})
    assert not receiver.verify(secret, stale, first.body)


@pytest.mark.concurrency
def test_two_workers_never_send_the_same_event_at_once(bot_api, agent, receiver, worker):
    receiver.secret = deploy(bot_api, receiver.url)
    receiver.delay = 0.05
    others = [EmbeddedWorker(interval=0.02).start() for _ in range(2)]
    try:
        handoff(bot_api, agent, replies=[f"reply {n}" for n in range(6)])
        events = receiver.wait_for(8)
    finally:
        for other in others:
            other.stop()
    assert receiver.max_in_flight == 1
    assert len(receiver.deliveries) == 8  # each event once: no failure, so no re-send
    assert [e["text"] for e in events[1:7]] == [f"reply {n}" for n in range(6)]


def test_a_hanging_receiver_times_out_and_is_retried(bot_api, agent, receiver, worker, settings):
    settings.DESK_WEBHOOK_TIMEOUT_SECONDS = 0.3
    receiver.secret = deploy(bot_api, receiver.url)
    receiver.delay = 1.0
    handoff(bot_api, agent, replies=())
    _wait(lambda: "ReadTimeout" in _state("hook-bot").last_error)
    receiver.delay = 0
    events = receiver.wait_for(2)
    assert [e["type"] for e in events] == ["hitlAssigned", "hitlStopped"]


def test_a_hanging_receiver_never_holds_up_another_bots_deliveries(
    bot_api, agent, fast_retries, more_receivers, settings
):
    from bots.worker import WorkerPool

    settings.DESK_WEBHOOK_TIMEOUT_SECONDS = 3
    hanging, healthy = more_receivers(), more_receivers()
    hanging.secret = deploy(bot_api, hanging.url, bot_id="bot-slow")
    healthy.secret = deploy(bot_api, healthy.url, bot_id="bot-fine")
    hanging.delay = 5.0
    pool = WorkerPool(2, interval=0.05).start()
    try:
        handoff(bot_api, agent, conversation_id="slow-1", replies=(), bot_id="bot-slow")
        time.sleep(0.3)  # the slow bot's delivery is now hanging on one worker
        started = time.monotonic()
        handoff(bot_api, agent, conversation_id="fine-1", replies=("hi",), bot_id="bot-fine")
        events = healthy.wait_for(3, timeout=2.5)
        assert time.monotonic() - started < 2.5
        assert [e["type"] for e in events] == ["hitlAssigned", "agentMessage", "hitlStopped"]
        assert hanging.events == []
    finally:
        hanging.delay = 0
        pool.stop()


def test_events_queued_without_a_worker_go_out_when_one_starts(
    bot_api, agent, receiver, fast_retries
):
    # The queue is in the database: a restarted server (or a new worker) picks it up.
    receiver.secret = deploy(bot_api, receiver.url)
    handoff(bot_api, agent, replies=("one",))
    time.sleep(0.2)
    assert receiver.deliveries == []
    restarted = EmbeddedWorker(interval=0.05).start()
    try:
        events = receiver.wait_for(3)
    finally:
        restarted.stop()
    assert [e["type"] for e in events] == ["hitlAssigned", "agentMessage", "hitlStopped"]


def test_a_bot_gets_only_the_events_after_it_set_its_webhook(bot_api, agent, receiver, worker):
    r = bot_api.put("/api/v1/bots/hook-bot", {"name": "Hook Bot"})
    bot_set_connected(bot_id="hook-bot", connected=True)
    handoff(bot_api, agent, conversation_id="before", replies=())  # read by long-poll
    r = bot_api.put("/api/v1/bots/hook-bot", {"webhookUrl": receiver.url})
    receiver.secret = r.json()["webhookSecret"]
    handoff(bot_api, agent, conversation_id="after", replies=())
    events = receiver.wait_for(2)
    time.sleep(0.2)
    assert {e["conversationId"] for e in receiver.events} == {"after"}
    assert len(events) == 2


def test_each_bot_gets_only_its_own_events(bot_api, agent, worker, more_receivers):
    first, second = more_receivers(), more_receivers()
    first.secret = deploy(bot_api, first.url, bot_id="bot-a")
    second.secret = deploy(bot_api, second.url, bot_id="bot-b")
    handoff(bot_api, agent, conversation_id="a-1", replies=(), bot_id="bot-a")
    handoff(bot_api, agent, conversation_id="b-1", replies=("hello b",), bot_id="bot-b")
    assert {e["botId"] for e in first.wait_for(2)} == {"bot-a"}
    assert {e["botId"] for e in second.wait_for(3)} == {"bot-b"}


def _state(bot_id: str):
    from bots.models import WebhookState

    return WebhookState.objects.get(bot__bot_id=bot_id)


def _wait(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    raise AssertionError("timed out waiting")


def test_a_delivery_cut_off_by_a_crash_resumes_when_desk_starts(
    bot_api, agent, receiver, fast_retries
):
    from datetime import timedelta

    from django.utils import timezone
    from django_tasks_db.models import DBTaskResult

    from bots.delivery import sweep
    from bots.models import WebhookState

    receiver.secret = deploy(bot_api, receiver.url)
    handoff(bot_api, agent, replies=("one",))
    # The worker died mid-send: its lease ran out, its task is lost with it.
    WebhookState.objects.filter(bot__bot_id="hook-bot").update(
        lease_owner="dead-worker", lease_until=timezone.now() - timedelta(seconds=1)
    )
    DBTaskResult.objects.all().delete()
    assert sweep() == 1  # what `manage.py serve` does as it starts
    restarted = EmbeddedWorker(interval=0.05).start()
    try:
        events = receiver.wait_for(3)
    finally:
        restarted.stop()
    assert [e["type"] for e in events] == ["hitlAssigned", "agentMessage", "hitlStopped"]


def test_an_admin_can_retry_a_failing_webhook_now(
    bot_api, agent, admin_client, receiver, worker, settings
):
    settings.DESK_WEBHOOK_RETRY_BASE_SECONDS = 3600  # left alone, the next try is an hour away
    settings.DESK_WEBHOOK_RETRY_MAX_SECONDS = 3600
    receiver.secret = deploy(bot_api, receiver.url)
    receiver.fail_next = 1
    handoff(bot_api, agent, replies=())
    _wait(lambda: _state("hook-bot").attempts == 1)
    assert "Retry now" in admin_client.get("/settings/bots/").content.decode()

    r = admin_client.post("/settings/bots/hook-bot/retry/", headers={"HX-Request": "true"})
    assert r.status_code == 200
    events = receiver.wait_for(2)
    assert [e["type"] for e in events] == ["hitlAssigned", "hitlStopped"]


def test_only_admins_can_retry(bot_api, agent_client, receiver, worker):
    deploy(bot_api, receiver.url)
    r = agent_client.post("/settings/bots/hook-bot/retry/")
    assert r.status_code in (302, 403)


def test_an_answer_slower_than_the_timeout_in_total_fails_though_each_part_is_quick(
    bot_api, agent, receiver, worker, settings
):
    # Headers after 0.6 s, the body 0.6 s later: each wait is within the 1 s timeout,
    # the whole answer is not. The timeout is the whole attempt's.
    settings.DESK_WEBHOOK_TIMEOUT_SECONDS = 1
    receiver.secret = deploy(bot_api, receiver.url)
    receiver.delay = receiver.body_delay = 0.6
    handoff(bot_api, agent, replies=())
    _wait(lambda: _state("hook-bot").attempts >= 1)
    assert _state("hook-bot").last_error == "ReadTimeout: no complete answer within 1 s"
    assert _state("hook-bot").delivered_count == 0

    receiver.delay = receiver.body_delay = 0
    _wait(lambda: _state("hook-bot").delivered_count == 2)
    assert [e["type"] for e in receiver.events][-2:] == ["hitlAssigned", "hitlStopped"]


def test_the_last_error_gives_the_status_and_never_the_receivers_words(
    bot_api, agent, admin_client, receiver, worker, settings
):
    settings.DESK_WEBHOOK_RETRY_BASE_SECONDS = 3600
    settings.DESK_WEBHOOK_RETRY_MAX_SECONDS = 3600
    receiver.secret = deploy(bot_api, receiver.url)
    receiver.fail_next = 1
    receiver.error_body = b"<h1>Internal</h1><p>db password: hunter2, see 10.0.0.7</p>"
    receiver.error_reason = "Oops hunter2"
    handoff(bot_api, agent, replies=())
    _wait(lambda: _state("hook-bot").attempts == 1)
    assert _state("hook-bot").last_error == "HTTP 500 Internal Server Error"
    page = admin_client.get("/settings/bots/").content.decode()
    assert "HTTP 500 Internal Server Error" in page
    assert "hunter2" not in page
    assert "10.0.0.7" not in page


MiB = 1 << 20


def _peak_memory_reset() -> bool:
    """Reset this process's peak resident size (Linux), so VmHWM measures from now."""
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def _memory(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def test_a_huge_error_answer_is_not_read_and_the_event_is_retried(
    bot_api, agent, receiver, worker
):
    # A 500 with a 200 MB body, twice: Desk reads a few KiB of it and hangs up.
    receiver.secret = deploy(bot_api, receiver.url)
    receiver.fail_next = 2
    receiver.error_body_size = 200 * MiB
    measured = _peak_memory_reset()
    before = _memory("VmRSS")
    handoff(bot_api, agent, replies=())
    events = receiver.wait_for(2, timeout=30)

    tries = [d for d in receiver.deliveries if d.event["type"] == "hitlAssigned"]
    assert [d.headers["_status"] for d in tries] == ["500", "500", "200"]
    assert [d.headers["Desk-Delivery-Attempt"] for d in tries] == ["1", "2", "3"]
    assert [e["type"] for e in events] == ["hitlAssigned", "hitlStopped"]
    # What left the receiver's socket is bounded by the kernel's buffers, not the body.
    assert receiver.bytes_sent < 32 * MiB, f"{receiver.bytes_sent / MiB:.0f} MiB were read"
    if measured:  # the worker runs in this process: its peak memory barely moved
        grew = _memory("VmHWM") - before
        assert grew < 64 * MiB, f"peak memory grew by {grew / MiB:.0f} MiB"


def test_a_delivery_queued_on_the_timers_queue_by_an_older_release_still_goes_out(
    bot_api, agent, receiver, fast_retries
):
    from django_tasks_db.models import DBTaskResult

    from bots.tasks import DELIVERIES, TIMERS

    receiver.secret = deploy(bot_api, receiver.url)
    handoff(bot_api, agent, replies=())
    # Before the queues were split, every task was queued on "default".
    queued = DBTaskResult.objects.filter(task_path="bots.tasks.deliver_webhooks")
    assert queued.update(queue_name="default") >= 1
    timers = EmbeddedWorker(interval=0.05, queues=[TIMERS]).start()
    try:
        _wait(lambda: not queued.filter(queue_name=TIMERS, status="READY").exists())
    finally:
        timers.stop()
    assert receiver.deliveries == []  # the timers' worker handed it over, sent nothing
    assert queued.filter(queue_name=DELIVERIES, status="READY").exists()
    deliveries = EmbeddedWorker(interval=0.05, queues=[DELIVERIES]).start()
    try:
        events = receiver.wait_for(2)
    finally:
        deliveries.stop()
    assert [e["type"] for e in events] == ["hitlAssigned", "hitlStopped"]
