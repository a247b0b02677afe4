"""The bot API's approval endpoints, mounted on the same NinjaAPI as the rest of v1
(bots/api.py), so they share its authentication, rate limit, error shape and
OpenAPI document.

- POST /bots/{botId}/approvals: ask (idempotent on requestId)
- GET /bots/{botId}/approvals/{approvalId}?wait=0..30: read, or wait for the decision
- POST /bots/{botId}/approvals/{approvalId}/cancel: withdraw
"""

from django.conf import settings
from django.http import HttpRequest
from ninja import Path, Query, Router, Status

from approvals import selectors, services
from approvals.models import Approval
from approvals.schemas import ApprovalIn, ApprovalOut
from bots import wakeups
from bots.events import bot_events_key
from bots.schemas import BOT_ID_PATTERN, ErrorOut
from bots.services import bot_for_key, bots_for_key
from desk.exceptions import NotFound

router = Router(tags=["approvals"])

ERRORS = {
    401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut
}
MAX_WAIT = 30
BotId = Path(..., alias="botId", pattern=BOT_ID_PATTERN, description="The bot's own id.")
ApprovalId = Path(..., alias="approvalId", description="The approvalId Desk answered with.")


def approval_json(approval: Approval) -> dict:
    return {
        "approvalId": str(approval.public_id),
        "requestId": approval.request_id,
        "status": approval.status,
        "action": approval.action,
        "title": approval.title,
        "summary": approval.summary,
        "arguments": approval.current_arguments,
        "originalArguments": approval.arguments,
        "argumentsSchema": approval.arguments_schema,
        "edited": approval.edited,
        "reason": approval.reason or None,
        "agentName": approval.decided_by_name or None,
        "conversationId": approval.conversation_id or None,
        "priority": approval.priority,
        "createdAt": approval.created_at,
        "expiresAt": approval.expires_at,
        "decidedAt": approval.decided_at,
    }


def _not_found(approval_id: str) -> NotFound:
    return NotFound(f"No approval with id {approval_id!r} for this bot.")


@router.post(
    "/bots/{botId}/approvals",
    response={200: ApprovalOut, 201: ApprovalOut, **ERRORS},
    summary="Ask a person to approve an action",
)
def request_approval(request: HttpRequest, payload: ApprovalIn, bot_id: str = BotId):
    """Agents see the request at once in Desk's Approvals view and approve it (possibly
    with edited arguments) or reject it with a reason. 201 with `status: "pending"`;
    the same `requestId` again answers 200 with that approval, whatever its status.
    403 until the bot is enabled on the Deflecting Bots page; 422 for a schema that is
    not valid JSON Schema, or arguments it does not accept (`fields` names the path)."""
    bot = bot_for_key(request.api_key, bot_id)
    approval, created = services.approval_request(
        bot=bot,
        request_id=payload.requestId,
        action=payload.action.strip(),
        title=payload.title.strip(),
        summary=payload.summary.strip(),
        arguments=payload.arguments,
        arguments_schema=payload.argumentsSchema,
        conversation_id=payload.conversationId or "",
        priority=payload.priority,
        expires_in_seconds=payload.expiresInSeconds,
    )
    return Status(201 if created else 200, approval_json(approval))


def _bot_pk(api_key, bot_id: str) -> int | None:
    return bots_for_key(api_key).filter(bot_id=bot_id).values_list("pk", flat=True).first()


def _read(bot_pk: int, approval_id: str) -> Approval | None:
    from bots.models import Bot

    return selectors.for_bot(Bot(pk=bot_pk), approval_id)


@router.get(
    "/bots/{botId}/approvals/{approvalId}",
    response={200: ApprovalOut, **ERRORS},
    summary="Read an approval, or wait for its decision (long-poll)",
)
async def read_approval(
    request: HttpRequest,
    bot_id: str = BotId,
    approval_id: str = ApprovalId,
    wait: int = Query(
        0, ge=0, le=MAX_WAIT,
        description="Seconds to wait for the decision while it is pending (max 30).",
    ),
):
    """The approval at once when it is decided (or `wait` is 0); while it is pending,
    held up to `wait` seconds and answered as soon as it is decided, or still pending
    when the wait ends. The wait holds no server thread and no database connection."""
    bot_pk = await wakeups.pooled(_bot_pk)(request.api_key, bot_id)
    if bot_pk is None:
        raise NotFound(f"No bot with id {bot_id!r}. Deploy it first: PUT /api/v1/bots/{bot_id}.")
    # Every decision is recorded in the bot's event log, which wakes its long-polls.
    key = bot_events_key(bot_pk)
    approval = await wakeups.long_poll(
        key,
        lambda: wakeups.pooled(_read)(bot_pk, approval_id),
        wait=wait,
        recheck=float(settings.DESK_LONG_POLL_RECHECK_SECONDS),
        group=key,
        found=lambda found: found is None or not found.is_pending,
    )
    if approval is None:
        raise _not_found(approval_id)
    return approval_json(approval)


@router.post(
    "/bots/{botId}/approvals/{approvalId}/cancel",
    response={200: ApprovalOut, **ERRORS, 409: ErrorOut},
    summary="Withdraw an approval request",
)
def cancel_approval(request: HttpRequest, bot_id: str = BotId, approval_id: str = ApprovalId):
    """The bot no longer needs the decision: the approval is `cancelled`, leaves the
    agents' list, and an `approvalDecided` event (decision `cancelled`) follows.
    Withdrawing it again answers the same; 409 `already_decided` once it was
    approved, rejected or expired."""
    bot = bot_for_key(request.api_key, bot_id)
    return approval_json(services.approval_cancel(bot=bot, public_id=approval_id))
