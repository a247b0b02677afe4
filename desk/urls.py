"""URL roots: the agent's pages, the admin settings, the bot API."""

from datetime import UTC, datetime

from django.contrib import admin
from django.urls import include, path
from django.views.decorators.cache import cache_control
from django.views.decorators.http import last_modified
from django.views.i18n import JavaScriptCatalog

from bots import views as bot_views
from bots.api import api
from desk import file_views, settings_views, views
from desk.login import LoginView, LogoutView

STARTED = datetime.now(UTC)

# The translations static/*.js uses (gettext, ngettext, interpolate), in the page's
# language: the pages ask for it with ?l=LANGUAGE so a cached copy is never another's.
javascript_catalog = cache_control(max_age=3600)(
    last_modified(lambda request: STARTED)(JavaScriptCatalog.as_view())
)

urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("tickets/<int:ticket_id>/", views.ticket, name="ticket"),
    path("tickets/<int:ticket_id>/actions/", views.ticket_action, name="ticket-action"),
    path("tickets/<int:ticket_id>/earlier/", views.ticket_earlier, name="ticket-earlier"),
    path(
        "tickets/<int:ticket_id>/files/", file_views.ticket_upload, name="ticket-upload"
    ),
    path("files/<uuid:file_id>/thumbnail/", file_views.thumbnail, name="file-thumbnail"),
    path("files/<uuid:file_id>/<path:name>", file_views.file, name="file"),
    path(
        "avatars/<int:agent_id>/<slug:version>/<slug:token>.png",
        file_views.avatar,
        name="avatar",
    ),
    path("me/profile/", file_views.profile, name="profile"),
    path("jsi18n/", javascript_catalog, name="javascript-catalog"),
    path("login/", LoginView.as_view(), name="login"),
    path("logout/", LogoutView.as_view(), name="logout"),
    path("me/availability/", views.availability, name="availability"),
    path("me/alerts/", views.alert_preferences, name="alert-preferences"),
    path("me/time-zone/", views.browser_time_zone, name="browser-time-zone"),
    path("settings/team/", settings_views.team, name="team"),
    path("settings/routing/", settings_views.routing, name="routing"),
    path(
        "settings/team/<int:agent_id>/capacity/",
        settings_views.team_capacity,
        name="team-capacity",
    ),
    path(
        "settings/canned-responses/", settings_views.canned_responses, name="canned-responses"
    ),
    path(
        "settings/canned-responses/<int:response_id>/",
        settings_views.canned_response_edit,
        name="canned-response",
    ),
    path(
        "settings/canned-responses/<int:response_id>/delete/",
        settings_views.canned_response_delete,
        name="canned-response-delete",
    ),
    path("settings/labels/", settings_views.labels_page, name="labels"),
    path("settings/api-keys/", bot_views.api_keys, name="api-keys"),
    path(
        "settings/api-keys/<int:key_id>/revoke/",
        bot_views.api_key_revoke,
        name="api-key-revoke",
    ),
    path("settings/bots/", bot_views.deflecting_bots, name="deflecting-bots"),
    path("settings/bots/<str:bot_id>/connect/", bot_views.bot_connect, name="bot-connect"),
    path("settings/bots/<str:bot_id>/messages/", bot_views.bot_messages, name="bot-messages"),
    path(
        "settings/bots/<str:bot_id>/retry/", bot_views.bot_webhook_retry, name="bot-webhook-retry"
    ),
    path("", include("approvals.urls")),
    path("", include("reports.urls")),
    path("api/v1/", api.urls),
    path("demo/", include("bots.demo.urls")),
    path("django-admin/", admin.site.urls),
]
