"""Typed requests and answers of Desk's bot API (the shapes in /api/v1/openapi.json).

Attributes are snake_case (`ticket.conversation_id`); on the wire they are Desk's
camelCase names (`conversationId`). Answers keep fields Desk adds later: they are
reachable as attributes and in `model_extra`, so a newer Desk never breaks an older
SDK. Events of a type this SDK does not know yet parse as a plain `Event`.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError
from pydantic.alias_generators import to_camel

logger = logging.getLogger("desk_sdk")

Priority = Literal["low", "medium", "high", "urgent"]


class _Shape(BaseModel):
    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="allow")

    def to_json(self) -> dict[str, Any]:
        """The JSON body Desk expects: camelCase names, fields left unset left out."""
        return self.model_dump(mode="json", by_alias=True, exclude_unset=True)


# --- answers ---------------------------------------------------------------------------


class Bot(_Shape):
    """The bot as Desk knows it (the answer to deploy and get_bot)."""

    bot_id: str
    name: str = ""
    webhook_url: str = ""
    webhook_secret: str = Field("", repr=False)
    agent_assigned_message: str = ""
    session_ended_message: str = ""
    agent_assigned_timeout_seconds: int = 0
    agent_assigned_timeout_message: str = ""
    agent_transferred_message: str = ""
    queued_message: str = ""
    outside_hours_message: str = ""
    csat_message: str = ""
    connected: bool = False
    first_deployed_at: datetime | None = None
    last_deployed_at: datetime | None = None
    _created: bool = PrivateAttr(False)

    @property
    def created(self) -> bool:
        """True when this deploy created the bot (Desk answered 201)."""
        return self._created


class Ticket(_Shape):
    """A ticket opened (or found) by start_hitl, or closed by stop_hitl."""

    ticket_id: str
    number: int
    status: str  # pending, assigned, waiting, closed (and whatever Desk adds)
    conversation_id: str
    priority: str = "medium"
    title: str = ""
    created_at: datetime | None = None
    # start_hitl's answer: where the ticket stands in the queue (None on other answers).
    queue_position: int | None = None  # 1 is next; None once an agent has it
    estimated_wait_seconds: int | None = None  # None without a basis yet
    agents_available: int | None = None  # agents who could take it now
    within_business_hours: bool | None = None
    labels: list[str] = Field(default_factory=list)  # start_hitl's answer: its labels' names
    _created: bool = PrivateAttr(False)

    @property
    def created(self) -> bool:
        """start_hitl: True when it opened this ticket (201), False when the conversation's
        open ticket was already there (200)."""
        return self._created


class StoredMessage(_Shape):
    """The end user's message as Desk stored it (send_message's answer)."""

    id: int
    message_id: str | None = None
    ticket_id: str
    ticket_number: int
    conversation_id: str
    type: str = "text"
    payload: dict[str, Any] = Field(default_factory=dict)
    text: str
    user_name: str = ""
    created_at: datetime | None = None
    duplicate: bool = False


class DeskFile(_Shape):
    """A file uploaded to Desk (upload_file's answer). Send `url` in a message (image_url,
    file_url, …); it is also a download link that works for an hour."""

    file_id: str
    url: str
    content_type: str
    size: int
    name: str

    @property
    def message_type(self) -> str:
        """The message type that shows this file: image, audio, video or file."""
        for kind in ("image", "audio", "video"):
            if self.content_type.startswith(f"{kind}/") and self.content_type != "image/svg+xml":
                return kind
        return "file"


class Event(_Shape):
    """One event of the bot's log. The subclasses add the fields of the known types;
    an event of a type this SDK does not know is an `Event` with its fields as extras."""

    id: str
    cursor: int
    type: str
    created_at: datetime | None = None
    bot_id: str = ""
    ticket_id: str | None = None
    ticket_number: int | None = None
    conversation_id: str | None = None


class HitlEvent(Event):
    """An event of a handoff: it always names its conversation and ticket."""

    ticket_id: str
    ticket_number: int
    conversation_id: str


class HitlAssigned(HitlEvent):
    """An agent claimed the ticket (or it was reassigned): show `message` to the user.
    `agent_id` is stable; `agent_avatar_url` is the agent's picture (PNG)."""

    type: Literal["hitlAssigned"] = "hitlAssigned"
    agent_name: str = ""
    agent_id: str | None = None
    agent_avatar_url: str | None = None
    message: str = ""
    reassigned: bool = False


class HitlQueued(HitlEvent):
    """The ticket waits for an agent: show `message` to the user ("You are number 2 in
    line…", or the outside-hours message when `within_business_hours` is False). Sent
    when the ticket's place changes, at most every DESK_QUEUE_UPDATE_SECONDS per ticket."""

    type: Literal["hitlQueued"] = "hitlQueued"
    queue_position: int
    estimated_wait_seconds: int | None = None
    agents_available: int | None = None
    within_business_hours: bool = True
    message: str = ""


class AgentMessage(HitlEvent):
    """The agent replied: relay it to the end user. `text` is always there (a file: its
    name and URL) for channels that show text only; `message_type` and `payload` are the
    message as Botpress types it (text, image, audio, video, file, location, markdown, or
    bloc: text and files together, `payload["items"]`). A file's URL works for an hour
    after Desk sent the event: fetch it (`download_file`) to keep it."""

    type: Literal["agentMessage"] = "agentMessage"
    text: str = ""
    message_type: str = "text"
    payload: dict[str, Any] = Field(default_factory=dict)
    agent_name: str = ""
    agent_id: str | None = None
    agent_avatar_url: str | None = None
    message_id: int | None = None

    @property
    def items(self) -> list[dict[str, Any]]:
        """The message as a list of {type, payload}: a bloc's items, or the message alone."""
        if self.message_type == "bloc":
            return list(self.payload.get("items", []))
        return [{"type": self.message_type, "payload": self.payload}]


class Csat(_Shape):
    """Desk asks the bot to ask the end user how satisfied they are, from 1 to `scale`."""

    message: str
    scale: int = 5


class HitlStopped(HitlEvent):
    """The session ended (`reason`: agentClosed, botStopped, timeout, waitingTimeout): the
    bot is back in charge; show `message` (when there is one) to the user. When the bot deployed a
    `csat_message` and an agent closed, `csat` carries it: ask the user, then `rate()`."""

    type: Literal["hitlStopped"] = "hitlStopped"
    reason: str = ""
    message: str | None = None
    csat: Csat | None = None
    agent_name: str | None = None  # agentClosed: who closed it
    agent_id: str | None = None
    agent_avatar_url: str | None = None


class ApprovalDecided(Event):
    """An approval request was decided (`decision`: approved, rejected, expired,
    cancelled). Act on `arguments`: the agent's, when `edited`. `conversation_id` and
    the ticket are there when the request named a conversation."""

    type: Literal["approvalDecided"] = "approvalDecided"
    approval_id: str
    request_id: str = ""
    action: str = ""
    decision: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    edited: bool = False
    reason: str | None = None
    agent_name: str | None = None
    agent_id: str | None = None
    agent_avatar_url: str | None = None
    decided_at: datetime | None = None


EVENT_TYPES: dict[str, type[Event]] = {
    "hitlAssigned": HitlAssigned,
    "agentMessage": AgentMessage,
    "hitlStopped": HitlStopped,
    "approvalDecided": ApprovalDecided,
    "hitlQueued": HitlQueued,
}

AnyEvent = HitlAssigned | HitlQueued | AgentMessage | HitlStopped | ApprovalDecided | Event


def parse_event(data: dict[str, Any]) -> Event:
    """The typed event for one JSON object of the log (a webhook body or a long-poll item).
    One that does not fit its type's model (a newer Desk changed it) is a plain `Event`
    rather than an error: the bot keeps receiving."""
    model = EVENT_TYPES.get(str(data.get("type")), Event)
    try:
        return model.model_validate(data)
    except ValidationError:
        if model is Event:
            raise
        logger.warning("desk_sdk: a %s event did not fit its model; read as Event", model)
        return Event.model_validate(data)


class Approval(_Shape):
    """An approval request as Desk has it (request_approval, get_approval, cancel_approval).
    `status`: pending, approved, rejected, expired or cancelled; act on `arguments` (the
    agent's, when `edited`), not on the ones you asked with."""

    approval_id: str
    request_id: str = ""
    status: str
    action: str = ""
    title: str = ""
    summary: str = ""
    arguments: dict[str, Any] = Field(default_factory=dict)
    original_arguments: dict[str, Any] = Field(default_factory=dict)
    arguments_schema: dict[str, Any] | None = None
    edited: bool = False
    reason: str | None = None
    agent_name: str | None = None
    conversation_id: str | None = None
    priority: str = "medium"
    created_at: datetime | None = None
    expires_at: datetime | None = None
    decided_at: datetime | None = None
    _created: bool = PrivateAttr(False)

    @property
    def created(self) -> bool:
        """request_approval: True when this call created it (201), False when the
        `request_id` was already known (200)."""
        return self._created

    @property
    def pending(self) -> bool:
        return self.status == "pending"

    @property
    def approved(self) -> bool:
        return self.status == "approved"


class BotStats(_Shape):
    """A day's conversation count as Desk stored it (report_stats's answer)."""

    bot_id: str
    date: date
    conversations: int
    reported_at: datetime | None = None
    _created: bool = PrivateAttr(False)

    @property
    def created(self) -> bool:
        """True the first time that day was reported (201), False when it replaced a count."""
        return self._created


class Rating(_Shape):
    """The end user's satisfaction score as Desk recorded it (rate's answer)."""

    ticket_id: str
    ticket_number: int
    conversation_id: str
    score: int
    comment: str = ""
    rated_at: datetime | None = None
    updated_at: datetime | None = None
    replaced: bool = False


class EventPage(_Shape):
    """One answer of the events endpoint: the events after `after`, and the next cursor."""

    events: list[Event]
    cursor: int

    @classmethod
    def parse(cls, data: dict[str, Any]) -> EventPage:
        events = [parse_event(item) for item in data.get("events", [])]
        return cls.model_validate({**data, "events": events})


# --- requests --------------------------------------------------------------------------


# Requests check only what the SDK needs; Desk checks values (a 422 names the field), so
# a value a newer Desk accepts is never refused here.


class HistoryItem(_Shape):
    """A message of the conversation so far, for start_hitl's `message_history`: Desk's
    shape (`role` "user" or "bot", `text`), or Botpress's (`source` {"type": "user",
    "userId": …} or {"type": "bot"}, `type`, `payload`), e.g. a card the bot showed:
    HistoryItem(role="bot", type="card", payload={"title": …, "actions": […]})."""

    role: str | None = None
    source: dict[str, Any] | None = None
    type: str | None = None
    text: str | None = None
    payload: dict[str, Any] | None = None
    created_at: datetime | None = None


class DeployRequest(_Shape):
    name: str | None = None
    webhook_url: str | None = None
    agent_assigned_message: str | None = None
    session_ended_message: str | None = None
    agent_assigned_timeout_seconds: int | None = None
    agent_assigned_timeout_message: str | None = None
    agent_transferred_message: str | None = None
    queued_message: str | None = None
    outside_hours_message: str | None = None
    csat_message: str | None = None


class StartHitlRequest(_Shape):
    conversation_id: str
    title: str | None = None
    priority: str | None = None
    user_name: str | None = None
    user_email: str | None = None
    user_id: str | None = None
    custom_fields: dict[str, Any] | None = None
    description: str | None = None
    message_history: list[HistoryItem] | None = None
    labels: list[str] | None = None


class MessageRequest(_Shape):
    type: str | None = None
    text: str | None = None
    image_url: str | None = None
    audio_url: str | None = None
    video_url: str | None = None
    file_url: str | None = None
    title: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    address: str | None = None
    markdown: str | None = None
    items: list[dict[str, Any]] | None = None
    payload: dict[str, Any] | None = None
    message_id: str
    user_name: str | None = None


class StopHitlRequest(_Shape):
    conversation_id: str
    reason: str | None = None


class StatsRequest(_Shape):
    conversations: int


class RatingRequest(_Shape):
    score: int
    comment: str | None = None


class ApprovalRequest(_Shape):
    request_id: str
    action: str
    title: str
    arguments: dict[str, Any]
    summary: str | None = None
    arguments_schema: dict[str, Any] | None = None
    conversation_id: str | None = None
    priority: str | None = None
    expires_in_seconds: int | None = None


class ErrorBody(_Shape):
    """Desk's one error shape: {error, message, fields?}."""

    error: str = "error"
    message: str = ""
    fields: dict[str, str] | None = None
