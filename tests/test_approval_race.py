"""Two agents decide the same approval at the same moment: exactly one decision counts,
and the other is told whose did (on SQLite and, under `make test`, on PostgreSQL)."""

import threading

import pytest
from django.db import connection

from approvals import services
from approvals.models import Approval
from bots.models import Event


@pytest.mark.concurrency
@pytest.mark.django_db(transaction=True)
def test_two_racing_decisions_count_once(connected_bot, admin_user, agent, monkeypatch):
    from django.contrib.auth.models import Permission

    agent.user_permissions.add(Permission.objects.get(codename="decide_approval"))
    approval, _ = services.approval_request(
        bot=connected_bot, request_id="race", action="refund", title="Refund",
        arguments={"amount": 40},
    )
    # Both have read the approval as pending and passed every check before either writes.
    barrier = threading.Barrier(2, timeout=10)
    real_can_decide = services.can_decide

    def can_decide_then_wait(user):
        allowed = real_can_decide(user)
        barrier.wait()
        return allowed

    monkeypatch.setattr(services, "can_decide", can_decide_then_wait)
    outcomes: dict[str, object] = {}

    def decide(name, user, **how):
        try:
            outcomes[name] = services.approval_decide(approval_id=approval.pk, agent=user, **how)
        except Exception as exc:  # judged below
            outcomes[name] = exc
        finally:
            connection.close()

    threads = [
        threading.Thread(target=decide, args=("alex", admin_user),
                         kwargs={"approve": True, "arguments": {"amount": 25}}),
        threading.Thread(target=decide, args=("maya", agent),
                         kwargs={"approve": False, "reason": "Not eligible"}),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    winners = [n for n, o in outcomes.items() if isinstance(o, Approval)]
    losers = [n for n, o in outcomes.items() if isinstance(o, services.AlreadyDecided)]
    assert len(winners) == 1 and len(losers) == 1, outcomes
    approval.refresh_from_db()
    [event] = Event.objects.filter(type="approvalDecided")
    if winners == ["alex"]:
        assert approval.status == "approved" and approval.final_arguments == {"amount": 25}
        assert outcomes["maya"].message == "Alex Admin approved this with changes."
    else:
        assert approval.status == "rejected" and approval.reason == "Not eligible"
        assert outcomes["alex"].message == "Maya Lopez rejected this."
    assert event.payload["decision"] == approval.status
