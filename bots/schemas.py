"""The bot API's request and response shapes (typed, and the source of the OpenAPI document)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, EmailStr, Field, HttpUrl

from bots.models import HANDOFF_MESSAGE_MAX_LENGTH
from desk.services import MAX_MESSAGE_LENGTH

BOT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

Text = Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_LENGTH)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


NonBlank = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
HandoffMessage = Annotated[str, Field(max_length=HANDOFF_MESSAGE_MAX_LENGTH)]


class ErrorOut(Schema):
    error: str = Field(description="A stable code, e.g. bot_not_connected, invalid, not_found.")
    message: str = Field(description="What went wrong, for people.")
    fields: dict[str, str] | None = Field(
        None, description="For 422: each bad field (dotted path) and what is wrong with it."
    )


class DeployIn(Schema):
    name: Annotated[str, Field(max_length=200)] | None = None
    webhookUrl: HttpUrl | Literal[""] | None = Field(
        None, description="Where Desk POSTs events; leave out or empty to use long-poll."
    )
    agentAssignedMessage: HandoffMessage | None = Field(
        None, description="Shown to the end user when an agent claims; may contain {agentName}."
    )
    sessionEndedMessage: HandoffMessage | None = None
    agentAssignedTimeoutSeconds: Annotated[int, Field(ge=0, le=7 * 24 * 3600)] | None = Field(
        None, description="Close a ticket nobody claimed after this many seconds; 0 is off."
    )
    agentAssignedTimeoutMessage: HandoffMessage | None = None


class BotOut(Schema):
    botId: str
    name: str
    webhookUrl: str
    webhookSecret: str
    agentAssignedMessage: str
    sessionEndedMessage: str
    agentAssignedTimeoutSeconds: int
    agentAssignedTimeoutMessage: str
    connected: bool
    firstDeployedAt: datetime
    lastDeployedAt: datetime


class HistoryIn(Schema):
    role: Literal["user", "bot"]
    text: Text
    createdAt: datetime | None = None


class StartHitlIn(Schema):
    conversationId: NonBlank
    title: Annotated[str, Field(max_length=300)] = ""
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    userName: Annotated[str, Field(max_length=200)] = ""
    userEmail: EmailStr | Literal[""] = ""
    description: Annotated[str, Field(max_length=MAX_MESSAGE_LENGTH)] = ""
    messageHistory: Annotated[list[HistoryIn], Field(max_length=500)] = []


class TicketOut(Schema):
    ticketId: str
    number: int
    status: Literal["pending", "assigned", "closed"]
    conversationId: str
    priority: Literal["low", "medium", "high", "urgent"]
    title: str
    createdAt: datetime


class MessageIn(Schema):
    text: Text = Field(description="What the end user wrote.")
    messageId: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None, description="The bot's own id for this message: sending it twice stores it once."
    )
    userName: Annotated[str, Field(max_length=200)] = Field(
        "", description="Shown as the author; defaults to the ticket's userName."
    )


class MessageOut(Schema):
    id: int = Field(description="Desk's id of the stored message.")
    messageId: str | None = Field(description="The bot's messageId, when it sent one.")
    ticketId: str
    ticketNumber: int
    conversationId: str
    text: str
    userName: str
    createdAt: datetime
    duplicate: bool = Field(description="True when this messageId was already stored.")


class StopHitlIn(Schema):
    conversationId: NonBlank
    reason: Literal["cancel", "timeout"] = Field(
        "cancel",
        description="cancel: the end user left; timeout: the bot timed the session out.",
    )


class EventOut(Schema):
    """One event; the fields after conversationId depend on its type."""

    id: str = Field(description="The event's unique id: de-duplicate on it.")
    cursor: int = Field(description="Its place in the bot's log; pass as `after` to resume.")
    type: Literal["hitlAssigned", "agentMessage", "hitlStopped", "approvalDecided"]
    createdAt: datetime
    botId: str
    ticketId: str | None = Field(
        None,
        description=(
            "The ticket: on every hitl and agent event; on approvalDecided when the "
            "approval's conversation has one."
        ),
    )
    ticketNumber: int | None = None
    conversationId: str | None = Field(
        None,
        description=(
            "The conversation: on every hitl and agent event; on approvalDecided when "
            "the approval named one."
        ),
    )
    agentName: str | None = Field(
        None,
        description=(
            "hitlAssigned, agentMessage: the agent's display name; approvalDecided "
            "(approved, rejected): who decided."
        ),
    )
    message: str | None = Field(
        None,
        description=(
            "hitlAssigned: the bot's agentAssignedMessage; hitlStopped (agentClosed, "
            "timeout): sessionEndedMessage or agentAssignedTimeoutMessage — show it to "
            "the end user. {agentName} is already filled in."
        ),
    )
    reassigned: bool | None = Field(
        None, description="hitlAssigned: true when another agent took the ticket over."
    )
    messageId: int | None = Field(None, description="agentMessage: Desk's id of the message.")
    text: str | None = Field(None, description="agentMessage: what the agent wrote.")
    reason: str | None = Field(
        None,
        description=(
            "hitlStopped: why the session ended (agentClosed, botStopped or timeout); "
            "approvalDecided (rejected): the agent's reason, in their words."
        ),
    )
    approvalId: str | None = Field(None, description="approvalDecided: the approval's id.")
    requestId: str | None = Field(
        None, description="approvalDecided: the bot's requestId of the approval."
    )
    action: str | None = Field(None, description="approvalDecided: the tool's name.")
    decision: Literal["approved", "rejected", "expired", "cancelled"] | None = Field(
        None, description="approvalDecided: what was decided."
    )
    arguments: dict[str, Any] | None = Field(
        None,
        description=(
            "approvalDecided: the final arguments — the agent's, when edited is true. "
            "Act on these, not on the ones you asked with."
        ),
    )
    edited: bool | None = Field(
        None, description="approvalDecided: true when the agent changed the arguments."
    )
    decidedAt: datetime | None = Field(None, description="approvalDecided: when.")


class EventsOut(Schema):
    events: list[EventOut]
    cursor: int = Field(description="Pass as `after` next time (the last event's cursor).")
