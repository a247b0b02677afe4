"""Settings pages of the desk: Team (each agent's availability, load and capacity) and
Routing (how new tickets find an agent, and the business hours) and Labels, for admins;
Canned responses (the team's, changed by admins, and each agent's own), for every agent.

Every change is a POST with CSRF calling one function of `desk.assignment`. htmx
requests get the changed part back to swap in place; plain form posts a redirect.
"""

from zoneinfo import available_timezones

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from desk import assignment, canned, colours, fragments, labels, queue, selectors
from desk.access import admin_required
from desk.exceptions import DeskError, InvalidInput, NotAllowed, NotFound
from desk.models import BusinessHours, RoutingMode
from desk.transcript import MAX_MESSAGE_LENGTH


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
        return HttpResponse(_("No such agent."), status=404)
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
        messages.success(request, _("Capacity saved."))
    return redirect("team")


# What each mode does, as the Routing page says it.
MODE_HELP = {
    RoutingMode.MANUAL: _("New tickets wait in the queue until an agent claims them."),
    RoutingMode.ROUND_ROBIN: _(
        "Each new ticket goes at once to an eligible agent, taking turns: whoever was "
        "assigned a ticket longest ago."
    ),
    RoutingMode.LEAST_BUSY: _(
        "Each new ticket goes at once to the eligible agent with the lowest load for their "
        "capacity; ties go to whoever was assigned a ticket longest ago."
    ),
}


@admin_required
def routing(request: HttpRequest) -> HttpResponse:
    """The routing mode, and the business hours (each its own form on the page)."""
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            if request.POST.get("form") == "hours":
                assignment.routing_set_business_hours(
                    by=request.user,
                    enabled=request.POST.get("business_hours") == "on",
                    time_zone=request.POST.get("time_zone", "").strip(),
                    days={
                        day: (
                            request.POST.get(f"day-{day}-opens", ""),
                            request.POST.get(f"day-{day}-closes", ""),
                        )
                        for day in range(7)
                        if request.POST.get(f"day-{day}-open") == "on"
                    },
                )
                messages.success(request, _("Business hours saved."))
            else:
                assignment.routing_set_mode(mode=request.POST.get("mode", ""), by=request.user)
                messages.success(request, _("Routing saved."))
        except DeskError as exc:
            errors[getattr(exc, "field", None) or "mode"] = exc.message
        else:
            return redirect("routing")
    settings = assignment.routing_settings()
    hours = {h.weekday: h for h in BusinessHours.objects.all()}
    posted = request.POST if errors else None
    days = []
    for value, label in BusinessHours.Weekday.choices:
        kept = hours.get(value)
        days.append({
            "value": value,
            "label": label,
            "open": (posted.get(f"day-{value}-open") == "on") if posted else kept is not None,
            "opens": posted.get(f"day-{value}-opens", "") if posted
            else (f"{kept.opens:%H:%M}" if kept else "09:00"),
            "closes": posted.get(f"day-{value}-closes", "") if posted
            else (f"{kept.closes:%H:%M}" if kept else "17:00"),
        })
    context = {
        "settings": settings,
        "modes": [(value, label, MODE_HELP[value]) for value, label in RoutingMode.choices],
        "errors": errors,
        "days": days,
        "time_zone": posted.get("time_zone", "") if posted else settings.time_zone,
        "time_zones": sorted(available_timezones()),
        "open_now": queue.within_business_hours(routing=settings),
    }
    return render(request, "desk/routing.html", context, status=422 if errors else 200)


# --- canned responses: the team's (admins change them) and each agent's own ------------


def _canned_lists(agent) -> dict:
    responses = list(canned.available_to(agent))
    return {
        "shared": [r for r in responses if r.owner_id is None],
        "mine": [r for r in responses if r.owner_id is not None],
        "placeholders": ["{" + name + "}" for name in canned.PLACEHOLDERS],
        "code_max_length": canned.CODE_MAX_LENGTH,
        "title_max_length": canned.TITLE_MAX_LENGTH,
        "body_max_length": MAX_MESSAGE_LENGTH,
    }


@login_required
def canned_responses(request: HttpRequest) -> HttpResponse:
    """Settings → Canned responses: every agent sees the shared ones and their own,
    most used first; admins add and change the shared ones, each agent their own."""
    errors: dict[str, str] = {}
    scope = "shared" if request.POST.get("scope") == "shared" else "mine"
    if request.method == "POST":
        try:
            response = canned.canned_save(
                by=request.user,
                shared=scope == "shared",
                code=request.POST.get("code", ""),
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
            )
        except InvalidInput as exc:
            errors = exc.fields
        except NotAllowed as exc:
            raise PermissionDenied(exc.message) from None
        else:
            saved = _("Canned response /%(code)s saved.") % {"code": response.code}
            messages.success(request, saved)
            return redirect("canned-responses")
    context = {
        **_canned_lists(request.user),
        # Each add form, with what was sent and its errors if it was the one refused.
        "forms": {
            name: {"values": request.POST, "errors": errors}
            if errors and scope == name else {"values": {}, "errors": {}}
            for name in ("shared", "mine")
        },
    }
    return render(request, "desk/canned_responses.html", context, status=422 if errors else 200)


@login_required
def canned_response_edit(request: HttpRequest, response_id: int) -> HttpResponse:
    try:
        response = canned.response_for_editing(request.user, response_id)
    except NotFound:
        raise Http404 from None
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    errors: dict[str, str] = {}
    if request.method == "POST":
        try:
            canned.canned_save(
                by=request.user,
                response=response,
                code=request.POST.get("code", ""),
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
            )
        except InvalidInput as exc:
            errors = exc.fields
        else:
            saved = _("Canned response /%(code)s saved.") % {"code": response.code}
            messages.success(request, saved)
            return redirect("canned-responses")
    values = request.POST if errors else {
        "code": response.code, "title": response.title, "body": response.body
    }
    context = {
        **_canned_lists(request.user),
        "response": response,
        "form": {"values": values, "errors": errors},
    }
    return render(request, "desk/canned_response.html", context, status=422 if errors else 200)


@login_required
@require_POST
def canned_response_delete(request: HttpRequest, response_id: int) -> HttpResponse:
    try:
        canned.canned_delete(by=request.user, response_id=response_id)
    except NotFound:
        raise Http404 from None
    except NotAllowed as exc:
        raise PermissionDenied(exc.message) from None
    messages.success(request, _("Canned response deleted."))
    return redirect("canned-responses")


# --- labels (admins) ------------------------------------------------------------------------


@admin_required
def labels_page(request: HttpRequest) -> HttpResponse:
    """Settings → Labels: each label's name and colour, the tickets carrying it, and
    whether bots may create labels at escalation. Every change is a form of its own."""
    errors: dict[str, str] = {}
    form = request.POST.get("form", "")
    editing = request.POST.get("label", "")
    if request.method == "POST":
        try:
            match form:
                case "settings":
                    labels.label_settings_set(
                        by=request.user,
                        bots_create_labels=request.POST.get("bots_create_labels") == "on",
                    )
                    messages.success(request, _("Label settings saved."))
                case "delete":
                    labels.label_delete(by=request.user, label_id=editing)
                    messages.success(request, _("Label deleted."))
                case "edit":
                    label = labels.label_for_admin(request.user, editing)
                    labels.label_save(
                        by=request.user, label=label, name=request.POST.get("name", ""),
                        colour=request.POST.get("colour", ""),
                    )
                    messages.success(request, _("Label saved."))
                case _:
                    form = "add"
                    labels.label_save(
                        by=request.user, name=request.POST.get("name", ""),
                        colour=request.POST.get("colour", ""),
                    )
                    messages.success(request, _("Label added."))
        except InvalidInput as exc:
            errors = exc.fields
        except NotFound:
            raise Http404 from None
        else:
            return redirect("labels")
    counts = selectors.label_ticket_counts()
    context = {
        "labels": [
            (label, counts.get(label.pk, (0, 0))) for label in selectors.all_labels()
        ],
        "label_settings": labels.label_settings(),
        "errors": errors,
        "error_form": form if errors else "",
        "error_label": editing if errors and form == "edit" else "",
        "posted": request.POST if errors else {},
        "name_max_length": labels.NAME_MAX_LENGTH,
        "suggested_colour": colours.PALETTE[0],
    }
    return render(request, "desk/labels.html", context, status=422 if errors else 200)
