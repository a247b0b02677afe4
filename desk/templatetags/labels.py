"""`{{ value|label:"status" }}`: a stored value (a ticket's status or priority, an agent's
availability, an approval's decision) as the agent reads it, in their language. The
stored values stay English words (the bot API speaks them); only what a page shows is
translated.

A builtin of the templates (settings.TEMPLATES), like {% translate %}.
"""

from django import template
from django.utils.translation import pgettext_lazy

register = template.Library()

LABELS = {
    # Lower case, as the chips and menus show them.
    "status": {
        "pending": pgettext_lazy("ticket status", "pending"),
        "assigned": pgettext_lazy("ticket status", "assigned"),
        "waiting": pgettext_lazy("ticket status", "waiting"),
        "closed": pgettext_lazy("ticket status", "closed"),
    },
    "priority": {
        "low": pgettext_lazy("priority", "low"),
        "medium": pgettext_lazy("priority", "medium"),
        "high": pgettext_lazy("priority", "high"),
        "urgent": pgettext_lazy("priority", "urgent"),
    },
    "availability": {
        "online": pgettext_lazy("agent availability", "online"),
        "busy": pgettext_lazy("agent availability", "busy"),
        "offline": pgettext_lazy("agent availability", "offline"),
        "away": pgettext_lazy("agent availability", "away"),
    },
    # An approval's status (approvals.models.Approval.Status).
    "decision": {
        "pending": pgettext_lazy("approval decision", "pending"),
        "approved": pgettext_lazy("approval decision", "approved"),
        "rejected": pgettext_lazy("approval decision", "rejected"),
        "expired": pgettext_lazy("approval decision", "expired"),
        "cancelled": pgettext_lazy("approval decision", "cancelled"),
    },
}


@register.filter
def label(value: object, kind: str) -> object:
    """The translated word for `value`, or the value itself when it has none."""
    return LABELS.get(kind, {}).get(str(value), value)
