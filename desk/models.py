"""Tickets (one human handoff of one bot conversation) and their transcripts."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Lower
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from desk import colours


class Priority(models.TextChoices):
    LOW = "low", _("Low")
    MEDIUM = "medium", _("Medium")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")


# Higher sorts first in the inbox.
PRIORITY_RANK = {Priority.URGENT: 4, Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}


class Status(models.TextChoices):
    PENDING = "pending", _("Pending")
    ASSIGNED = "assigned", _("Assigned")
    # Assigned, and its agent waits for the customer's answer: it is assigned again the
    # moment the customer writes (desk.services.post_user_message).
    WAITING = "waiting", _("Waiting")
    CLOSED = "closed", _("Closed")


# The statuses in which an agent has the ticket: only they (or an admin) work it, and it
# counts toward their load.
HELD = (Status.ASSIGNED, Status.WAITING)

# The open lists' order of statuses: the queue, then what agents work, then what waits
# for the customer (`Ticket.status_rank`, `Ticket.inbox_sort_key`).
STATUS_RANK = {Status.PENDING: 0, Status.ASSIGNED: 1, Status.WAITING: 2, Status.CLOSED: 3}


class CloseReason(models.TextChoices):
    AGENT = "agent", _("closed by an agent")
    BOT_CANCEL = "cancel", _("the customer left the conversation")
    BOT_TIMEOUT = "timeout", _("the bot timed the session out")
    UNASSIGNED_TIMEOUT = "unassigned", _("no agent claimed it in time")
    WAITING_TIMEOUT = "waiting", _("the customer did not answer in time")


class Ticket(models.Model):
    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    bot = models.ForeignKey("bots.Bot", on_delete=models.PROTECT, related_name="tickets")
    conversation_id = models.CharField(max_length=200)
    title = models.CharField(max_length=300, blank=True)
    description = models.TextField(blank=True)
    priority = models.CharField(max_length=10, choices=Priority.choices, default=Priority.MEDIUM)
    # Denormalised from priority so the inbox can sort in the database with an index.
    priority_rank = models.PositiveSmallIntegerField(default=2)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    # Computed by the database from status (STATUS_RANK), so an index can serve the open
    # lists' order, however the status was written.
    status_rank = models.GeneratedField(
        expression=models.Case(
            *(models.When(status=s.value, then=models.Value(r)) for s, r in STATUS_RANK.items()),
            default=models.Value(9),
        ),
        output_field=models.PositiveSmallIntegerField(),
        db_persist=True,
    )
    user_name = models.CharField(max_length=200, blank=True)
    user_email = models.EmailField(max_length=254, blank=True)
    # The customer as their bot knows them (Botpress's hitl `userId`), and what else the
    # bot told Desk of them (`customFields`: a flat object of strings, numbers and
    # booleans, see desk.customers). Their earlier tickets are found by either
    # (desk.selectors.customer_history).
    user_id = models.CharField(max_length=200, blank=True)
    custom_fields = models.JSONField(default=dict, blank=True)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="assigned_tickets",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    assigned_at = models.DateTimeField(null=True, blank=True)
    # Kept once set (assigned_at moves on a reassignment): what the reports measure.
    first_assigned_at = models.DateTimeField(null=True, blank=True)
    first_reply_at = models.DateTimeField(
        null=True, blank=True, help_text="When an agent first replied to the customer."
    )
    # While the ticket is waiting: since when (the auto-close counts from it).
    waiting_started_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="closed_tickets",
    )
    close_reason = models.CharField(max_length=12, choices=CloseReason.choices, blank=True)
    # Who handed it back to the queue: routing does not give it back to them.
    returned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    # What the bot was last told of the ticket's place in line (hitlQueued), and when
    # (see desk.queue).
    queue_position_sent = models.PositiveIntegerField(null=True, blank=True)
    queue_update_sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["bot", "conversation_id"],
                condition=~Q(status="closed"),
                name="one_open_ticket_per_conversation",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["pending", "assigned", "waiting", "closed"]),
                name="ticket_status_known",
            ),
            models.CheckConstraint(
                condition=Q(priority__in=["low", "medium", "high", "urgent"]),
                name="ticket_priority_known",
            ),
        ]
        indexes = [
            models.Index(
                fields=["status", "-priority_rank", "created_at"], name="ticket_inbox_order"
            ),
            models.Index(fields=["bot", "conversation_id"], name="ticket_conversation"),
            # The inbox's open lists and side-bar counts read open tickets only, a few
            # thousand however long the history. Each index carries `status` so a
            # database that binds 'closed' as a parameter (SQLite) can test the
            # condition from the index alone; each count's index leads with the
            # column it groups by. `status_rank` orders pending, assigned, waiting.
            models.Index(
                "status_rank",
                F("priority_rank").desc(),
                "created_at",
                "id",
                "status",
                condition=~Q(status="closed"),
                name="ticket_open_order",
            ),
            models.Index(
                fields=["priority", "status"],
                condition=~Q(status="closed"),
                name="ticket_open_priority",
            ),
            models.Index(
                fields=["bot", "status"], condition=~Q(status="closed"), name="ticket_open_bot"
            ),
            models.Index(
                fields=["assignee", "status"],
                condition=~Q(status="closed"),
                name="ticket_open_assignee",
            ),
            # A customer's earlier tickets with the bot: by email, or by the bot's user id.
            models.Index(fields=["bot", "user_email"], name="ticket_customer_email"),
            models.Index(fields=["bot", "user_id"], name="ticket_customer_id"),
            # The side bar's priority, bot and assignee counts in one grouped read.
            models.Index(
                fields=["status", "priority", "bot", "assignee"],
                condition=~Q(status="closed"),
                name="ticket_open_facets",
            ),
            # The queue estimate reads a bot's recent waits (desk.queue).
            models.Index(
                fields=["bot", "-first_assigned_at"],
                condition=Q(first_assigned_at__isnull=False),
                name="ticket_bot_first_assigned",
            ),
        ]

    def __str__(self) -> str:
        return f"#{self.number} {self.title}"

    @property
    def number(self) -> int:
        """The number people use: #1, #2, …"""
        return self.pk

    @property
    def is_open(self) -> bool:
        return self.status != Status.CLOSED

    @property
    def inbox_sort_key(self) -> str:
        """The inbox order as one string that sorts like the database query does, so
        a page can put a live-pushed row in its place."""
        status_rank = STATUS_RANK.get(self.status, 9)
        return (
            f"{status_rank}-{9 - self.priority_rank}-"
            f"{int(self.created_at.timestamp() * 1000):015d}-{self.pk:012d}"
        )


class StoredFile(models.Model):
    """A file Desk keeps: a bot's upload, an agent's attachment or avatar, or a copy of
    remote media (DESK_FETCH_REMOTE_MEDIA). The bytes are in `STORAGES["default"]` under
    `storage_name`; what they are was sniffed from the bytes (`desk.sniff`), never taken
    from the sender. Served only to agents, and to bots through signed, expiring URLs."""

    class Kind(models.TextChoices):
        IMAGE = "image"
        AUDIO = "audio"
        VIDEO = "video"
        FILE = "file"

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    name = models.CharField(max_length=255, help_text="The sender's file name, cleaned.")
    content_type = models.CharField(max_length=127)
    size = models.PositiveBigIntegerField()
    kind = models.CharField(max_length=5, choices=Kind.choices)
    active = models.BooleanField(
        default=False,
        help_text="Active content (HTML, SVG with scripts, executables): only ever a download.",
    )
    storage_name = models.CharField(max_length=500)
    thumbnail_name = models.CharField(max_length=500, blank=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    bot = models.ForeignKey(
        "bots.Bot", null=True, blank=True, on_delete=models.SET_NULL, related_name="files"
    )
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="uploaded_files",
    )
    ticket = models.ForeignKey(
        Ticket, null=True, blank=True, on_delete=models.CASCADE, related_name="files"
    )
    source_url = models.URLField(
        max_length=2000, blank=True, help_text="Remote media: the URL it was fetched from."
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(kind__in=["image", "audio", "video", "file"]),
                name="stored_file_kind_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.content_type}, {self.size} bytes)"

    @property
    def inline(self) -> bool:
        """Shown in the browser when opened (a picture, a sound, a film); anything else
        is a download."""
        return not self.active and self.kind != self.Kind.FILE and (
            self.content_type != "image/svg+xml"
        )


class Message(models.Model):
    """One line of a ticket's transcript. Ids only increase: they order and resume it.

    `type` and `payload` are the message as sent (Botpress's message types: text, image,
    audio, video, file, location, markdown, bloc, and in a bot's history card, carousel,
    choice, dropdown; see `desk.content`); a file Desk keeps is `desk-file:<id>` in the
    payload and one of `files`. `text` is always its text rendering: what search, the
    inbox preview and text-only bots read."""

    class Kind(models.TextChoices):
        USER = "user", "end user"
        BOT = "bot", "bot"
        AGENT = "agent", "agent"
        NOTE = "note", "internal note"
        SYSTEM = "system", "system"

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="messages")
    kind = models.CharField(max_length=8, choices=Kind.choices)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    author_name = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    type = models.CharField(max_length=10, default="text")
    payload = models.JSONField(default=dict, blank=True)
    files = models.ManyToManyField(StoredFile, blank=True, related_name="messages")
    created_at = models.DateTimeField()
    # NULL, not "": a message without the sender's id is outside the uniqueness rule.
    external_id = models.CharField(  # noqa: DJ001
        max_length=200, null=True, blank=True, help_text="The sender's own id, to de-duplicate."
    )

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["ticket", "external_id"],
                condition=Q(external_id__isnull=False),
                name="message_external_id_unique_per_ticket",
            ),
        ]
        indexes = [models.Index(fields=["ticket", "id"], name="message_transcript")]

    def __str__(self) -> str:
        return f"{self.kind} #{self.pk} on ticket {self.ticket_id}"

    @cached_property
    def blocks(self) -> list[dict]:
        """What the agents' transcript draws for it (`desk.display`)."""
        from desk.display import blocks

        return blocks(self)


# --- the team: availability, capacity, presence -----------------------------------------


class Availability(models.TextChoices):
    """What an agent chose in the header."""

    ONLINE = "online", _("Online")
    BUSY = "busy", _("busy (keeps tickets, gets no new ones)")
    OFFLINE = "offline", _("Offline")


DEFAULT_CAPACITY = 5


class AgentProfile(models.Model):
    """An agent's routing settings and preferences. Created on first use: an account
    without one is online with the default capacity."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="desk_profile",
    )
    availability = models.CharField(
        max_length=8, choices=Availability.choices, default=Availability.ONLINE
    )
    capacity = models.PositiveSmallIntegerField(
        default=DEFAULT_CAPACITY,
        help_text="Open tickets routing gives this agent at most (claiming may go beyond).",
    )
    last_assigned_at = models.DateTimeField(
        null=True, blank=True, help_text="The last time a ticket was assigned to this agent."
    )
    avatar = models.ForeignKey(
        StoredFile, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="The picture bots show beside the agent's messages; initials without one.",
    )
    # The alerts of a new escalation or message: the agent may turn each off.
    notify_desktop = models.BooleanField(default=True)
    notify_sound = models.BooleanField(default=True)
    # The language and time zone Desk shows the agent: blank follows the browser (its
    # Accept-Language; the time zone its Intl API reported, kept in browser_time_zone).
    language = models.CharField(max_length=8, blank=True, default="")
    time_zone = models.CharField(max_length=64, blank=True, default="")
    browser_time_zone = models.CharField(max_length=64, blank=True, default="")

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(availability__in=["online", "busy", "offline"]),
                name="agent_availability_known",
            ),
        ]

    def __str__(self) -> str:
        return f"profile of {self.agent_id}"


class Presence(models.Model):
    """When an agent last had a Desk tab open, in the database so every server process
    sees it. An open tab refreshes `last_seen_at` while it is connected, and once more
    as it closes; an agent not seen for DESK_AWAY_AFTER_SECONDS is away."""

    agent = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="desk_presence",
    )
    last_seen_at = models.DateTimeField()
    # The language and time zone of the agent's latest tab (`desk.localization.locale_key`):
    # live fragments are rendered once in each locale present (`desk.realtime`), by any
    # server process, whichever process holds the tab.
    locale = models.CharField(max_length=80, blank=True, default="")

    def __str__(self) -> str:
        return f"presence of {self.agent_id}"


# --- customer satisfaction ----------------------------------------------------------------

RATING_SCALE = 5
RATING_COMMENT_MAX_LENGTH = 2000


class Rating(models.Model):
    """The customer's satisfaction with one closed ticket (CSAT, 1 to 5), as their bot
    relayed it. The row appears when Desk asks (the ticket's hitlStopped carried the
    bot's csatMessage) or with the first rating, whichever comes first."""

    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="rating"
    )
    asked_at = models.DateTimeField(
        null=True, blank=True, help_text="When hitlStopped asked the bot to ask the customer."
    )
    score = models.PositiveSmallIntegerField(null=True, blank=True)
    comment = models.TextField(blank=True)
    rated_at = models.DateTimeField(
        null=True, blank=True, help_text="The first rating; it may be replaced for 24 hours."
    )
    updated_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=RATING_SCALE),
                name="rating_score_in_scale",
            ),
        ]

    def __str__(self) -> str:
        return f"rating of ticket {self.ticket_id}: {self.score}"

    @property
    def stars(self) -> str:
        return "★" * (self.score or 0) + "☆" * (RATING_SCALE - (self.score or 0))


# --- routing -----------------------------------------------------------------------------


class RoutingMode(models.TextChoices):
    MANUAL = "manual", _("manual")
    ROUND_ROBIN = "round_robin", _("round robin")
    LEAST_BUSY = "least_busy", _("least busy")


class RoutingSettings(models.Model):
    """How new tickets find an agent (one row, pk 1). Its row is also the routing lock:
    whoever assigns automatically holds it (SELECT … FOR UPDATE) for the transaction."""

    mode = models.CharField(max_length=12, choices=RoutingMode.choices, default=RoutingMode.MANUAL)
    business_hours = models.BooleanField(
        default=False,
        help_text="Keep weekly business hours: outside them, customers hear the team is offline.",
    )
    time_zone = models.CharField(
        max_length=64, default=settings.TIME_ZONE, help_text="The business hours' time zone."
    )

    class Meta:
        verbose_name_plural = "routing settings"
        constraints = [
            models.CheckConstraint(
                condition=Q(mode__in=["manual", "round_robin", "least_busy"]),
                name="routing_mode_known",
            ),
        ]

    def __str__(self) -> str:
        return f"routing: {self.get_mode_display()}"


class BusinessHours(models.Model):
    """When the team works on one day of the week, in the routing settings' time zone.
    A day without a row is closed. `closes` at or before `opens` runs past midnight."""

    class Weekday(models.IntegerChoices):
        MONDAY = 0, _("Monday")
        TUESDAY = 1, _("Tuesday")
        WEDNESDAY = 2, _("Wednesday")
        THURSDAY = 3, _("Thursday")
        FRIDAY = 4, _("Friday")
        SATURDAY = 5, _("Saturday")
        SUNDAY = 6, _("Sunday")

    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, unique=True)
    opens = models.TimeField()
    closes = models.TimeField()

    class Meta:
        ordering = ["weekday"]
        verbose_name_plural = "business hours"
        constraints = [
            models.CheckConstraint(
                condition=Q(weekday__gte=0, weekday__lte=6), name="business_hours_weekday"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_weekday_display()} {self.opens:%H:%M}–{self.closes:%H:%M}"


# --- canned responses ----------------------------------------------------------------------


class CannedResponse(models.Model):
    """A reply an agent inserts by typing `/code` in the composer (see `desk.canned`).
    Shared by the team (no owner: admins manage it) or one agent's own. Its code is
    unique within its scope: the shared ones, or one agent's."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="canned_responses",
        help_text="Empty: shared by the team. Otherwise the one agent who uses it.",
    )
    code = models.CharField(max_length=32, help_text="Typed after / in the composer.")
    title = models.CharField(max_length=120)
    body = models.TextField(
        help_text="May use {customerName}, {agentName}, {ticketNumber} and {botName}."
    )
    usage_count = models.PositiveIntegerField(
        default=0, help_text="Messages sent with it (inserted, then sent)."
    )
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["code"], condition=Q(owner__isnull=True), name="canned_shared_code_unique"
            ),
            models.UniqueConstraint(
                fields=["owner", "code"],
                condition=Q(owner__isnull=False),
                name="canned_own_code_unique",
            ),
        ]

    def __str__(self) -> str:
        return f"/{self.code} {self.title}"

    @property
    def shared(self) -> bool:
        return self.owner_id is None


# --- labels ----------------------------------------------------------------------------------


class Label(models.Model):
    """A word agents put on tickets to sort them ("refund", "VIP"), in a colour of its own.
    Admins define them (Settings → Labels); names are unique whatever their case. The
    tickets carrying one are `tickets` (a ticket's are `ticket.labels`), through
    `TicketLabel`, which says who added it and when."""

    name = models.CharField(max_length=50)
    colour = models.CharField(max_length=7, help_text="#rrggbb")
    created_at = models.DateTimeField(auto_now_add=True)
    tickets = models.ManyToManyField(
        Ticket, through="TicketLabel", related_name="labels", blank=True
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(Lower("name"), name="label_name_unique"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def text_colour(self) -> str:
        """Dark or white, whichever reads better on the label's colour (WCAG contrast)."""
        return colours.text_colour(self.colour)


class TicketLabel(models.Model):
    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="+")
    label = models.ForeignKey(Label, on_delete=models.CASCADE, related_name="+")
    added_at = models.DateTimeField()
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Empty: the bot set it at the escalation.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["ticket", "label"], name="ticket_label_once"),
        ]
        # The inbox's label filter and counts start from the label.
        indexes = [models.Index(fields=["label", "ticket"], name="ticket_label_by_label")]

    def __str__(self) -> str:
        return f"label {self.label_id} on ticket {self.ticket_id}"


class LabelSettings(models.Model):
    """How labels may be made (one row, pk 1)."""

    bots_create_labels = models.BooleanField(
        default=False,
        help_text=(
            "A label a bot names in startHitl that does not exist yet is created; "
            "otherwise startHitl is refused (422) naming it."
        ),
    )

    class Meta:
        verbose_name_plural = "label settings"

    def __str__(self) -> str:
        return "label settings"


class ClosedCount(models.Model):
    """How many tickets are closed: the sum of these rows, kept by database triggers on
    `desk_ticket` (desk.closed_count), never written from Python."""

    shard = models.PositiveSmallIntegerField(primary_key=True)
    tickets = models.BigIntegerField(default=0)

    class Meta:
        db_table = "desk_closed_count"

    def __str__(self) -> str:
        return f"{self.tickets} closed (row {self.shard})"
