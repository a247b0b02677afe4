"""Admin settings pages of the desk: Team (each agent's availability, load and capacity)
and Routing (how new tickets find an agent).

Every change is a POST with CSRF calling one function of `desk.assignment`. htmx
requests get the changed part back to swap in place; plain form posts a redirect.
"""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from desk import assignment, fragments, selectors
from desk.access import admin_required
from desk.exceptions import DeskError, NotFound


@admin_required
def team(request: HttpRequest) -> HttpResponse:
    return render(request, "desk/team.html", fragments.team_context())


@admin_required
@require_POST
def team_capacity(request: HttpRequest, agent_id: int) -> HttpResponse:
    error = ""
    try:
        assignment.agent_set_capacity(
            agent_id=agent_id, capacity=request.POST.get("capacity", ""), by=request.user
        )
    except NotFound:
        return HttpResponse("No such agent.", status=404)
    except DeskError as exc:
        error = exc.message
    if request.htmx:
        agent = selectors.agent_with_status(agent_id, load=True)
        return render(
            request,
            "desk/team.html#agent-row",
            {"agent": agent, "capacity_error": error},
            status=422 if error else 200,
        )
    if error:
        messages.error(request, error)
    else:
        messages.success(request, "Capacity saved.")
    return redirect("team")
