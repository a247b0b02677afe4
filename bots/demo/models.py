"""The demo bot's own storage: its settings, each webchat and its lines.

This is the bot's side, not Desk's: a real bot keeps the same in its own database.
"""

import uuid

from django.db import models


class DemoBotConfig(models.Model):
    """The bot's credentials and what Desk answered when it deployed (one row)."""

    bot_id = models.CharField(max_length=64, unique=True, default="desk-demo")
    api_key = models.CharField(max_length=200, help_text="A Desk API key (the bot's secret).")
    webhook_url = models.URLField(max_length=2000, blank=True)
    webhook_secret = models.CharField(max_length=80, blank=True)
    deployed_at = models.DateTimeField(null=True, blank=True)
    deployed_settings = models.CharField(
        max_length=64, blank=True, help_text="A digest of the handoff settings last deployed."
    )

    def __str__(self) -> str:
        return self.bot_id


class Chat(models.Model):
    """One end user's conversation with the bot; `conversation_id` is what Desk sees."""

    public_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    conversation_id = models.CharField(max_length=200, unique=True)
    user_name = models.CharField(max_length=200)
    user_email = models.EmailField(blank=True)
    handoff = models.BooleanField(default=False, help_text="A human agent has the conversation.")
    # While the user waits for an agent: what Desk said of their place in line, shown
    # above the chat and replaced as it changes (the version tells the page it did).
    queue_status = models.CharField(max_length=2000, blank=True)
    queue_version = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.conversation_id


class Line(models.Model):
    """One line of the webchat. Ids only increase: the page resumes from the last it saw."""

    class Sender(models.TextChoices):
        USER = "user"
        BOT = "bot"
        AGENT = "agent"
        SYSTEM = "system"

    chat = models.ForeignKey(Chat, on_delete=models.CASCADE, related_name="lines")
    sender = models.CharField(max_length=8, choices=Sender.choices)
    author = models.CharField(max_length=200, blank=True)
    text = models.TextField()
    desk_event_id = models.UUIDField(
        null=True, blank=True, unique=True, help_text="The Desk event it came from (de-dupe)."
    )
    # A bot line that asks for a rating: the webchat shows buttons 1 … rating_scale, and
    # the customer's answer (`rating`) once given.
    rating_scale = models.PositiveSmallIntegerField(null=True, blank=True)
    rating = models.PositiveSmallIntegerField(null=True, blank=True)
    # What the line is beyond text (Botpress's message types): a card or a choice the bot
    # showed, a file the customer sent ({name, size, contentType, deskUrl, stored}), or an
    # agent's message ({items: [{type, payload}]}); `text` is its text rendering.
    kind = models.CharField(max_length=10, default="text")
    payload = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.sender}: {self.text[:40]}"
