"""`{{ since|waited }}`: how long ago, short ("<1 min", "4 min", "2 h 5 min", "3 d").

static/desk.js formats the same way, with the same translations, when it refreshes the
times every half minute.
"""

from datetime import datetime

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

register = template.Library()


@register.filter
def waited(since: datetime | None) -> str:
    if since is None:
        return ""
    return span(int((timezone.now() - since).total_seconds() // 60))


def span(minutes: int) -> str:
    """A number of minutes as the inbox and approvals show it: "4 min", "2 h 5 min"."""
    if minutes < 1:
        return _("<1 min")
    if minutes < 60:
        return _("%(minutes)s min") % {"minutes": minutes}
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        if minutes:
            return _("%(hours)s h %(minutes)s min") % {"hours": hours, "minutes": minutes}
        return _("%(hours)s h") % {"hours": hours}
    return _("%(days)s d") % {"days": hours // 24}
