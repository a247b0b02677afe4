"""`{{ since|waited }}`: how long ago, short ("<1 min", "4 min", "2 h 5 min", "3 d").

static/desk.js formats the same way when it refreshes the times every half minute.
"""

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


@register.filter
def waited(since: datetime | None) -> str:
    if since is None:
        return ""
    minutes = int((timezone.now() - since).total_seconds() // 60)
    if minutes < 1:
        return "<1 min"
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{hours // 24} d"
