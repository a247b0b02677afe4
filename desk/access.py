"""Who may reach what: the decorators and access helpers every entry point uses."""

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext as _

from desk.models import Ticket


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged-in staff only; other agents get 403, anonymous visitors the login page."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.is_staff:
            raise PermissionDenied(_("Only admins can do this."))
        return view(request, *args, **kwargs)

    return wrapper


def ticket_for_agent(agent, ticket_id: int) -> Ticket:
    """The ticket as this agent may see it. Every agent sees every ticket of the desk;
    a disabled or anonymous user sees none. Raises 404, never leaking existence."""
    if not (agent.is_authenticated and agent.is_active):
        raise Http404("No such ticket.")
    try:
        return Ticket.objects.select_related("bot", "assignee", "closed_by").get(pk=ticket_id)
    except (Ticket.DoesNotExist, ValueError, TypeError):
        raise Http404("No such ticket.") from None
