"""Filters of the approvals pages.

`{{ approval.expires_at|expires_in }}`: "expires in 12 min", or "expired"
(static/approvals.js formats the same way when it refreshes the times);
`{{ value|json_text }}`: a JSON value as its JSON text.
"""

import json
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
from django.utils.translation import gettext as _

from desk.templatetags.durations import span

register = template.Library()


@register.filter
def expires_in(when: datetime | None) -> str:
    if when is None:
        return ""
    seconds = (when - timezone.now()).total_seconds()
    if seconds <= 0:
        return _("expired")
    return _("expires in %(time)s") % {"time": span(int(seconds // 60))}


@register.filter
def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
