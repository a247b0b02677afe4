"""Deflecting bots, the API keys they use, and each bot's durable event log."""

import hashlib
import secrets
import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

DEFAULT_AGENT_ASSIGNED_MESSAGE = "A support agent has joined the conversation."
DEFAULT_SESSION_ENDED_MESSAGE = (
    "The support session has ended. Is there anything else I can help you with?"
)
DEFAULT_AGENT_ASSIGNED_TIMEOUT_MESSAGE = (
    "No support agent is available at the moment. Please try again later."
)

DEFAULT_AGENT_TRANSFERRED_MESSAGE = "{agentName} has taken over the conversation."
DEFAULT_QUEUED_MESSAGE = (
    "You are number {queuePosition} in line. An agent will be with you shortly."
)
DEFAULT_OUTSIDE_HOURS_MESSAGE = (
    "Our team is offline right now. We will reply here when we are back."
)

API_KEY_PREFIX = "desk_"

# The one source of these limits: the models, the settings forms and the bot API.
API_KEY_NAME_MAX_LENGTH = 100
HANDOFF_MESSAGE_MAX_LENGTH = 2000


def hash_api_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def new_webhook_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class ApiKey(models.Model):
    """A bearer key for the bot API. Only its SHA-256 hash is stored."""

    name = models.CharField(max_length=API_KEY_NAME_MAX_LENGTH)
    prefix = models.CharField(max_length=16, help_text="The first characters, to recognise it.")
    key_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    workspace_wide = models.BooleanField(
        default=False,
        help_text="Acts for every bot. Otherwise the key reaches only the bots it deployed.",
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class Bot(models.Model):
    """A deflecting bot, known once it has deployed itself through the API."""

    bot_id = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    webhook_url = models.URLField(max_length=2000, blank=True)
    webhook_secret = models.CharField(max_length=80, default=new_webhook_secret)
    agent_assigned_message = models.TextField(default=DEFAULT_AGENT_ASSIGNED_MESSAGE)
    session_ended_message = models.TextField(default=DEFAULT_SESSION_ENDED_MESSAGE)
    agent_assigned_timeout_seconds = models.PositiveIntegerField(
        default=0, help_text="Close a ticket nobody claimed after this long; 0 is off."
    )
    agent_assigned_timeout_message = models.TextField(
        default=DEFAULT_AGENT_ASSIGNED_TIMEOUT_MESSAGE
    )
    agent_transferred_message = models.TextField(
        default=DEFAULT_AGENT_TRANSFERRED_MESSAGE,
        help_text="Shown to the end user when another agent takes the ticket over.",
    )
    queued_message = models.TextField(
        default=DEFAULT_QUEUED_MESSAGE,
        help_text="Shown to the end user while they wait in line; may use {queuePosition}.",
    )
    outside_hours_message = models.TextField(
        default=DEFAULT_OUTSIDE_HOURS_MESSAGE,
        help_text="Shown to the end user who escalates outside the business hours.",
    )
    csat_message = models.TextField(
        blank=True,
        default="",
        help_text="Asked of the customer after an agent closes (CSAT, 1 to 5); empty is off.",
    )
    connected = models.BooleanField(
        default=False, help_text="Enabled as a deflecting bot: allowed to escalate."
    )
    deployed_with = models.ForeignKey(
        ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="bots"
    )
    api_keys = models.ManyToManyField(
        ApiKey, blank=True, related_name="deployed_bots", help_text="The keys that deployed it."
    )
    first_deployed_at = models.DateTimeField()
    last_deployed_at = models.DateTimeField()

    class Meta:
        ordering = ["name", "bot_id"]

    def __str__(self) -> str:
        return self.name or self.bot_id


class Event(models.Model):
    """One entry of a bot's ordered event log; its id is the long-poll cursor.

    Most events are about a ticket; an approval's decision (`approvalDecided`) may
    concern no conversation at all, so `ticket` and `conversation_id` may be empty."""

    class Type(models.TextChoices):
        HITL_ASSIGNED = "hitlAssigned"
        AGENT_MESSAGE = "agentMessage"
        HITL_STOPPED = "hitlStopped"
        APPROVAL_DECIDED = "approvalDecided"
        HITL_QUEUED = "hitlQueued"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    bot = models.ForeignKey(Bot, on_delete=models.CASCADE, related_name="events")
    ticket = models.ForeignKey(
        "desk.Ticket", null=True, blank=True, on_delete=models.CASCADE, related_name="events"
    )
    conversation_id = models.CharField(max_length=200, blank=True)
    type = models.CharField(max_length=32, choices=Type.choices)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        indexes = [models.Index(fields=["bot", "id"], name="event_bot_cursor")]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    type__in=[
                        "hitlAssigned", "agentMessage", "hitlStopped", "approvalDecided",
                        "hitlQueued",
                    ]
                ),
                name="event_type_known",
            )
        ]

    def __str__(self) -> str:
        return f"{self.type} #{self.pk} for {self.bot_id}"


class WebhookState(models.Model):
    """Where a bot's webhook delivery stands: its cursor in the event log, its lease, its health.

    One row per bot. A worker may send the bot's events only while it holds the lease
    (`lease_owner` until `lease_until`), taken with one conditional UPDATE, so two
    workers never send the same bot's events at once, on SQLite or PostgreSQL alike.
    The lease is renewed before each POST and outlives the HTTP timeout.
    """

    bot = models.OneToOneField(
        Bot, on_delete=models.CASCADE, primary_key=True, related_name="webhook_state"
    )
    delivered_through = models.BigIntegerField(
        default=0, help_text="The id of the last event the webhook acknowledged (2xx)."
    )
    lease_owner = models.CharField(max_length=64, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    recheck_at = models.DateTimeField(
        null=True, blank=True, help_text="A delivery task is already due then (lease expiry)."
    )
    attempts = models.PositiveIntegerField(
        default=0, help_text="Failed attempts at the event after the cursor."
    )
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    delivered_count = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"webhook state of {self.bot_id}"
