"""The Django admin's pages for the team, routing and canned-response models (under
/django-admin/).

Settings → Team, Routing and Canned responses are where admins work day to day; these
pages are for looking things up and for repairs. A change saved here has the same effect as
on those pages: capacity may have appeared, so the queue drains."""

from django.contrib import admin

from desk import assignment, realtime
from desk.models import AgentProfile, BusinessHours, CannedResponse, Presence, RoutingSettings


class DrainsOnSave(admin.ModelAdmin):
    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        assignment.request_drain()


@admin.register(AgentProfile)
class AgentProfileAdmin(DrainsOnSave):
    list_display = ("agent", "availability", "capacity", "last_assigned_at", "notify_desktop")
    list_filter = ("availability",)
    search_fields = ("agent__username", "agent__first_name", "agent__last_name")
    raw_id_fields = ("avatar",)
    readonly_fields = ("last_assigned_at",)

    def save_model(self, request, obj, form, change) -> None:
        super().save_model(request, obj, form, change)
        realtime.announce_agent_status(obj.agent_id)


@admin.register(Presence)
class PresenceAdmin(admin.ModelAdmin):
    list_display = ("agent", "last_seen_at")
    readonly_fields = ("agent", "last_seen_at")

    def has_add_permission(self, request) -> bool:
        return False  # presence is a fact an open tab reports, not a setting


@admin.register(RoutingSettings)
class RoutingSettingsAdmin(DrainsOnSave):
    list_display = ("mode", "business_hours", "time_zone")

    def has_add_permission(self, request) -> bool:
        return not RoutingSettings.objects.exists()  # one row

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(BusinessHours)
class BusinessHoursAdmin(admin.ModelAdmin):
    list_display = ("weekday", "opens", "closes")


@admin.register(CannedResponse)
class CannedResponseAdmin(admin.ModelAdmin):
    list_display = ("code", "title", "owner", "usage_count", "last_used_at", "updated_at")
    list_filter = (("owner", admin.EmptyFieldListFilter),)
    search_fields = ("code", "title", "body", "owner__username")
    raw_id_fields = ("owner",)
    readonly_fields = ("usage_count", "last_used_at", "created_at", "updated_at")
    ordering = ("-usage_count", "code")
