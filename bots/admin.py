"""The Django admin's pages for bots and their event logs (under /django-admin/)."""

from django.contrib import admin

from bots.models import Bot, Event


@admin.register(Bot)
class BotAdmin(admin.ModelAdmin):
    list_display = ("bot_id", "name", "connected", "webhook_url", "last_deployed_at")
    list_filter = ("connected",)
    search_fields = ("bot_id", "name")
    exclude = ("webhook_secret", "api_keys", "deployed_with")
    # Enabling a bot is done on the Deflecting Bots page, which announces it.
    readonly_fields = ("connected", "first_deployed_at", "last_deployed_at")


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ("pk", "bot", "type", "conversation_id", "created_at")
    list_filter = ("type",)
    search_fields = ("conversation_id",)
    readonly_fields = ("public_id", "bot", "ticket", "conversation_id", "type", "payload",
                       "created_at")

    def has_add_permission(self, request) -> bool:
        return False  # the log is written by Desk only
