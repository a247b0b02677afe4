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

register = template.Library()


@register.filter
def expires_in(when: datetime | None) -> str:
    if when is None:
        return ""
    seconds = (when - timezone.now()).total_seconds()
    if seconds <= 0:
        return "expired"
    minutes = int(seconds // 60)
    if minutes < 1:
        return "expires in <1 min"
    if minutes < 60:
        return f"expires in {minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"expires in {hours} h {minutes} min" if minutes else f"expires in {hours} h"
    return f"expires in {hours // 24} d"


@register.filter
def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)
