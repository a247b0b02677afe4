"""The bot API's request and response shapes (typed, and the source of the OpenAPI document)."""

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from ninja import Schema
from pydantic import AfterValidator, EmailStr, Field, HttpUrl, WithJsonSchema
from pydantic_core import PydanticCustomError

from bots.models import HANDOFF_MESSAGE_MAX_LENGTH
from bots.text import FIELD_PROBLEMS, MESSAGE_PROBLEMS, TextProblem, text_problem
from desk.customers import MAX_CUSTOM_FIELDS, MAX_KEY_LENGTH, MAX_VALUE_LENGTH
from desk.labels import MAX_LABELS_PER_ESCALATION
from desk.labels import NAME_MAX_LENGTH as LABEL_NAME_MAX_LENGTH
from desk.services import MAX_MESSAGE_LENGTH

BOT_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$"


def _text_rule(*, required: bool, problems: dict[TextProblem, str] = FIELD_PROBLEMS):
    """Refuse what `bots.text` refuses; a blank value only where one is `required`."""

    def check(value: str) -> str:
        problem = text_problem(value)
        if problem and (required or problem != TextProblem.BLANK):
            raise PydanticCustomError("text", problems[problem])
        return value

    return AfterValidator(check)


# For other schemas of the API (approvals): the same rules, required or not.
VISIBLE = _text_rule(required=True)
VISIBLE_OR_BLANK = _text_rule(required=False)


def FreeText(max_length: int, min_length: int = 0):
    """Free text that may be left blank: any characters but NUL, not only invisible ones."""
    return Annotated[str, Field(min_length=min_length, max_length=max_length), VISIBLE_OR_BLANK]


# What someone wrote: required, and worded like the composer's errors ("The message is empty.").
Text = Annotated[
    str,
    Field(min_length=1, max_length=MAX_MESSAGE_LENGTH),
    _text_rule(required=True, problems=MESSAGE_PROBLEMS),
]
NonBlank = Annotated[str, Field(min_length=1, max_length=200), VISIBLE]
LabelName = Annotated[str, Field(min_length=1, max_length=LABEL_NAME_MAX_LENGTH), VISIBLE]
HandoffMessage = FreeText(HANDOFF_MESSAGE_MAX_LENGTH)


def _reachable(value: str) -> str:
    # Any other id can be percent-encoded into the messages URL; a whole path segment
    # "." or ".." cannot: HTTP clients (browsers, Node's fetch) remove it, even encoded.
    if value in (".", ".."):
        raise PydanticCustomError(
            "conversation_id",
            'must not be "." or "..", which no URL can carry as a path segment; '
            "any other characters are allowed",
        )
    return value


# A conversation id a new handoff may use: reachable at .../conversations/{id}/messages.
NewConversationId = Annotated[NonBlank, AfterValidator(_reachable)]

# The span of time every time zone can show: a year 1 or 9999 moment shifted by a
# time zone would fall outside the calendar Python and the databases know.
EARLIEST_TIME = datetime(1, 1, 2, tzinfo=UTC)
LATEST_TIME = datetime(9999, 12, 30, 23, 59, 59, 999999, tzinfo=UTC)


def _storable_time(value: datetime) -> datetime:
    """A moment Desk can store and show; one given without an offset is UTC."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    if not EARLIEST_TIME <= value <= LATEST_TIME:
        raise PydanticCustomError(
            "datetime_range",
            "must be between 0001-01-02T00:00:00Z and 9999-12-30T23:59:59Z",
        )
    return value.astimezone(UTC)


Time = Annotated[datetime, AfterValidator(_storable_time)]


class ErrorOut(Schema):
    error: str = Field(description="A stable code, e.g. bot_not_connected, invalid, not_found.")
    message: str = Field(description="What went wrong, for people.")
    fields: dict[str, str] | None = Field(
        None, description="For 422: each bad field (dotted path) and what is wrong with it."
    )


class DeployIn(Schema):
    name: FreeText(200) | None = None
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
    agentTransferredMessage: HandoffMessage | None = Field(
        None,
        description=(
            "Shown to the end user when another agent takes the ticket over (hitlAssigned "
            "with reassigned: true); may contain {agentName}."
        ),
    )
    queuedMessage: HandoffMessage | None = Field(
        None,
        description=(
            "Shown to the end user while they wait in line (hitlQueued); may contain "
            "{queuePosition}."
        ),
    )
    outsideHoursMessage: HandoffMessage | None = Field(
        None,
        description="hitlQueued outside the desk's business hours: shown instead of queuedMessage.",
    )
    csatMessage: HandoffMessage | None = Field(
        None,
        description=(
            "Customer satisfaction: when set, hitlStopped of a ticket an agent closed "
            "carries csat {message, scale: 5}; ask the end user and post the answer to "
            ".../rating. Empty (the default) is off."
        ),
    )


class BotOut(Schema):
    botId: str
    name: str
    webhookUrl: str
    webhookSecret: str
    agentAssignedMessage: str
    sessionEndedMessage: str
    agentAssignedTimeoutSeconds: int
    agentAssignedTimeoutMessage: str
    agentTransferredMessage: str
    queuedMessage: str
    outsideHoursMessage: str
    csatMessage: str
    connected: bool
    firstDeployedAt: datetime
    lastDeployedAt: datetime


MessageType = Literal["text", "image", "audio", "video", "file", "location", "markdown", "bloc"]
HistoryType = Literal[
    "text", "image", "audio", "video", "file", "location", "markdown", "bloc",
    "card", "carousel", "choice", "dropdown",
]
PAYLOAD_DESCRIPTION = (
    "Botpress's shape: the type's fields in one object (e.g. {\"imageUrl\": …}), as "
    "a Botpress message carries them."
)


# A number, not a string or a boolean that looks like one.
Coordinate = Annotated[float, Field(strict=True, allow_inf_nan=False)]


class HistorySource(Schema):
    type: Literal["user", "bot"] = Field(description="Who said it: the end user or the bot.")
    userId: str | None = Field(None, description="The end user's id in the bot (ignored).")


class HistoryIn(Schema):
    """One message of the conversation so far, in either shape: Desk's {role, text,
    createdAt}, or Botpress's {source, type, payload} (a Botpress transcript as it is)."""

    role: Literal["user", "bot"] | None = Field(
        None, description="Desk's shape: who said it. Give role or source."
    )
    source: HistorySource | None = Field(
        None, description="Botpress's shape: {type: user, userId} or {type: bot}."
    )
    type: HistoryType | None = Field(
        None,
        description=(
            "The message type (default text); card, carousel, choice and dropdown are "
            "what a bot showed."
        ),
    )
    text: Text | None = Field(None, description="type text: what was said.")
    payload: dict[str, Any] | None = Field(None, description=PAYLOAD_DESCRIPTION)
    createdAt: Time | None = Field(
        None, description="When it was said; without an offset, UTC. Default: now."
    )


# Checked by desk.customers (a 422 names each bad key); described here for the document.
CustomFields = Annotated[
    dict[str, Any],
    WithJsonSchema(
        {
            "type": "object",
            "maxProperties": MAX_CUSTOM_FIELDS,
            "propertyNames": {"minLength": 1, "maxLength": MAX_KEY_LENGTH},
            "additionalProperties": {
                "anyOf": [
                    {"type": "string", "maxLength": MAX_VALUE_LENGTH},
                    {"type": "number"},
                    {"type": "boolean"},
                ]
            },
        }
    ),
]


class StartHitlIn(Schema):
    conversationId: NewConversationId
    title: FreeText(300) = ""
    priority: Literal["low", "medium", "high", "urgent"] = "medium"
    userName: FreeText(200) = ""
    userEmail: EmailStr | Literal[""] = ""
    userId: FreeText(200) = Field(
        "",
        description=(
            "The end user's id in your bot (Botpress's hitl userId). Their earlier "
            "tickets with this bot are found by it, or by userEmail."
        ),
    )
    customFields: CustomFields | None = Field(
        None,
        description=(
            f"What else you know of the customer, shown to agents and searchable: a flat "
            f"object of at most {MAX_CUSTOM_FIELDS} keys (1–{MAX_KEY_LENGTH} characters), "
            f"each value a string (at most {MAX_VALUE_LENGTH:,} characters), a number or a "
            "boolean."
        ),
    )
    description: FreeText(MAX_MESSAGE_LENGTH) = ""
    messageHistory: Annotated[list[HistoryIn], Field(max_length=500)] = []
    labels: Annotated[list[LabelName], Field(max_length=MAX_LABELS_PER_ESCALATION)] = Field(
        [],
        description=(
            "Labels to put on the ticket, by name (any case). A name Desk does not know is "
            "created only if an admin allowed bots to create labels (Settings → Labels); "
            "otherwise the call is refused with 422 naming it (labels.N), and nothing is "
            "created. Desk's own addition: Botpress's hitl has no labels."
        ),
    )


class TicketOut(Schema):
    ticketId: str
    number: int
    status: Literal["pending", "assigned", "waiting", "closed"] = Field(
        description=(
            "pending (in the queue), assigned (an agent has it), waiting (its agent waits "
            "for the customer's answer: it is assigned again when the customer writes) or "
            "closed."
        )
    )
    conversationId: str
    priority: Literal["low", "medium", "high", "urgent"]
    title: str
    createdAt: datetime


class StartHitlOut(TicketOut):
    """startHitl's answer: the ticket, and where it stands in the queue."""

    queuePosition: int | None = Field(
        None, description="While the ticket waits (pending): its place in line, 1 is next."
    )
    estimatedWaitSeconds: int | None = Field(
        None,
        description=(
            "While it waits: the likely wait for an agent, from the bot's measured waits "
            "(see the docs); null when there is no basis yet or nobody is online."
        ),
    )
    agentsAvailable: int = Field(
        description="Agents who could take a new ticket now (online, present, with room)."
    )
    withinBusinessHours: bool = Field(
        description="False outside the business hours an admin set (Settings → Routing)."
    )
    labels: list[str] = Field(
        [], description="The ticket's labels, by name (those the bot named, and any added since)."
    )


class MessageIn(Schema):
    """An end-user message: `type` (default text) and that type's fields, beside it or in
    `payload` (Botpress's shape). A URL is http(s): the `url` of a file uploaded to
    /files, or your own (Desk shows it as a link and preview, never fetches it unless
    its admin turned DESK_FETCH_REMOTE_MEDIA on)."""

    type: MessageType = Field("text", description="The message type.")
    text: Text | None = Field(
        None,
        description=(
            "type text: what the end user wrote (required). Other types: your own text "
            "rendering, used instead of Desk's (search, inbox preview)."
        ),
    )
    imageUrl: str | None = Field(None, description="type image: the picture's URL.")
    audioUrl: str | None = Field(None, description="type audio: the sound's URL.")
    videoUrl: str | None = Field(None, description="type video: the film's URL.")
    fileUrl: str | None = Field(None, description="type file: the file's URL.")
    title: str | None = Field(
        None, description="type file: its title; type location: the place's name."
    )
    latitude: Coordinate | None = Field(None, description="type location: -90 to 90.")
    longitude: Coordinate | None = Field(None, description="type location: -180 to 180.")
    address: str | None = Field(None, description="type location: the address.")
    markdown: str | None = Field(None, description="type markdown: the text, in Markdown.")
    items: list[dict[str, Any]] | None = Field(
        None,
        description=(
            "type bloc: 1 to 20 messages ({type, payload}) of types text, image, audio, "
            "video, file, location, markdown."
        ),
    )
    payload: dict[str, Any] | None = Field(None, description=PAYLOAD_DESCRIPTION)
    messageId: FreeText(200, min_length=1) | None = Field(
        None, description="The bot's own id for this message: sending it twice stores it once."
    )
    userName: FreeText(200) = Field(
        "", description="Shown as the author; defaults to the ticket's userName."
    )


class MessageOut(Schema):
    id: int = Field(description="Desk's id of the stored message.")
    messageId: str | None = Field(description="The bot's messageId, when it sent one.")
    ticketId: str
    ticketNumber: int
    conversationId: str
    type: str = Field(description="The message type.")
    payload: dict[str, Any] = Field(
        description="The type's fields as stored (a file Desk keeps: a signed URL)."
    )
    text: str = Field(description="The message as text (for other types, Desk's rendering).")
    userName: str
    createdAt: datetime
    duplicate: bool = Field(description="True when this messageId was already stored.")


class FileOut(Schema):
    fileId: str = Field(description="Desk's id of the file.")
    url: str = Field(
        description=(
            "Use it in a message (imageUrl, fileUrl, …), or fetch the file with it: it "
            "works for DESK_FILE_URL_TTL_SECONDS (an hour by default); in a message it "
            "names the file for good."
        )
    )
    contentType: str = Field(description="What the file is, read from its bytes.")
    size: int = Field(description="Bytes.")
    name: str = Field(description="The file's name, as uploaded (cleaned).")


class StopHitlIn(Schema):
    conversationId: NonBlank
    reason: Literal["cancel", "timeout"] = Field(
        "cancel",
        description="cancel: the end user left; timeout: the bot timed the session out.",
    )


class CsatOut(Schema):
    message: str = Field(description="Your csatMessage ({agentName} filled in): ask the end user.")
    scale: int = Field(description="Scores run from 1 to this (5).")


class EventOut(Schema):
    """One event; the fields after conversationId depend on its type."""

    id: str = Field(description="The event's unique id: de-duplicate on it.")
    cursor: int = Field(description="Its place in the bot's log; pass as `after` to resume.")
    type: Literal["hitlAssigned", "agentMessage", "hitlStopped", "approvalDecided", "hitlQueued"]
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
            "hitlAssigned: the bot's agentAssignedMessage (agentTransferredMessage when "
            "reassigned); hitlQueued: queuedMessage (outsideHoursMessage outside business "
            "hours); hitlStopped (agentClosed, waitingTimeout, timeout): sessionEndedMessage "
            "or agentAssignedTimeoutMessage — show it to the end user. {agentName} and "
            "{queuePosition} are already filled in."
        ),
    )
    reassigned: bool | None = Field(
        None, description="hitlAssigned: true when another agent took the ticket over."
    )
    queuePosition: int | None = Field(
        None, description="hitlQueued: the ticket's place in line, 1 is next."
    )
    estimatedWaitSeconds: int | None = Field(
        None, description="hitlQueued: the likely wait for an agent; null without a basis."
    )
    agentsAvailable: int | None = Field(
        None, description="hitlQueued: agents who could take a new ticket now."
    )
    withinBusinessHours: bool | None = Field(
        None, description="hitlQueued: false outside the desk's business hours."
    )
    agentId: str | None = Field(
        None,
        description=(
            "Events about an agent (hitlAssigned, agentMessage, hitlStopped agentClosed, "
            "approvalDecided): the agent's stable id."
        ),
    )
    agentAvatarUrl: str | None = Field(
        None,
        description=(
            "With agentId: the agent's picture (PNG; their initials when they set none). "
            "It does not expire; a new picture has a new URL."
        ),
    )
    messageId: int | None = Field(None, description="agentMessage: Desk's id of the message.")
    messageType: str | None = Field(
        None,
        description=(
            "agentMessage: the message type (text, image, audio, video, file, location, "
            "markdown or bloc: text and files together); its fields are in `payload`."
        ),
    )
    text: str | None = Field(
        None,
        description=(
            "agentMessage: the message as text, always there (a file: its name and a "
            "signed URL) for channels that show text only."
        ),
    )
    payload: dict[str, Any] | None = Field(
        None,
        description=(
            "agentMessage: the fields of its `messageType` (Botpress's shape), e.g. "
            "{text} or {imageUrl} or {items: [...]} for a bloc; a Desk file's URL is "
            "signed and works for DESK_FILE_URL_TTL_SECONDS after the event is read."
        ),
    )
    reason: str | None = Field(
        None,
        description=(
            "hitlStopped: why the session ended (agentClosed, botStopped, timeout or "
            "waitingTimeout: the customer did not answer an agent who waited for them); "
            "approvalDecided (rejected): the agent's reason, in their words."
        ),
    )
    csat: CsatOut | None = Field(
        None,
        description=(
            "hitlStopped (agentClosed) when the bot deployed a csatMessage: ask the end "
            "user for a score and post it to /conversations/{conversationId}/rating."
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
