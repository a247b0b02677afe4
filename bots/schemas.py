"""The bot API's request and response shapes (typed, and the source of the OpenAPI document)."""

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, EmailStr, Field, HttpUrl
from ninja import Schema

from desk.services import MAX_MESSAGE_LENGTH

BOT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"

Text = Annotated[str, Field(min_length=1, max_length=MAX_MESSAGE_LENGTH)]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


NonBlank = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_not_blank)]
HandoffMessage = Annotated[str, Field(max_length=2000)]


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
