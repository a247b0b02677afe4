"""The Django admin's pages for the team, routing, canned-response and label models (under
/django-admin/).

Settings → Team, Routing, Canned responses and Labels are where admins work day to day;
these pages are for looking things up and for repairs. A change saved here has the same effect as
on those pages: capacity may have appeared, so the queue drains."""

from django import forms
from django.contrib import admin

from desk import assignment, colours, realtime
from desk.models import (
    AgentProfile,
    BusinessHours,
    CannedResponse,
    Label,
    LabelSettings,
    Presence,
    RoutingSettings,
    TicketLabel,
)


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


class LabelForm(forms.ModelForm):
    class Meta:
        model = Label
        fields = ("name", "colour")

    def clean_colour(self) -> str:
        colour = colours.normalise(self.cleaned_data["colour"])
        if colour is None:
            raise forms.ValidationError("A colour is written #rrggbb, e.g. #1971c2.")
        return colour


@admin.register(Label)
class LabelAdmin(admin.ModelAdmin):
    form = LabelForm
    list_display = ("name", "colour", "created_at")
    search_fields = ("name",)


@admin.register(TicketLabel)
class TicketLabelAdmin(admin.ModelAdmin):
    list_display = ("ticket", "label", "added_at", "added_by")
    list_filter = ("label",)
    raw_id_fields = ("ticket", "added_by")


@admin.register(LabelSettings)
class LabelSettingsAdmin(admin.ModelAdmin):
    list_display = ("__str__", "bots_create_labels")

    def has_add_permission(self, request) -> bool:
        return not LabelSettings.objects.exists()  # one row

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
