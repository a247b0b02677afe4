"""Approval requests: a bot asks a person before it acts, and the person's decision.

One row per request. It holds the bot's question (the action, its arguments and
their JSON Schema) and, once decided, the decision itself: who, when, the final
arguments and the reason. A request is decided once; the database says so (a
conditional UPDATE from pending, and a check that a decision has a time).
"""

import json
import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext as _

from desk.models import Priority


class Approval(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"
        EXPIRED = "expired"
        CANCELLED = "cancelled"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    bot = models.ForeignKey("bots.Bot", on_delete=models.PROTECT, related_name="approvals")
    request_id = models.CharField(max_length=200, help_text="The bot's idempotency key.")
    action = models.CharField(max_length=100, help_text="The tool's name.")
    title = models.CharField(max_length=300)
    summary = models.TextField(blank=True)
    # JSON kept as text: PostgreSQL's jsonb would reorder the keys, and the form
    # follows the order the bot gave its arguments and their schema's properties.
    arguments_json = models.TextField(help_text="The arguments as the bot asked with them.")
    schema_json = models.TextField(blank=True, help_text="Their JSON Schema, if the bot sent one.")
    conversation_id = models.CharField(max_length=200, blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    # Denormalised from priority so the list sorts in the database with an index.
    priority_rank = models.PositiveSmallIntegerField(default=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="approval_decisions",
    )
    # Kept as written at the time, so the history still names a deleted account.
    decided_by_name = models.CharField(max_length=200, blank=True)
    final_arguments_json = models.TextField(
        blank=True, help_text="What was approved: the agent's edit, if any."
    )
    edited = models.BooleanField(default=False)
    reason = models.TextField(blank=True)

    class Meta:
        permissions = [("decide_approval", "Can decide approvals")]
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "request_id"], name="approval_request_id_unique_per_bot"
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["pending", "approved", "rejected", "expired", "cancelled"]
                ),
                name="approval_status_known",
            ),
            models.CheckConstraint(
                condition=Q(priority__in=["low", "medium", "high", "urgent"]),
                name="approval_priority_known",
            ),
            models.CheckConstraint(
                condition=Q(status="pending", decided_at__isnull=True)
                | (~Q(status="pending") & Q(decided_at__isnull=False)),
                name="approval_decided_has_a_time",
            ),
        ]
        indexes = [
            # The live list and its count read pending approvals only.
            models.Index(
                F("priority_rank").desc(),
                "expires_at",
                "id",
                condition=Q(status="pending"),
                name="approval_pending_order",
            ),
            models.Index(fields=["-decided_at", "-id"], name="approval_history"),
            models.Index(fields=["bot", "conversation_id"], name="approval_conversation"),
        ]

    def __str__(self) -> str:
        return f"{self.action}: {self.title}"

    @staticmethod
    def dump(value: dict) -> str:
        """JSON text as stored: key order kept, NUL and all non-ASCII escaped."""
        return json.dumps(value, separators=(",", ":"))

    @property
    def is_pending(self) -> bool:
        return self.status == self.Status.PENDING

    @property
    def arguments(self) -> dict:
        return json.loads(self.arguments_json)

    @property
    def arguments_schema(self) -> dict | None:
        return json.loads(self.schema_json) if self.schema_json else None

    @property
    def final_arguments(self) -> dict | None:
        """What was approved (None unless approved)."""
        return json.loads(self.final_arguments_json) if self.final_arguments_json else None

    @property
    def current_arguments(self) -> dict:
        """The arguments as they stand: the approved ones once approved, else the asked ones."""
        final = self.final_arguments
        return final if final is not None else self.arguments

    @property
    def decision_sentence(self) -> str:
        """How the decision reads to an agent: "Maya Lopez approved this with changes."."""
        who = self.decided_by_name or _("Someone")
        match self.status:
            case self.Status.APPROVED if self.edited:
                return _("%(who)s approved this with changes.") % {"who": who}
            case self.Status.APPROVED:
                return _("%(who)s approved this.") % {"who": who}
            case self.Status.REJECTED:
                return _("%(who)s rejected this.") % {"who": who}
            case self.Status.EXPIRED:
                return _("This request expired before anyone decided.")
            case self.Status.CANCELLED:
                return _("The bot withdrew this request.")
        return _("This request waits for a decision.")

    @property
    def sort_key(self) -> str:
        """The list's order as one string (the page puts a live-pushed row in its place):
        the most urgent first, then the nearest expiry."""
        return (
            f"{9 - self.priority_rank}-"
            f"{int(self.expires_at.timestamp() * 1000):015d}-{self.pk:012d}"
        )
