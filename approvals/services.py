"""Every change to an approval: the one function per domain action.

A bot asks (`approval_request`) and may withdraw (`approval_cancel`); an agent
decides (`approval_decide`); the task worker expires what nobody decided in time
(`approval_expire`). Each decision happens once: it is one conditional UPDATE from
pending, so of two racing deciders exactly one changes the row and the other is
told who did. The decision is recorded in the bot's event log (`approvalDecided`)
in the same transaction, and open tabs hear of every change after the commit.
"""

from datetime import timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from approvals import arguments as args
from approvals import realtime, selectors
from approvals.access import can_decide
from approvals.models import Approval
from approvals.tasks import schedule_expiry
from bots.events import event_record
from bots.models import Bot, Event
from bots.text import TextProblem, text_problem
from desk.avatars import agent_fields
from desk.exceptions import BotNotConnected, Conflict, InvalidInput, NotAllowed, NotFound
from desk.models import PRIORITY_RANK, Priority
from desk.services import display_name

MIN_EXPIRY = 60
MAX_EXPIRY = 7 * 24 * 3600
MAX_REASON = 2000
# A reason that cannot be stored or shown (`bots.text`), worded for the agent deciding.
REASON_PROBLEMS = {
    TextProblem.NUL: gettext_lazy("The reason must not contain the NUL character (\\u0000)."),
    TextProblem.SURROGATE: gettext_lazy(
        "The reason must be valid Unicode (no unpaired surrogates)."
    ),
    TextProblem.INVISIBLE: gettext_lazy(
        "The reason must have visible characters, not only zero-width or other invisible ones."
    ),
}


class AlreadyDecided(Conflict):
    code = "already_decided"


def approval_request(
    *,
    bot: Bot,
    request_id: str,
    action: str,
    title: str,
    arguments: dict,
    summary: str = "",
    arguments_schema: dict | None = None,
    conversation_id: str = "",
    priority: str = Priority.MEDIUM,
    expires_in_seconds: int = 3600,
) -> tuple[Approval, bool]:
    """Ask the agents to approve `action` with `arguments`. (approval, created).

    The same `request_id` again returns the bot's approval with that id, whatever
    became of it, and creates nothing."""
    if arguments_schema is not None:
        args.check_schema(arguments_schema)
    args.validate(arguments, arguments_schema)
    if not MIN_EXPIRY <= expires_in_seconds <= MAX_EXPIRY:
        raise InvalidInput(
            f"Must be between {MIN_EXPIRY} and {MAX_EXPIRY} seconds.", field="expiresInSeconds"
        )
    if existing := _by_request_id(bot, request_id):
        return existing, False
    if not bot.connected:
        raise BotNotConnected()
    now = timezone.now()
    try:
        with transaction.atomic():
            approval = Approval.objects.create(
                bot=bot,
                request_id=request_id,
                action=action,
                title=title,
                summary=summary,
                arguments_json=Approval.dump(arguments),
                schema_json=Approval.dump(arguments_schema) if arguments_schema is not None else "",
                conversation_id=conversation_id,
                priority=priority,
                priority_rank=PRIORITY_RANK[Priority(priority)],
                created_at=now,
                expires_at=now + timedelta(seconds=expires_in_seconds),
            )
            schedule_expiry(approval)
            realtime.announce_approval(approval.pk, new=True)
    except IntegrityError:
        # A concurrent call with the same requestId won the constraint.
        if existing := _by_request_id(bot, request_id):
            return existing, False
        raise
    return approval, True


def _by_request_id(bot: Bot, request_id: str) -> Approval | None:
    return Approval.objects.select_related("bot").filter(bot=bot, request_id=request_id).first()


def approval_decide(
    *,
    approval_id: int,
    agent: AbstractBaseUser,
    approve: bool,
    arguments: dict | None = None,
    reason: str = "",
) -> Approval:
    """The agent's decision: approve (with `arguments` when they edited them) or reject
    (a reason is required). Of two agents deciding at once, exactly one decides; the
    other gets AlreadyDecided naming the decision."""
    if not can_decide(agent):
        raise NotAllowed(
            _(
                "You can see approvals but not decide them. An admin can allow you on "
                "Settings → Approvers."
            )
        )
    approval = Approval.objects.select_related("bot").filter(pk=approval_id).first()
    if approval is None:
        raise NotFound(_("No such approval."))
    reason = (reason or "").strip()
    if len(reason) > MAX_REASON:
        raise InvalidInput(
            ngettext(
                "The reason is longer than %(most)s character.",
                "The reason is longer than %(most)s characters.",
                MAX_REASON,
            ) % {"most": MAX_REASON},
            field="reason",
        )
    if (problem := text_problem(reason)) and problem != TextProblem.BLANK:
        # A NUL character, or a reason made only of zero-width characters.
        raise InvalidInput(str(REASON_PROBLEMS[problem]), field="reason")
    fields: dict = {"decided_by": agent, "decided_by_name": display_name(agent)}
    if approve:
        final = approval.arguments if arguments is None else arguments
        if arguments is not None:
            args.validate(final, approval.arguments_schema)
        fields |= {
            "status": Approval.Status.APPROVED,
            "final_arguments_json": Approval.dump(final),
            "edited": final != approval.arguments,
            "reason": reason,
        }
    else:
        if not reason:
            raise InvalidInput(
                _("Say why you reject it: the bot tells the customer."), field="reason"
            )
        fields |= {"status": Approval.Status.REJECTED, "reason": reason}
    decided = _decide(approval_id, fields, before_expiry=True)
    if decided is None:
        raise _already_decided(approval_id)
    return decided


def approval_cancel(*, bot: Bot, public_id: str) -> Approval:
    """The bot withdraws its request. Withdrawing it again changes nothing; one that
    was decided (approved, rejected, expired) cannot be withdrawn: AlreadyDecided."""
    approval = selectors.for_bot(bot, public_id)
    if approval is None:
        raise NotFound(f"No approval with id {public_id!r} for this bot.")
    if approval.status == Approval.Status.CANCELLED:
        return approval
    decided = _decide(approval.pk, {"status": Approval.Status.CANCELLED})
    if decided is not None:
        return decided
    approval.refresh_from_db()
    if approval.status == Approval.Status.CANCELLED:
        return approval
    raise _already_decided(approval.pk)


def approval_expire(*, approval_id: int) -> Approval | None:
    """Decide `expired` an approval still pending at its expiry. Safe to call more than
    once and from several workers: only one call expires it; the others return None."""
    return _decide(approval_id, {"status": Approval.Status.EXPIRED}, due=True)


def _decide(
    approval_id: int, fields: dict, *, before_expiry: bool = False, due: bool = False
) -> Approval | None:
    """Move the approval from pending to a decision, once: the UPDATE's condition is the
    lock. Records `approvalDecided` and announces it. None when it was not pending (or,
    with `before_expiry`, already past its expiry; with `due`, not yet past it)."""
    with transaction.atomic():
        now = timezone.now()
        still = Approval.objects.filter(pk=approval_id, status=Approval.Status.PENDING)
        if before_expiry:
            still = still.filter(expires_at__gt=now)
        if due:
            still = still.filter(expires_at__lte=now)
        if not still.update(decided_at=now, **fields):
            return None
        approval = Approval.objects.select_related("bot", "decided_by").get(pk=approval_id)
        ticket = selectors.conversation_ticket(approval)
        payload = {
            "approvalId": str(approval.public_id),
            "requestId": approval.request_id,
            "action": approval.action,
            "decision": approval.status,
            "arguments": approval.current_arguments,
            "edited": approval.edited,
            # The same format as every other time in the API: 2026-05-06T09:30:00.123Z
            "decidedAt": DjangoJSONEncoder().default(now),
        }
        if approval.reason:
            payload["reason"] = approval.reason
        if approval.decided_by_name:
            payload["agentName"] = approval.decided_by_name
        if approval.decided_by is not None:
            payload.update(agent_fields(approval.decided_by))
        event_record(
            bot=approval.bot,
            ticket=ticket,
            type=Event.Type.APPROVAL_DECIDED,
            payload=payload,
            conversation_id=approval.conversation_id,
        )
        realtime.announce_approval(approval.pk)
        return approval


def _already_decided(approval_id: int) -> AlreadyDecided:
    approval = Approval.objects.filter(pk=approval_id).first()
    if approval is not None and approval.is_pending:
        # Past its expiry, not yet expired by the worker: expire it now.
        approval = approval_expire(approval_id=approval_id) or approval
    if approval is None:
        return AlreadyDecided("This approval no longer exists.")
    return AlreadyDecided(approval.decision_sentence, approval=approval)


# --- who may decide ----------------------------------------------------------------


def approver_set(*, user: AbstractBaseUser, allowed: bool, by: AbstractBaseUser) -> None:
    """An admin allows (or stops allowing) an agent to decide approvals."""
    if not by.is_staff:
        raise NotAllowed(_("Only admins choose who may decide approvals."))
    permission = selectors.decide_permission()
    if allowed:
        user.user_permissions.add(permission)
    else:
        user.user_permissions.remove(permission)
