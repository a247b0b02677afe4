"""The request and response shapes of the reports' bot API endpoints (bot stats, ratings)."""

from datetime import date, datetime
from typing import Annotated

from ninja import Schema
from pydantic import Field

from bots.schemas import FreeText
from desk.models import RATING_COMMENT_MAX_LENGTH, RATING_SCALE

MAX_CONVERSATIONS = 1_000_000_000


class StatsIn(Schema):
    conversations: Annotated[int, Field(ge=0, le=MAX_CONVERSATIONS)] = Field(
        description="How many conversations the bot handled that day, handed over or not."
    )


class StatsOut(Schema):
    botId: str
    date: date
    conversations: int
    reportedAt: datetime


class RatingIn(Schema):
    score: Annotated[int, Field(ge=1, le=RATING_SCALE)] = Field(
        description="The end user's satisfaction, from 1 (very unhappy) to 5 (very happy)."
    )
    comment: FreeText(RATING_COMMENT_MAX_LENGTH) = Field(
        "", description="What the end user added in their own words, if anything."
    )


class RatingOut(Schema):
    ticketId: str
    ticketNumber: int
    conversationId: str
    score: int
    comment: str
    ratedAt: datetime = Field(description="The first rating (replaceable for 24 hours after).")
    updatedAt: datetime
    replaced: bool = Field(description="True when this replaced an earlier rating.")
