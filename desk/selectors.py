"""Reads shared by the inbox page, its live rows and the counts in the side bar."""

from django.db.models import Case, IntegerField, QuerySet, Value, When

from desk.models import Status, Ticket


def inbox_tickets() -> QuerySet[Ticket]:
    """All tickets in inbox order: pending, then assigned, then closed; within each,
    urgent first, then the longest waiting."""
    return (
        Ticket.objects.select_related("bot", "assignee")
        .annotate(
            status_rank=Case(
                When(status=Status.PENDING, then=Value(0)),
                When(status=Status.ASSIGNED, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            )
        )
        .order_by("status_rank", "-priority_rank", "created_at", "id")
    )
