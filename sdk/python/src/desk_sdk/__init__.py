"""desk-sdk: hand a bot's conversation to human agents in Desk.

    from desk_sdk import Desk
    desk = Desk("http://127.0.0.1:8000", api_key=KEY, bot_id="my-bot")
    desk.start_hitl("conv-42", title="Refund", user_name="Jo")
    desk.send_message("conv-42", "Where is my order?")
    for event in desk.listen(cursor_store=FileCursorStore("my-bot.cursor")): ...

Webhook receivers: `desk_sdk.django.webhook_view`, `desk_sdk.asgi.WebhookApp`,
`desk_sdk.wsgi.WebhookApp`; or `verify_webhook(secret, headers, raw_body)` yourself.
"""

from desk_sdk._calls import NO_RETRY, Retry, __version__
from desk_sdk.client import AsyncDesk, Desk
from desk_sdk.cursors import CursorStore, FileCursorStore, MemoryCursorStore
from desk_sdk.errors import (
    AlreadyDecided,
    AlreadyRated,
    BotNotConnected,
    Conflict,
    DeskError,
    DeskUnreachable,
    Forbidden,
    InvalidWebhook,
    NoRecentTicket,
    NotFound,
    PayloadTooLarge,
    RateLimited,
    ServerError,
    TicketClosed,
    Unauthorized,
    ValidationFailed,
)
from desk_sdk.models import (
    AgentMessage,
    Approval,
    ApprovalDecided,
    Bot,
    BotStats,
    Csat,
    DeskFile,
    Event,
    EventPage,
    HistoryItem,
    HitlAssigned,
    HitlQueued,
    HitlStopped,
    Rating,
    StoredMessage,
    Ticket,
    parse_event,
)
from desk_sdk.webhooks import verify_webhook

__all__ = [
    "__version__", "Desk", "AsyncDesk", "Retry", "NO_RETRY",
    "CursorStore", "FileCursorStore", "MemoryCursorStore",
    "DeskError", "Unauthorized", "Forbidden", "BotNotConnected", "NotFound", "Conflict",
    "TicketClosed", "AlreadyDecided", "NoRecentTicket", "AlreadyRated", "PayloadTooLarge",
    "ValidationFailed", "RateLimited",
    "ServerError",
    "DeskUnreachable", "InvalidWebhook",
    "Bot", "Ticket", "StoredMessage", "Event", "HitlAssigned", "HitlQueued", "AgentMessage",
    "HitlStopped",
    "ApprovalDecided", "Approval", "EventPage", "HistoryItem", "parse_event", "verify_webhook",
    "Csat", "Rating", "BotStats", "DeskFile",
]
