"""The approvals' timer: a pending approval is decided `expired` at its expiry.

Like the agent-assignment timeout (desk/services.py), the task is queued in the
database in the transaction that creates the approval, due at `expiresAt`, so it
exists exactly when the approval does and fires with no request arriving. Running
it twice, or on two workers at once, expires the approval once (a conditional
UPDATE in approval_expire). It is a timer: it runs on the timers' queue, beside the
assignment timeout, never behind a slow webhook receiver.
"""

from django.tasks import task

from bots.tasks import TIMERS


@task(queue_name=TIMERS)
def expire_approval(approval_id: int) -> bool:
    from approvals.services import approval_expire

    return approval_expire(approval_id=approval_id) is not None


def schedule_expiry(approval) -> None:
    """Queue the expiry of a new approval (inside the transaction that creates it)."""
    expire_approval.using(run_after=approval.expires_at).enqueue(approval.pk)
