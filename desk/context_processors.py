"""What every page's header and title show of the agent: their availability, their
alert preferences, and the number of things waiting for them ("(3) Desk")."""

from django.conf import settings
from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from desk import selectors
from desk.localization import PREFERENCE_FIELDS
from desk.models import AgentProfile, Availability


def availability(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    if hasattr(request, "desk_preferences"):  # read with the locale (AgentLocaleMiddleware)
        preferences = request.desk_preferences
    else:
        preferences = (
            AgentProfile.objects.filter(agent_id=user.pk).values(*PREFERENCE_FIELDS).first()
        )
    chosen, desktop, sound = (
        (preferences["availability"], preferences["notify_desktop"], preferences["notify_sound"])
        if preferences
        else (Availability.ONLINE, True, True)
    )
    # A page being loaded is a tab about to be open: an online agent counts as present.
    status = "online" if chosen == Availability.ONLINE else chosen
    locale = getattr(request, "desk_locale", None)
    return {
        # The time zone pages show, and whether desk.js reports the browser's (not chosen).
        "time_zone_from_browser": locale is None or not locale.time_zone,
        "browser_time_zone": locale.browser_time_zone if locale else "",
        "my_availability": chosen,
        "availability_choices": Availability.choices,
        "notify_desktop": desktop,
        "notify_sound": sound,
        "aging_warn_seconds": settings.DESK_AGING_WARN_SECONDS,
        "aging_alert_seconds": settings.DESK_AGING_ALERT_SECONDS,
        # Read only by a page that shows it (not by fragments rendered with the request).
        "waiting_for_me": SimpleLazyObject(lambda: selectors.waiting_for(user.pk, status=status)),
    }
