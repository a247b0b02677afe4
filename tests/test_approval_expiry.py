"""A pending approval nobody decides is decided `expired` at its expiry, by the task
worker, with no request arriving, and exactly once however many workers run."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from approvals import services
from approvals.models import Approval
from bots.models import Event
from bots.tasks import TIMERS
from bots.worker import EmbeddedWorker
from desk.exceptions import Conflict

pytestmark = pytest.mark.django_db(transaction=True)
pytest_plugins = ["webhook_receiver"]  # the worker fixture

APPROVALS = "/api/v1/bots/support-bot/approvals"


def ask(bot_api, request_id="r1", seconds=60) -> Approval:
    r = bot_api.post(APPROVALS, {
        "requestId": request_id, "action": "refund", "title": "Refund",
        "arguments": {"amount": 40}, "expiresInSeconds": seconds,
    })
    assert r.status_code == 201, r.content
    return Approval.objects.get(public_id=r.json()["approvalId"])


def soon(approval: Approval, seconds: float = 1.0) -> Approval:
    """Bring the expiry (and its queued task) to `seconds` from now: the API's minimum
    is a minute, too long for a test to wait out."""
    from django_tasks_db.models import DBTaskResult

    due = timezone.now() + timedelta(seconds=seconds)
    Approval.objects.filter(pk=approval.pk).update(expires_at=due)
    tasks = DBTaskResult.objects.filter(task_path__endswith="expire_approval")
    assert tasks.filter(args_kwargs__args=[approval.pk]).update(run_after=due) == 1
    approval.refresh_from_db()
    return approval


def wait_decided(approval: Approval, timeout: float = 5) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        approval.refresh_from_db()
        if approval.status != "pending":
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("the approval never expired")


def test_it_expires_on_time_with_no_request_arriving(bot_api, connected_bot, worker):
    approval = soon(ask(bot_api))
    elapsed = wait_decided(approval)
    assert 0.8 < elapsed < 2.5
    assert approval.status == "expired"
    [event] = bot_api.get("/api/v1/bots/support-bot/events").json()["events"]
    assert event["type"] == "approvalDecided"
    assert event["decision"] == "expired"
    assert event["approvalId"] == str(approval.public_id)
    assert event["arguments"] == {"amount": 40}
    assert event["edited"] is False


@pytest.mark.concurrency
def test_it_expires_exactly_once_across_several_workers(bot_api, connected_bot, worker):
    others = [EmbeddedWorker(interval=0.01).start() for _ in range(3)]
    try:
        approvals = [soon(ask(bot_api, f"r{n}"), 0.5) for n in range(4)]
        for approval in approvals:
            wait_decided(approval)
        time.sleep(0.3)
    finally:
        for other in others:
            other.stop()
    decided = Event.objects.filter(bot=connected_bot, type="approvalDecided")
    assert decided.count() == 4
    assert sorted(e.payload["requestId"] for e in decided) == [f"r{n}" for n in range(4)]


def test_running_the_expiry_twice_expires_once(bot_api, connected_bot):
    approval = ask(bot_api)
    Approval.objects.filter(pk=approval.pk).update(expires_at=timezone.now())
    assert services.approval_expire(approval_id=approval.pk) is not None
    assert services.approval_expire(approval_id=approval.pk) is None
    assert Event.objects.filter(type="approvalDecided").count() == 1


def test_it_does_not_expire_early(bot_api, connected_bot):
    approval = ask(bot_api)
    assert services.approval_expire(approval_id=approval.pk) is None
    approval.refresh_from_db()
    assert approval.status == "pending"


def test_a_decided_approval_does_not_expire(bot_api, connected_bot, admin_user, worker):
    approval = soon(ask(bot_api), 0.5)
    services.approval_decide(approval_id=approval.pk, agent=admin_user, approve=True)
    time.sleep(1.2)
    approval.refresh_from_db()
    assert approval.status == "approved"
    assert Event.objects.filter(type="approvalDecided").count() == 1


def test_a_decision_after_the_expiry_is_refused_and_expires_it(bot_api, connected_bot, admin_user):
    approval = ask(bot_api)
    Approval.objects.filter(pk=approval.pk).update(expires_at=timezone.now())
    with pytest.raises(Conflict, match="expired"):
        services.approval_decide(approval_id=approval.pk, agent=admin_user, approve=True)
    approval.refresh_from_db()
    assert approval.status == "expired"
    [event] = Event.objects.filter(type="approvalDecided")
    assert event.payload["decision"] == "expired"


def test_the_expiry_is_queued_with_the_approval_on_the_timers_queue(bot_api, connected_bot):
    from django_tasks_db.models import DBTaskResult

    approval = ask(bot_api, seconds=120)
    task = DBTaskResult.objects.get(task_path__endswith="expire_approval")
    assert task.args_kwargs["args"] == [approval.pk]
    assert task.run_after == approval.expires_at
    assert task.queue_name == TIMERS


def test_a_timers_only_worker_expires_it(bot_api, connected_bot, fast_retries):
    """The worker thread that runs nothing but timers (never held by a slow webhook)."""
    timers = EmbeddedWorker(interval=0.05, queues=[TIMERS]).start()
    try:
        approval = soon(ask(bot_api), 0.5)
        wait_decided(approval)
    finally:
        timers.stop()
    assert approval.status == "expired"
