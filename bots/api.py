"""The bot HTTP API, v1: deploy, startHitl, messages in, stopHitl, and events out (long-poll).

Bots authenticate with `Authorization: Bearer <api key>`. Every error has one JSON
shape ({error, message, fields?}), an unexpected one included (500 `server_error`,
logged, never a traceback); the OpenAPI document is at /api/v1/openapi.json.
"""

import logging

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import register_converter
from ninja import File, NinjaAPI, Path, Query, Status
from ninja.errors import AuthenticationError, HttpError, Throttled, ValidationError
from ninja.files import UploadedFile
from ninja.security import HttpBearer
from ninja.throttling import AuthRateThrottle

from bots import services as bot_services
from bots import wakeups
from bots.events import bot_events_key, event_as_json
from bots.links import resolve_file_links, signed_file_url
from bots.models import ApiKey, Bot, Event
from bots.schemas import (
    BOT_ID_PATTERN,
    BotOut,
    DeployIn,
    ErrorOut,
    EventsOut,
    FileOut,
    FreeText,
    HistoryIn,
    MessageIn,
    MessageOut,
    StartHitlIn,
    StartHitlOut,
    StopHitlIn,
    TicketOut,
)
from desk import content, files, queue, selectors, services
from desk.exceptions import BotNotConnected, DeskError, NotFound
from desk.middleware import SERVER_ERROR
from desk.models import Message, StoredFile, Ticket
from desk.uploads import too_large_message

logger = logging.getLogger(__name__)


class ApiKeyRateThrottle(AuthRateThrottle):
    """Per API key: settings.DESK_API_RATE_LIMIT requests (e.g. "1200/m"); None is off.
    Counted in the cache, so shared by every server process when Redis is configured."""

    def allow_request(self, request: HttpRequest) -> bool:
        self.rate = settings.DESK_API_RATE_LIMIT
        if not self.rate or getattr(request, "api_key", None) is None:
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        return super().allow_request(request)

    def get_cache_key(self, request: HttpRequest) -> str:
        return self.cache_format % {"scope": "api-key", "ident": request.api_key.pk}


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
    throttle=[ApiKeyRateThrottle()],
    urls_namespace="api-v1",
    openapi_url="/openapi.json",
    docs_url="/docs",
)

ERRORS = {
    401: ErrorOut, 403: ErrorOut, 404: ErrorOut, 413: ErrorOut, 422: ErrorOut, 429: ErrorOut
}
CONFLICT = {409: ErrorOut}
MAX_WAIT = 30
UploadField = File(..., description="One file, at most DESK_MAX_UPLOAD_BYTES.")
BotId = Path(..., alias="botId", pattern=BOT_ID_PATTERN, description="The bot's own id.")


def error(request: HttpRequest, status: int, code: str, message: str, **extra) -> HttpResponse:
    return api.create_response(
        request, {"error": code, "message": message, **extra}, status=status
    )


@api.exception_handler(DeskError)
def on_desk_error(request: HttpRequest, exc: DeskError) -> HttpResponse:
    extra = {"fields": exc.fields} if hasattr(exc, "fields") else {}
    return error(request, exc.status, exc.code, exc.message, **extra)


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    if getattr(request, "upload_too_large", False):  # the upload stopped at the limit
        return error(request, 413, "too_large", too_large_message())
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


@api.exception_handler(Throttled)
def on_throttled(request: HttpRequest, exc: Throttled) -> HttpResponse:
    # ninja adds Retry-After to this response.
    return error(
        request, 429, "rate_limited",
        f"Too many requests for this API key (limit {settings.DESK_API_RATE_LIMIT}). "
        "Retry after the number of seconds in Retry-After.",
    )


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja's "Cannot parse request body" (400) carries the parser's error.
    if exc.status_code == 400 and isinstance(exc.__cause__, RecursionError):
        # json gives up a thousand levels down, at once, having built next to nothing.
        return error(
            request, 422, "invalid", "The request body is nested too deeply.",
            fields={"body": "must be a JSON object nested at most a few levels deep"},
        )
    if exc.status_code == 400 and isinstance(exc.__cause__, ValueError):
        return error(
            request, 422, "invalid", "The request body is not valid JSON.",
            fields={"body": "must be a JSON object"},
        )
    return error(request, exc.status_code, "error", exc.message)


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return error(request, 404, "not_found", "Not found.")


@api.exception_handler(Exception)
def on_unexpected_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    """Whatever DEBUG says, a bot gets the error shape, never a traceback or a path."""
    logger.exception("Unexpected error answering %s %s", request.method, request.path)
    return error(request, 500, "server_error", SERVER_ERROR)


def bot_for_key(request: HttpRequest, bot_id: str) -> Bot:
    """The bot this call is about, as the caller's key may see it; 404 otherwise."""
    return bot_services.bot_for_key(request.api_key, bot_id)


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
        "agentTransferredMessage": bot.agent_transferred_message,
        "queuedMessage": bot.queued_message,
        "outsideHoursMessage": bot.outside_hours_message,
        "csatMessage": bot.csat_message,
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


def ticket_label_names(ticket: Ticket) -> list[str]:
    """A new ticket's were set by startHitl (no query); an open one's are read."""
    names = getattr(ticket, "label_names", None)
    if names is None:
        names = sorted(ticket.labels.values_list("name", flat=True))
    return names


def ticket_with_wait_json(ticket: Ticket) -> dict:
    """startHitl's answer: the ticket, and where it stands in the queue."""
    state = getattr(ticket, "queue_state", None) or queue.state_of(ticket)
    return {
        **ticket_json(ticket),
        "labels": ticket_label_names(ticket),
        "queuePosition": state.position,
        "estimatedWaitSeconds": state.estimated_wait_seconds,
        "agentsAvailable": state.agents_available,
        "withinBusinessHours": state.within_business_hours,
    }


DEPLOY_FIELDS = {
    "name": "name",
    "webhookUrl": "webhook_url",
    "agentAssignedMessage": "agent_assigned_message",
    "sessionEndedMessage": "session_ended_message",
    "agentAssignedTimeoutSeconds": "agent_assigned_timeout_seconds",
    "agentAssignedTimeoutMessage": "agent_assigned_timeout_message",
    "agentTransferredMessage": "agent_transferred_message",
    "queuedMessage": "queued_message",
    "outsideHoursMessage": "outside_hours_message",
    "csatMessage": "csat_message",
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
    response={200: StartHitlOut, 201: StartHitlOut, **ERRORS},
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
        user_id=payload.userId.strip(),
        custom_fields=payload.customFields,
        description=payload.description.strip(),
        message_history=history_items(request, bot, payload.messageHistory),
        labels=payload.labels,
    )
    return Status(201 if created else 200, ticket_with_wait_json(ticket))


def request_origin(request: HttpRequest) -> str:
    return f"{request.scheme}://{request.get_host()}"


def history_items(
    request: HttpRequest, bot: Bot, history: list[HistoryIn]
) -> list[services.HistoryItem]:
    """messageHistory in either shape, checked: every bad field named by its path."""
    items, errors = [], {}
    resolve = files.bot_resolver(bot, origins=[request_origin(request)])
    for index, item in enumerate(history):
        path = f"messageHistory.{index}"
        if (item.role is None) == (item.source is None):
            errors[f"{path}.role"] = "give either role (user or bot) or source, not both"
            continue
        role = item.role or item.source.type
        if (item.type or "text") == "text" and item.payload is None:
            if item.text is None:
                errors[f"{path}.text"] = "is required"
                continue
            items.append(
                services.HistoryItem(role=role, text=item.text, created_at=item.createdAt)
            )
            continue
        data = {"type": item.type or "text", "payload": item.payload}
        if item.payload is None:
            errors[f"{path}.payload"] = f"is required for type {item.type}"
            continue
        try:
            parsed = content.parse(data, types=content.HISTORY_TYPES, path=path, resolve=resolve)
        except DeskError as exc:
            errors.update(exc.fields)
            continue
        items.append(services.HistoryItem(role=role, created_at=item.createdAt, content=parsed))
    if errors:
        raise content.invalid(errors)
    return items


class ConversationIdConverter:
    """A conversation id in a path: any characters, `/` included. The server decodes
    `%2F` before routing, so `a%2Fb` arrives as `a/b`: the id runs up to the path's last
    `/messages`. (Django's own `path` converter stops at a line break.)"""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(ConversationIdConverter, "conversation")

ConversationId = Path(
    ..., alias="conversationId", min_length=1, max_length=200,
    description=(
        "The conversation, as given to startHitl, percent-encoded as one path segment "
        "(`/` as `%2F`)."
    ),
)


@api.post(
    "/bots/{botId}/conversations/{conversation:conversationId}/messages",
    response={202: MessageOut, **ERRORS, **CONFLICT},
    summary="Relay an end-user message to the agent",
    tags=["handoff"],
)
def post_message(
    request: HttpRequest,
    payload: MessageIn,
    bot_id: str = BotId,
    conversation_id: FreeText(200, min_length=1) = ConversationId,
):
    """Store the end user's message in the conversation's open ticket (202); agents see it
    live. The same `messageId` again stores nothing new and answers the stored message
    with `duplicate: true`. 409 `ticket_closed` when the conversation has no open ticket."""
    # The open ticket and its bot in one read; without a ticket, the bot alone says
    # which answer it is (404: no such bot; 409: no open ticket).
    ticket = selectors.open_ticket_with_bot(
        api_key=request.api_key,
        bot_id=bot_id,
        conversation_id=conversation_id,
    )
    bot = ticket.bot if ticket is not None else bot_for_key(request, bot_id)
    rich = None
    if payload.type != "text" or payload.payload is not None:
        data = payload.model_dump(exclude={"messageId", "userName", "text"}, exclude_none=True)
        if payload.type == "text" and payload.payload is None:
            data["text"] = payload.text
        resolve = files.bot_resolver(bot, origins=[request_origin(request)])
        rich = content.parse(data, resolve=resolve)
    elif payload.text is None:
        raise content.invalid({"text": "is required"})
    message, created = services.post_user_message(
        bot=bot,
        conversation_id=conversation_id,
        text=payload.text or "",
        external_id=payload.messageId,
        user_name=payload.userName.strip(),
        content=rich,
        ticket=ticket,
    )
    return Status(202, message_json(message, duplicate=not created))


def message_json(message: Message, *, duplicate: bool) -> dict:
    ticket = message.ticket
    return {
        "id": message.pk,
        "messageId": message.external_id,
        "ticketId": str(ticket.public_id),
        "ticketNumber": ticket.number,
        "conversationId": ticket.conversation_id,
        "type": message.type,
        "payload": resolve_file_links(message.payload) if message.payload else {
            "text": message.text
        },
        "text": message.text,
        "userName": message.author_name,
        "createdAt": message.created_at,
        "duplicate": duplicate,
    }


@api.post(
    "/bots/{botId}/files",
    response={201: FileOut, **ERRORS},
    summary="Upload a file to send in a message",
    tags=["files"],
)
def upload_file(
    request: HttpRequest,
    file: UploadedFile = UploadField,
    bot_id: str = BotId,
):
    """Store one file (multipart/form-data, field `file`) and answer its `url`: send it
    in a message (imageUrl, audioUrl, videoUrl, fileUrl, a card's imageUrl). What the
    file is comes from its bytes, not from the name or Content-Type sent with it: a
    message naming a PDF as imageUrl is refused (422). Over DESK_MAX_UPLOAD_BYTES (10 MiB
    by default): 413. HTML, SVG with scripts and executables are kept, but only ever
    served as downloads. 403 until the bot is enabled on the Deflecting Bots page."""
    bot = bot_for_key(request, bot_id)
    if not bot.connected:
        raise BotNotConnected()
    stored = files.store_upload(file, bot=bot, forget_unsent=True)
    return Status(201, file_json(stored))


def file_json(stored: StoredFile) -> dict:
    return {
        "fileId": str(stored.public_id),
        "url": signed_file_url(stored.public_id.hex, stored.name),
        "contentType": stored.content_type,
        "size": stored.size,
        "name": stored.name,
    }


@api.post(
    "/bots/{botId}/stopHitl",
    response={200: TicketOut, **ERRORS, **CONFLICT},
    summary="End the handoff: the bot takes the conversation back",
    tags=["handoff"],
)
def stop_hitl(request: HttpRequest, payload: StopHitlIn, bot_id: str = BotId):
    """Close the conversation's open ticket ("the customer left the conversation" for
    `cancel`); agents see it closed at once. A `hitlStopped` event with reason
    `botStopped` follows. 404 for a conversation Desk never saw, 409 when already closed."""
    bot = bot_for_key(request, bot_id)
    ticket = services.stop_hitl(
        bot=bot, conversation_id=payload.conversationId, reason=payload.reason
    )
    return ticket_json(ticket)


def _bot_pk(api_key: ApiKey, bot_id: str) -> int | None:
    bots = bot_services.bots_for_key(api_key)
    return bots.filter(bot_id=bot_id).values_list("pk", flat=True).first()


def _events_after(bot_pk: int, after: int, limit: int) -> list[dict]:
    events = Event.objects.filter(bot_id=bot_pk, pk__gt=after).order_by("pk")[:limit]
    return [event_as_json(event) for event in events]


@api.get(
    "/bots/{botId}/events",
    response={200: EventsOut, **ERRORS},
    summary="Read the bot's events (long-poll)",
    tags=["events"],
    exclude_none=True,
)
async def events(
    request: HttpRequest,
    bot_id: str = BotId,
    after: int = Query(0, ge=0, description="The last cursor you handled; 0 for the start."),
    wait: int = Query(
        0, ge=0, le=MAX_WAIT, description="Seconds to wait for an event when none is there."
    ),
    limit: int = Query(100, ge=1, le=500, description="At most this many events."),
):
    """The events after `after`, oldest first, at once if there are any; otherwise waits up
    to `wait` seconds (max 30) for the next and answers as soon as it is recorded, or
    with none. Pass the answer's `cursor` as `after` next time: each event comes once."""
    bot_pk = await wakeups.pooled(_bot_pk)(request.api_key, bot_id)
    if bot_pk is None:
        raise NotFound(f"No bot with id {bot_id!r}. Deploy it first: PUT /api/v1/bots/{bot_id}.")
    key = bot_events_key(bot_pk)
    found = await wakeups.long_poll(
        key,
        lambda: wakeups.pooled(_events_after)(bot_pk, after, limit),
        wait=wait,
        recheck=float(settings.DESK_LONG_POLL_RECHECK_SECONDS),
        group=key,
    )
    cursor = found[-1]["cursor"] if found else after
    return {"events": found, "cursor": cursor}


# Other domains' bot endpoints, on this API: one document, one error shape.
from approvals.api import router as approvals_router  # noqa: E402
from reports.api import router as reports_router  # noqa: E402

api.add_router("", approvals_router)
api.add_router("", reports_router)
