"""The reports' bot API endpoints, mounted on the v1 NinjaAPI (bots/api.py), so they
share its authentication, rate limit, error shape and OpenAPI document.

- PUT /bots/{botId}/stats/{date}: how many conversations the bot handled that day
- POST /bots/{botId}/conversations/{conversationId}/rating: the end user's CSAT score
"""

from datetime import date as Date

from django.http import HttpRequest
from ninja import Path, Router, Status

from bots.schemas import BOT_ID_PATTERN, ErrorOut, FreeText
from bots.services import bot_for_key
from desk import services as desk_services
from reports import services
from reports.schemas import RatingIn, RatingOut, StatsIn, StatsOut

router = Router()

ERRORS = {
    401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut
}
BotId = Path(..., alias="botId", pattern=BOT_ID_PATTERN, description="The bot's own id.")
Day = Path(
    ..., alias="date", description="The day, YYYY-MM-DD, in the desk's time zone."
)
# As bots/api.py reads it (its `conversation` converter lets the id hold a `/`).
ConversationId = Path(
    ..., alias="conversationId", min_length=1, max_length=200,
    description=(
        "The conversation, as given to startHitl, percent-encoded as one path segment "
        "(`/` as `%2F`)."
    ),
)


@router.put(
    "/bots/{botId}/stats/{date}",
    response={200: StatsOut, 201: StatsOut, **ERRORS},
    summary="Report how many conversations the bot handled on a day",
    tags=["reports"],
)
def report_stats(request: HttpRequest, payload: StatsIn, bot_id: str = BotId, day: Date = Day):
    """Desk's Reports show each bot's deflection rate, 1 − escalations / conversations,
    from these counts. Send every conversation the bot handled that day, handed over
    or not. Idempotent: the same day again replaces the figure (201 the first time,
    200 after). 422 for a date after today or a negative count."""
    bot = bot_for_key(request.api_key, bot_id)
    stats, created = services.bot_stats_report(
        bot=bot, day=day, conversations=payload.conversations
    )
    body = {
        "botId": bot.bot_id,
        "date": stats.day,
        "conversations": stats.conversations,
        "reportedAt": stats.reported_at,
    }
    return Status(201 if created else 200, body)


@router.post(
    "/bots/{botId}/conversations/{conversation:conversationId}/rating",
    response={201: RatingOut, **ERRORS, 409: ErrorOut},
    summary="Record the end user's satisfaction rating (CSAT)",
    tags=["handoff"],
)
def rate(
    request: HttpRequest,
    payload: RatingIn,
    bot_id: str = BotId,
    conversation_id: FreeText(200, min_length=1) = ConversationId,
):
    """Rates the conversation's most recently closed ticket, if it closed within 7 days
    (else 409 `no_recent_ticket`). A second rating for the same ticket replaces the
    first within 24 hours of it (`replaced: true`), then 409 `already_rated`. Agents
    see the rating in the ticket; it feeds the Reports. Ask for it when `hitlStopped`
    carries `csat`."""
    bot = bot_for_key(request.api_key, bot_id)
    rating, replaced = desk_services.rate_conversation(
        bot=bot, conversation_id=conversation_id, score=payload.score, comment=payload.comment
    )
    ticket = rating.ticket
    return Status(
        201,
        {
            "ticketId": str(ticket.public_id),
            "ticketNumber": ticket.number,
            "conversationId": ticket.conversation_id,
            "score": rating.score,
            "comment": rating.comment,
            "ratedAt": rating.rated_at,
            "updatedAt": rating.updated_at,
            "replaced": replaced,
        },
    )
