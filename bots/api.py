"""The bot HTTP API, v1: deploy, startHitl, and (later) messages, stopHitl and events.

Bots authenticate with `Authorization: Bearer <api key>`. Every error has one JSON
shape ({error, message, fields?}); the OpenAPI document is at /api/v1/openapi.json.
"""

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI, Path, Status
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer

from bots import services as bot_services
from bots.models import ApiKey, Bot
from bots.schemas import (
    BOT_ID_PATTERN,
    BotOut,
    DeployIn,
    ErrorOut,
    StartHitlIn,
    TicketOut,
)
from desk import services
from desk.exceptions import DeskError, NotFound
from desk.models import Ticket


class ApiKeyAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiKey | None:
        key = bot_services.api_key_authenticate(token)
        if key is not None:
            request.api_key = key
        return key


api = NinjaAPI(
    title="Desk bot API",
    version="1",
    description=(
        "Bots deploy themselves, escalate conversations to human agents with startHitl, "
        "relay the end user's messages and receive agent messages and session events."
    ),
    auth=ApiKeyAuth(),
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
)

ERRORS = {401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut}
BotId = Path(..., alias="botId", pattern=BOT_ID_PATTERN, description="The bot's own id.")


def error(request: HttpRequest, status: int, code: str, message: str, **extra) -> HttpResponse:
    return api.create_response(
        request, {"error": code, "message": message, **extra}, status=status
    )


@api.exception_handler(DeskError)
def on_desk_error(request: HttpRequest, exc: DeskError) -> HttpResponse:
    extra = {"fields": {exc.field: exc.message}} if hasattr(exc, "field") else {}
    return error(request, exc.status, exc.code, exc.message, **extra)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, str] = {}
    for item in exc.errors:
        loc = [str(part) for part in item.get("loc", ())]
        # ("body", "payload", "priority") → "priority"; ("path", "botId") → "botId"
        if loc and loc[0] == "body":
            loc = loc[2:] if len(loc) > 2 else loc[1:]
        elif loc:
            loc = loc[1:]
        # Drop pydantic's union-branch tags such as "function-after[...]" or "literal['']".
        name = ".".join(part for part in loc if "[" not in part) or "body"
        fields.setdefault(name, item.get("msg", "is invalid"))
    names = ", ".join(fields)
    return error(request, 422, "invalid", f"Invalid request: check {names}.", fields=fields)


@api.exception_handler(AuthenticationError)
def on_auth_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return error(
        request,
        401,
        "unauthorized",
        "Missing or invalid API key. Send 'Authorization: Bearer <api key>'.",
    )


@api.exception_handler(RequestDataTooBig)
def on_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return error(request, 413, "too_large", "The request body is over the 1 MiB limit.")


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        # ninja's "Cannot parse request body": the body is not JSON.
        return error(
            request, 422, "invalid", "The request body is not valid JSON.",
            fields={"body": "must be a JSON object"},
        )
    return error(request, exc.status_code, "error", exc.message)


def bot_for_key(request: HttpRequest, bot_id: str) -> Bot:
    """The bot this call is about, as the caller's key may see it; 404 otherwise."""
    bot = Bot.objects.filter(bot_id=bot_id).first()
    if bot is None:
        raise NotFound(f"No bot with id {bot_id!r}. Deploy it first: PUT /api/v1/bots/{bot_id}.")
    return bot


def bot_json(bot: Bot) -> dict:
    return {
        "botId": bot.bot_id,
        "name": bot.name,
        "webhookUrl": bot.webhook_url,
        "webhookSecret": bot.webhook_secret,
        "agentAssignedMessage": bot.agent_assigned_message,
        "sessionEndedMessage": bot.session_ended_message,
        "agentAssignedTimeoutSeconds": bot.agent_assigned_timeout_seconds,
        "agentAssignedTimeoutMessage": bot.agent_assigned_timeout_message,
        "connected": bot.connected,
        "firstDeployedAt": bot.first_deployed_at,
        "lastDeployedAt": bot.last_deployed_at,
    }


def ticket_json(ticket: Ticket) -> dict:
    return {
        "ticketId": str(ticket.public_id),
        "number": ticket.number,
        "status": ticket.status,
        "conversationId": ticket.conversation_id,
        "priority": ticket.priority,
        "title": ticket.title,
        "createdAt": ticket.created_at,
    }


DEPLOY_FIELDS = {
    "name": "name",
    "webhookUrl": "webhook_url",
    "agentAssignedMessage": "agent_assigned_message",
    "sessionEndedMessage": "session_ended_message",
    "agentAssignedTimeoutSeconds": "agent_assigned_timeout_seconds",
    "agentAssignedTimeoutMessage": "agent_assigned_timeout_message",
}


@api.put(
    "/bots/{botId}",
    response={200: BotOut, 201: BotOut, **ERRORS},
    summary="Deploy a bot (create or update it)",
    tags=["bots"],
)
def deploy(request: HttpRequest, payload: DeployIn, bot_id: str = BotId):
    """Upsert the bot. It then shows on the Deflecting Bots page, *not connected* until
    an admin enables it. The answer carries the webhook signing secret."""
    fields = {}
    for key, value in payload.model_dump(exclude_unset=True).items():
        if key == "webhookUrl":
            value = str(value or "")
        elif value is None:
            continue
        fields[DEPLOY_FIELDS[key]] = value
    bot, created = bot_services.bot_deploy(bot_id=bot_id, api_key=request.api_key, **fields)
    return Status(201 if created else 200, bot_json(bot))


@api.get("/bots/{botId}", response={200: BotOut, **ERRORS}, summary="Read a bot", tags=["bots"])
def read_bot(request: HttpRequest, bot_id: str = BotId):
    return bot_json(bot_for_key(request, bot_id))


@api.post(
    "/bots/{botId}/startHitl",
    response={200: TicketOut, 201: TicketOut, **ERRORS},
    summary="Escalate a conversation to a human agent",
    tags=["handoff"],
)
def start_hitl(request: HttpRequest, payload: StartHitlIn, bot_id: str = BotId):
    """Open a ticket (201), or return the conversation's open ticket (200).
    403 until the bot is enabled on the Deflecting Bots page."""
    bot = bot_for_key(request, bot_id)
    ticket, created = services.start_hitl(
        bot=bot,
        conversation_id=payload.conversationId,
        title=payload.title.strip(),
        priority=payload.priority,
        user_name=payload.userName.strip(),
        user_email=payload.userEmail,
        description=payload.description.strip(),
        message_history=[
            services.HistoryItem(role=h.role, text=h.text, created_at=h.createdAt)
            for h in payload.messageHistory
        ],
    )
    return Status(201 if created else 200, ticket_json(ticket))
