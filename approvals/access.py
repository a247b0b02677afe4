"""Who may see and decide approvals, and the one access helper for an approval."""

from django.contrib.auth.models import AbstractBaseUser
from django.http import Http404

from approvals.models import Approval

DECIDE_PERMISSION = "approvals.decide_approval"


def can_decide(user: AbstractBaseUser) -> bool:
    """Admins always; other agents when an admin gave them "can decide approvals"."""
    return bool(
        user.is_authenticated
        and user.is_active
        and (user.is_staff or user.has_perm(DECIDE_PERMISSION))
    )


def approval_for_agent(agent: AbstractBaseUser, approval_id: object) -> Approval:
    """The approval as this agent may see it. Every active agent sees every approval
    (read-only unless `can_decide`); others see none. Raises 404, never leaking existence."""
    if not (agent.is_authenticated and agent.is_active):
        raise Http404("No such approval.")
    try:
        return Approval.objects.select_related("bot", "decided_by").get(pk=int(approval_id))
    except (Approval.DoesNotExist, ValueError, TypeError, OverflowError):
        raise Http404("No such approval.") from None
