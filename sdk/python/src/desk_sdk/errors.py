"""One exception per error Desk answers, all under `DeskError`.

Desk's errors have one JSON shape, `{"error": code, "message": text, "fields": {...}}`;
each exception carries them as `code`, `message` (Desk's exact words) and, for 422,
`fields`. `DeskUnreachable` is the one that comes without an answer: the network.
"""

from __future__ import annotations

from typing import Any


class DeskError(Exception):
    """Desk refused the call. `status` is the HTTP status, `code` Desk's stable error code,
    `message` its explanation for people, `body` the whole JSON answer."""

    status: int = 0
    code: str = "error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        fields: dict[str, str] | None = None,
        body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.fields: dict[str, str] = dict(fields or {})
        self.body = body
        self.headers = dict(headers or {})

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}" if self.status else self.message


class Unauthorized(DeskError):
    """401: the API key is missing, wrong or revoked."""

    status, code = 401, "unauthorized"


class Forbidden(DeskError):
    """403: the key may not do this."""

    status, code = 403, "forbidden"


class BotNotConnected(Forbidden):
    """403: the bot is deployed but not enabled on Desk's Deflecting Bots page.
    `message` is Desk's exact sentence, meant for the bot's operator."""

    code = "bot_not_connected"


class NotFound(DeskError):
    """404: no such bot for this key, or a conversation Desk never saw."""

    status, code = 404, "not_found"


class Conflict(DeskError):
    """409: the ticket is not in a state that allows this."""

    status, code = 409, "conflict"


class TicketClosed(Conflict):
    """409: the conversation has no open ticket: the handoff is over, the bot is in charge."""

    code = "ticket_closed"


class AlreadyDecided(Conflict):
    """409: the approval was already approved, rejected or expired: it cannot be withdrawn."""

    code = "already_decided"


class NoRecentTicket(Conflict):
    """409: `rate` found no ticket of the conversation closed in the last 7 days."""

    code = "no_recent_ticket"


class AlreadyRated(Conflict):
    """409: the ticket was rated more than 24 hours ago; its rating is final."""

    code = "already_rated"


class PayloadTooLarge(DeskError):
    """413: the request body is over Desk's limit (1 MiB)."""

    status, code = 413, "too_large"


class ValidationFailed(DeskError):
    """422: a field is not acceptable; `fields` maps each (dotted path) to its problem."""

    status, code = 422, "invalid"


class RateLimited(DeskError):
    """429: too many requests for this API key; `retry_after` is Desk's Retry-After, in
    seconds (None when it sent none)."""

    status, code = 429, "rate_limited"

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(DeskError):
    """5xx: Desk failed to answer this call (retried for the calls safe to repeat)."""

    status, code = 500, "server_error"


class DeskUnreachable(DeskError):
    """No answer at all: the connection failed or timed out. `__cause__` is httpx's error."""

    code = "unreachable"


class InvalidWebhook(DeskError):
    """A webhook request that is not from Desk: a bad or missing signature, a stale
    timestamp, or a body that is not an event. Answer it with 401 (or 400) and drop it."""

    status, code = 401, "invalid_webhook"


# Desk's codes first; a code this SDK does not know falls back to its status.
BY_CODE: dict[str, type[DeskError]] = {
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "bot_not_connected": BotNotConnected,
    "not_found": NotFound,
    "conflict": Conflict,
    "ticket_closed": TicketClosed,
    "already_decided": AlreadyDecided,
    "no_recent_ticket": NoRecentTicket,
    "already_rated": AlreadyRated,
    "too_large": PayloadTooLarge,
    "invalid": ValidationFailed,
    "rate_limited": RateLimited,
    "server_error": ServerError,
}
BY_STATUS: dict[int, type[DeskError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: ValidationFailed,
    429: RateLimited,
}


def retry_after_seconds(value: str | None) -> float | None:
    """Retry-After as seconds (Desk sends whole seconds; an HTTP date is not used)."""
    try:
        return max(float(value), 0.0) if value is not None else None
    except ValueError:
        return None


def error_for(status: int, body: Any, headers: dict[str, str]) -> DeskError:
    """The exception for one error answer of Desk."""
    data = body if isinstance(body, dict) else {}
    code = str(data.get("error") or "")
    message = str(data.get("message") or "") or (
        body.strip()[:500] if isinstance(body, str) and body.strip() else f"HTTP {status}"
    )
    cls = BY_CODE.get(code) or BY_STATUS.get(status) or (
        ServerError if status >= 500 else DeskError
    )
    kwargs: dict[str, Any] = dict(
        status=status, code=code or None, fields=data.get("fields"), body=body, headers=headers
    )
    if cls is RateLimited:
        lowered = {k.lower(): v for k, v in headers.items()}
        return RateLimited(
            message, retry_after=retry_after_seconds(lowered.get("retry-after")), **kwargs
        )
    return cls(message, **kwargs)
