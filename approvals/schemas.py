"""The approval endpoints' request and response shapes (and their OpenAPI document)."""

from datetime import datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import Field

from bots.schemas import VISIBLE, VISIBLE_OR_BLANK, NonBlank

MAX_SUMMARY = 10_000


# The API's text rule (bots.text): no NUL character or unpaired surrogate (PostgreSQL
# cannot store them), and not only zero-width or other invisible characters.
Title = Annotated[str, Field(min_length=1, max_length=300), VISIBLE]
Action = Annotated[str, Field(min_length=1, max_length=100), VISIBLE]
Summary = Annotated[str, Field(max_length=MAX_SUMMARY), VISIBLE_OR_BLANK]


class ApprovalIn(Schema):
    requestId: NonBlank = Field(
        description="Your id for this request: sending it again returns the same approval."
    )
    action: Action = Field(description="The tool's name, e.g. refund.")
    title: Title = Field(description="What the agent reads first: \"Refund $25 on #991\".")
    summary: Summary = Field("", description="More context for the agent (plain text).")
    arguments: dict[str, Any] = Field(
        description="The tool call's arguments: a JSON object, at most 64 KiB as JSON."
    )
    argumentsSchema: dict[str, Any] | None = Field(
        None,
        description=(
            "A JSON Schema (draft 4 to 2020-12) describing `arguments`: they must validate "
            "against it, the agent's form is built from it, and an agent's edit must "
            "validate too."
        ),
    )
    conversationId: NonBlank | None = Field(
        None, description="The conversation it is about: agents see its ticket beside it."
    )
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    expiresInSeconds: Annotated[int, Field(ge=60, le=604_800)] = Field(
        3600, description="Decided `expired` when nobody decided it this long after."
    )


class ApprovalOut(Schema):
    approvalId: str
    requestId: str
    status: Literal["pending", "approved", "rejected", "expired", "cancelled"]
    action: str
    title: str
    summary: str
    arguments: dict[str, Any] = Field(
        description="The arguments to act on: the agent's, once approved with changes."
    )
    originalArguments: dict[str, Any] = Field(description="The arguments as you sent them.")
    argumentsSchema: dict[str, Any] | None
    edited: bool = Field(description="True when the agent changed the arguments.")
    reason: str | None = Field(description="The agent's reason, when rejected.")
    agentName: str | None = Field(description="Who decided (approved or rejected).")
    conversationId: str | None
    priority: Literal["low", "medium", "high", "urgent"]
    createdAt: datetime
    expiresAt: datetime
    decidedAt: datetime | None
