"""Reads shared by the approvals pages, their live rows, the count, and the bot API."""

import uuid
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.db.models import Q, QuerySet
from django.http import QueryDict

from approvals.models import Approval
from bots.models import Bot
from desk.models import Status, Ticket

PENDING_ORDER = ("-priority_rank", "expires_at", "id")  # the `approval_pending_order` index
LIST_LIMIT = 500


def pending() -> QuerySet[Approval]:
    """Pending approvals in the list's order: the most urgent first, then the nearest expiry."""
    return (
        Approval.objects.filter(status=Approval.Status.PENDING)
        .select_related("bot")
        .order_by(*PENDING_ORDER)
    )


def pending_count() -> int:
    return Approval.objects.filter(status=Approval.Status.PENDING).count()


def list_row(approval_id: int) -> Approval | None:
    return Approval.objects.select_related("bot").filter(pk=approval_id).first()


def for_bot(bot: Bot, public_id: str) -> Approval | None:
    """The bot's approval with this approvalId, or None (also for a malformed id)."""
    try:
        key = uuid.UUID(str(public_id))
    except ValueError:
        return None
    return Approval.objects.select_related("bot").filter(bot=bot, public_id=key).first()


def conversation_ticket(approval: Approval) -> Ticket | None:
    """The ticket of the approval's conversation: its open one, else its latest."""
    if not approval.conversation_id:
        return None
    tickets = Ticket.objects.filter(
        bot_id=approval.bot_id, conversation_id=approval.conversation_id
    ).order_by("-id")
    return tickets.exclude(status=Status.CLOSED).first() or tickets.first()


def approvers() -> QuerySet:
    """Active agents who may decide approvals because an admin allowed them (admins
    may always, so they are not listed)."""
    permission = decide_permission()
    return get_user_model().objects.filter(
        Q(user_permissions=permission) | Q(groups__permissions=permission),
        is_active=True,
        is_staff=False,
    ).distinct()


def decide_permission() -> Permission:
    return Permission.objects.get(codename="decide_approval", content_type__app_label="approvals")


# --- the decision history (admins) ----------------------------------------------------------

DECISIONS = [s for s in Approval.Status.values if s != Approval.Status.PENDING]


@dataclass(frozen=True)
class HistoryFilter:
    """What the history page lists, read from its URL; bad values mean "no filter"."""

    bot: str = ""
    action: str = ""
    decision: str = ""
    agent: int | None = None

    @classmethod
    def from_query(cls, query: QueryDict) -> "HistoryFilter":
        try:
            agent = int(query["agent"]) if query.get("agent") else None
        except ValueError:
            agent = None
        if agent is not None and not 0 < agent < 2**63:
            agent = None
        decision = query.get("decision", "")
        return cls(
            bot=query.get("bot", "").replace("\x00", "")[:64],
            action=query.get("action", "").replace("\x00", "")[:100],
            decision=decision if decision in DECISIONS else "",
            agent=agent,
        )

    @property
    def is_narrowed(self) -> bool:
        return bool(self.bot or self.action or self.decision or self.agent)

    def apply(self, approvals: QuerySet[Approval]) -> QuerySet[Approval]:
        approvals = approvals.exclude(status=Approval.Status.PENDING)
        if self.bot:
            approvals = approvals.filter(bot__bot_id=self.bot)
        if self.action:
            approvals = approvals.filter(action=self.action)
        if self.decision:
            approvals = approvals.filter(status=self.decision)
        if self.agent:
            approvals = approvals.filter(decided_by_id=self.agent)
        return approvals.select_related("bot", "decided_by").order_by("-decided_at", "-id")


def history_choices() -> dict:
    """What the history's filters offer: the bots, actions and agents that appear in it."""
    decided = Approval.objects.exclude(status=Approval.Status.PENDING).order_by()
    return {
        "bots": Bot.objects.filter(pk__in=decided.values("bot_id")).order_by("name", "bot_id"),
        "actions": list(decided.values_list("action", flat=True).distinct().order_by("action")),
        "agents": get_user_model()
        .objects.filter(pk__in=decided.values("decided_by_id"))
        .order_by("first_name", "last_name", "username"),
        "decisions": DECISIONS,
    }
