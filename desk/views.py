"""The agent's pages: the inbox and the ticket view, and the plain-POST actions.

With JavaScript the pages act over their websocket; every action also works as an
ordinary form post (CSRF-checked, answered with a redirect), so nothing depends on it.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from desk import actions, alerts, assignment, canned, files, fragments, localization
from desk.access import ticket_for_agent
from desk.consumers import INBOX_PAGE_SIZE
from desk.exceptions import DeskError, NotFound
from desk.files import FileTooLarge
from desk.models import Availability
from desk.selectors import InboxFilter, row_id, transcript, transcript_tail
from desk.uploads import human_size, too_large_message

PAGE_SIZE = INBOX_PAGE_SIZE
# A ticket page shows the last lines of its transcript; earlier ones load on demand, so a
# long conversation opens as fast as a short one.
TRANSCRIPT_PAGE_LINES = 100


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    inbox_filter = InboxFilter.from_query(request.GET)
    context = fragments.inbox_context(
        inbox_filter, request.user, page_size=PAGE_SIZE, query=request.GET
    )
    # The tab title's number from the counts just read (as `selectors.waiting_for`).
    preferences = getattr(request, "desk_preferences", None)
    online = not preferences or preferences["availability"] == Availability.ONLINE
    counts = context["counts"]
    context["waiting_for_me"] = counts["awaiting_mine"] + (
        counts["status"]["pending"] if online else 0
    )
    if request.htmx:
        return render(request, "desk/inbox.html#ticket-list", context)
    return render(request, "desk/inbox.html", context)


@login_required
def ticket(request: HttpRequest, ticket_id: int) -> HttpResponse:
    found = ticket_for_agent(request.user, ticket_id)
    context = fragments.ticket_context(found)
    context.update(fragments.customer_context(context["ticket"]))
    if request.GET.get("all"):  # the whole transcript (the "earlier" link without JavaScript)
        context["messages_list"], context["earlier_from"] = list(transcript(found.pk)), 0
    else:
        context["messages_list"], context["earlier_from"] = transcript_tail(
            found.pk, lines=TRANSCRIPT_PAGE_LINES
        )
    context["last_message_id"] = context["messages_list"][-1].pk if context["messages_list"] else 0
    context["max_upload"] = human_size(settings.DESK_MAX_UPLOAD_BYTES)
    # The composer's picker (`/code`): this agent's responses, filled in for this ticket.
    context["canned"] = canned.for_ticket(context["ticket"], request.user)
    return render(request, "desk/ticket.html", context)


@login_required
def ticket_earlier(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The transcript lines before `before`, a page at a time, with the link to the page
    before them (the ticket page shows the last `TRANSCRIPT_PAGE_LINES`)."""
    found = ticket_for_agent(request.user, ticket_id)
    before = row_id(request.GET.get("before"))
    if before is None:
        return HttpResponseBadRequest("before: a line id")
    lines, earlier_from = transcript_tail(found.pk, before=before, lines=TRANSCRIPT_PAGE_LINES)
    context = {
        "ticket": found,
        "messages_list": lines,
        "earlier_from": earlier_from,
        "earlier_page": True,
    }
    return render(request, "desk/ticket.html#earlier-lines", context)


@login_required
@require_POST
def ticket_action(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """The same fields a websocket frame carries, as a form post (which may also carry
    files to attach, `upload`: stored first, then named by the message)."""
    data = request.POST
    try:
        uploads = request.FILES.getlist("upload")  # read first: the size limit applies
        if getattr(request, "upload_too_large", False):
            raise FileTooLarge(too_large_message())
        if uploads:
            ticket = ticket_for_agent(request.user, ticket_id)
            data = request.POST.copy()
            for upload in uploads:
                stored = files.store_upload(
                    upload, agent=request.user, ticket=ticket, forget_unsent=True
                )
                data.appendlist("files", str(stored.public_id))
        action = actions.perform(agent=request.user, ticket_id=ticket_id, data=data)
    except NotFound:
        ticket_for_agent(request.user, ticket_id)  # answers 404
        raise
    except DeskError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, str(actions.DONE[action]))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect("ticket", ticket_id=ticket_id)


@login_required
@require_POST
def availability(request: HttpRequest) -> HttpResponse:
    """The header's availability menu: online, busy or offline."""
    error = ""
    try:
        profile = assignment.agent_set_availability(
            agent=request.user, availability=request.POST.get("availability", "")
        )
        chosen = profile.availability
    except DeskError as exc:
        error = exc.message
        chosen = assignment.profile_for(request.user.pk).availability
    if request.htmx:
        context = {"my_availability": chosen, "availability_choices": Availability.choices}
        html = render(request, "base.html#availability-menu", context).content.decode()
        if error:
            html += fragments.error_html(error, source="availability")
        return HttpResponse(html)
    if error:
        messages.error(request, error)
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect("inbox")


@login_required
@require_POST
def alert_preferences(request: HttpRequest) -> HttpResponse:
    """The header's alerts menu: browser notifications and sound, each on or off."""
    profile = alerts.agent_set_alert_preferences(
        agent=request.user,
        desktop=request.POST.get("notify_desktop") == "on",
        sound=request.POST.get("notify_sound") == "on",
    )
    context = {
        "notify_desktop": profile.notify_desktop,
        "notify_sound": profile.notify_sound,
        "menu_open": True,
    }
    if request.htmx:
        return render(request, "base.html#alerts-menu", context)
    messages.success(request, _("Your alert preferences are saved."))
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect("inbox")


@login_required
@require_POST
def browser_time_zone(request: HttpRequest) -> HttpResponse:
    """The time zone the agent's browser reports (static/desk.js): Desk shows them times
    in it unless they chose one on their profile."""
    try:
        localization.agent_record_browser_time_zone(
            agent=request.user, time_zone=request.POST.get("time_zone", "")
        )
    except DeskError as exc:
        return HttpResponse(exc.message, status=400, content_type="text/plain; charset=utf-8")
    return HttpResponse(status=204)
