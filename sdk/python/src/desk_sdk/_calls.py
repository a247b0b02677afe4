"""What `Desk` and `AsyncDesk` share: each operation as a `Call`, the retry rules, and
turning an HTTP answer into a model or an exception. No I/O happens here."""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Generic, TypeVar
from urllib.parse import quote

import httpx

from desk_sdk import errors
from desk_sdk.models import (
    Approval,
    ApprovalRequest,
    Bot,
    BotStats,
    DeployRequest,
    DeskFile,
    EventPage,
    HistoryItem,
    MessageRequest,
    Rating,
    RatingRequest,
    StartHitlRequest,
    StatsRequest,
    StopHitlRequest,
    StoredMessage,
    Ticket,
)

__version__ = "0.1.0"
USER_AGENT = f"desk-sdk-python/{__version__}"
T = TypeVar("T")

# Idempotence of a call decides what may be retried:
ALWAYS = "always"  # repeating it changes nothing: retry network errors, 429 and 5xx
UNSENT = "unsent"  # retry only what Desk surely did not act on: a refused connection, 429

# httpx errors raised before a byte of the request left: nothing reached Desk.
NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class Retry:
    """How calls are retried. `total_seconds` bounds the time spent on one call across
    all its attempts (a wait that would end past it is not started); `max_attempts`
    bounds their number. The delay doubles from `backoff` up to `max_backoff`, with
    jitter; a 429 waits Desk's Retry-After instead. `Retry(max_attempts=1)` is off."""

    max_attempts: int = 5
    total_seconds: float = 30.0
    backoff: float = 0.5
    max_backoff: float = 8.0

    def delay(self, attempt: int) -> float:
        """The pause after failed attempt number `attempt` (1 for the first)."""
        base = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return base * random.uniform(0.5, 1.0)


NO_RETRY = Retry(max_attempts=1)


@dataclass
class Call(Generic[T]):
    """One HTTP request to the bot API and how to read its answer."""

    method: str
    path: str
    parse: Callable[[httpx.Response], T]
    idempotence: str = ALWAYS
    json: dict[str, Any] | None = None
    files: dict[str, Any] | None = None  # multipart: {"file": (name, bytes, content type)}
    params: dict[str, Any] = field(default_factory=dict)
    timeout: float | None = None


def retry_delay(
    call: Call, error: errors.DeskError, attempt: int, retry: Retry
) -> float | None:
    """Seconds to wait before trying `call` again after `error`, or None: give up."""
    if attempt >= retry.max_attempts:
        return None
    if isinstance(error, errors.RateLimited):
        # Desk refuses a throttled call before acting on it: safe for every call.
        return error.retry_after if error.retry_after is not None else retry.delay(attempt)
    if isinstance(error, errors.DeskUnreachable):
        if call.idempotence == ALWAYS or isinstance(error.__cause__, NOT_SENT):
            return retry.delay(attempt)
        return None
    if isinstance(error, errors.ServerError) and call.idempotence == ALWAYS:
        return retry.delay(attempt)
    return None


def unreachable(exc: httpx.HTTPError, call: Call) -> errors.DeskUnreachable:
    error = errors.DeskUnreachable(f"Desk did not answer {call.method} {call.path}: {exc!r}")
    error.__cause__ = exc
    return error


def answer(response: httpx.Response, call: Call[T]) -> T:
    """The parsed answer of a 2xx, or the exception for anything else."""
    if 200 <= response.status_code < 300:
        try:
            return call.parse(response)
        except ValueError as exc:
            raise errors.ServerError(
                f"Desk answered {call.method} {call.path} with something that is not its "
                f"JSON: {response.text[:200]!r}",
                status=response.status_code,
            ) from exc
    try:
        body: Any = response.json()
    except ValueError:
        body = response.text
    raise errors.error_for(response.status_code, body, dict(response.headers))


# --- the operations --------------------------------------------------------------------


def _segment(value: str) -> str:
    """One path segment, `/` included in what is encoded."""
    return quote(value, safe="")


def _given(**values: Any) -> dict[str, Any]:
    return {name: value for name, value in values.items() if value is not None}


def _ticket(response: httpx.Response) -> Ticket:
    ticket = Ticket.model_validate(response.json())
    ticket._created = response.status_code == 201
    return ticket


def _stats(response: httpx.Response) -> BotStats:
    stats = BotStats.model_validate(response.json())
    stats._created = response.status_code == 201
    return stats


def _approval(response: httpx.Response) -> Approval:
    approval = Approval.model_validate(response.json())
    approval._created = response.status_code == 201
    return approval


def _bot(response: httpx.Response) -> Bot:
    bot = Bot.model_validate(response.json())
    bot._created = response.status_code == 201
    return bot


class Operations:
    """Each bot API operation as a `Call` for one bot (the base of both clients)."""

    # (HTTP method, path in the OpenAPI document) → the client method for it.
    # The contract test checks that every operation of Desk's document is here.
    OPERATIONS: dict[tuple[str, str], str] = {
        ("PUT", "/api/v1/bots/{botId}"): "deploy",
        ("GET", "/api/v1/bots/{botId}"): "get_bot",
        ("POST", "/api/v1/bots/{botId}/startHitl"): "start_hitl",
        ("POST", "/api/v1/bots/{botId}/conversations/{conversationId}/messages"): "send_message",
        ("POST", "/api/v1/bots/{botId}/stopHitl"): "stop_hitl",
        ("GET", "/api/v1/bots/{botId}/events"): "events",
        ("POST", "/api/v1/bots/{botId}/approvals"): "request_approval",
        ("GET", "/api/v1/bots/{botId}/approvals/{approvalId}"): "get_approval",
        ("POST", "/api/v1/bots/{botId}/approvals/{approvalId}/cancel"): "cancel_approval",
        ("PUT", "/api/v1/bots/{botId}/stats/{date}"): "report_stats",
        ("POST", "/api/v1/bots/{botId}/conversations/{conversationId}/rating"): "rate",
        ("POST", "/api/v1/bots/{botId}/files"): "upload_file",
    }

    def __init__(self, bot_id: str) -> None:
        if not bot_id:
            raise ValueError("bot_id is required: the id your bot deploys itself under")
        self.bot_id = bot_id

    @property
    def _bot_path(self) -> str:
        return f"/api/v1/bots/{_segment(self.bot_id)}"

    def _deploy(self, **fields: Any) -> Call[Bot]:
        body = DeployRequest(**_given(**fields)).to_json()
        return Call("PUT", self._bot_path, _bot, ALWAYS, json=body)

    def _get_bot(self) -> Call[Bot]:
        return Call("GET", self._bot_path, _bot, ALWAYS)

    def _start_hitl(
        self, conversation_id: str, message_history: Iterable[Any] | None, **fields: Any
    ) -> Call[Ticket]:
        history = None
        if message_history is not None:
            history = [
                item if isinstance(item, HistoryItem) else HistoryItem.model_validate(item)
                for item in message_history
            ]
        body = StartHitlRequest(
            conversation_id=conversation_id, **_given(message_history=history, **fields)
        ).to_json()
        # Desk answers the open ticket again for the same conversation: safe to repeat.
        return Call("POST", f"{self._bot_path}/startHitl", _ticket, ALWAYS, json=body)

    def _send_message(
        self, conversation_id: str, message_id: str | None, **fields: Any
    ) -> Call[StoredMessage]:
        # Every message carries an id, so a repeated send is stored once (duplicate=true).
        message_id = message_id or f"sdk-{uuid.uuid4().hex}"
        body = MessageRequest(message_id=message_id, **_given(**fields)).to_json()
        path = f"{self._bot_path}/conversations/{_segment(conversation_id)}/messages"
        return Call(
            "POST", path, lambda r: StoredMessage.model_validate(r.json()), ALWAYS, json=body
        )

    def _stop_hitl(self, conversation_id: str, **fields: Any) -> Call[Ticket]:
        body = StopHitlRequest(conversation_id=conversation_id, **_given(**fields)).to_json()
        # A second stopHitl answers 409: only retried when Desk surely did not act.
        return Call("POST", f"{self._bot_path}/stopHitl", _ticket, UNSENT, json=body)

    def _events(self, after: int, wait: float, limit: int | None, timeout: float) -> Call:
        params = _given(after=int(after), wait=int(wait), limit=limit)
        return Call(
            "GET", f"{self._bot_path}/events", lambda r: EventPage.parse(r.json()), ALWAYS,
            params=params, timeout=wait + timeout,
        )


    def _upload_file(self, data: bytes, name: str, content_type: str) -> Call[DeskFile]:
        # A repeat stores the same bytes again under a new id (never used, then deleted):
        # safe to retry.
        return Call(
            "POST", f"{self._bot_path}/files", lambda r: DeskFile.model_validate(r.json()),
            ALWAYS, files={"file": (name, data, content_type)},
        )

    def _report_stats(self, day: date | str, conversations: int) -> Call[BotStats]:
        day = day.isoformat() if isinstance(day, date) else str(day)
        body = StatsRequest(conversations=conversations).to_json()
        # A day reported again replaces its count: safe to repeat.
        return Call("PUT", f"{self._bot_path}/stats/{_segment(day)}", _stats, ALWAYS, json=body)

    def _rate(self, conversation_id: str, score: int, comment: str | None) -> Call[Rating]:
        body = RatingRequest(score=score, **_given(comment=comment)).to_json()
        path = f"{self._bot_path}/conversations/{_segment(conversation_id)}/rating"
        # A repeat would replace the rating with itself and add a line to the transcript:
        # only retried when Desk surely did not act.
        return Call("POST", path, lambda r: Rating.model_validate(r.json()), UNSENT, json=body)

    def _request_approval(self, request_id: str | None, **fields: Any) -> Call[Approval]:
        # Desk answers the same approval for the same requestId: safe to repeat.
        request_id = request_id or f"sdk-{uuid.uuid4().hex}"
        body = ApprovalRequest(request_id=request_id, **_given(**fields)).to_json()
        return Call("POST", f"{self._bot_path}/approvals", _approval, ALWAYS, json=body)

    def _get_approval(self, approval_id: str, wait: float, timeout: float) -> Call[Approval]:
        path = f"{self._bot_path}/approvals/{_segment(approval_id)}"
        return Call("GET", path, _approval, ALWAYS, params=_given(wait=int(wait)),
                    timeout=wait + timeout)

    def _cancel_approval(self, approval_id: str) -> Call[Approval]:
        # Withdrawing again answers the same approval: safe to repeat.
        path = f"{self._bot_path}/approvals/{_segment(approval_id)}/cancel"
        return Call("POST", path, _approval, ALWAYS)


def listen_pause(failures: int, cap: float) -> float:
    """The pause before polling again after `failures` failed polls in a row."""
    return min(cap, 0.5 * 2 ** max(failures - 1, 0)) * random.uniform(0.5, 1.0)


# Errors after which polling again cannot help: the key or the bot is wrong.
FATAL_FOR_LISTEN = (errors.Unauthorized, errors.Forbidden, errors.NotFound,
                    errors.ValidationFailed)


def file_bytes(file: Any, name: str | None) -> tuple[bytes, str]:
    """(bytes, name) of what upload_file was given: bytes, a path, or a binary file."""
    import os

    if isinstance(file, (bytes, bytearray, memoryview)):
        return bytes(file), name or "file"
    if isinstance(file, (str, os.PathLike)):
        with open(file, "rb") as handle:
            return handle.read(), name or os.path.basename(os.fspath(file))
    data = file.read()
    return data, name or os.path.basename(getattr(file, "name", "") or "") or "file"
